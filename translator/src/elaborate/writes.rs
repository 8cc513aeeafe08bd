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
        if dest.user {
            return Err(format!(
                "cannot write `{text}`: it is in user memory (where a system call's pointer parameter points); rstap writes only kernel memory and the call's arguments"
            ));
        }
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
    /// parameter of the system call (see `syscall_params`).
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
            user: false,
        }))
    }
}
