//! The one walker over the IR: a [`Visitor`] (shared borrows) and a
//! [`VisitorMut`] (mutable borrows).
//!
//! Input: an `ir::Stmt`, `ir::Expr` or whole `ir::Program`. Output: calls
//! of the visitor's methods, parents before children, children in
//! evaluation order (left to right, as the generated C evaluates them).
//! Invariants: `walk_*` reaches every sub-statement and sub-expression of
//! every kind, including target-access operands (`@cast` bases, run-time
//! indices), `foreach` slices and limits, `try`/`catch` bodies; a visitor
//! that overrides `visit_*` and still wants the children calls the
//! matching `walk_*` itself. Adding an `ExprKind` or `StmtKind` means
//! adding it here, and nowhere else has to learn it to keep walking.

use super::{Expr, ExprKind, FunctionBody, Program, Stmt, StmtKind};

/// Reads the IR. Override `visit_expr` / `visit_stmt`; the defaults walk
/// the children.
pub trait Visitor {
    fn visit_stmt(&mut self, s: &Stmt) {
        walk_stmt(self, s);
    }

    fn visit_expr(&mut self, e: &Expr) {
        walk_expr(self, e);
    }
}

/// Changes the IR in place. Override `visit_expr_mut` / `visit_stmt_mut`;
/// the defaults walk the children.
pub trait VisitorMut {
    fn visit_stmt_mut(&mut self, s: &mut Stmt) {
        walk_stmt_mut(self, s);
    }

    fn visit_expr_mut(&mut self, e: &mut Expr) {
        walk_expr_mut(self, e);
    }
}

/// Visits the direct children of `s`: its expressions, then its
/// sub-statements.
pub fn walk_stmt<V: Visitor + ?Sized>(v: &mut V, s: &Stmt) {
    match &s.kind {
        StmtKind::Block(list) => list.iter().for_each(|x| v.visit_stmt(x)),
        StmtKind::Expr(e) => v.visit_expr(e),
        StmtKind::If { cond, then, els } => {
            v.visit_expr(cond);
            v.visit_stmt(then);
            if let Some(e) = els {
                v.visit_stmt(e);
            }
        }
        StmtKind::While { cond, body } => {
            v.visit_expr(cond);
            v.visit_stmt(body);
        }
        StmtKind::For { init, cond, step, body } => {
            for e in [init, cond, step].into_iter().flatten() {
                v.visit_expr(e);
            }
            v.visit_stmt(body);
        }
        StmtKind::Foreach { slice, limit, body, .. } => {
            slice.iter().flatten().for_each(|k| v.visit_expr(k));
            if let Some(l) = limit {
                v.visit_expr(l);
            }
            v.visit_stmt(body);
        }
        StmtKind::Delete { keys, .. } => keys.iter().flatten().for_each(|k| v.visit_expr(k)),
        StmtKind::DeleteSlice { keys, .. } => keys.iter().flatten().for_each(|k| v.visit_expr(k)),
        StmtKind::Return(e) => {
            if let Some(e) = e {
                v.visit_expr(e);
            }
        }
        StmtKind::Try { body, catch_body, .. } => {
            v.visit_stmt(body);
            v.visit_stmt(catch_body);
        }
        StmtKind::Break | StmtKind::Continue | StmtKind::Next | StmtKind::Embedded(_) | StmtKind::Empty => {}
    }
}

/// Visits the direct sub-expressions of `e`, in evaluation order.
pub fn walk_expr<V: Visitor + ?Sized>(v: &mut V, e: &Expr) {
    match &e.kind {
        ExprKind::Long(_) | ExprKind::Str(_) | ExprKind::Var(_) | ExprKind::IncDec { .. } => {}
        ExprKind::Call { args, .. } | ExprKind::Format { args, .. } => args.iter().for_each(|a| v.visit_expr(a)),
        ExprKind::Unary { operand, .. } => v.visit_expr(operand),
        ExprKind::Binary { lhs, rhs, .. } => {
            v.visit_expr(lhs);
            v.visit_expr(rhs);
        }
        ExprKind::Assign { value, .. } => v.visit_expr(value),
        ExprKind::Ternary { cond, then, els } => {
            v.visit_expr(cond);
            v.visit_expr(then);
            v.visit_expr(els);
        }
        ExprKind::Index { keys, .. }
        | ExprKind::IndexIncDec { keys, .. }
        | ExprKind::In { keys, .. }
        | ExprKind::Stat { keys, .. }
        | ExprKind::PrintHist { keys, .. } => keys.iter().for_each(|k| v.visit_expr(k)),
        ExprKind::HistBucket { keys, index, .. } => {
            keys.iter().for_each(|k| v.visit_expr(k));
            v.visit_expr(index);
        }
        ExprKind::InSlice { keys, .. } => keys.iter().flatten().for_each(|k| v.visit_expr(k)),
        ExprKind::IndexAssign { keys, value, .. } | ExprKind::Accumulate { keys, value, .. } => {
            keys.iter().for_each(|k| v.visit_expr(k));
            v.visit_expr(value);
        }
        ExprKind::Target(t) => t.subexprs().for_each(|a| v.visit_expr(a)),
        ExprKind::TargetStore(t) => t.subexprs().for_each(|a| v.visit_expr(a)),
    }
}

