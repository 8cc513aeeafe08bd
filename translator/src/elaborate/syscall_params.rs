//! `$param` in the `syscall.NAME` probes (kprobes on the system call's
//! entry point `__x64_sys_NAME(const struct pt_regs *regs)` and the ia32
//! ones): the system call's parameters, named and typed by the kernel's
//! DWARF of `__do_sys_NAME` (or `__se_sys_NAME`), or without DWARF by
//! the kernel's BTF where that function is out of line.
//!
//! Input: a target expression whose base is `$name`, lowered in the body
//! of such a kprobe (`TargetState::kprobe_symbol`; `kprobe_return` for
//! `.return`). Output: a `TargetAccess` reading the user's register the
//! entry point takes the argument from (argument N is di, si, dx, r10, r8,
//! r9 of `*regs`; at a 32-bit task's `__ia32_sys_NAME` bx, cx, dx, si, di,
//! bp, and at `__ia32_compat_sys_NAME` the parameters are
//! `__do_compat_sys_NAME`'s); `$param->f`, `$param[i]`, `$param$` and
//! `$$parms` walk the parameter's DWARF type from that value, and every
//! load through it reads user memory (`TargetAccess::user`: the pointers a
//! system call gets are the user's). In `.return` probes a parameter (and
//! any access through it) is its value at entry, computed by the
//! kretprobe's entry handler as `@entry(...)` is (`entry`), as SystemTap's
//! `.return` probes snapshot parameters. Invariants: the plain `$param`
//! access is a kernel read of the saved register (so a guru-mode write
//! changes the argument); nothing here does IO; every failure is one
//! message for the caller to place.

use crate::debuginfo::{types, BaseEncoding, DebugInfo, LocOp, TypeId, TypeKind, VarKind, Variable};
use crate::diag::Span;
use crate::ir::{Expr, ExprKind, Type};
use crate::ir_target::{TargetAccess, TargetBase, TargetFinal, TargetRead};
use crate::syntax::ast;

use super::lower::{Lowerer, Scope};
use super::target::{long, R};

/// pt_regs offsets of arguments 1-6: di, si, dx, r10, r8, r9 for an
/// x86-64 call; bx, cx, dx, si, di, bp for a 32-bit task's.
const SLOTS: [i64; 6] = [112, 104, 96, 56, 72, 64];
const SLOTS_IA32: [i64; 6] = [40, 88, 96, 104, 112, 32];

/// One parameter of the system call a kprobe body is lowered for.
struct SyscallParam<'a> {
    di: &'a dyn DebugInfo,
    var: Variable,
    /// Its offset in the user's `pt_regs`.
    slot: i64,
}

