//! Pass 2.5, resolve target variables: `$var`, `$var->f[i]`, `$return`,
//! `@cast(p, "struct T" [, "MODULE"])->f`, `@var("name" [, "MODULE"])`,
//! `&$var->f`, `@defined(...)`, and DWARF probe points. Pretty forms
//! (`$var$`, `$$parms`) are in `pretty`, `@entry` in `entry`.
//!
//! Input: the AST of a target expression, the DWARF probe site being
//! lowered (`TargetState::site`) and the debuginfo of the kernel or of the site's
//! module. Output: an
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
use crate::probes::dwarf;
pub use crate::probes::dwarf::Dwarf;
use crate::syntax::ast;

use super::lower::Scope;
use super::lower::Lowerer;

/// What `cur` holds while an access is being built.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cur {
    /// The value of an object of the current type (a pointer, or a scalar
    /// in a register).
    Value,
    /// The address of an object of the current type.
    Address,
}

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
        if t.pretty > 0 {
            return self.lower_pretty(scope, t, span);
        }
        let access = match self.kprobe_return(t, &text) {
            Some(acc) => acc,
            None => self.target_access_typed(scope, t, &text).map(|(acc, ty)| {
                self.note_typed(scope, t, &acc, ty, span);
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
        if let ast::TargetBase::Cast { module: Some(m), .. } | ast::TargetBase::AtVar { module: Some(m), .. } = &t.base {
            return match dwarf::module_arg(m) {
                Some(name) => self
                    .dwarf
                    .for_module(Some(&dwarf::module_name(name)))
                    .ok_or_else(|| format!("no debuginfo for module \"{name}\" of @cast")),
                None => self.dwarf.for_module(None).ok_or_else(|| self.dwarf.missing.clone()),
            };
        }
        self.debuginfo().ok_or_else(|| self.dwarf.missing.clone())
    }

    pub(super) fn target_access_typed(&mut self, scope: &mut Scope, t: &ast::TargetExpr, text: &str) -> R<(TargetAccess, TypeId)> {
        if t.pretty > 0 {
            return Err(format!("`{text}`: pretty-printing cannot be nested"));
        }
        if let (ast::TargetBase::Var(id), None) = (&t.base, &self.target.site) {
            return Err(format!("target variable `${}` is only available in kernel.function probes", id.name));
        }
        // An autocast value brings its own type (and debuginfo).
        let mut autocast = None;
        let di = match &t.base {
            ast::TargetBase::Autocast(e) => {
                let (v, ty, addr, di) = self.autocast_base(scope, e, text)?;
                autocast = Some((TargetBase::Expr(Box::new(v)), ty, if addr { Cur::Address } else { Cur::Value }));
                di
            }
            _ => self.access_debuginfo(t).map_err(|why| format!("cannot resolve `{text}`: {why}"))?,
        };
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
                let module = match module.as_deref() {
                    Some(m) => dwarf::module_arg(m).map(dwarf::module_name),
                    None => self.target.site.as_ref().and_then(|s| s.module.clone()),
                };
                (self.relocate(module.as_deref(), di, b)?, ty, st)
            }
            ast::TargetBase::Autocast(_) => autocast.take().ok_or_else(|| format!("cannot resolve `{text}`"))?,
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
        let mut chain = &t.chain[..];
        // `@cast(p, "T")[i]` takes p as a `T *` (so `&@cast(0, "T")[1]` is sizeof(T)).
        if let (ast::TargetBase::Cast { .. }, Some(ast::TargetComponent::Index(e))) = (&t.base, chain.first()) {
            let kind = types::strip(di, ty).map_err(|e| e.to_string())?.map(|i| i.kind);
            if !matches!(kind, Some(TypeKind::Pointer { .. } | TypeKind::Array { .. })) {
                let stride = types::size_of(di, ty).map_err(|e| e.to_string())?;
                let index = self.lower_expr(scope, e);
                steps.push(TargetStep::Index { index: Box::new(index), stride });
                chain = &chain[1..];
            }
        }
        for c in chain {
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
        let entry_regs = match (&t.base, &self.target.site) {
            (ast::TargetBase::Var(id), Some(site)) => site.ret && id.name != "return" && matches!(base, TargetBase::Program(_)),
            _ => false,
        };
        Ok((TargetAccess { base, steps, fin, text: text.to_string(), entry_regs }, cur_ty))
    }

    /// `$name` / `$return` at the current site.
    fn target_base_var(&mut self, di: &dyn DebugInfo, name: &str) -> R<(TargetBase, TypeId, Cur)> {
        let Some(site) = self.target.site.clone() else {
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
        if let Some(v) = self.target.global_vars.get(name) {
            return Ok(v.clone());
        }
        let v = di.global_variable(name, None).map_err(|e| e.to_string())?;
        self.target.global_vars.insert(name.to_string(), v.clone());
        Ok(v)
    }

    fn location_base(&self, loc: &VarLocation, ty: TypeId, di: &dyn DebugInfo, name: &str) -> R<(TargetBase, Cur)> {
        let at_entry = self.target.site.as_ref().map(|s| s.at_entry || s.ret).unwrap_or(false);
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

impl<'a> Lowerer<'a> {
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

