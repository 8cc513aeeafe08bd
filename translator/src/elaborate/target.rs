//! Target variables in pass 2: `$var`, `$var->f[i]`, `$return`,
//! `@cast(p, "struct T")->f`, `@var("name")`, `&$var->f`, `@defined(...)`,
//! and `kernel.function` points.
//!
//! Input: the AST of a target expression, the DWARF probe site being
//! lowered (`Elab::site`) and the kernel's debuginfo. Output: an
//! `ir::ExprKind::Target` node (see `ir_target`) of type long, with every
//! location, offset, size and signedness decided here. Invariants: every
//! failure (no such variable, optimized out, no such member, no debuginfo)
//! is one error at the expression's span; nothing here does IO.

use crate::debuginfo::{
    types, AccessOp, AccessStep, BaseEncoding, DebugInfo, LocOp, Location, Reg, TypeId, TypeInfo, TypeKind, VarLocation,
};
use crate::diag::Span;
use crate::ir::{Expr, ExprKind, Type};
use crate::ir_target::{TargetAccess, TargetBase, TargetFinal, TargetRead, TargetStep};
use crate::probes::dwarf::{self, DwarfResolved};
pub use crate::probes::dwarf::Dwarf;
use crate::probes::ProbeError;
use crate::syntax::ast;

use super::lower::Scope;
use super::Elab;

/// What `cur` holds while an access is being built.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cur {
    /// The value of an object of the current type (a pointer, or a scalar
    /// in a register).
    Value,
    /// The address of an object of the current type.
    Address,
}

type R<T> = Result<T, String>;

fn long(kind: ExprKind, span: Span) -> Expr {
    Expr { kind, ty: Type::Long, span }
}

fn is_pointer(t: &Option<TypeInfo>) -> bool {
    matches!(t.as_ref().map(|t| &t.kind), Some(TypeKind::Pointer { .. }))
}

fn is_aggregate(t: &Option<TypeInfo>) -> bool {
    matches!(t.as_ref().map(|t| &t.kind), Some(TypeKind::Struct { .. } | TypeKind::Union { .. } | TypeKind::Array { .. }))
}

/// Replaces entry values (valid only at the function's entry) and checks
/// that every register is in `pt_regs`.
fn check_program(ops: &[LocOp], at_entry: bool) -> R<Vec<LocOp>> {
    let reg_ok = |r: Reg| -> R<()> {
        match r.pt_regs_field() {
            Some(_) => Ok(()),
            None => Err(format!("its location uses register {}, which a probe cannot read", r.name())),
        }
    };
    let mut out = Vec::with_capacity(ops.len());
    for op in ops {
        match op {
            LocOp::Reg(r) | LocOp::RegOffset(r, _) => reg_ok(*r)?,
            LocOp::EntryValue(r) => {
                reg_ok(*r)?;
                if !at_entry {
                    return Err("its value is only known at the function's entry (DW_OP_entry_value)".into());
                }
                out.push(LocOp::Reg(*r));
                continue;
            }
            _ => {}
        }
        out.push(op.clone());
    }
    Ok(out)
}

impl<'a> Elab<'a> {
    /// `kernel.function(...)` points; `Ok(None)` for other families.
    pub fn resolve_dwarf_point(&mut self, point: &ast::ProbePoint) -> Result<Option<DwarfResolved>, ProbeError> {
        dwarf::resolve(point, self.dwarf)
    }

