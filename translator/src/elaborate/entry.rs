//! `@entry(expr)` in `.return` probes.
//!
//! Input: the expression inside `@entry` and the `.return` site being
//! lowered. Output: a call of the entry tapset's `__entry_load(slot)` in the
//! return body, and (per probe, `entry_body`) a body of
//! `__entry_store(slot, expr)` calls that the kretprobe's entry handler
//! runs, where `expr` is lowered as at the function's entry. Invariants:
//! only target reads, constants, operators and function calls may be
//! inside `@entry` (the entry handler has none of the probe's locals), and
//! neither it nor the functions it calls may touch globals (the handler
//! takes no locks); anything else, or `@entry` outside a `.return` probe,
//! is one error at its span. Kretprobes without DWARF
//! (`kprobe.function(...).return`, the syscall tapset's returns) compute
//! `@entry` the same way, their arguments as `int_arg(n)` reads them there.

use crate::diag::Span;
use crate::ir::visit::{walk_expr, walk_stmt, Visitor};
use crate::ir::{Expr, ExprKind, FunctionBody, Stmt, StmtKind, Type, Var};
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
        let site = self.target.site.clone().filter(|s| s.ret);
        if site.is_none() && !(self.kprobe_return && self.target.site.is_none()) {
            self.diags.error("@entry is only available in .return probes", span);
            return long(ExprKind::Long(0), span);
        }
        let before = self.diags.error_count();
        let value = match site {
            Some(site) => {
                self.target.site = Some(dwarf::DwarfSite { ret: false, at_entry: true, ..site.clone() });
                let value = self.lower_expr(scope, inner);
                self.target.site = Some(site);
                value
            }
            None => {
                // As at the entry point: `$param` of a system call is the
                // argument (see `syscall_params`).
                let saved = std::mem::replace(&mut self.target.kprobe_return, false);
                let value = self.lower_expr(scope, inner);
                self.target.kprobe_return = saved;
                value
            }
        };
        if self.diags.error_count() > before {
            return long(ExprKind::Long(0), span);
        }
        if !entry_computable(&value) {
            self.diags.error(
                "@entry needs an expression of target variables, constants and function calls (it is computed at the function's entry, before the probe's locals exist)",
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

impl Lowerer<'_> {
    /// After every function is lowered: an `@entry` value may call
    /// functions, but neither it nor they may touch globals (the entry
    /// handler takes no locks). One error per offending `@entry`.
    pub(super) fn check_entry_globals(&mut self) {
        let mut seen = std::collections::HashSet::new();
        let mut errors = Vec::new();
        for p in &self.prog.probes {
            let Some((b, _)) = p.entry else { continue };
            if !seen.insert(b) {
                continue;
            }
            let StmtKind::Block(stmts) = &self.prog.bodies[b].body.kind else { continue };
            for s in stmts {
                let mut u = GlobalUse::default();
                u.visit_stmt(s);
                let mut done = std::collections::HashSet::new();
                while let Some(f) = u.calls.pop() {
                    if done.insert(f) {
                        if let FunctionBody::Script(body) = &self.prog.functions[f].body {
                            u.visit_stmt(body);
                        }
                    }
                }
                if u.found {
                    errors.push(s.span);
                }
            }
        }
        for span in errors {
            self.diags.error(
                "@entry cannot use global variables, arrays or statistics, also not in the functions it calls (it is computed in the function's entry handler)",
                span,
            );
        }
    }
}

/// Whether code touches a global, and the functions it calls.
#[derive(Default)]
struct GlobalUse {
    found: bool,
    calls: Vec<usize>,
}

impl Visitor for GlobalUse {
    fn visit_expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Var(Var::Global(_))
            | ExprKind::IncDec { var: Var::Global(_), .. }
            | ExprKind::Assign { var: Var::Global(_), .. }
            | ExprKind::Index { .. }
            | ExprKind::In { .. }
            | ExprKind::InSlice { .. }
            | ExprKind::IndexAssign { .. }
            | ExprKind::IndexIncDec { .. }
            | ExprKind::Accumulate { .. }
            | ExprKind::Stat { .. }
            | ExprKind::PrintHist { .. }
            | ExprKind::HistBucket { .. } => self.found = true,
            ExprKind::Call { func, .. } => self.calls.push(*func),
            _ => {}
        }
        walk_expr(self, e);
    }

    fn visit_stmt(&mut self, s: &Stmt) {
        if matches!(s.kind, StmtKind::Foreach { .. } | StmtKind::Delete { .. } | StmtKind::DeleteSlice { .. }) {
            self.found = true;
        }
        walk_stmt(self, s);
    }
}

/// Can `e` be computed in a kretprobe's entry handler: target reads,
/// constants and operators over them, no script variables or calls?
fn entry_computable(e: &Expr) -> bool {
    let mut ok = true;
    crate::ir::visit::each_subexpr(e, |x| {
        ok &= matches!(
            x.kind,
            ExprKind::Long(_)
                | ExprKind::Target(_)
                | ExprKind::Unary { .. }
                | ExprKind::Binary { .. }
                | ExprKind::Ternary { .. }
                | ExprKind::Call { .. }
        )
    });
    ok
}