impl<'a> Lowerer<'a> {
    /// The system call whose entry point the kprobe being lowered is on:
    /// its name, the pt_regs slots of its arguments and the functions that
    /// carry its parameters' names and types.
    fn syscall_call(&self) -> Option<(&str, [i64; 6], [&'static str; 2])> {
        if self.target.site.is_some() {
            return None;
        }
        let symbol = self.target.kprobe_symbol.as_deref()?;
        if let Some(c) = symbol.strip_prefix("__x64_sys_") {
            Some((c, SLOTS, ["__do_sys_", "__se_sys_"]))
        } else if let Some(c) = symbol.strip_prefix("__ia32_compat_sys_") {
            Some((c, SLOTS_IA32, ["__do_compat_sys_", "__se_compat_sys_"]))
        } else {
            symbol.strip_prefix("__ia32_sys_").map(|c| (c, SLOTS_IA32, ["__do_sys_", "__se_sys_"]))
        }
    }

    /// The parameters of the system call being probed, from DWARF: None
    /// when the probe is on no system call's entry point or the DWARF does
    /// not have the call; an error when there is no DWARF.
    fn syscall_params(&self) -> Option<R<(&'a dyn DebugInfo, Vec<Variable>)>> {
        let (call, _, prefixes) = self.syscall_call()?;
        let missing = self.dwarf.missing.split(" (tried:").next().unwrap_or_default();
        // Without DWARF, BTF has the calls whose __do_sys_NAME the
        // compiler kept out of line (6.12: about a hundred).
        let (di, from_btf) = match (self.dwarf.debuginfo, self.dwarf.btf) {
            (Some(di), _) => (di, false),
            (None, Some(btf)) => (btf as &dyn DebugInfo, true),
            (None, None) => {
                return Some(Err(format!(
                    "the parameters of system call {call} are known from the kernel's debuginfo, which is missing ({missing})"
                )))
            }
        };
        let params = prefixes.iter().find_map(|prefix| {
            let pattern = crate::debuginfo::FunctionPattern { function: format!("{prefix}{call}"), file: None, line: None };
            let f = di.functions(&pattern).ok()?.into_iter().next()?;
            let vars = di.variables(f.die, f.entry_pc.unwrap_or(0)).ok()?;
            // `__unused`: the pt_regs placeholder of a call without arguments.
            Some(vars.into_iter().filter(|v| v.kind == VarKind::Param && v.name != "__unused").collect::<Vec<_>>())
        });
        match params {
            Some(params) => Some(Ok((di, params))),
            None if from_btf => Some(Err(format!(
                "the parameters of system call {call} are known from the kernel's debuginfo, which is missing ({missing}), or from its BTF, which has no {}{call} (the call's body is inlined)",
                prefixes[0]
            ))),
            None => None,
        }
    }

    /// The parameter `$name` of the system call being probed (see
    /// [`Lowerer::syscall_params`]).
    fn syscall_param_decl(&self, name: &str, text: &str) -> Option<R<SyscallParam<'a>>> {
        if name == "return" || name.starts_with('$') {
            return None;
        }
        let (call, slots, _) = self.syscall_call()?;
        let (di, params) = match self.syscall_params()? {
            Ok(p) => p,
            Err(e) => return Some(Err(format!("`${name}`: {e}"))),
        };
        let Some((i, v)) = params.iter().enumerate().find(|(_, v)| v.name == name) else {
            let names: Vec<String> = params.iter().map(|v| format!("${}", v.name)).collect();
            return Some(Err(format!(
                "unable to find target variable `${name}` in system call {call} (its parameters: {})",
                if names.is_empty() { "none".to_string() } else { names.join(" ") }
            )));
        };
        let Some(&slot) = slots.get(i) else {
            return Some(Err(format!("`{text}`: a system call has at most 6 arguments")));
        };
        Some(Ok(SyscallParam { di, var: v.clone(), slot }))
    }

    /// `$name` alone in an entry kprobe on a system call's entry point:
    /// the saved user register the argument is in (a guru-mode write
    /// changes it). None when the probe is no such kprobe (the usual
    /// errors follow), or for `.return` probes and accesses with `->`/`[]`
    /// (those go through [`Lowerer::syscall_param_base`]).
    pub(super) fn syscall_param(&self, t: &ast::TargetExpr, name: &str, text: &str) -> Option<R<TargetAccess>> {
        if self.target.kprobe_return || !t.chain.is_empty() || t.addr_of || t.pretty > 0 {
            return None;
        }
        let p = match self.syscall_param_decl(name, text)? {
            Ok(p) => p,
            Err(e) => return Some(Err(e)),
        };
        Some(scalar_access(&p, text))
    }

    /// The base of an access through the system call's parameter `$name`
    /// (`$name->f`, `$name[i]`, `$name$`): its value and DWARF type, in
    /// the kernel's debuginfo. None when the probe is on no system call.
    pub(super) fn syscall_param_base(&self, name: &str, text: &str, span: Span) -> Option<R<(Expr, TypeId, &'a dyn DebugInfo)>> {
        let p = match self.syscall_param_decl(name, text)? {
            Ok(p) => p,
            Err(e) => return Some(Err(e)),
        };
        // Reads in a .return probe are lowered at entry (see
        // `syscall_return_param`): what comes here is a store.
        if self.target.kprobe_return {
            return Some(Err(format!(
                "cannot write `{text}` in a .return probe: a system call's parameter there is its value at entry (write it in the entry probe)"
            )));
        }
        let ty = match p.var.type_id {
            Some(ty) => ty,
            None => return Some(Err(format!("`${name}` has no type in the debuginfo"))),
        };
        Some(scalar_access(&p, text).map(|acc| (long(ExprKind::Target(Box::new(acc)), span), ty, p.di)))
    }

