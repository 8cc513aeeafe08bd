//! Target variables in lowering: `$var`, `$var->f[i]`, `$return`,
//! `@cast(p, "struct T" [, "MODULE"])->f`, `@var("name" [, "MODULE"])`,
//! `&$var->f`, `@defined(...)`. Pretty forms (`$var$`, `$$parms`) are in
//! `pretty`, `@entry` in `entry`; the resolution itself is the pass
//! `resolve_targets`.
//!
//! Input: the AST of a target expression and the DWARF probe site being
//! lowered (`TargetState::site`). Output: an `ir::ExprKind::Target` node
//! (see `ir_target`) of type long: this file picks the debuginfo an access
//! is in, lowers its operands (`@cast` operands, run-time indices,
//! autocast values) and hands the access to
//! `resolve_targets::resolve_target`. Invariants: every failure (no such
//! variable, optimized out, no such member, no debuginfo) is one error at
//! the expression's span; nothing here does IO.

use crate::debuginfo::{types, DebugInfo, TypeId, TypeKind};
use crate::diag::Span;
use crate::ir::{Expr, ExprKind, Type};
use crate::ir_target::TargetAccess;
use crate::probes::dwarf;
pub use crate::probes::dwarf::Dwarf;
use crate::syntax::ast;

pub(super) use super::resolve_targets::anchor_link;
use super::resolve_targets::{debuginfo_for, resolve_target, TargetContext, UnresolvedBase, UnresolvedStep, UnresolvedTarget};
use super::lower::Scope;
use super::lower::Lowerer;

pub(super) type R<T> = Result<T, String>;

/// What resolving target variables remembers while a body is lowered.
#[derive(Default)]
pub struct TargetState {
    /// The DWARF probe whose body is being lowered (for `$var`).
    pub site: Option<dwarf::DwarfSite>,
    /// `@entry(expr)` values of the `.return` probe being lowered, by slot:
    /// evaluated at the function's entry (see `entry::lower_entry`).
    pub entry_exprs: Vec<Expr>,
    /// Target expressions `@defined` found undefined: later uses are not
    /// errors (they sit in branches SystemTap elides).
    pub undefined: std::collections::HashSet<String>,
    /// File-scope variables looked up by `$name` (a scan of every unit):
    /// each name once.
    pub global_vars: std::collections::HashMap<String, Option<crate::debuginfo::Variable>>,
    /// The body being lowered is a `kprobe.function(...).return` probe's:
    /// `$return` is the return-value register (see `writes`).
    pub kprobe_return: bool,
    /// The symbol of the kprobe whose body is being lowered (a system
    /// call's entry point gives `$param`s, see `writes::syscall_param`).
    pub kprobe_symbol: Option<String>,
    /// The hook family whose body is being lowered (its `$vars` are in
    /// `hook_vars`).
    pub hook: Option<crate::probes::hooks::Hook>,
}

pub(super) fn long(kind: ExprKind, span: Span) -> Expr {
    Expr { kind, ty: Type::Long, span }
}

