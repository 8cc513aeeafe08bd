//! Pass 2.5, resolve target variables: an [`UnresolvedTarget`] (a
//! `$var`, `$var->f[i]`, `$return`, `@cast(p, "T")->f`, `@var("name")`
//! or autocast access whose operands are already IR) becomes an
//! `ir_target::TargetAccess`, resolved against the DWARF probe site of
//! its body.
//!
//! Input: the unresolved access, the debuginfo it is resolved in, and a
//! [`TargetContext`] (the site, the kernel's and modules' debuginfo, the
//! file-scope variables already looked up). Output: the access with every
//! location, offset, size and signedness decided, and the DWARF type of
//! what it reads; or the message of the one error at its span.
//! Invariants: no IO beyond the `DebugInfo` trait; nothing here lowers or
//! knows the lowering state (scopes, locals, the program being built): a
//! resolution is a function of the access and the site. Lowering
//! (`target`) decides which debuginfo an access is in, lowers its operands
//! and calls [`resolve_target`]; pretty-printing (`pretty`), `@entry`
//! (`entry`, which resolves with an entry-time site) and stores (`writes`)
//! build on the same call.

use std::collections::HashMap;

use crate::debuginfo::{
    types, AccessOp, AccessStep, BaseEncoding, DebugInfo, LocOp, Location, Reg, TypeId, TypeInfo, TypeKind, VarKind, VarLocation, Variable,
};
use crate::diag::Span;
use crate::ir::{Expr, ExprKind, Type};
use crate::ir_target::{TargetAccess, TargetBase, TargetFinal, TargetRead, TargetStep};
use crate::probes::dwarf::{self, Dwarf, DwarfSite};

type R<T> = Result<T, String>;

/// A target access with its operands lowered, before resolution.
pub struct UnresolvedTarget {
    pub base: UnresolvedBase,
    pub chain: Vec<UnresolvedStep>,
    /// `&$var->f`: the address instead of the value.
    pub addr_of: bool,
    /// The access as the user wrote it (for messages and the IR listing).
    pub text: String,
}

/// What an access starts from.
pub enum UnresolvedBase {
    /// `$name` / `$return` at the site.
    Var(String),
    /// `@cast(operand, "type_name" [, module])`: `operand` addresses a
    /// `type_name` in the access's debuginfo.
    Cast { operand: Expr, type_name: String },
    /// `@var("name[@file]" [, "MODULE"])`; `module` is the module whose
    /// debuginfo the variable is in (a module name), `None` for the kernel.
    AtVar { name: String, module: Option<String> },
    /// An autocast value: `value` is of type `ty` (its address when `addr`).
    Typed { value: Expr, ty: TypeId, addr: bool },
}

/// One `->field` / `[index]` of an access.
pub enum UnresolvedStep {
    Field(String),
    /// A constant index (resolved with the library's constant steps), at
    /// its span.
    Const(i64, Span),
    /// A run-time index, already lowered.
    Index(Expr),
}

/// What resolving needs besides the access: the site of the body being
/// lowered and the file-scope variables looked up so far.
pub struct TargetContext<'a, 's> {
    pub dwarf: &'a Dwarf<'a>,
    pub site: Option<&'s DwarfSite>,
    /// File-scope variables looked up by `$name` (a scan of every unit):
    /// each name once.
    pub global_vars: &'s mut HashMap<String, Option<Variable>>,
}

/// What `cur` holds while an access is being built.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cur {
    /// The value of an object of the current type (a pointer, or a scalar
    /// in a register).
    Value,
    /// The address of an object of the current type.
    Address,
}

fn is_pointer(t: &Option<TypeInfo>) -> bool {
    matches!(t.as_ref().map(|t| &t.kind), Some(TypeKind::Pointer { .. }))
}

fn is_aggregate(t: &Option<TypeInfo>) -> bool {
    matches!(t.as_ref().map(|t| &t.kind), Some(TypeKind::Struct { .. } | TypeKind::Union { .. } | TypeKind::Array { .. }))
}

/// The debuginfo an access is resolved in: `module`'s when given (a
/// module name, or `None` inside the option for the kernel), else the
/// site's module's, else the kernel's.
pub fn debuginfo_for<'a>(dwarf: &Dwarf<'a>, site: Option<&DwarfSite>, module: Option<Option<&str>>) -> R<&'a dyn DebugInfo> {
    match module {
        Some(Some(name)) => dwarf
            .for_module(Some(&dwarf::module_name(name)))
            .ok_or_else(|| format!("no debuginfo for module \"{name}\" of @cast")),
        Some(None) => dwarf.for_module(None).ok_or_else(|| dwarf.missing.clone()),
        None => dwarf.for_module(site.and_then(|s| s.module.as_deref())).ok_or_else(|| dwarf.missing.clone()),
    }
}