    /// `$param...` in a syscall `.return` probe: the access as it is at the
    /// system call's entry, saved by the entry handler (`@entry`). None when
    /// the probe is no syscall `.return` or `$name` is no parameter name.
    pub(super) fn syscall_return_param(&mut self, scope: &mut Scope, t: &ast::TargetExpr, span: Span) -> Option<Expr> {
        let ast::TargetBase::Var(id) = &t.base else { return None };
        if !self.target.kprobe_return || id.name == "return" || id.name.starts_with('$') {
            return None;
        }
        self.syscall_call()?;
        if t.pretty > 0 {
            let text = self.sources.snippet(span).to_string();
            self.diags.error(
                format!("`{text}`: a system call's parameter cannot be pretty-printed in a .return probe (its entry value is a number; print it in the entry probe)"),
                span,
            );
            return Some(Expr { kind: ExprKind::Str(String::new()), ty: Type::String, span });
        }
        let inner = ast::Expr { kind: ast::ExprKind::Target(Box::new(t.clone())), span };
        Some(self.lower_entry(scope, &inner, span))
    }

    /// `$$parms` / `$$vars` in a syscall probe: the system call's
    /// parameters (`name=0x...`), at entry in a `.return` probe. None when
    /// the probe is on no system call.
    pub(super) fn syscall_var_list(&mut self, scope: &mut Scope, which: &str, pretty: u8, span: Span) -> Option<Expr> {
        use crate::ir::FormatPiece;
        if !matches!(which, "parms" | "vars") {
            return None;
        }
        let names: Vec<String> = match self.syscall_params()? {
            Ok((_, params)) => params.into_iter().map(|v| v.name).collect(),
            Err(e) => {
                self.diags.error(format!("`$${which}`: {e}"), span);
                return Some(Expr { kind: ExprKind::Str(String::new()), ty: Type::String, span });
            }
        };
        if pretty > 0 {
            self.diags.error(format!("`$${which}{}` is not available in a syscall probe: use `$${which}`", "$".repeat(pretty as usize)), span);
            return Some(Expr { kind: ExprKind::Str(String::new()), ty: Type::String, span });
        }
        let mut pieces = Vec::new();
        let mut args = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let t = ast::TargetExpr {
                base: ast::TargetBase::Var(ast::Ident { name: name.clone(), span }),
                chain: Vec::new(),
                addr_of: false,
                pretty: 0,
            };
            pieces.push(FormatPiece::Text(format!("{}{name}=", if i == 0 { "" } else { " " })));
            pieces.push(FormatPiece::Conv { arg: args.len(), flags: "#".into(), width: None, precision: None, conv: 'x' });
            let shown = format!("${name}");
            let value = match self.syscall_param(&t, name, &shown) {
                Some(Ok(acc)) => long(ExprKind::Target(Box::new(acc)), span),
                // In a .return probe: the value at entry.
                None => self.lower_target(scope, &t, span),
                Some(Err(e)) => {
                    self.diags.error(e, span);
                    long(ExprKind::Long(0), span)
                }
            };
            args.push(value);
        }
        Some(Expr { kind: ExprKind::Format { pieces, args, to_string: true }, ty: Type::String, span })
    }
}

/// The value of parameter `p`: a kernel read of its slot in the user's
/// `pt_regs`, which the entry point's first argument (rdi, DWARF register
/// 5) points at.
fn scalar_access(p: &SyscallParam<'_>, text: &str) -> R<TargetAccess> {
    let di = p.di;
    let shape = p.var.type_id.and_then(|ty| {
        let info = types::strip(di, ty).ok().flatten()?;
        let size = types::size_of(di, ty).ok()?;
        let signed = match info.kind {
            TypeKind::Base(BaseEncoding::Signed) | TypeKind::Enum { .. } => true,
            TypeKind::Base(_) | TypeKind::Pointer { .. } => false,
            _ => return None,
        };
        (1..=8).contains(&size).then_some((size as u8, signed))
    });
    let Some((size, signed)) = shape else {
        return Err(format!("`{text}`: the parameter's type ({}) is not a scalar", p.var.type_name));
    };
    Ok(TargetAccess {
        base: TargetBase::Program(vec![LocOp::RegOffset(crate::debuginfo::Reg(5), p.slot)]),
        steps: Vec::new(),
        fin: TargetFinal::Load(TargetRead { size, signed, bitfield: None }),
        text: text.to_string(),
        entry_regs: false,
        user: false,
    })
}
