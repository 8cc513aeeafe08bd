//! C for `try { body } catch (msg) { handler }`.
//!
//! Input: an `ir::StmtKind::Try`. Output: the values of
//! `templates/stmt/try.c.tera`: C in which the error checks of `body` (the
//! one before each statement, which normally `goto out`, and one where the
//! body ends) jump to a label local to this statement; there the error text is copied to
//! the catch variable, the error is cleared and `handler` runs. The
//! statement's own label names derive from its span (file, offset,
//! expansion), so nested and macro-expanded try blocks stay distinct.
//!
//! Invariants (SystemTap's semantics, man stap "try/catch"): an error in
//! `body` abandons the rest of it; an error in `handler` propagates to the
//! enclosing try or ends the handler; `next` and `return` inside `body`
//! still leave the probe or function. An exhausted statement budget
//! (MAXACTION) is not caught: the budget stays spent, so the handler ends
//! as if there were no try. Embedded C's `STAP_ERROR` leaves the handler
//! directly (it jumps to `out`).

use super::emit::Emitter;
use super::templates::{ctx, render_stmt};
use crate::ir::Stmt;

impl<'p> Emitter<'p> {
    pub(super) fn try_catch(&mut self, s: &Stmt, body: &Stmt, catch_var: Option<usize>, handler: &Stmt, depth: usize, out: &mut String) {
        let ind = "\t".repeat(depth);
        let label = format!("rstap_try_{}_{}_{}", s.span.file, s.span.lo, s.span.ctx);
        let outer = std::mem::replace(&mut self.error_label, format!("{label}_catch"));
        let b = self.nested(body, depth + 1);
        self.error_label = outer;
        let field = catch_var.map(|v| crate::codegen::emit::local_field(self.locals, self.params, v)).unwrap_or_default();
        let h = self.nested(handler, depth + 1);
        let outer = self.error_label.clone();
        let pairs = [("ind", ind.as_str()), ("label", &label), ("body", &b), ("outer_label", &outer), ("catch_field", &field), ("handler", &h)];
        out.push_str(&render_stmt("stmt/try.c", &ctx(&pairs)));
    }
}
