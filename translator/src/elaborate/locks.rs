//! Pass 2.9, compute locks: which globals each derived probe reads and writes.
//!
//! Input: a typed `ir::Program`. Output: `DerivedProbe::locks`, the globals
//! the probe's body and every function it calls (transitively) touch, each
//! marked written or read-only, sorted by global index so that handlers
//! always take locks in the same order. Embedded C is opaque and takes none.

use std::collections::BTreeMap;

use crate::ir::visit::{walk_expr, walk_stmt, Visitor};
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
}

impl Visitor for Uses {
    fn visit_expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Var(v) => self.touch(*v, false),
            // `k in s` on a statistic looks at every CPU's map.
            ExprKind::Index { global, .. } | ExprKind::In { global, .. } | ExprKind::InSlice { global, .. } => {
                self.touch_global(*global, self.stats[*global])
            }
            ExprKind::IndexAssign { global, .. } | ExprKind::IndexIncDec { global, .. } => {
                self.touch_global(*global, true)
            }
            // Per-CPU: adding to a statistic only needs the read lock.
            ExprKind::Accumulate { global, .. } => self.touch_global(*global, false),
            // Reading merges every CPU's data: the write lock.
            ExprKind::Stat { global, .. } | ExprKind::PrintHist { global, .. } => self.touch_global(*global, true),
            ExprKind::Call { func, .. } => self.calls.push(*func),
            ExprKind::IncDec { var, .. } | ExprKind::Assign { var, .. } => self.touch(*var, true),
            _ => {}
        }
        walk_expr(self, e);
    }

    fn visit_stmt(&mut self, s: &Stmt) {
        match &s.kind {
            // A statistic array is merged into its aggregate map first.
            StmtKind::Foreach { global, .. } => self.touch_global(*global, self.stats[*global]),
            StmtKind::Delete { global, .. } | StmtKind::DeleteSlice { global, .. } => self.touch_global(*global, true),
            _ => {}
        }
        walk_stmt(self, s);
    }
}

impl Uses {
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
                u.visit_stmt(b);
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
            u.visit_stmt(&b.body);
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
