//! Lowering of associative arrays and statistics: `a[k]`, `k in a`,
//! `foreach`, `delete`, `<<<`, `@count`/`@sum`/... and `@hist_*`.
//!
//! Input: the AST forms of those constructs inside a body being lowered.
//! Output: the IR nodes `Index`, `IndexAssign`, `IndexIncDec`, `In`,
//! `Accumulate`, `Stat`, `PrintHist`, `Foreach`, `Delete`, with the
//! global's arity (`Global::keys`), histogram kind and capacity recorded.
//! Invariants: arrays and statistics are always globals (SystemTap has no
//! local arrays); every array use agrees on the number of keys; a foreach
//! body never modifies the array it iterates; one error per bad construct.

use super::lower::Scope;
use super::lower::Lowerer;
use crate::diag::Span;
use crate::ir::visit::{Each, Visitor};
use crate::ir::{Expr, ExprKind, HistSpec, Sort, StatOp, Stmt, StmtKind, Type};
use crate::syntax::ast::{self, AssignOp, UnaryOp};

fn expr(kind: ExprKind, span: Span) -> Expr {
    Expr { kind, ty: Type::Unknown, span }
}

fn zero(span: Span) -> Expr {
    expr(ExprKind::Long(0), span)
}

/// A literal number (possibly negated), as `@hist_linear` parameters need.
fn literal(e: &ast::Expr) -> Option<i64> {
    match &e.kind {
        ast::ExprKind::Number(n) => Some(*n),
        ast::ExprKind::Unary { op: UnaryOp::Neg, operand } => literal(operand).map(|n| n.wrapping_neg()),
        ast::ExprKind::Unary { op: UnaryOp::Plus, operand } => literal(operand),
        _ => None,
    }
}

impl<'a> Lowerer<'a> {
    /// The global that an array (nkeys > 0) or statistic (nkeys == 0 on a
    /// scalar) operation names, with its arity checked and settled.
    fn array_global(&mut self, scope: &Scope, id: &ast::Ident, nkeys: usize) -> Option<usize> {
        if scope.is_local(&id.name) {
            self.diags.error(
                format!("`{}` is a local: array locals not supported, missing global declaration?", id.name),
                id.span,
            );
            return None;
        }
        let Some(g) = self.global_index(&id.name) else {
            let what = if nkeys == 0 { "statistic" } else { "array" };
            self.diags.error(
                format!("{what} `{}` is not declared: array locals not supported, missing global declaration?", id.name),
                id.span,
            );
            return None;
        };
        if nkeys > 9 {
            self.diags.error(format!("array `{}` has {nkeys} keys; at most 9 are allowed", id.name), id.span);
            return None;
        }
        let global = &mut self.prog.globals[g];
        match &mut global.keys {
            None if nkeys == 0 => {}
            None => global.keys = Some(vec![Type::Unknown; nkeys]),
            Some(k) if k.is_empty() && nkeys > 0 => *k = vec![Type::Unknown; nkeys],
            Some(k) if k.len() == nkeys => {}
            Some(k) => {
                let had = k.len();
                let msg = if nkeys == 0 {
                    format!("array `{}` is used here as a scalar statistic", id.name)
                } else if had == 0 {
                    format!("array `{}` used with {nkeys} key{} here", id.name, if nkeys == 1 { "" } else { "s" })
                } else {
                    format!(
                        "array `{}` used with {nkeys} key{} here but {had} elsewhere",
                        id.name,
                        if nkeys == 1 { "" } else { "s" }
                    )
                };
                self.diags.error(msg, id.span);
                return None;
            }
        }
        Some(g)
    }

    fn lower_keys(&mut self, scope: &mut Scope, keys: &[ast::Expr]) -> Option<Vec<Expr>> {
        if let Some(star) = keys.iter().find(|k| matches!(k.kind, ast::ExprKind::Star)) {
            self.diags.error("array slices (`*` keys) are not supported by rstap yet", star.span);
            return None;
        }
        Some(keys.iter().map(|k| self.lower_expr(scope, k)).collect())
    }

