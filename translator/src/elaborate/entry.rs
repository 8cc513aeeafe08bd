//! `@entry(expr)` in `.return` probes.
//!
//! Input: the expression inside `@entry` and the `.return` site being
//! lowered. Output: a call of the entry tapset's `__entry_load(slot)` in the
//! return body, and (per probe, `entry_body`) a body of
//! `__entry_store(slot, expr)` calls that the kretprobe's entry handler
//! runs, where `expr` is lowered as at the function's entry. Invariants:
//! only target reads, constants and operators may be inside `@entry` (the
//! entry handler has none of the probe's locals); anything else, or
//! `@entry` outside a `.return` probe, is one error at its span.

use crate::diag::Span;
use crate::ir::{Expr, ExprKind, Type};
use crate::probes::dwarf;
use crate::syntax::ast;

use super::lower::Scope;
use super::target::long;
use super::lower::Lowerer;

impl<'a> Lowerer<'a> {
    /// `@entry(expr)` in a `.return` probe: `expr` is lowered as at the
    /// function's entry (registers as they were there), evaluated by the
    /// kretprobe's entry handler into a slot, and read back here.
    pub fn lower_entry(&mut self, scope: &mut Scope, inner: &ast::Expr, span: Span) -> Expr {
        let Some(site) = self.target.site.clone().filter(|s| s.ret) else {
            self.diags.error("@entry is only available in .return probes", span);
            return long(ExprKind::Long(0), span);
        };
        self.target.site = Some(dwarf::DwarfSite { ret: false, at_entry: true, ..site.clone() });
        let before = self.diags.error_count();
        let value = self.lower_expr(scope, inner);
        self.target.site = Some(site);
        if self.diags.error_count() > before {
            return long(ExprKind::Long(0), span);
        }
        if !entry_computable(&value) {
            self.diags.error(
                "@entry needs an expression of target variables and constants (it is computed at the function's entry, before the probe's locals exist)",
                inner.span,
            );
            return long(ExprKind::Long(0), span);
        }
        let slot = self.target.entry_exprs.len();
        self.target.entry_exprs.push(value);
        let Some(func) = self.function_index("__entry_load") else {
            self.diags.error("internal error: the entry tapset (__entry_load) is missing", span);
            return long(ExprKind::Long(0), span);
        };
        long(ExprKind::Call { func, args: vec![long(ExprKind::Long(slot as i64), span)] }, span)
    }

    /// The body that stores this probe's `@entry` values (taken from
    /// `entry_exprs`), and how many: `None` when there are none.
    pub fn entry_body(&mut self, span: Span) -> Option<(usize, usize)> {
        if self.target.entry_exprs.is_empty() {
            return None;
        }
        let values = std::mem::take(&mut self.target.entry_exprs);
        let func = self.function_index("__entry_store")?;
        let n = values.len();
        let stmts = values
            .into_iter()
            .enumerate()
            .map(|(slot, v)| crate::ir::Stmt {
                span: v.span,
                kind: crate::ir::StmtKind::Expr(Expr {
                    kind: ExprKind::Call { func, args: vec![long(ExprKind::Long(slot as i64), v.span), v] },
                    ty: Type::Long,
                    span,
                }),
            })
            .collect();
        self.prog.bodies.push(crate::ir::ProbeBody {
            locals: Vec::new(),
            body: crate::ir::Stmt { kind: crate::ir::StmtKind::Block(stmts), span },
            span,
        });
        Some((self.prog.bodies.len() - 1, n))
    }
}

/// Can `e` be computed in a kretprobe's entry handler: target reads,
/// constants and operators over them, no script variables or calls?
fn entry_computable(e: &Expr) -> bool {
    let mut ok = true;
    crate::ir::visit::each_subexpr(e, |x| {
        ok &= matches!(
            x.kind,
            ExprKind::Long(_) | ExprKind::Target(_) | ExprKind::Unary { .. } | ExprKind::Binary { .. } | ExprKind::Ternary { .. }
        )
    });
    ok
}
