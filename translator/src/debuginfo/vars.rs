//! Variables of a function or inlined instance at a probe pc.
//!
//! Input: a scope DIE (`DW_TAG_subprogram` or `DW_TAG_inlined_subroutine`)
//! and a pc. Output: [`Variable`]s, parameters first (in the abstract
//! instance's order when there is one), then locals of the scope and of the
//! lexical blocks containing the pc, each with its location at that pc.
//! Invariants: names and types follow `DW_AT_abstract_origin`; a parameter
//! that exists only in the abstract instance is `OptimizedOut`; location
//! lists are searched for the entry covering the pc (no entry:
//! `OptimizedOut`); the frame base is computed only when an expression uses
//! `DW_OP_fbreg`.

#![allow(non_upper_case_globals)]

use super::dwarf::{DwarfDebugInfo, Unit};
use super::location::{self, FrameBase};
use super::scan::Slice;
use super::types::type_name;
use super::*;
use gimli::constants::*;
use gimli::AttributeValue;
use std::sync::OnceLock;

impl<'a> DwarfDebugInfo<'a> {
    /// [`DebugInfo::variables`].
    pub(super) fn variables_at(&self, scope: DieRef, pc: u64) -> Result<Vec<Variable>> {
        let (unit, uo) = self.unit_of(scope)?;
        let die = unit.entry(uo)?;
        if !matches!(die.tag(), DW_TAG_subprogram | DW_TAG_inlined_subroutine) {
            return Err(DebugInfoError::Lookup(format!("DIE {scope:#x} is not a function")));
        }
        let at_entry = self.die_entry_pc(&unit, &die)? == Some(pc);
        let fb_cell: OnceLock<Result<FrameBase>> = OnceLock::new();
        let fb = || fb_cell.get_or_init(|| self.frame_base(&unit, scope, pc)).clone();
        let (mut params, mut locals) = (Vec::new(), Vec::new());
        {
            let mut tree = unit.entries_tree(Some(uo))?;
            let root = tree.root()?;
            self.collect_vars(&unit, root, pc, at_entry, 0, &fb, &mut params, &mut locals)?;
        }
        // Parameters of the abstract instance that the concrete one lacks
        // were optimized away entirely; list them in the abstract order.
        if let Some(o) = die.attr_value(DW_AT_abstract_origin)?.and_then(|v| Self::ref_of(&unit, v)) {
            let (ou, oo) = self.unit_of(o)?;
            let mut tree = ou.entries_tree(Some(oo))?;
            let root = tree.root()?;
            let mut children = root.children();
            let mut all = Vec::new();
            while let Some(child) = children.next()? {
                let e = child.entry();
                if e.tag() != DW_TAG_formal_parameter {
                    continue;
                }
                let g = Self::global(&ou, e.offset());
                if let Some(p) = params.iter().position(|(po, _)| *po == Some(g)) {
                    all.push(params.remove(p));
                } else {
                    let (name, ty) = self.var_name_type(&ou, e)?;
                    if let Some(name) = name {
                        let type_name = ty.map(|t| type_name(self, t)).unwrap_or_else(|| "void".into());
                        let v = Variable { name, kind: VarKind::Param, type_id: ty, type_name, location: VarLocation::OptimizedOut };
                        all.push((Some(g), v));
                    }
                }
            }
            all.append(&mut params);
            params = all;
        }
        let mut out: Vec<Variable> = params.into_iter().map(|(_, v)| v).collect();
        out.extend(locals.into_iter().map(|(_, v)| v));
        Ok(out)
    }


    /// The name and type of a variable DIE, following abstract origins.
    pub(super) fn var_name_type(&self, unit: &Unit<'a>, die: &gimli::DebuggingInformationEntry<Slice<'a>>) -> Result<(Option<String>, Option<u64>)> {
        let mut name = die.attr_value(DW_AT_name)?.and_then(|v| self.attr_str(unit, v));
        let mut ty = die.attr_value(DW_AT_type)?.and_then(|v| Self::ref_of(unit, v));
        let mut origin = die.attr_value(DW_AT_abstract_origin)?.and_then(|v| Self::ref_of(unit, v));
        let mut hops = 0;
        while let (Some(o), true) = (origin, (name.is_none() || ty.is_none()) && hops < 4) {
            hops += 1;
            let (u, uo) = self.unit_of(o)?;
            let d = u.entry(uo)?;
            if name.is_none() {
                name = d.attr_value(DW_AT_name)?.and_then(|v| self.attr_str(&u, v));
            }
            if ty.is_none() {
                ty = d.attr_value(DW_AT_type)?.and_then(|v| Self::ref_of(&u, v));
            }
            origin = d.attr_value(DW_AT_abstract_origin)?.and_then(|v| Self::ref_of(&u, v));
        }
        Ok((name, ty))
    }

