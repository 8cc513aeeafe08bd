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
}

impl Uses {
    fn touch(&mut self, v: Var, write: bool) {
        if let Var::Global(g) = v {
            let w = self.globals.entry(g).or_insert(false);
            *w |= write;
        }
    }

    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Long(_) | ExprKind::Str(_) => {}
            ExprKind::Var(v) => self.touch(*v, false),
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

    fn stmt(&mut self, s: &Stmt) {
        match &s.kind {
            StmtKind::Block(list) => list.iter().for_each(|s| self.stmt(s)),
            StmtKind::Expr(e) => self.expr(e),
            StmtKind::If { cond, then, els } => {
                self.expr(cond);
                self.stmt(then);
                if let Some(e) = els {
                    self.stmt(e);
                }
            }
            StmtKind::While { cond, body } => {
                self.expr(cond);
                self.stmt(body);
            }
            StmtKind::For { init, cond, step, body } => {
                for e in [init, cond, step].into_iter().flatten() {
                    self.expr(e);
                }
                self.stmt(body);
            }
            StmtKind::Return(Some(e)) => self.expr(e),
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
    let mut funcs: Vec<Uses> = prog
        .functions
        .iter()
        .map(|f| {
            let mut u = Uses::default();
            if let FunctionBody::Script(b) = &f.body {
                u.stmt(b);
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
            let mut u = Uses::default();
            u.stmt(&b.body);
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