/// Resolves `u` in `di` at the context's site: the access, and the DWARF
/// type of what it reads (or addresses).
pub fn resolve_target(cx: &mut TargetContext<'_, '_>, di: &dyn DebugInfo, u: UnresolvedTarget) -> R<(TargetAccess, TypeId)> {
    let UnresolvedTarget { base, chain, addr_of, text } = u;
    let is_var = matches!(base, UnresolvedBase::Var(_));
    let is_cast = matches!(base, UnresolvedBase::Cast { .. });
    let var_name = match &base {
        UnresolvedBase::Var(n) => Some(n.clone()),
        _ => None,
    };
    // The base: a location program (or an expression) and its type.
    let (base, ty, mut state) = match base {
        UnresolvedBase::Var(name) => target_base_var(cx, di, &name)?,
        UnresolvedBase::Cast { operand, type_name } => {
            let ty = di
                .find_type(&type_name)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("type \"{type_name}\" is not in the kernel's debuginfo"))?;
            (TargetBase::Expr(Box::new(operand)), ty, Cur::Address)
        }
        UnresolvedBase::AtVar { name, module } => {
            let (n, file) = match name.split_once('@') {
                Some((n, f)) => (n, Some(f)),
                None => (name.as_str(), None),
            };
            let v = di
                .global_variable(n, file)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no global variable \"{name}\" in the kernel's debuginfo"))?;
            let ty = v.type_id.ok_or_else(|| format!("@var(\"{name}\") has no type"))?;
            let (b, st) = location_base(cx.site, &v.location, ty, di, &name)?;
            (relocate(module.as_deref(), di, b)?, ty, st)
        }
        UnresolvedBase::Typed { value, ty, addr } => {
            (TargetBase::Expr(Box::new(value)), ty, if addr { Cur::Address } else { Cur::Value })
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
    let mut chain = chain.into_iter().peekable();
    // `@cast(p, "T")[i]` takes p as a `T *` (so `&@cast(0, "T")[1]` is sizeof(T)).
    if is_cast && matches!(chain.peek(), Some(UnresolvedStep::Index(_) | UnresolvedStep::Const(..))) {
        let kind = types::strip(di, ty).map_err(|e| e.to_string())?.map(|i| i.kind);
        if !matches!(kind, Some(TypeKind::Pointer { .. } | TypeKind::Array { .. })) {
            let stride = types::size_of(di, ty).map_err(|e| e.to_string())?;
            let index = match chain.next() {
                Some(UnresolvedStep::Index(index)) => index,
                Some(UnresolvedStep::Const(n, span)) => Expr { kind: ExprKind::Long(n), ty: Type::Unknown, span },
                _ => unreachable!("peeked an index"),
            };
            steps.push(TargetStep::Index { index: Box::new(index), stride });
        }
    }
    for c in chain {
        match c {
            UnresolvedStep::Field(name) => pending.push(AccessStep::Field(name)),
            UnresolvedStep::Const(n, _) => pending.push(AccessStep::Index(n)),
            UnresolvedStep::Index(index) => {
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
                steps.push(TargetStep::Index { index: Box::new(index), stride });
                cur_ty = elem;
                state = Cur::Address;
                bitfield = None;
            }
        }
    }
    flush(&mut steps, &mut cur_ty, &mut state, &mut pending, &mut bitfield)?;
    let info = types::strip(di, cur_ty).map_err(|e| e.to_string())?;
    let fin = if addr_of {
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
    let entry_regs = match (is_var, cx.site) {
        (true, Some(site)) => site.ret && var_name.as_deref() != Some("return") && matches!(base, TargetBase::Program(_)),
        _ => false,
    };
    Ok((TargetAccess { base, steps, fin, text, entry_regs, user: false }, cur_ty))
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

/// `$name` / `$return` at the current site.
fn target_base_var(cx: &mut TargetContext<'_, '_>, di: &dyn DebugInfo, name: &str) -> R<(TargetBase, TypeId, Cur)> {
    let Some(site) = cx.site else {
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
        let (b, st) = location_base(cx.site, &VarLocation::Available(Location::Register(Reg(0))), ty, di, name)?;
        return Ok((b, ty, st));
    }
    let vars = di.variables(site.die, site.pc).map_err(|e| e.to_string())?;
    let var = match vars.iter().find(|v| v.name == name) {
        Some(v) => v.clone(),
        None => match global_var(cx.global_vars, di, name)? {
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
    if site.ret && var.kind == VarKind::Local {
        return Err(format!(
            "`${name}` is a local variable of {}: a .return probe sees only the parameters (as they were at entry) and $return",
            site.function
        ));
    }
    let global = var.kind == VarKind::Global;

    let ty = var.type_id.ok_or_else(|| format!("`${name}` has no type in the debuginfo"))?;
    let (b, st) = location_base(cx.site, &var.location, ty, di, name)?;
    let b = if global { relocate(site.module.as_deref(), di, b)? } else { b };
    Ok((b, ty, st))
}

/// `DebugInfo::global_variable(name)`, remembered in `cache`.
fn global_var(cache: &mut HashMap<String, Option<Variable>>, di: &dyn DebugInfo, name: &str) -> R<Option<Variable>> {
    if let Some(v) = cache.get(name) {
        return Ok(v.clone());
    }
    let v = di.global_variable(name, None).map_err(|e| e.to_string())?;
    cache.insert(name.to_string(), v.clone());
    Ok(v)
}

fn location_base(site: Option<&DwarfSite>, loc: &VarLocation, ty: TypeId, di: &dyn DebugInfo, name: &str) -> R<(TargetBase, Cur)> {
    let at_entry = site.map(|s| s.at_entry || s.ret).unwrap_or(false);
    let loc = match loc {
        VarLocation::Available(l) => l,
        VarLocation::OptimizedOut => return Err(format!("target variable `${name}` is optimized out at this probe point")),
        VarLocation::Unsupported(why) => return Err(format!("the location of `${name}` is not supported: {why}")),
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

/// The exported function whose run-time address gives the KASLR shift.
const ANCHOR: &str = "kfree";

/// A global's `DW_OP_addr` location becomes a run-time address: a
/// KASLR-shifted one in the kernel, a symbol's in a module (`module`
/// names the module whose debuginfo `di` is).
fn relocate(module: Option<&str>, di: &dyn DebugInfo, b: TargetBase) -> R<TargetBase> {
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

/// The link-time address of the KASLR anchor function.
pub fn anchor_link(di: &dyn DebugInfo) -> R<u64> {
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