    /// Keys that may contain `*` (slices): None stands for `*`.
    fn lower_slice_keys(&mut self, scope: &mut Scope, keys: &[ast::Expr]) -> Vec<Option<Expr>> {
        keys.iter()
            .map(|k| match k.kind {
                ast::ExprKind::Star => None,
                _ => Some(self.lower_expr(scope, k)),
            })
            .collect()
    }

    /// `a[k1, k2]` read.
    pub fn lower_index(&mut self, scope: &mut Scope, array: &ast::Ident, keys: &[ast::Expr], span: Span) -> Expr {
        let Some(keys) = self.lower_keys(scope, keys) else { return zero(span) };
        let Some(global) = self.array_global(scope, array, keys.len()) else { return zero(span) };
        expr(ExprKind::Index { global, keys }, span)
    }

    /// `a[k] = v`, `a[k] op= v`.
    pub fn lower_index_assign(
        &mut self,
        scope: &mut Scope,
        target: &ast::Expr,
        op: AssignOp,
        value: Expr,
        span: Span,
    ) -> Expr {
        let ast::ExprKind::Index { array, keys } = &target.kind else { return zero(span) };
        let Some(keys) = self.lower_keys(scope, keys) else { return zero(span) };
        let Some(global) = self.array_global(scope, array, keys.len()) else { return zero(span) };
        let op = match op {
            AssignOp::Assign => None,
            AssignOp::Compound(b) => Some(b),
        };
        expr(ExprKind::IndexAssign { global, keys, op, value: Box::new(value) }, span)
    }

    /// `a[k]++` and friends.
    pub fn lower_index_incdec(&mut self, scope: &mut Scope, target: &ast::Expr, op: UnaryOp, span: Span) -> Expr {
        let ast::ExprKind::Index { array, keys } = &target.kind else { return zero(span) };
        let Some(keys) = self.lower_keys(scope, keys) else { return zero(span) };
        let Some(global) = self.array_global(scope, array, keys.len()) else { return zero(span) };
        expr(
            ExprKind::IndexIncDec {
                global,
                keys,
                increment: matches!(op, UnaryOp::PreInc | UnaryOp::PostInc),
                prefix: matches!(op, UnaryOp::PreInc | UnaryOp::PreDec),
            },
            span,
        )
    }

    /// `[k1, k2] in a`
    pub fn lower_in(&mut self, scope: &mut Scope, keys: &[ast::Expr], array: &ast::Expr, span: Span) -> Expr {
        let ast::ExprKind::Var(id) = &array.kind else {
            self.diags.error("`in` needs an array name on its right", array.span);
            return zero(span);
        };
        if keys.iter().any(|k| matches!(k.kind, ast::ExprKind::Star)) {
            let keys = self.lower_slice_keys(scope, keys);
            let Some(global) = self.array_global(scope, id, keys.len()) else { return zero(span) };
            return expr(ExprKind::InSlice { global, keys }, span);
        }
        let Some(keys) = self.lower_keys(scope, keys) else { return zero(span) };
        let Some(global) = self.array_global(scope, id, keys.len()) else { return zero(span) };
        expr(ExprKind::In { global, keys }, span)
    }

    /// The global (and keys) a statistic operand names: `s` or `s[k]`.
    fn stat_operand(&mut self, scope: &mut Scope, operand: &ast::Expr) -> Option<(usize, Vec<Expr>)> {
        match &operand.kind {
            ast::ExprKind::Var(id) => Some((self.array_global(scope, id, 0)?, Vec::new())),
            ast::ExprKind::Index { array, keys } => {
                let keys = self.lower_keys(scope, keys)?;
                Some((self.array_global(scope, array, keys.len())?, keys))
            }
            _ => {
                self.diags.error("statistics operators need a global statistic (`s` or `s[k]`)", operand.span);
                None
            }
        }
    }