/// [`walk_stmt`] with mutable borrows.
pub fn walk_stmt_mut<V: VisitorMut + ?Sized>(v: &mut V, s: &mut Stmt) {
    match &mut s.kind {
        StmtKind::Block(list) => list.iter_mut().for_each(|x| v.visit_stmt_mut(x)),
        StmtKind::Expr(e) => v.visit_expr_mut(e),
        StmtKind::If { cond, then, els } => {
            v.visit_expr_mut(cond);
            v.visit_stmt_mut(then);
            if let Some(e) = els {
                v.visit_stmt_mut(e);
            }
        }
        StmtKind::While { cond, body } => {
            v.visit_expr_mut(cond);
            v.visit_stmt_mut(body);
        }
        StmtKind::For { init, cond, step, body } => {
            for e in [init, cond, step].into_iter().flatten() {
                v.visit_expr_mut(e);
            }
            v.visit_stmt_mut(body);
        }
        StmtKind::Foreach { slice, limit, body, .. } => {
            slice.iter_mut().flatten().for_each(|k| v.visit_expr_mut(k));
            if let Some(l) = limit {
                v.visit_expr_mut(l);
            }
            v.visit_stmt_mut(body);
        }
        StmtKind::Delete { keys, .. } => keys.iter_mut().flatten().for_each(|k| v.visit_expr_mut(k)),
        StmtKind::DeleteSlice { keys, .. } => keys.iter_mut().flatten().for_each(|k| v.visit_expr_mut(k)),
        StmtKind::Return(e) => {
            if let Some(e) = e {
                v.visit_expr_mut(e);
            }
        }
        StmtKind::Try { body, catch_body, .. } => {
            v.visit_stmt_mut(body);
            v.visit_stmt_mut(catch_body);
        }
        StmtKind::Break | StmtKind::Continue | StmtKind::Next | StmtKind::Embedded(_) | StmtKind::Empty => {}
    }
}

/// [`walk_expr`] with mutable borrows.
pub fn walk_expr_mut<V: VisitorMut + ?Sized>(v: &mut V, e: &mut Expr) {
    match &mut e.kind {
        ExprKind::Long(_) | ExprKind::Str(_) | ExprKind::Var(_) | ExprKind::IncDec { .. } => {}
        ExprKind::Call { args, .. } | ExprKind::Format { args, .. } => {
            args.iter_mut().for_each(|a| v.visit_expr_mut(a))
        }
        ExprKind::Unary { operand, .. } => v.visit_expr_mut(operand),
        ExprKind::Binary { lhs, rhs, .. } => {
            v.visit_expr_mut(lhs);
            v.visit_expr_mut(rhs);
        }
        ExprKind::Assign { value, .. } => v.visit_expr_mut(value),
        ExprKind::Ternary { cond, then, els } => {
            v.visit_expr_mut(cond);
            v.visit_expr_mut(then);
            v.visit_expr_mut(els);
        }
        ExprKind::Index { keys, .. }
        | ExprKind::IndexIncDec { keys, .. }
        | ExprKind::In { keys, .. }
        | ExprKind::Stat { keys, .. }
        | ExprKind::PrintHist { keys, .. } => keys.iter_mut().for_each(|k| v.visit_expr_mut(k)),
        ExprKind::HistBucket { keys, index, .. } => {
            keys.iter_mut().for_each(|k| v.visit_expr_mut(k));
            v.visit_expr_mut(index);
        }
        ExprKind::InSlice { keys, .. } => keys.iter_mut().flatten().for_each(|k| v.visit_expr_mut(k)),
        ExprKind::IndexAssign { keys, value, .. } | ExprKind::Accumulate { keys, value, .. } => {
            keys.iter_mut().for_each(|k| v.visit_expr_mut(k));
            v.visit_expr_mut(value);
        }
        ExprKind::Target(t) => t.subexprs_mut().into_iter().for_each(|a| v.visit_expr_mut(a)),
        ExprKind::TargetStore(t) => t.subexprs_mut().into_iter().for_each(|a| v.visit_expr_mut(a)),
    }
}

