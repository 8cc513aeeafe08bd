//! Probe point conditions: `probe kernel.function("f") if (enabled) { }`.
//!
//! Input: the `if (expr)` conditions of a derived probe's point (and of the
//! alias points it expanded through) and its lowered body. Output: the body
//! wrapped in `if (c1 && c2 ...)`, so the handler does nothing while a
//! condition is false. This is SystemTap's observable semantics: the
//! probe's body runs only while its condition holds; SystemTap may also
//! disarm the probe meanwhile, which only saves overhead. Invariants: a
//! condition reads globals only (SystemTap's rule); a local in it is an
//! error naming the variable, and the body is then left unguarded.

use super::lower::Scope;
use super::lower::Lowerer;
use crate::ir::{BinaryOp, Expr, ExprKind, Stmt, StmtKind, Type};
use crate::syntax::{ast, SpanJoin};

impl<'a> Lowerer<'a> {
    pub(super) fn guard_with_conditions(&mut self, conditions: &[&'a ast::Expr], body: Stmt) -> Stmt {
        let mut guard: Option<Expr> = None;
        for c in conditions {
            let mut scope = Scope::new(false);
            self.current_file = c.span.file;
            let lowered = self.lower_expr(&mut scope, c);
            if let Some(local) = scope.locals.first() {
                self.diags.error(
                    format!(
                        "probe point condition uses `{}`, which is not a global variable (a condition may read only globals)",
                        local.name
                    ),
                    local.span,
                );
                return body;
            }
            guard = Some(match guard {
                None => lowered,
                Some(prev) => {
                    let span = prev.span.join(lowered.span);
                    Expr {
                        kind: ExprKind::Binary {
                            op: BinaryOp::LogAnd,
                            lhs: Box::new(prev),
                            rhs: Box::new(lowered),
                        },
                        ty: Type::Unknown,
                        span,
                    }
                }
            });
        }
        match guard {
            None => body,
            Some(cond) => {
                let span = body.span;
                Stmt {
                    kind: StmtKind::If {
                        cond,
                        then: Box::new(body),
                        els: None,
                    },
                    span,
                }
            }
        }
    }
}