    /// The debuginfo of the probe being lowered: its module's, else the
    /// kernel's.
    fn debuginfo(&self) -> Option<&'a dyn DebugInfo> {
        self.dwarf.for_module(self.site.as_ref().and_then(|s| s.module.as_deref()))
    }

    /// `@entry(expr)` in a `.return` probe: `expr` is lowered as at the
    /// function's entry (registers as they were there), evaluated by the
    /// kretprobe's entry handler into a slot, and read back here.
    pub fn lower_entry(&mut self, scope: &mut Scope, inner: &ast::Expr, span: Span) -> Expr {
        let Some(site) = self.site.clone().filter(|s| s.ret) else {
            self.diags.error("@entry is only available in .return probes", span);
            return long(ExprKind::Long(0), span);
        };
        self.site = Some(dwarf::DwarfSite { ret: false, at_entry: true, ..site.clone() });
        let before = self.diags.error_count();
        let value = self.lower_expr(scope, inner);
        self.site = Some(site);
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
        let slot = self.entry_exprs.len();
        self.entry_exprs.push(value);
        let Some(func) = self.function_index("__entry_load") else {
            self.diags.error("internal error: the entry tapset (__entry_load) is missing", span);
            return long(ExprKind::Long(0), span);
        };
        long(ExprKind::Call { func, args: vec![long(ExprKind::Long(slot as i64), span)] }, span)
    }

    /// The body that stores this probe's `@entry` values (taken from
    /// `entry_exprs`), and how many: `None` when there are none.
    pub fn entry_body(&mut self, span: Span) -> Option<(usize, usize)> {
        if self.entry_exprs.is_empty() {
            return None;
        }
        let values = std::mem::take(&mut self.entry_exprs);
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

    /// `@defined(expr)`: 1 when `expr` resolves, else 0 (and later uses of
    /// the same text are not errors).
    pub fn lower_defined(&mut self, scope: &mut Scope, inner: &ast::Expr, span: Span) -> Expr {
        let before = self.diags.list.len();
        // Errors must show here even for texts already found undefined.
        let saved = std::mem::take(&mut self.undefined_targets);
        let _ = self.lower_expr(scope, inner);
        self.undefined_targets = saved;
        let ok = self.diags.list.len() == before;
        self.diags.list.truncate(before);
        if !ok {
            self.undefined_targets.insert(self.sources.snippet(inner.span).to_string());
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
        if t.pretty > 0 {
            return self.lower_pretty(scope, t, span);
        }
        match self.target_access(scope, t, &text) {
            Ok(acc) => long(ExprKind::Target(Box::new(acc)), span),
            Err(msg) => {
                // `@defined($x)` was false: `$x...` sits in a branch that
                // SystemTap elides, so it is not an error.
                if !self.undefined_targets.iter().any(|u| text.starts_with(u.as_str())) {
                    self.diags.error(msg, span);
                }
                long(ExprKind::Long(0), span)
            }
        }
    }

    /// `$$parms`, `$$locals`, `$$vars`, `$$return`: a string
    /// `name=0x... name=?` built with sprintf at run time (integers and
    /// pointers in hex, structs as `{...}`, optimized-out values as `?`).
    fn lower_var_list(&mut self, scope: &mut Scope, which: &str, pretty: u8, span: Span) -> Expr {
        use crate::debuginfo::VarKind;
        use crate::ir::FormatPiece;
        let str_expr = |s: String| Expr { kind: ExprKind::Str(s), ty: Type::String, span };
        let Some(site) = self.site.clone() else {
            self.diags.error(format!("`$${which}` is only available in kernel.function probes"), span);
            return str_expr(String::new());
        };
        let Some(di) = self.debuginfo() else {
            return str_expr(String::new());
        };
        let names: Vec<(String, bool)> = if which == "return" {
            if !site.ret || site.return_type.is_none() {
                self.diags.error("`$$return` is only available in .return probes of functions that return a value", span);
                return str_expr(String::new());
            }
            vec![("return".into(), false)]
        } else {
            let want: &[VarKind] = match which {
                "parms" => &[VarKind::Param],
                "locals" => &[VarKind::Local],
                "vars" => &[VarKind::Param, VarKind::Local],
                _ => {
                    self.diags.error(format!("unknown target variable list `$${which}`; use $$parms, $$locals, $$vars or $$return"), span);
                    return str_expr(String::new());
                }
            };
            match di.variables(site.die, site.pc) {
                Ok(v) => v.into_iter().filter(|v| want.contains(&v.kind)).map(|v| (v.name, true)).collect(),
                Err(e) => {
                    self.diags.error(e.to_string(), span);
                    return str_expr(String::new());
                }
            }
        };
        let mut pieces = Vec::new();
        let mut args = Vec::new();
        if pretty > 0 {
            // `$$parms$`: each variable pretty-printed, as `$name$` is.
            let mut out = Pretty { pieces, args, span };
            for (i, (name, _)) in names.iter().enumerate() {
                let t = ast::TargetExpr {
                    base: ast::TargetBase::Var(ast::Ident { name: name.clone(), span }),
                    chain: Vec::new(),
                    addr_of: false,
                    pretty: 0,
                };
                out.text(&format!("{}{name}=", if i == 0 { "" } else { " " }));
                if self.pretty_top(scope, &t, pretty, &format!("${name}"), &mut out).is_err() {
                    out.text("?");
                }
            }
            return Expr { kind: ExprKind::Format { pieces: out.pieces, args: out.args, to_string: true }, ty: Type::String, span };
        }
        for (i, (name, _)) in names.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            let t = ast::TargetExpr {
                base: ast::TargetBase::Var(ast::Ident { name: name.clone(), span }),
                chain: Vec::new(),
                addr_of: false,
                pretty: 0,
            };
            let shown = format!("${name}");
            let r = self.target_access(scope, &t, &shown);
            match r {
                Ok(acc) if acc.fin == TargetFinal::Address => pieces.push(FormatPiece::Text(format!("{sep}{name}={{...}}"))),
                Ok(acc) => {
                    pieces.push(FormatPiece::Text(format!("{sep}{name}=")));
                    pieces.push(FormatPiece::Conv { arg: args.len(), flags: "#".into(), width: None, precision: None, conv: 'x' });
                    args.push(long(ExprKind::Target(Box::new(acc)), span));
                }
                Err(_) => pieces.push(FormatPiece::Text(format!("{sep}{name}=?"))),
            }
        }
        Expr { kind: ExprKind::Format { pieces, args, to_string: true }, ty: Type::String, span }
    }

    fn target_access(&mut self, scope: &mut Scope, t: &ast::TargetExpr, text: &str) -> R<TargetAccess> {
        self.target_access_typed(scope, t, text).map(|(a, _)| a)
    }

    /// `$var$` / `$var$$`: a string, as SystemTap's pretty-printing shows
    /// it: a struct or union (or a pointer to one) as its members
    /// `{.a=1, .p=0x..., .s={...}, .v=[...]}`, a char pointer or array as
    /// a quoted string, other values in decimal. `$$` also expands nested
    /// structs and shows arrays as `[first, ...]`.
    fn lower_pretty(&mut self, scope: &mut Scope, t: &ast::TargetExpr, span: Span) -> Expr {
        let text = self.sources.snippet(span).to_string();
        let plain = ast::TargetExpr { pretty: 0, ..t.clone() };
        let mut out = Pretty { pieces: Vec::new(), args: Vec::new(), span };
        if let Err(msg) = self.pretty_top(scope, &plain, t.pretty, &text, &mut out) {
            if !self.undefined_targets.iter().any(|u| text.starts_with(u.as_str())) {
                self.diags.error(msg, span);
            }
            return Expr { kind: ExprKind::Str(String::new()), ty: Type::String, span };
        }
        Expr { kind: ExprKind::Format { pieces: out.pieces, args: out.args, to_string: true }, ty: Type::String, span }
    }

    /// The pretty form of the whole access `plain` (no `$` suffix).
    fn pretty_top(&mut self, scope: &mut Scope, plain: &ast::TargetExpr, depth: u8, text: &str, out: &mut Pretty) -> R<()> {
        let (acc, ty) = self.target_access_typed(scope, plain, text)?;
        let kind = self.stripped(plain, ty);
        if let Some(TypeKind::Pointer { target: Some(p) }) = &kind {
            match self.stripped(plain, *p) {
                Some(members @ (TypeKind::Struct { .. } | TypeKind::Union { .. })) => {
                    self.pretty_members(scope, plain, &members, depth, text, out);
                    return Ok(());
                }
                Some(TypeKind::Base(_)) if self.is_char(plain, *p) => {
                    out.string(self, long(ExprKind::Target(Box::new(acc)), out.span), MAXSTRINGLEN_GUESS);
                    return Ok(());
                }
                _ => {}
            }
        }
        self.pretty_value_of(scope, plain, acc, ty, kind, depth, text, out, true);
        Ok(())
    }

    /// Is `ty` (of the access `t`) plain `char` (not `signed char` or
    /// `unsigned char`, which hold bytes rather than text)?
    fn is_char(&self, t: &ast::TargetExpr, ty: TypeId) -> bool {
        let Ok(di) = self.access_debuginfo(t) else { return false };
        matches!(types::strip(di, ty), Ok(Some(TypeInfo { kind: TypeKind::Base(_), size: Some(1), name: Some(n), .. })) if n == "char")
    }

    /// A type of the access `t` with typedefs and qualifiers stripped, if
    /// it resolves.
    fn stripped(&self, t: &ast::TargetExpr, ty: TypeId) -> Option<TypeKind> {
        self.access_debuginfo(t).ok().and_then(|di| types::strip(di, ty).ok().flatten()).map(|i| i.kind)
    }

    /// The debuginfo an access is resolved in: the probe's (its module's,
    /// or the kernel's), or for `@cast(p, "T", "MODULE")` that module's
    /// (`kernel` and `kernel<header.h>` name the kernel).
    fn access_debuginfo(&self, t: &ast::TargetExpr) -> R<&'a dyn DebugInfo> {
        if let ast::TargetBase::Cast { module: Some(m), .. } | ast::TargetBase::AtVar { module: Some(m), .. } = &t.base {
            let name = m.split('<').next().unwrap_or("").trim();
            if name != "kernel" && !name.is_empty() {
                return self
                    .dwarf
                    .for_module(Some(&dwarf::module_name(name)))
                    .ok_or_else(|| format!("no debuginfo for module \"{name}\" of @cast"));
            }
            return self.dwarf.debuginfo.ok_or_else(|| self.dwarf.missing.clone());
        }
        self.debuginfo().ok_or_else(|| self.dwarf.missing.clone())
    }

    /// `{.a=..., ...}` for the members of `kind` (a struct or union) of the
    /// object `base` names; `depth` 1 is `$`, 2 and more `$$`.
    fn pretty_members(&mut self, scope: &mut Scope, base: &ast::TargetExpr, kind: &TypeKind, depth: u8, text: &str, out: &mut Pretty) {
        let (TypeKind::Struct { members } | TypeKind::Union { members }) = kind else { return };
        out.text("{");
        let mut first = true;
        for m in members {
            let Some(name) = m.name.clone() else { continue };
            out.text(&format!("{}.{name}=", if first { "" } else { ", " }));
            first = false;
            let mut sub = base.clone();
            sub.chain.push(ast::TargetComponent::Field(ast::Ident { name, span: out.span }));
            match self.target_access_typed(scope, &sub, text) {
                Ok((acc, ty)) => {
                    let kind = self.stripped(&sub, ty);
                    self.pretty_value_of(scope, &sub, acc, ty, kind, depth, text, out, false);
                }
                Err(_) => out.text("?"),
            }
        }
        out.text("}");
    }

    /// One value: nested structs and arrays by `depth`, char pointers and
    /// arrays as strings, other pointers as `%p` inside a struct (`top`:
    /// in decimal, as SystemTap shows a pretty-printed variable), integers
    /// in decimal.
    #[allow(clippy::too_many_arguments)]
    fn pretty_value_of(
        &mut self,
        scope: &mut Scope,
        sub: &ast::TargetExpr,
        acc: TargetAccess,
        ty: TypeId,
        kind: Option<TypeKind>,
        depth: u8,
        text: &str,
        out: &mut Pretty,
        top: bool,
    ) {
        let span = out.span;
        let value = |acc: TargetAccess| long(ExprKind::Target(Box::new(acc)), span);
        match kind {
            Some(k @ (TypeKind::Struct { .. } | TypeKind::Union { .. })) => {
                if depth > 1 || top {
                    self.pretty_members(scope, sub, &k, depth, text, out);
                } else {
                    out.text("{...}");
                }
            }
            Some(TypeKind::Array { element, dims }) => {
                if self.is_char(sub, element) && dims.len() == 1 {
                    let len = dims[0].unwrap_or(MAXSTRINGLEN_GUESS as u64).min(MAXSTRINGLEN_GUESS as u64);
                    out.string(self, value(acc), len as i64);
                } else if depth > 1 {
                    out.text("[");
                    let mut elem = sub.clone();
                    elem.chain.push(ast::TargetComponent::Index(ast::Expr { kind: ast::ExprKind::Number(0), span }));
                    match self.target_access_typed(scope, &elem, text) {
                        Ok((a, t)) => {
                            let k = self.stripped(&elem, t);
                            self.pretty_value_of(scope, &elem, a, t, k, depth, text, out, false);
                        }
                        Err(_) => out.text("?"),
                    }
                    let more = dims.first().copied().flatten() != Some(1);
                    out.text(if more { ", ...]" } else { "]" });
                } else {
                    out.text("[...]");
                }
            }
            Some(TypeKind::Pointer { target: Some(p) }) if self.is_char(sub, p) => out.string(self, value(acc), MAXSTRINGLEN_GUESS),
            Some(TypeKind::Pointer { .. }) if !top => out.conv('p', value(acc)),
            Some(TypeKind::Base(BaseEncoding::Unsigned)) => out.conv('u', value(acc)),
            Some(TypeKind::Base(BaseEncoding::Float | BaseEncoding::Other)) | None => out.text("?"),
            Some(_) if acc.fin == TargetFinal::Address => out.text("?"),
            Some(_) => out.conv('d', value(acc)),
        }
        let _ = ty;
    }

    fn target_access_typed(&mut self, scope: &mut Scope, t: &ast::TargetExpr, text: &str) -> R<(TargetAccess, TypeId)> {
        if t.pretty > 0 {
            return Err(format!("`{text}`: pretty-printing cannot be nested"));
        }
        if let (ast::TargetBase::Var(id), None) = (&t.base, &self.site) {
            return Err(format!("target variable `${}` is only available in kernel.function probes", id.name));
        }
        let di = self.access_debuginfo(t).map_err(|why| format!("cannot resolve `{text}`: {why}"))?;
        // The base: a location program (or an expression) and its type.
        let (base, ty, mut state) = match &t.base {
            ast::TargetBase::Var(id) => self.target_base_var(di, &id.name)?,
            ast::TargetBase::Cast { operand, type_name, .. } => {
                let ty = di
                    .find_type(type_name)
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("type \"{type_name}\" is not in the kernel's debuginfo"))?;
                let e = self.lower_expr(scope, operand);
                (TargetBase::Expr(Box::new(e)), ty, Cur::Address)
            }
            ast::TargetBase::AtVar { name, module } => {
                let (n, file) = match name.split_once('@') {
                    Some((n, f)) => (n, Some(f)),
                    None => (name.as_str(), None),
                };
                let v = di
                    .global_variable(n, file)
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("no global variable \"{name}\" in the kernel's debuginfo"))?;
                let ty = v.type_id.ok_or_else(|| format!("@var(\"{name}\") has no type"))?;
                let (b, st) = self.location_base(&v.location, ty, di, name)?;
                let module = match module.as_deref().map(|m| m.split('<').next().unwrap_or("").trim()) {
                    Some(m) if !m.is_empty() && m != "kernel" => Some(dwarf::module_name(m)),
                    Some(_) => None,
                    None => self.site.as_ref().and_then(|s| s.module.clone()),
                };
                (self.relocate(module.as_deref(), di, b)?, ty, st)
            }
            ast::TargetBase::Autocast(_) => {
                return Err("`->` on a value that is not a target variable (autocast) is not supported by rstap yet".into())
            }
        };
        let mut steps: Vec<TargetStep> = Vec::new();
        let mut cur_ty = ty;
        let mut pending: Vec<AccessStep> = Vec::new();
        let mut bitfield = None;
        // Resolve runs of constant steps with the library; run-time indices
        // are added between them.
        let flush = |steps: &mut Vec<TargetStep>, cur_ty: &mut TypeId, state: &mut Cur, pending: &mut Vec<AccessStep>, bitfield: &mut Option<crate::debuginfo::Bitfield>| -> R<()> {
            if pending.is_empty() {
                return Ok(());
            }
            let info = types::strip(di, *cur_ty).map_err(|e| e.to_string())?;
            if *state == Cur::Address && is_pointer(&info) {
                steps.push(TargetStep::Op(AccessOp::Load { size: 8 }));
                *state = Cur::Value;
            }
            let acc = types::resolve_access(di, *cur_ty, pending).map_err(|e| e.to_string())?;
            steps.extend(acc.ops.into_iter().map(TargetStep::Op));
            *cur_ty = acc.final_type;
            *state = Cur::Address;
            *bitfield = acc.bitfield;
            pending.clear();
            Ok(())
        };
        for c in &t.chain {
            match c {
                ast::TargetComponent::Field(id) => pending.push(AccessStep::Field(id.name.clone())),
                ast::TargetComponent::Index(e) => {
                    if let ast::ExprKind::Number(n) = e.kind {
                        pending.push(AccessStep::Index(n));
                        continue;
                    }
                    flush(&mut steps, &mut cur_ty, &mut state, &mut pending, &mut bitfield)?;
                    let info = types::strip(di, cur_ty).map_err(|e| e.to_string())?;
                    let (elem, value_first) = match info.map(|i| i.kind) {
                        Some(TypeKind::Pointer { target: Some(t) }) => (t, true),
                        Some(TypeKind::Array { element, dims }) if dims.len() == 1 => (element, false),
                        Some(TypeKind::Array { .. }) => {
                            return Err("run-time indices into multi-dimensional arrays are not supported by rstap yet".into())
                        }
                        _ => return Err(format!("cannot index {}", types::type_name(di, cur_ty))),
                    };
                    if value_first && state == Cur::Address {
                        steps.push(TargetStep::Op(AccessOp::Load { size: 8 }));
                    }
                    let stride = types::size_of(di, elem).map_err(|e| e.to_string())?;
                    let index = self.lower_expr(scope, e);
                    steps.push(TargetStep::Index { index: Box::new(index), stride });
                    cur_ty = elem;
                    state = Cur::Address;
                    bitfield = None;
                }
            }
        }
        flush(&mut steps, &mut cur_ty, &mut state, &mut pending, &mut bitfield)?;
        let info = types::strip(di, cur_ty).map_err(|e| e.to_string())?;
        let fin = if t.addr_of {
            if state != Cur::Address || bitfield.is_some() {
                return Err(format!("cannot take the address of `{}`", text.trim_start_matches('&')));
            }
            TargetFinal::Address
        } else if state == Cur::Address && is_aggregate(&info) {
            TargetFinal::Address
        } else {
            let (size, signed) = scalar_shape(di, cur_ty, &info)?;
            match state {
                Cur::Value => TargetFinal::Value { size, signed },
                Cur::Address => TargetFinal::Load(TargetRead { size, signed, bitfield }),
            }
        };
        // In a .return probe every `$name` but `$return` and globals reads
        // the registers saved at entry.
        let entry_regs = match (&t.base, &self.site) {
            (ast::TargetBase::Var(id), Some(site)) => site.ret && id.name != "return" && matches!(base, TargetBase::Program(_)),
            _ => false,
        };
        Ok((TargetAccess { base, steps, fin, text: text.to_string(), entry_regs }, cur_ty))
    }

    /// `$name` / `$return` at the current site.
    fn target_base_var(&mut self, di: &dyn DebugInfo, name: &str) -> R<(TargetBase, TypeId, Cur)> {
        let Some(site) = self.site.clone() else {
            return Err(format!("target variable `${name}` is only available in kernel.function probes"));
        };
        if let Some(list) = name.strip_prefix('$') {
            return Err(format!("`$${list}` cannot be followed by `->` or `[]`"));
        }
        if name == "return" {
            if !site.ret {
                return Err("`$return` is only available in .return probes".into());
            }
            let ty = site.return_type.ok_or_else(|| format!("`$return`: function {} returns void", site.function))?;
            let (b, st) = self.location_base(&VarLocation::Available(Location::Register(Reg(0))), ty, di, name)?;
            return Ok((b, ty, st));
        }
        let vars = di.variables(site.die, site.pc).map_err(|e| e.to_string())?;
        let var = match vars.iter().find(|v| v.name == name) {
            Some(v) => v.clone(),
            None => match self.global_var(di, name)? {
                Some(g) => g,
                None => {
                    let alts: Vec<String> = vars.iter().map(|v| format!("${}", v.name)).collect();
                    return Err(format!(
                        "unable to find target variable `${name}` in {} (alternatives: {})",
                        site.function,
                        if alts.is_empty() { "none".to_string() } else { alts.join(" ") }
                    ));
                }
            },
        };
        if site.ret && var.kind == crate::debuginfo::VarKind::Local {
            return Err(format!(
                "`${name}` is a local variable of {}: a .return probe sees only the parameters (as they were at entry) and $return",
                site.function
            ));
        }
        let global = var.kind == crate::debuginfo::VarKind::Global;

        let ty = var.type_id.ok_or_else(|| format!("`${name}` has no type in the debuginfo"))?;
        let (b, st) = self.location_base(&var.location, ty, di, name)?;
        let b = if global { self.relocate(site.module.as_deref(), di, b)? } else { b };
        Ok((b, ty, st))
    }

    /// `DebugInfo::global_variable(name)`, remembered.
    fn global_var(&mut self, di: &dyn DebugInfo, name: &str) -> R<Option<crate::debuginfo::Variable>> {
        if let Some(v) = self.global_vars.get(name) {
            return Ok(v.clone());
        }
        let v = di.global_variable(name, None).map_err(|e| e.to_string())?;
        self.global_vars.insert(name.to_string(), v.clone());
        Ok(v)
    }

    fn location_base(&self, loc: &VarLocation, ty: TypeId, di: &dyn DebugInfo, name: &str) -> R<(TargetBase, Cur)> {
        let at_entry = self.site.as_ref().map(|s| s.at_entry || s.ret).unwrap_or(false);
        let loc = match loc {
            VarLocation::Available(l) => l,
            VarLocation::OptimizedOut => {
                return Err(format!("target variable `${name}` is optimized out at this probe point"))
            }
            VarLocation::Unsupported(why) => {
                return Err(format!("the location of `${name}` is not supported: {why}"))
            }
        };
        let info = types::strip(di, ty).map_err(|e| e.to_string())?;
        let (ops, state) = match loc {
            Location::Register(r) => (vec![LocOp::Reg(*r)], Cur::Value),
            Location::Memory(ops) => (ops.clone(), Cur::Address),
            Location::Value(ops) => (ops.clone(), Cur::Value),
            Location::ImplicitValue(bytes) => {
                let mut v = [0u8; 8];
                for (i, b) in bytes.iter().take(8).enumerate() {
                    v[i] = *b;
                }
                (vec![LocOp::Const(u64::from_le_bytes(v))], Cur::Value)
            }
            Location::Pieces(_) => return Err(format!("`${name}` is split over several places (DW_OP_piece), which rstap does not read yet")),
            Location::ImplicitPointer { .. } => {
                return Err(format!("`${name}` is an optimized-away pointer (DW_OP_implicit_pointer), which rstap does not read yet"))
            }
        };
        let ops = check_program(&ops, at_entry).map_err(|e| format!("cannot read `${name}`: {e}"))?;
        if state == Cur::Value && is_aggregate(&info) {
            return Err(format!("`${name}` is a {} held in registers, which rstap does not read yet", types::type_name(di, ty)));
        }
        Ok((TargetBase::Program(ops), state))
    }
}