    /// `s <<< v`, `s[k] <<< v`
    pub fn lower_accumulate(&mut self, scope: &mut Scope, target: &ast::Expr, value: &ast::Expr, span: Span) -> Expr {
        let value = self.lower_expr(scope, value);
        let Some((global, keys)) = self.stat_operand(scope, target) else { return zero(span) };
        expr(ExprKind::Accumulate { global, keys, value: Box::new(value) }, span)
    }

    /// `@count(s)`, `@variance(s[k])`, ...
    pub fn lower_stat(&mut self, scope: &mut Scope, op: StatOp, operand: &ast::Expr, span: Span) -> Expr {
        let Some((global, keys)) = self.stat_operand(scope, operand) else { return zero(span) };
        expr(ExprKind::Stat { op, global, keys }, span)
    }

    /// `@variance(s, shift)`: the shift (a literal 0..12) only tunes the
    /// precision of SystemTap's computation; rstap computes the variance
    /// from the count, sum and sum of squares and ignores it.
    pub fn lower_variance(&mut self, scope: &mut Scope, operand: &ast::Expr, shift: &ast::Expr, span: Span) -> Expr {
        match literal(shift) {
            Some(n) if (0..=12).contains(&n) => {}
            _ => self.diags.error("the shift of @variance must be a literal number from 0 to 12", shift.span),
        }
        self.lower_stat(scope, StatOp::Variance, operand, span)
    }

    /// `print(@hist_log(s))` / `println(@hist_linear(s, 0, 100, 10))`.
    pub fn lower_print_hist(&mut self, scope: &mut Scope, hist: &ast::Expr, newline: bool, span: Span) -> Expr {
        let ast::ExprKind::Hist { kind, operand } = &hist.kind else { return zero(span) };
        let spec = match kind {
            ast::HistKind::Log => HistSpec::Log,
            ast::HistKind::Linear { start, stop, interval } => {
                match (literal(start), literal(stop), literal(interval)) {
                    (Some(start), Some(stop), Some(interval)) => {
                        if interval <= 0 {
                            self.diags.error("the interval of @hist_linear must be positive", interval_span(hist));
                            return zero(span);
                        }
                        if stop <= start {
                            self.diags.error("@hist_linear needs start < stop", hist.span);
                            return zero(span);
                        }
                        if (stop as i128 - start as i128) / interval as i128 > 1000 {
                            self.diags.error("@hist_linear would have more than 1000 buckets", hist.span);
                            return zero(span);
                        }
                        HistSpec::Linear { start, stop, interval }
                    }
                    _ => {
                        self.diags.error("@hist_linear needs literal numbers for start, stop and interval", hist.span);
                        return zero(span);
                    }
                }
            }
        };
        let Some((global, keys)) = self.stat_operand(scope, operand) else { return zero(span) };
        let g = &mut self.prog.globals[global];
        match g.hist {
            None => g.hist = Some(spec),
            Some(h) if h == spec => {}
            Some(_) => {
                let name = g.name.clone();
                self.diags.error(format!("statistic `{name}` is printed with two different histograms"), hist.span);
                return zero(span);
            }
        }
        expr(ExprKind::PrintHist { global, keys, newline }, span)
    }