    /// The frame base of the subprogram around `scope` at `pc`.
    fn frame_base(&self, unit: &Unit<'a>, scope_off: u64, pc: u64) -> Result<FrameBase> {
        // The subprogram is `scope` itself or the top-level subprogram of
        // the unit containing pc.
        let mut fb_expr = None;
        let (_, so) = self.unit_of(scope_off)?;
        let sd = unit.entry(so)?;
        if sd.tag() == DW_TAG_subprogram {
            fb_expr = sd.attr_value(DW_AT_frame_base)?;
        } else {
            let mut tree = unit.entries_tree(None)?;
            let root = tree.root()?;
            let mut children = root.children();
            while let Some(child) = children.next()? {
                let e = child.entry();
                if e.tag() == DW_TAG_subprogram && e.attr_value(DW_AT_frame_base)?.is_some() && self.die_has_pc(unit, e, pc)? {
                    fb_expr = e.attr_value(DW_AT_frame_base)?;
                    break;
                }
            }
        }
        let expr = match fb_expr {
            Some(AttributeValue::Exprloc(e)) => e.0.slice().to_vec(),
            Some(v) => match self.loclist_bytes(unit, v, pc)? {
                Some(b) => b,
                None => return Ok(FrameBase::Unknown),
            },
            None => return Ok(FrameBase::Unknown),
        };
        location::frame_base_from_expr(&expr, unit.encoding(), &|| self.cfa_at(pc))
    }

    /// The expression bytes of a location list entry covering `pc`.
    fn loclist_bytes(&self, unit: &Unit<'a>, v: AttributeValue<Slice<'a>>, pc: u64) -> Result<Option<Vec<u8>>> {
        let off = match v {
            AttributeValue::LocationListsRef(o) => o,
            AttributeValue::DebugLocListsIndex(i) => self.dwarf.locations_offset(unit, i)?,
            AttributeValue::SecOffset(o) => gimli::LocationListsOffset(o),
            _ => return Ok(None),
        };
        let mut it = self.dwarf.locations(unit, off)?;
        while let Some(e) = it.next()? {
            if e.range.begin <= pc && pc < e.range.end {
                return Ok(Some(e.data.0.slice().to_vec()));
            }
        }
        Ok(None)
    }

    fn variable_of(
        &self,
        unit: &Unit<'a>,
        die: &gimli::DebuggingInformationEntry<Slice<'a>>,
        kind: VarKind,
        pc: u64,
        at_entry: bool,
        fb: &dyn Fn() -> Result<FrameBase>,
    ) -> Result<Option<Variable>> {
        let (name, ty) = self.var_name_type(unit, die)?;
        let name = match name {
            Some(n) => n,
            None => return Ok(None),
        };
        let location = match die.attr_value(DW_AT_location)? {
            Some(AttributeValue::Exprloc(e)) => location::translate(e.0.slice(), unit.encoding(), at_entry, fb),
            Some(v) => match self.loclist_bytes(unit, v, pc)? {
                Some(b) if b.is_empty() => VarLocation::OptimizedOut,
                Some(b) => location::translate(&b, unit.encoding(), at_entry, fb),
                None => VarLocation::OptimizedOut,
            },
            None => match die.attr_value(DW_AT_const_value)? {
                Some(v) => const_value(v),
                None => VarLocation::OptimizedOut,
            },
        };
        let type_name = match ty {
            Some(t) => type_name(self, t),
            None => "void".to_string(),
        };
        Ok(Some(Variable { name, kind, type_id: ty, type_name, location }))
    }

    #[allow(clippy::too_many_arguments)]
    fn collect_vars(
        &self,
        unit: &Unit<'a>,
        node: gimli::EntriesTreeNode<Slice<'a>>,
        pc: u64,
        at_entry: bool,
        depth: usize,
        fb: &dyn Fn() -> Result<FrameBase>,
        params: &mut Vec<(Option<u64>, Variable)>,
        locals: &mut Vec<(Option<u64>, Variable)>,
    ) -> Result<()> {
        let mut children = node.children();
        while let Some(child) = children.next()? {
            let e = child.entry();
            match e.tag() {
                DW_TAG_formal_parameter if depth == 0 => {
                    let o = e.attr_value(DW_AT_abstract_origin)?.and_then(|v| Self::ref_of(unit, v));
                    if let Some(v) = self.variable_of(unit, e, VarKind::Param, pc, at_entry, fb)? {
                        params.push((o, v));
                    }
                }
                DW_TAG_variable => {
                    let o = e.attr_value(DW_AT_abstract_origin)?.and_then(|v| Self::ref_of(unit, v));
                    if let Some(v) = self.variable_of(unit, e, VarKind::Local, pc, at_entry, fb)? {
                        locals.push((o, v));
                    }
                }
                // Blocks nest as deep as the source; the bound only stops
                // corrupt DWARF from exhausting the stack.
                DW_TAG_lexical_block if depth < 64 && self.die_contains(unit, e, pc)? => {
                    self.collect_vars(unit, child, pc, at_entry, depth + 1, fb, params, locals)?;
                }
                _ => {}
            }
        }
        Ok(())
    }


