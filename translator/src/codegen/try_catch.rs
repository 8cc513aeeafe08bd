//! C for `try { body } catch (msg) { handler }`.
//!
//! Input: an `ir::StmtKind::Try`. Output: C in which the error checks of
//! `body` (the ones after each statement, which normally `goto out`) jump
//! to a label local to this statement; there the error text is copied to
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
use crate::ir::Stmt;

impl<'p> Emitter<'p> {
    pub(super) fn try_catch(&mut self, s: &Stmt, body: &Stmt, catch_var: Option<usize>, handler: &Stmt, depth: usize, out: &mut String) {
        let ind = "\t".repeat(depth);
        let label = format!("rstap_try_{}_{}_{}", s.span.file, s.span.lo, s.span.ctx);
        out.push_str(&format!("{ind}{{ /* try */\n"));
        let outer = std::mem::replace(&mut self.error_label, format!("{label}_catch"));
        self.stmt(body, depth + 1, out);
        self.error_label = outer;
        out.push_str(&format!("{ind}\tgoto {label}_end;\n"));
        out.push_str(&format!("{ind}{label}_catch:\n"));
        out.push_str(&format!("{ind}\tif (unlikely(CB->actionremaining < 0))\n{ind}\t\tgoto {};\n", self.error_label));
        if let Some(v) = catch_var {
            let field = crate::codegen::emit::local_field(self.locals, self.params, v);
            out.push_str(&format!("{ind}\trstap_strcpy(l->{field}, CB->last_error);\n"));
        }
        out.push_str(&format!("{ind}\tCB->last_error = NULL;\n{ind}\tCB->error_location = NULL;\n"));
        self.stmt(handler, depth + 1, out);
        out.push_str(&format!("{ind}{label}_end: ;\n"));
        out.push_str(&format!("{ind}}}\n"));
    }
}