    /// `delete a`, `delete a[k]`, `delete scalar`.
    pub fn lower_delete(&mut self, scope: &mut Scope, target: &ast::Expr, span: Span) -> StmtKind {
        match &target.kind {
            ast::ExprKind::Var(id) => {
                if scope.is_local(&id.name) {
                    self.diags.error("`delete` of a local variable is not supported by rstap yet", id.span);
                    return StmtKind::Empty;
                }
                let Some(global) = self.global_index(&id.name) else {
                    self.diags.error(format!("`delete` of unknown variable `{}`", id.name), id.span);
                    return StmtKind::Empty;
                };
                StmtKind::Delete { global, keys: None }
            }
            ast::ExprKind::Index { array, keys } if keys.iter().any(|k| matches!(k.kind, ast::ExprKind::Star)) => {
                let keys = self.lower_slice_keys(scope, keys);
                let Some(global) = self.array_global(scope, array, keys.len()) else { return StmtKind::Empty };
                StmtKind::DeleteSlice { global, keys }
            }
            ast::ExprKind::Index { array, keys } => {
                let Some(keys) = self.lower_keys(scope, keys) else { return StmtKind::Empty };
                let Some(global) = self.array_global(scope, array, keys.len()) else { return StmtKind::Empty };
                StmtKind::Delete { global, keys: Some(keys) }
            }
            _ => {
                self.diags.error("`delete` needs a variable, an array or an array element", span);
                StmtKind::Empty
            }
        }
    }

    /// `foreach (v = [k1, k2] in a- limit n) body`
    pub fn lower_foreach(&mut self, scope: &mut Scope, f: &ast::Foreach, span: Span) -> StmtKind {
        let mut slice = Vec::new();
        let id = match &f.array.kind {
            ast::ExprKind::Var(id) => id,
            ast::ExprKind::Index { array, keys } => {
                slice = self.lower_slice_keys(scope, keys);
                if slice.len() != f.keys.len() {
                    self.diags.error(
                        format!("the slice has {} keys but foreach binds {}", slice.len(), f.keys.len()),
                        f.array.span,
                    );
                    return StmtKind::Empty;
                }
                array
            }
            _ => {
                self.diags.error("foreach over histograms is not supported by rstap yet", f.array.span);
                return StmtKind::Empty;
            }
        };
        let Some(global) = self.array_global(scope, id, f.keys.len()) else { return StmtKind::Empty };
        let limit = f.limit.as_ref().map(|e| Box::new(self.lower_expr(scope, e)));
        let keys: Vec<usize> = f.keys.iter().map(|k| scope.local_for(&k.name, k.span)).collect();
        let value = f.value.as_ref().map(|v| scope.local_for(&v.name, v.span));
        let sort = match f.sort {
            None => None,
            Some(s) => {
                if s.column > keys.len() {
                    self.diags.error(format!("foreach sorts by key {} but the array has {}", s.column, keys.len()), span);
                }
                Some(Sort { column: s.column, ascending: s.ascending, stat: s.aggregate.unwrap_or(StatOp::Count) })
            }
        };
        scope.loop_depth += 1;
        let body = self.lower_stmt_in(scope, &f.body);
        scope.loop_depth -= 1;
        if let Some(at) = modifies(&body, global) {
            let name = self.prog.globals[global].name.clone();
            self.diags.error(format!("variable `{name}` modified during `foreach` iteration"), at);
        }
        StmtKind::Foreach { global, slice, keys, value, sort, limit, body: Box::new(body) }
    }
}

fn interval_span(hist: &ast::Expr) -> Span {
    match &hist.kind {
        ast::ExprKind::Hist { kind: ast::HistKind::Linear { interval, .. }, .. } => interval.span,
        _ => hist.span,
    }
}

/// Where `body` writes array `global` directly (not through calls).
fn modifies(s: &Stmt, global: usize) -> Option<Span> {
    let found = std::cell::Cell::new(None);
    let note = |span: Span| {
        if found.get().is_none() {
            found.set(Some(span));
        }
    };
    Each {
        on_expr: |e: &Expr| match &e.kind {
            ExprKind::IndexAssign { global: g, .. }
            | ExprKind::IndexIncDec { global: g, .. }
            | ExprKind::Accumulate { global: g, .. }
                if *g == global =>
            {
                note(e.span)
            }
            _ => {}
        },
        on_stmt: |st: &Stmt| {
            if let StmtKind::Delete { global: g, .. } | StmtKind::DeleteSlice { global: g, .. } = &st.kind {
                if *g == global {
                    note(st.span);
                }
            }
        },
    }
    .visit_stmt(s);
    found.get()
}