/// The exported function whose run-time address gives the KASLR shift.
const ANCHOR: &str = "kfree";

impl<'a> Elab<'a> {
    /// A global's `DW_OP_addr` location becomes a run-time address: a
    /// KASLR-shifted one in the kernel, a symbol's in a module (`module`
    /// names the module whose debuginfo `di` is).
    fn relocate(&self, module: Option<&str>, di: &dyn DebugInfo, b: TargetBase) -> R<TargetBase> {
        let TargetBase::Program(ops) = &b else {
            return Ok(b);
        };
        let [LocOp::Const(link)] = ops.as_slice() else {
            return Ok(b);
        };
        if let Some(module) = module {
            let (symbol, offset) = di
                .data_symbol_at(*link)
                .ok_or_else(|| format!("the variable has no symbol in module {module}, so its run-time address is unknown"))?;
            return Ok(TargetBase::ModuleSymbol { module: module.to_string(), symbol, offset });
        }
        if *link < 0xffff_ffff_8000_0000 {
            return Err("per-CPU variables are not supported by rstap yet".into());
        }
        let anchor_link = anchor_link(di)?;
        Ok(TargetBase::KernelAddress { link: *link, anchor: ANCHOR.into(), anchor_link })
    }
}

/// The link-time address of the KASLR anchor function.
pub(super) fn anchor_link(di: &dyn DebugInfo) -> R<u64> {
    let pat = crate::debuginfo::FunctionPattern::parse(ANCHOR).map_err(|e| e.to_string())?;
    di.functions(&pat)
        .map_err(|e| e.to_string())?
        .iter()
        .find_map(|f| f.entry_pc)
        .ok_or_else(|| format!("the kernel's debuginfo has no {ANCHOR}(), needed to place global variables"))
}

