//! Which globals each derived probe reads and writes.
//!
//! Input: a typed `ir::Program`. Output: `DerivedProbe::locks`, the globals
//! the probe's body and every function it calls (transitively) touch, each
//! marked written or read-only, sorted by global index so that handlers
//! always take locks in the same order. Embedded C is opaque and takes none.

use std::collections::BTreeMap;

use crate::ir::{Expr, ExprKind, FunctionBody, Program, Stmt, StmtKind, Var};

#[derive(Default, Clone)]
struct Uses {
    /// global index -> written
    globals: BTreeMap<usize, bool>,
    calls: Vec<usize>,
    /// Which globals are statistics (reading one merges every CPU's data).
    stats: Vec<bool>,
}

impl Uses {
    fn touch(&mut self, v: Var, write: bool) {
        if let Var::Global(g) = v {
            let w = self.globals.entry(g).or_insert(false);
            *w |= write;
        }
    }

    fn touch_global(&mut self, g: usize, write: bool) {
        self.touch(Var::Global(g), write);
    }

    fn keys(&mut self, keys: &[Expr]) {
        keys.iter().for_each(|k| self.expr(k));
    }

    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Long(_) | ExprKind::Str(_) => {}
            ExprKind::Var(v) => self.touch(*v, false),
            ExprKind::Index { global, keys } | ExprKind::In { global, keys } => {
                // `k in s` on a statistic looks at every CPU's map.
                self.touch_global(*global, self.stats[*global]);
                self.keys(keys);
            }
            ExprKind::InSlice { global, keys } => {
                self.touch_global(*global, self.stats[*global]);
                keys.iter().flatten().for_each(|k| self.expr(k));
            }
            ExprKind::IndexAssign { global, keys, value, .. } => {
                self.touch_global(*global, true);
                self.keys(keys);
                self.expr(value);
            }
            ExprKind::IndexIncDec { global, keys, .. } => {
                self.touch_global(*global, true);
                self.keys(keys);
            }
            // Per-CPU: adding to a statistic only needs the read lock.
            ExprKind::Accumulate { global, keys, value } => {
                self.touch_global(*global, false);
                self.keys(keys);
                self.expr(value);
            }
            // Reading merges every CPU's data: the write lock.
            ExprKind::Stat { global, keys, .. } | ExprKind::PrintHist { global, keys, .. } => {
                self.touch_global(*global, true);
                self.keys(keys);
            }
            ExprKind::HistBucket { global, keys, index } => {
                self.touch_global(*global, true);
                self.keys(keys);
                self.expr(index);
            }
            ExprKind::Call { func, args } => {
                self.calls.push(*func);
                args.iter().for_each(|a| self.expr(a));
            }
            ExprKind::Unary { operand, .. } => self.expr(operand),
            ExprKind::IncDec { var, .. } => self.touch(*var, true),
            ExprKind::Binary { lhs, rhs, .. } => {
                self.expr(lhs);
                self.expr(rhs);
            }
            ExprKind::Assign { var, value, .. } => {
                self.touch(*var, true);
                self.expr(value);
            }
            ExprKind::Ternary { cond, then, els } => {
                self.expr(cond);
                self.expr(then);
                self.expr(els);
            }
            ExprKind::Format { args, .. } => args.iter().for_each(|a| self.expr(a)),
            ExprKind::Target(t) => t.subexprs().for_each(|a| self.expr(a)),
        }
    }

    fn stmt(&mut self, s: &Stmt, prog: &Program) {
        match &s.kind {
            StmtKind::Foreach { global, slice, limit, body, .. } => {
                slice.iter().flatten().for_each(|k| self.expr(k));
                // A statistic array is merged into its aggregate map first.
                let stat = prog.globals[*global].ty == crate::ir::Type::Stat;
                self.touch_global(*global, stat);
                if let Some(l) = limit {
                    self.expr(l);
                }
                self.stmt(body, prog);
            }
            StmtKind::DeleteSlice { global, keys } => {
                self.touch_global(*global, true);
                keys.iter().flatten().for_each(|k| self.expr(k));
            }
            StmtKind::Delete { global, keys } => {
                self.touch_global(*global, true);
                if let Some(k) = keys {
                    self.keys(k);
                }
            }
            StmtKind::Block(list) => list.iter().for_each(|s| self.stmt(s, prog)),
            StmtKind::Expr(e) => self.expr(e),
            StmtKind::If { cond, then, els } => {
                self.expr(cond);
                self.stmt(then, prog);
                if let Some(e) = els {
                    self.stmt(e, prog);
                }
            }
            StmtKind::While { cond, body } => {
                self.expr(cond);
                self.stmt(body, prog);
            }
            StmtKind::For { init, cond, step, body } => {
                for e in [init, cond, step].into_iter().flatten() {
                    self.expr(e);
                }
                self.stmt(body, prog);
            }
            StmtKind::Return(Some(e)) => self.expr(e),
            StmtKind::Try { body, catch_body, .. } => {
                self.stmt(body, prog);
                self.stmt(catch_body, prog);
            }
            _ => {}
        }
    }

    fn merge(&mut self, other: &Uses) -> bool {
        let mut changed = false;
        for (&g, &w) in &other.globals {
            let e = self.globals.entry(g).or_insert_with(|| {
                changed = true;
                false
            });
            if w && !*e {
                *e = true;
                changed = true;
            }
        }
        changed
    }
}

pub fn compute(prog: &mut Program) {
    let stats: Vec<bool> = prog.globals.iter().map(|g| g.ty == crate::ir::Type::Stat).collect();
    let mut funcs: Vec<Uses> = prog
        .functions
        .iter()
        .map(|f| {
            let mut u = Uses { stats: stats.clone(), ..Uses::default() };
            if let FunctionBody::Script(b) = &f.body {
                u.stmt(b, prog);
            }
            u
        })
        .collect();
    // Close over calls until nothing changes.
    let mut changed = true;
    while changed {
        changed = false;
        for i in 0..funcs.len() {
            let calls = funcs[i].calls.clone();
            for c in calls {
                if c != i {
                    let callee = funcs[c].clone();
                    changed |= funcs[i].merge(&callee);
                }
            }
        }
    }
    let bodies: Vec<Uses> = prog
        .bodies
        .iter()
        .map(|b| {
            let mut u = Uses { stats: stats.clone(), ..Uses::default() };
            u.stmt(&b.body, prog);
            for c in u.calls.clone() {
                let callee = funcs[c].clone();
                u.merge(&callee);
            }
            u
        })
        .collect();
    for p in prog.probes.iter_mut() {
        p.locks = bodies[p.body].globals.iter().map(|(&g, &w)| (g, w)).collect();
    }
}