/// Visits every probe body and every script function's body of `prog`
/// (embedded-C functions have none), bodies first, each in index order.
pub fn visit_program<V: Visitor + ?Sized>(v: &mut V, prog: &Program) {
    for b in &prog.bodies {
        v.visit_stmt(&b.body);
    }
    for f in &prog.functions {
        if let FunctionBody::Script(body) = &f.body {
            v.visit_stmt(body);
        }
    }
}

/// A [`Visitor`] made of two closures, for walks that only look at nodes:
/// `on_expr` sees every expression, `on_stmt` every statement, each
/// before its children.
pub struct Each<FE, FS> {
    pub on_expr: FE,
    pub on_stmt: FS,
}

impl<FE: FnMut(&Expr), FS: FnMut(&Stmt)> Visitor for Each<FE, FS> {
    fn visit_stmt(&mut self, s: &Stmt) {
        (self.on_stmt)(s);
        walk_stmt(self, s);
    }

    fn visit_expr(&mut self, e: &Expr) {
        (self.on_expr)(e);
        walk_expr(self, e);
    }
}

/// Calls `f` on every expression in `s` (and in nested statements),
/// parents before children.
pub fn each_expr(s: &Stmt, f: impl FnMut(&Expr)) {
    Each { on_expr: f, on_stmt: |_: &Stmt| {} }.visit_stmt(s);
}

/// Calls `f` on every expression in `e`, `e` first.
pub fn each_subexpr(e: &Expr, f: impl FnMut(&Expr)) {
    Each { on_expr: f, on_stmt: |_: &Stmt| {} }.visit_expr(e);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Span;
    use crate::ir::{Type, Var};

    fn e(kind: ExprKind) -> Expr {
        Expr { kind, ty: Type::Unknown, span: Span::default() }
    }

    fn s(kind: StmtKind) -> Stmt {
        Stmt { kind, span: Span::default() }
    }

    /// Every literal in a body nested through each statement kind that
    /// holds code is seen once, in evaluation order.
    #[test]
    fn walks_every_kind_in_order() {
        let n = |i| e(ExprKind::Long(i));
        let body = s(StmtKind::Block(vec![
            s(StmtKind::If {
                cond: n(1),
                then: Box::new(s(StmtKind::Expr(e(ExprKind::Binary {
                    op: crate::ir::BinaryOp::Add,
                    lhs: Box::new(n(2)),
                    rhs: Box::new(n(3)),
                })))),
                els: Some(Box::new(s(StmtKind::Return(Some(n(4)))))),
            }),
            s(StmtKind::Try {
                body: Box::new(s(StmtKind::Foreach {
                    global: 0,
                    slice: vec![None, Some(n(5))],
                    keys: vec![0, 1],
                    value: None,
                    sort: None,
                    limit: Some(Box::new(n(6))),
                    body: Box::new(s(StmtKind::Delete { global: 0, keys: Some(vec![n(7)]) })),
                })),
                catch_var: None,
                catch_body: Box::new(s(StmtKind::Expr(e(ExprKind::IndexAssign {
                    global: 0,
                    keys: vec![n(8)],
                    op: None,
                    value: Box::new(e(ExprKind::Ternary {
                        cond: Box::new(e(ExprKind::Var(Var::Local(0)))),
                        then: Box::new(n(9)),
                        els: Box::new(n(10)),
                    })),
                })))),
            }),
        ]));
        let mut seen = Vec::new();
        each_expr(&body, |x| {
            if let ExprKind::Long(i) = x.kind {
                seen.push(i)
            }
        });
        assert_eq!(seen, (1..=10).collect::<Vec<_>>());

        struct Double;
        impl VisitorMut for Double {
            fn visit_expr_mut(&mut self, x: &mut Expr) {
                if let ExprKind::Long(i) = &mut x.kind {
                    *i *= 2;
                }
                walk_expr_mut(self, x);
            }
        }
        let mut body = body;
        Double.visit_stmt_mut(&mut body);
        let mut seen = Vec::new();
        each_expr(&body, |x| {
            if let ExprKind::Long(i) = x.kind {
                seen.push(i)
            }
        });
        assert_eq!(seen, (1..=10).map(|i| i * 2).collect::<Vec<_>>());
    }
}
