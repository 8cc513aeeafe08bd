//! Lowering of associative arrays and statistics: `a[k]`, `k in a`,
//! `foreach`, `delete`, `<<<`, `@count`/`@sum`/... and `@hist_*`.
//!
//! Input: the AST forms of those constructs inside a body being lowered.
//! Output: the IR nodes `Index`, `IndexAssign`, `IndexIncDec`, `In`,
//! `Accumulate`, `Stat`, `PrintHist`, `Foreach`, `Delete`, with the
//! global's arity (`Global::keys`), histogram kind and capacity recorded.
//! Invariants: arrays and statistics are always globals (SystemTap has no
//! local arrays, and `<<<` needs a global); an initialised global is a
//! scalar; every array use agrees on the number of keys; a foreach
//! body never modifies the array it iterates; one error per bad construct.

use super::lower::Scope;
use super::lower::Lowerer;
use crate::diag::Span;
use crate::ir::visit::{Each, Visitor};
use crate::ir::{Expr, ExprKind, HistSpec, Sort, StatOp, Stmt, StmtKind, Type, Var};
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
            let what = if nkeys == 0 { "statistics must be global" } else { "array locals not supported" };
            self.diags.error(format!("`{}` is a local: {what}, missing global declaration?", id.name), id.span);
            return None;
        }
        let Some(g) = self.global_index(&id.name) else {
            let msg = if nkeys == 0 {
                format!("statistic `{}` is not declared: statistics must be global, missing global declaration?", id.name)
            } else {
                format!("array `{}` is not declared: array locals not supported, missing global declaration?", id.name)
            };
            self.diags.error(msg, id.span);
            return None;
        };
        if nkeys > 9 {
            self.diags.error(format!("array `{}` has {nkeys} keys; at most 9 are allowed", id.name), id.span);
            return None;
        }
        if self.prog.globals[g].init.is_some() {
            let what = if nkeys == 0 { "a statistic" } else { "an array" };
            self.diags.error(
                format!("global `{}` has an initial value, so it is a scalar; it cannot be used as {what}", id.name),
                id.span,
            );
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
        if op == StatOp::Variance {
            self.note_variance_shift(global, 0, span);
        }
        expr(ExprKind::Stat { op, global, keys }, span)
    }

    /// `@variance(s, shift)`: the bit-shift (a literal 0..62) of SystemTap's
    /// integer Welford computation; one statistic has one shift.
    pub fn lower_variance(&mut self, scope: &mut Scope, operand: &ast::Expr, shift: &ast::Expr, span: Span) -> Expr {
        let n = match literal(shift) {
            Some(n) if (0..=62).contains(&n) => n as u8,
            _ => {
                self.diags.error("the shift of @variance must be a literal number from 0 to 62", shift.span);
                return zero(span);
            }
        };
        let Some((global, keys)) = self.stat_operand(scope, operand) else { return zero(span) };
        self.note_variance_shift(global, n, span);
        expr(ExprKind::Stat { op: StatOp::Variance, global, keys }, span)
    }

    fn note_variance_shift(&mut self, global: usize, shift: u8, span: Span) {
        let g = &mut self.prog.globals[global];
        match g.variance_shift {
            None => g.variance_shift = Some(shift),
            Some(s) if s == shift => {}
            Some(s) => {
                let name = g.name.clone();
                self.diags.error(
                    format!("statistic `{name}` is read with @variance shifts {s} and {shift}; one statistic has one shift"),
                    span,
                );
            }
        }
    }

    /// `print(@hist_log(s))` / `println(@hist_linear(s, 0, 100, 10))`.
    /// `sprint(@hist_log(s))`: the histogram as a string (MAXSTRINGLEN).
    pub fn lower_print_hist(&mut self, scope: &mut Scope, hist: &ast::Expr, newline: bool, to_string: bool, span: Span) -> Expr {
        let Some((global, keys, _)) = self.hist_operand(scope, hist) else { return zero(span) };
        expr(ExprKind::PrintHist { global, keys, newline, to_string }, span)
    }

    /// `@hist_linear(s, start, stop, interval)[i]` / `@hist_log(s)[i]`: one
    /// bucket's count. Linear: 0 below start, 1..N, N + 1 above stop (man
    /// stap). Log: SystemTap's 128 buckets, 64 for 0, 64 + k for
    /// 2^(k-1)..2^k - 1 and 64 - k for the negative values mirrored.
    pub fn lower_hist_bucket(&mut self, scope: &mut Scope, hist: &ast::Expr, bucket: &ast::Expr, span: Span) -> Expr {
        let index = self.lower_expr(scope, bucket);
        let Some((global, keys, _)) = self.hist_operand(scope, hist) else { return zero(span) };
        expr(ExprKind::HistBucket { global, keys, index: Box::new(index) }, span)
    }

    /// `foreach (b in @hist_linear(s, start, stop, interval)) body`: b runs
    /// over every bucket, 0 (below start) to N + 1 (above stop), as
    /// `for (b = 0; b < N + 2; b++) body`; `@hist_log(s)`: b runs over the
    /// 128 log buckets, 0 to 127 (see [`Self::lower_hist_bucket`]).
    fn lower_foreach_hist(&mut self, scope: &mut Scope, f: &ast::Foreach, span: Span) -> StmtKind {
        let Some((_, _, spec)) = self.hist_operand(scope, &f.array) else { return StmtKind::Empty };
        if f.keys.len() != 1 || f.value.is_some() || f.sort.is_some() || f.limit.is_some() {
            self.diags.error("foreach over a histogram binds one bucket number: `foreach (b in @hist_linear(...))`", span);
            return StmtKind::Empty;
        }
        let nb = match spec {
            HistSpec::Linear { start, stop, interval } => (stop as i128 - start as i128) / interval as i128 + 3,
            HistSpec::Log => LOG_BUCKETS,
        };
        let b = scope.local_for(&f.keys[0].name, f.keys[0].span);
        let long = |kind| Expr { kind, ty: Type::Long, span };
        let init = long(ExprKind::Assign { var: Var::Local(b), op: None, value: Box::new(long(ExprKind::Long(0))) });
        let cond = long(ExprKind::Binary {
            op: ast::BinaryOp::Lt,
            lhs: Box::new(long(ExprKind::Var(Var::Local(b)))),
            rhs: Box::new(long(ExprKind::Long(nb as i64))),
        });
        let step = long(ExprKind::IncDec { var: Var::Local(b), increment: true, prefix: false });
        scope.loop_depth += 1;
        let body = Box::new(self.lower_stmt_in(scope, &f.body));
        scope.loop_depth -= 1;
        StmtKind::For { init: Some(init), cond: Some(cond), step: Some(step), body }
    }

    /// The statistic (and keys) of `@hist_*(s...)`, recording the
    /// histogram on the global (one histogram per statistic).
    fn hist_operand(&mut self, scope: &mut Scope, hist: &ast::Expr) -> Option<(usize, Vec<Expr>, HistSpec)> {
        let ast::ExprKind::Hist { kind, operand } = &hist.kind else {
            self.diags.error("expected a histogram (`@hist_log(s)` or `@hist_linear(s, start, stop, interval)`)", hist.span);
            return None;
        };
        let spec = match kind {
            ast::HistKind::Log => HistSpec::Log,
            ast::HistKind::Linear { start, stop, interval } => {
                match (literal(start), literal(stop), literal(interval)) {
                    (Some(start), Some(stop), Some(interval)) => {
                        if interval <= 0 {
                            self.diags.error("the interval of @hist_linear must be positive", interval_span(hist));
                            return None;
                        }
                        if stop <= start {
                            self.diags.error("@hist_linear needs start < stop", hist.span);
                            return None;
                        }
                        if (stop as i128 - start as i128) / interval as i128 > 1000 {
                            self.diags.error("@hist_linear would have more than 1000 buckets", hist.span);
                            return None;
                        }
                        HistSpec::Linear { start, stop, interval }
                    }
                    _ => {
                        self.diags.error("@hist_linear needs literal numbers for start, stop and interval", hist.span);
                        return None;
                    }
                }
            }
        };
        let (global, keys) = self.stat_operand(scope, operand)?;
        let g = &mut self.prog.globals[global];
        match g.hist {
            None => g.hist = Some(spec),
            Some(h) if h == spec => {}
            Some(_) => {
                let name = g.name.clone();
                self.diags.error(format!("statistic `{name}` is printed with two different histograms"), hist.span);
                return None;
            }
        }
        Some((global, keys, spec))
    }

    /// `delete a`, `delete a[k]`, `delete scalar`.
    pub fn lower_delete(&mut self, scope: &mut Scope, target: &ast::Expr, span: Span) -> StmtKind {
        match &target.kind {
            ast::ExprKind::Var(id) => {
                if scope.is_local(&id.name) {
                    // A local scalar goes back to 0 or "": it is given the
                    // value of a fresh local that is never written (locals
                    // start zeroed), which takes its type by inference.
                    let var = scope.local_for(&id.name, id.span);
                    let zero = scope.declare(&format!("__rstap_deleted{}", scope.locals.len()), Type::Unknown, id.span);
                    let value = Box::new(Expr { kind: ExprKind::Var(Var::Local(zero)), ty: Type::Unknown, span });
                    let reset = Expr { kind: ExprKind::Assign { var: Var::Local(var), op: None, value }, ty: Type::Unknown, span };
                    return StmtKind::Expr(reset);
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
            ast::ExprKind::Hist { .. } => return self.lower_foreach_hist(scope, f, span),
            _ => {
                self.diags.error("foreach iterates over an array or a histogram", f.array.span);
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

/// The buckets of `@hist_log` (RSTAP_HIST_LOG_BUCKETS in runtime-c/rstap_stat.h).
const LOG_BUCKETS: i128 = 128;

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
