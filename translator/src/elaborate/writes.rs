//! Pass 2.5 for stores: `$var = v`, `$p->f op= v`, `$p[3]->f++`,
//! `$return = v`, `@cast(p, "T")->f = v`, `$p->name = "text"` (guru mode).
//!
//! Input: the AST of the destination (a target expression), the operator
//! and the lowered value; the DWARF site being lowered (as for reads, see
//! `target`). Output: an `ir::ExprKind::TargetStore` (see `ir::store`)
//! whose destination is a register of the probe's `pt_regs` or an address
//! computed like a read. Invariants: without `-g` (outside tapset code)
//! every store is the located error SystemTap gives ("... not permitted;
//! need stap -g") before anything is resolved; a destination that cannot
//! be written (a computed value, a struct, a parameter of a `.return`
//! probe, a string into a `char *`) is one error at its span; nothing here
//! does IO.

use crate::debuginfo::{types, BaseEncoding, LocOp, TypeKind};
use crate::diag::Span;
use crate::ir::store::{StoreKind, TargetStore};
use crate::ir::{BinaryOp, Expr, ExprKind, Type};
use crate::ir_target::{TargetAccess, TargetBase, TargetFinal};
use crate::syntax::ast;

use super::lower::{Lowerer, Scope};
use super::target::{long, R};

/// What a store does to its destination.
#[derive(Debug, Clone, Copy)]
pub enum StoreOp {
    /// `=` (None) or `op=`.
    Assign(Option<BinaryOp>),
    /// `++`/`--`, prefix or postfix.
    IncDec { increment: bool, prefix: bool },
}

/// The error SystemTap gives for a store without `-g`.
pub fn not_permitted(t: &ast::TargetExpr) -> &'static str {
    match t.base {
        ast::TargetBase::Cast { .. } => "write to @cast context variable not permitted; need stap -g",
        _ => "write to target variable not permitted; need stap -g",
    }
}

impl<'a> Lowerer<'a> {
    /// A store to the target expression `t` (the assignment's or `++`'s
    /// operand, at `dest_span`); `value` is the lowered right-hand side
    /// (None for `++`/`--`).
    pub fn lower_target_store(
        &mut self,
        scope: &mut Scope,
        t: &ast::TargetExpr,
        dest_span: Span,
        op: StoreOp,
        value: Option<Expr>,
        span: Span,
    ) -> Expr {
        if !self.opts.guru && !self.in_tapset {
            self.diags.error(not_permitted(t), dest_span);
            return long(ExprKind::Long(0), span);
        }
        let text = self.sources.snippet(dest_span).to_string();
        match self.target_store(scope, t, &text, op, value, span) {
            Ok(store) => {
                let ty = if matches!(store.kind, StoreKind::CharArray { .. }) { Type::String } else { Type::Long };
                Expr { kind: ExprKind::TargetStore(Box::new(store)), ty, span }
            }
            Err(msg) => {
                if !self.target.undefined.iter().any(|u| text.starts_with(u.as_str())) {
                    self.diags.error(msg, dest_span);
                }
                long(ExprKind::Long(0), span)
            }
        }
    }