/// Size and signedness of a scalar type.
fn scalar_shape(di: &dyn DebugInfo, ty: TypeId, info: &Option<TypeInfo>) -> R<(u8, bool)> {
    let Some(info) = info else {
        return Err("cannot read a value of type void".into());
    };
    let signed = match &info.kind {
        TypeKind::Base(BaseEncoding::Signed) => true,
        TypeKind::Base(BaseEncoding::Float) => {
            return Err(format!("floating-point values ({}) are not supported", types::type_name(di, ty)))
        }
        TypeKind::Enum { .. } => true,
        TypeKind::Base(_) | TypeKind::Pointer { .. } => false,
        TypeKind::Function { .. } => return Err("cannot read a function".into()),
        _ => return Err(format!("cannot read a value of type {}", types::type_name(di, ty))),
    };
    let size = types::size_of(di, ty).map_err(|e| e.to_string())?;
    match size {
        1 | 2 | 4 | 8 => Ok((size as u8, signed)),
        _ => Err(format!("cannot read a {size}-byte value of type {}", types::type_name(di, ty))),
    }
}

/// Can `e` be computed in a kretprobe's entry handler: target reads,
/// constants and operators over them, no script variables or calls?
fn entry_computable(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Long(_) => true,
        ExprKind::Target(t) => t.subexprs().all(entry_computable),
        ExprKind::Unary { operand, .. } => entry_computable(operand),
        ExprKind::Binary { lhs, rhs, .. } => entry_computable(lhs) && entry_computable(rhs),
        ExprKind::Ternary { cond, then, els } => entry_computable(cond) && entry_computable(then) && entry_computable(els),
        _ => false,
    }
}