impl<'a> Lowerer<'a> {
    /// The debuginfo of the probe being lowered: its module's, else the
    /// kernel's.
    pub(super) fn debuginfo(&self) -> Option<&'a dyn DebugInfo> {
        self.dwarf.for_module(self.target.site.as_ref().and_then(|s| s.module.as_deref()))
    }

    /// `@defined(expr)`: 1 when `expr` resolves, else 0 (and later uses of
    /// the same text are not errors).
    pub fn lower_defined(&mut self, scope: &mut Scope, inner: &ast::Expr, span: Span) -> Expr {
        let before = self.diags.list.len();
        // Errors must show here even for texts already found undefined.
        let saved = std::mem::take(&mut self.target.undefined);
        let _ = self.lower_expr(scope, inner);
        self.target.undefined = saved;
        let ok = self.diags.list.len() == before;
        self.diags.list.truncate(before);
        if !ok {
            self.target.undefined.insert(self.sources.snippet(inner.span).to_string());
        }
        long(ExprKind::Long(ok as i64), span)
    }

    /// A target expression as an IR node, or an error and a 0.
    pub fn lower_target(&mut self, scope: &mut Scope, t: &ast::TargetExpr, span: Span) -> Expr {
        let text = self.sources.snippet(span).to_string();
        if let ast::TargetBase::Var(id) = &t.base {
            if let Some(which) = id.name.strip_prefix('$') {
                if t.chain.is_empty() && !t.addr_of {
                    return self.lower_var_list(scope, which, t.pretty, span);
                }
            }
        }
        if let Some(e) = self.lower_hook_var(scope, t, span) {
            return e;
        }
        if let Some(e) = self.syscall_return_param(scope, t, span) {
            return e;
        }
        if t.pretty > 0 {
            return self.lower_pretty(scope, t, span);
        }
        let access = match self.kprobe_return(t, &text) {
            Some(acc) => acc,
            None => self.target_access_typed(scope, t, &text).map(|(acc, ty)| {
                // A user pointer does not autocast (its loads are the kernel's).
                if !acc.user {
                    self.note_typed(scope, t, &acc, ty, span);
                }
                acc
            }),
        };
        match access {
            Ok(acc) => long(ExprKind::Target(Box::new(acc)), span),
            Err(msg) => {
                // `@defined($x)` was false: `$x...` sits in a branch that
                // SystemTap elides, so it is not an error.
                if !self.target.undefined.iter().any(|u| text.starts_with(u.as_str())) {
                    self.diags.error(msg, span);
                }
                long(ExprKind::Long(0), span)
            }
        }
    }

    pub(super) fn target_access(&mut self, scope: &mut Scope, t: &ast::TargetExpr, text: &str) -> R<TargetAccess> {
        self.target_access_typed(scope, t, text).map(|(a, _)| a)
    }

    /// A type of the access `t` with typedefs and qualifiers stripped, if
    /// it resolves.
    pub(super) fn stripped(&self, t: &ast::TargetExpr, ty: TypeId) -> Option<TypeKind> {
        self.access_debuginfo(t).ok().and_then(|di| types::strip(di, ty).ok().flatten()).map(|i| i.kind)
    }

    /// The debuginfo an access is resolved in: the probe's (its module's,
    /// or the kernel's), or for `@cast(p, "T", "MODULE")` that module's
    /// (`kernel` and `kernel<header.h>` name the kernel).
    pub(super) fn access_debuginfo(&self, t: &ast::TargetExpr) -> R<&'a dyn DebugInfo> {
        let module = match &t.base {
            ast::TargetBase::Cast { module: Some(m), .. } | ast::TargetBase::AtVar { module: Some(m), .. } => Some(dwarf::module_arg(m)),
            _ => None,
        };
        debuginfo_for(self.dwarf, self.target.site.as_ref(), module)
    }

    /// Lowers the operands of `t` and resolves it at the current site
    /// (`resolve_targets`): the access and the DWARF type it reads.
    pub(super) fn target_access_typed(&mut self, scope: &mut Scope, t: &ast::TargetExpr, text: &str) -> R<(TargetAccess, TypeId)> {
        if t.pretty > 0 {
            return Err(format!("`{text}`: pretty-printing cannot be nested"));
        }
        // A system call's parameter (its value and type) and what it
        // points to, in user memory (see `syscall_params`).
        let mut user = false;
        let syscall = match (&t.base, &self.target.site) {
            (ast::TargetBase::Var(id), None) => match self.syscall_param_base(&id.name, text, id.span) {
                Some(r) => Some(r?),
                None => return Err(format!("target variable `${}` is only available in kernel.function probes", id.name)),
            },
            _ => None,
        };
        // An autocast value brings its own type (and debuginfo).
        let (di, base) = match &t.base {
            _ if syscall.is_some() => {
                let (value, ty, di) = syscall.expect("matched");
                user = true;
                (di, UnresolvedBase::Typed { value, ty, addr: false })
            }
            ast::TargetBase::Autocast(e) => {
                let (value, ty, addr, di) = self.autocast_base(scope, e, text)?;
                (di, UnresolvedBase::Typed { value, ty, addr })
            }
            base => {
                let di = self.access_debuginfo(t).map_err(|why| format!("cannot resolve `{text}`: {why}"))?;
                let base = match base {
                    ast::TargetBase::Var(id) => UnresolvedBase::Var(id.name.clone()),
                    ast::TargetBase::Cast { operand, type_name, .. } => {
                        UnresolvedBase::Cast { operand: self.lower_expr(scope, operand), type_name: type_name.clone() }
                    }
                    ast::TargetBase::AtVar { name, module } => {
                        let module = match module.as_deref() {
                            Some(m) => dwarf::module_arg(m).map(dwarf::module_name),
                            None => self.target.site.as_ref().and_then(|s| s.module.clone()),
                        };
                        UnresolvedBase::AtVar { name: name.clone(), module }
                    }
                    ast::TargetBase::Autocast(_) => unreachable!("matched above"),
                };
                (di, base)
            }
        };
        let chain = t
            .chain
            .iter()
            .map(|c| match c {
                ast::TargetComponent::Field(id) => UnresolvedStep::Field(id.name.clone()),
                ast::TargetComponent::Index(e) => match e.kind {
                    ast::ExprKind::Number(n) => UnresolvedStep::Const(n, e.span),
                    _ => UnresolvedStep::Index(self.lower_expr(scope, e)),
                },
            })
            .collect();
        let u = UnresolvedTarget { base, chain, addr_of: t.addr_of, text: text.to_string() };
        let mut cx = TargetContext { dwarf: self.dwarf, site: self.target.site.as_ref(), global_vars: &mut self.target.global_vars };
        let (mut acc, ty) = resolve_target(&mut cx, di, u)?;
        acc.user = user;
        Ok((acc, ty))
    }
}