    fn target_store(
        &mut self,
        scope: &mut Scope,
        t: &ast::TargetExpr,
        text: &str,
        op: StoreOp,
        value: Option<Expr>,
        span: Span,
    ) -> R<TargetStore> {
        if t.addr_of {
            return Err(format!("cannot assign to `{text}`: an address is not a variable"));
        }
        if t.pretty > 0 {
            return Err(format!("cannot assign to `{text}`: a pretty-printed value is a string, not a variable"));
        }
        if let ast::TargetBase::Var(id) = &t.base {
            if id.name.starts_with('$') && t.chain.is_empty() {
                return Err(format!("cannot assign to `{text}`: it lists variables"));
            }
        }
        let (op, value, post) = match (op, value) {
            (StoreOp::Assign(op), Some(v)) => (op, v, false),
            (StoreOp::IncDec { increment, prefix }, _) => {
                (Some(if increment { BinaryOp::Add } else { BinaryOp::Sub }), long(ExprKind::Long(1), span), !prefix)
            }
            (StoreOp::Assign(_), None) => return Err("internal error: an assignment without a value".into()),
        };
        if let Some(acc) = self.kprobe_return(t, text) {
            let mut dest = acc?;
            let kind = match dest.fin {
                TargetFinal::Load(r) => {
                    dest.fin = TargetFinal::Address;
                    StoreKind::Memory { size: r.size, signed: r.signed, bitfield: None }
                }
                _ => StoreKind::Register { field: "ax", size: 8, signed: true },
            };
            return Ok(TargetStore { dest, kind, op, value, post });
        }
        let (mut dest, ty) = self.target_access_typed(scope, t, text)?;
        let kind = match dest.fin {
            TargetFinal::Load(r) => {
                dest.fin = TargetFinal::Address;
                StoreKind::Memory { size: r.size, signed: r.signed, bitfield: r.bitfield }
            }
            TargetFinal::Value { size, signed } => {
                let reg = match (&dest.base, dest.steps.is_empty()) {
                    (TargetBase::Program(ops), true) => match ops.as_slice() {
                        [LocOp::Reg(r)] => r.pt_regs_field(),
                        _ => None,
                    },
                    _ => None,
                };
                let Some(field) = reg else {
                    return Err(format!(
                        "cannot write `{text}`: at this probe point its value is computed (DWARF gives no register or memory that holds it)"
                    ));
                };
                if dest.entry_regs {
                    return Err(format!(
                        "cannot write `{text}` in a .return probe: it is the value its function was called with, saved at entry (write it in a .call probe)"
                    ));
                }
                StoreKind::Register { field, size, signed }
            }
            TargetFinal::Address => {
                let di = self.access_debuginfo(t)?;
                let info = types::strip(di, ty).map_err(|e| e.to_string())?;
                let char_array = match info.as_ref().map(|i| &i.kind) {
                    Some(TypeKind::Array { element, dims }) if dims.len() == 1 => {
                        let e = types::strip(di, *element).map_err(|e| e.to_string())?;
                        let one = types::size_of(di, *element).map_err(|e| e.to_string())? == 1;
                        matches!(e.map(|i| i.kind), Some(TypeKind::Base(BaseEncoding::Signed | BaseEncoding::Unsigned))) && one
                    }
                    _ => false,
                };
                if !char_array {
                    return Err(format!(
                        "cannot write `{text}`: it is a {} (write its members one by one)",
                        types::type_name(di, ty)
                    ));
                }
                let len = types::size_of(di, ty).map_err(|e| e.to_string())?;
                if len == 0 {
                    return Err(format!("cannot write `{text}`: it is an array of unknown size"));
                }
                if op.is_some() {
                    return Err(format!("`{text}` is a char array: only `=` stores a string into it"));
                }
                StoreKind::CharArray { len }
            }
        };
        if let (StoreKind::Memory { .. } | StoreKind::Register { .. }, ExprKind::Str(_)) = (&kind, &value.kind) {
            let what = types::type_name(self.access_debuginfo(t)?, ty);
            return Err(format!(
                "cannot store a string into `{text}` (a {what}): only a char array holds one; set_kernel_string() writes where a char * points"
            ));
        }
        Ok(TargetStore { dest, kind, op, value, post })
    }

    /// `$return` in a `kprobe.function(...).return` probe (no DWARF): the
    /// return-value register, a long. In a kprobe on a system call's entry
    /// point `__x64_sys_NAME` (the `syscall.NAME` aliases), `$param` is a
    /// parameter of the system call (see `syscall_param`).
    pub(super) fn kprobe_return(&self, t: &ast::TargetExpr, text: &str) -> Option<R<TargetAccess>> {
        let ast::TargetBase::Var(id) = &t.base else { return None };
        if id.name != "return" {
            return self.syscall_param(t, &id.name, text);
        }
        if !self.target.kprobe_return || self.target.site.is_some() {
            return None;
        }
        if !t.chain.is_empty() || t.addr_of {
            return Some(Err(format!(
                "`{text}`: $return of a kprobe.function probe has no type (no debuginfo): use @cast($return, \"TYPE\")->..."
            )));
        }
        Some(Ok(TargetAccess {
            base: TargetBase::Program(vec![LocOp::Reg(crate::debuginfo::Reg(0))]),
            steps: Vec::new(),
            fin: TargetFinal::Value { size: 8, signed: true },
            text: text.to_string(),
            entry_regs: false,
        }))
    }