/// The format being built for a `$var$` string.
struct Pretty {
    pieces: Vec<crate::ir::FormatPiece>,
    args: Vec<Expr>,
    span: Span,
}

/// The most bytes a pretty-printed string shows (before MAXSTRINGLEN cuts
/// the whole result).
const MAXSTRINGLEN_GUESS: i64 = 128;

impl Pretty {
    fn conv(&mut self, conv: char, arg: Expr) {
        let flags = if conv == 'x' { "#" } else { "" };
        self.pieces.push(crate::ir::FormatPiece::Conv { arg: self.args.len(), flags: flags.into(), width: None, precision: None, conv });
        self.args.push(arg);
    }

    fn text(&mut self, t: &str) {
        self.pieces.push(crate::ir::FormatPiece::Text(t.to_string()));
    }

    /// A quoted string read from the address `addr` (at most `max` bytes;
    /// `""` when the memory cannot be read), via the pretty tapset.
    fn string(&mut self, e: &mut Elab<'_>, addr: Expr, max: i64) {
        let span = self.span;
        let Some(func) = e.function_index("__pretty_string") else {
            return self.text("?");
        };
        let call = Expr { kind: ExprKind::Call { func, args: vec![addr, long(ExprKind::Long(max), span)] }, ty: Type::String, span };
        self.pieces.push(crate::ir::FormatPiece::Conv { arg: self.args.len(), flags: String::new(), width: None, precision: None, conv: 's' });
        self.args.push(call);
    }
}