    /// [`DebugInfo::variable_at`].
    pub(super) fn variable_at_impl(&self, var: DieRef, pc: u64) -> Result<Variable> {
        let (unit, uo) = self.unit_of(var)?;
        let die = unit.entry(uo)?;
        let kind = match die.tag() {
            DW_TAG_formal_parameter => VarKind::Param,
            DW_TAG_variable => VarKind::Local,
            t => return Err(DebugInfoError::Lookup(format!("DIE {var:#x} is a {t}, not a variable"))),
        };
        let fb_cell: OnceLock<Result<FrameBase>> = OnceLock::new();
        let fb = || fb_cell.get_or_init(|| self.frame_base(&unit, var, pc)).clone();
        self.variable_of(&unit, &die, kind, pc, false, &fb)?
            .ok_or_else(|| DebugInfoError::Lookup(format!("variable DIE {var:#x} has no name")))
    }

    /// [`DebugInfo::global_variable`]: the first top-level
    /// `DW_TAG_variable` named `name` (definition or declaration, for its
    /// type); the address from its `DW_AT_location`, else from the ELF
    /// symbol table (a declaration's definition is a nameless DIE with
    /// `DW_AT_specification`, so the symbol is the simplest source).
    pub(super) fn global_variable_impl(&self, name: &str, file: Option<&str>) -> Result<Option<Variable>> {
        let allowed: Option<Vec<u64>> = match file {
            Some(f) => Some(
                self.index()?
                    .units
                    .iter()
                    .filter(|u| super::pattern::file_match(f, &String::from_utf8_lossy(u.name)))
                    .map(|u| u.offset)
                    .collect(),
            ),
            None => None,
        };
        let mut it = self.dwarf.units();
        while let Some(h) = it.next()? {
            let uoff = h.offset().as_debug_info_offset().map(|d| d.0 as u64).unwrap_or(0);
            if let Some(a) = &allowed {
                if !a.contains(&uoff) {
                    continue;
                }
            }
            let mut decl = None;
            let found = self.find_type_in_unit(&h, &[DW_TAG_variable], name, &mut decl)?.or(decl);
            if let Some(off) = found {
                return self.global_from_die(off, name, allowed.is_some()).map(Some);
            }
        }
        Ok(None)
    }

    fn global_from_die(&self, off: u64, name: &str, local_ok: bool) -> Result<Variable> {
        let (unit, uo) = self.unit_of(off)?;
        let die = unit.entry(uo)?;
        let (_, ty) = self.var_name_type(&unit, &die)?;
        let no_fb = || Ok(FrameBase::Unknown);
        let mut location = match die.attr_value(DW_AT_location)? {
            Some(AttributeValue::Exprloc(e)) => location::translate(e.0.slice(), unit.encoding(), false, &no_fb),
            _ => match die.attr_value(DW_AT_const_value)? {
                Some(v) => const_value(v),
                None => VarLocation::OptimizedOut,
            },
        };
        if location == VarLocation::OptimizedOut {
            if let Some(addr) = self.data_symbol(name, local_ok) {
                location = VarLocation::Available(Location::Memory(vec![LocOp::Const(addr)]));
            }
        }
        let type_name = ty.map(|t| type_name(self, t)).unwrap_or_else(|| "void".into());
        Ok(Variable { name: name.to_string(), kind: VarKind::Global, type_id: ty, type_name, location })
    }

    /// Address of a data symbol, preferring a global one.
    fn data_symbol(&self, name: &str, local_ok: bool) -> Option<u64> {
        use object::{Object, ObjectSymbol, SymbolKind};
        let obj = object::File::parse(self.data).ok()?;
        let mut local = None;
        for sym in obj.symbols() {
            if sym.kind() == SymbolKind::Data && sym.name_bytes().ok() == Some(name.as_bytes()) {
                if sym.is_global() {
                    return Some(sym.address());
                }
                local.get_or_insert(sym.address());
            }
        }
        local.filter(|_| local_ok)
    }
}

fn const_value(v: AttributeValue<Slice<'_>>) -> VarLocation {
    let bytes = match v {
        AttributeValue::Block(b) => b.slice().to_vec(),
        AttributeValue::Sdata(x) => x.to_le_bytes().to_vec(),
        AttributeValue::Udata(x) => x.to_le_bytes().to_vec(),
        AttributeValue::Data1(x) => vec![x],
        AttributeValue::Data2(x) => x.to_le_bytes().to_vec(),
        AttributeValue::Data4(x) => x.to_le_bytes().to_vec(),
        AttributeValue::Data8(x) => x.to_le_bytes().to_vec(),
        _ => return VarLocation::Unsupported("DW_AT_const_value of an unsupported form".into()),
    };
    VarLocation::Available(Location::ImplicitValue(bytes))
}