    /// `$name` in an entry kprobe on `__x64_sys_NAME(const struct pt_regs
    /// *regs)`: SystemTap's `syscall.NAME` probes the function that has the
    /// system call's parameters, so `$fd`, `$count`, ... are those. Here the
    /// parameter's name and type come from the kernel's DWARF of
    /// `__do_sys_NAME` (or `__se_sys_NAME`), and its value is the user's
    /// register that the entry point reads it from (argument N is di, si,
    /// dx, r10, r8, r9 of `*regs`; at a 32-bit task's `__ia32_sys_NAME` bx,
    /// cx, dx, si, di, bp, and at `__ia32_compat_sys_NAME` the parameters
    /// are `__do_compat_sys_NAME`'s): a read reads that slot, and a write (guru
    /// mode) changes the argument the system call runs with. None when the
    /// probe is no such kprobe (the usual "only in kernel.function probes"
    /// error follows) or the kernel's DWARF does not have the call; an
    /// error when there is no DWARF or the name is no parameter.
    fn syscall_param(&self, t: &ast::TargetExpr, name: &str, text: &str) -> Option<R<TargetAccess>> {
        // pt_regs offsets of arguments 1-6: di, si, dx, r10, r8, r9 for an
        // x86-64 call; bx, cx, dx, si, di, bp for a 32-bit task's.
        const SLOTS: [i64; 6] = [112, 104, 96, 56, 72, 64];
        const SLOTS_IA32: [i64; 6] = [40, 88, 96, 104, 112, 32];
        if self.target.site.is_some() || self.target.kprobe_return || name.starts_with('$') {
            return None;
        }
        let symbol = self.target.kprobe_symbol.as_deref()?;
        let (call, slots, prefixes) = if let Some(c) = symbol.strip_prefix("__x64_sys_") {
            (c, SLOTS, ["__do_sys_", "__se_sys_"])
        } else if let Some(c) = symbol.strip_prefix("__ia32_compat_sys_") {
            (c, SLOTS_IA32, ["__do_compat_sys_", "__se_compat_sys_"])
        } else if let Some(c) = symbol.strip_prefix("__ia32_sys_") {
            (c, SLOTS_IA32, ["__do_sys_", "__se_sys_"])
        } else {
            return None;
        };
        let Some(di) = self.dwarf.debuginfo else {
            return Some(Err(format!(
                "`${name}`: the parameters of system call {call} are known from the kernel's debuginfo, which is missing ({})",
                self.dwarf.missing.split(" (tried:").next().unwrap_or_default()
            )));
        };
        let params = prefixes.iter().find_map(|prefix| {
            let pattern = crate::debuginfo::FunctionPattern { function: format!("{prefix}{call}"), file: None, line: None };
            let f = di.functions(&pattern).ok()?.into_iter().next()?;
            let vars = di.variables(f.die, f.entry_pc.unwrap_or(0)).ok()?;
            Some(vars.into_iter().filter(|v| v.kind == crate::debuginfo::VarKind::Param).collect::<Vec<_>>())
        })?;
        let Some((i, v)) = params.iter().enumerate().find(|(_, v)| v.name == name) else {
            let names: Vec<String> = params.iter().map(|v| format!("${}", v.name)).collect();
            return Some(Err(format!(
                "unable to find target variable `${name}` in system call {call} (its parameters: {})",
                if names.is_empty() { "none".to_string() } else { names.join(" ") }
            )));
        };
        if !t.chain.is_empty() || t.addr_of {
            return Some(Err(format!(
                "`{text}`: only the value of a system call's parameter is available in a syscall probe (use @cast(${name}, \"TYPE\")->...)"
            )));
        }
        let Some(&slot) = slots.get(i) else {
            return Some(Err(format!("`{text}`: a system call has at most 6 arguments")));
        };
        let shape = v.type_id.and_then(|ty| {
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
            return Some(Err(format!("`{text}`: the parameter's type ({}) is not a scalar", v.type_name)));
        };
        // rdi (DWARF register 5) points at the user's registers: the
        // parameter is at rdi + slot.
        let ops = vec![LocOp::RegOffset(crate::debuginfo::Reg(5), slot)];
        Some(Ok(TargetAccess {
            base: TargetBase::Program(ops),
            steps: Vec::new(),
            fin: TargetFinal::Load(crate::ir_target::TargetRead { size, signed, bitfield: None }),
            text: text.to_string(),
            entry_regs: false,
        }))
    }
}
