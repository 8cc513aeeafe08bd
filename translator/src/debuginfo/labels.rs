//! C labels of a function (`kernel.function("f").label("NAME")`).
//!
//! Input: a scope DIE (`DW_TAG_subprogram` of an out-of-line copy, or a
//! `DW_TAG_inlined_subroutine`). Output: its [`Label`]s, sorted by address:
//! the `DW_TAG_label` children of the scope and of its lexical blocks that
//! have an address (`DW_AT_low_pc`). Invariants: names and declaration
//! lines follow `DW_AT_abstract_origin` (a concrete or inlined copy's
//! labels point at the abstract function's); labels of functions inlined
//! into the scope are theirs, not the scope's, and are not listed; a label
//! without an address (its code was optimized away) is not listed.

#![allow(non_upper_case_globals)]

use super::dwarf::{DwarfDebugInfo, Unit};
use super::scan::Slice;
use super::*;
use gimli::constants::*;
use gimli::AttributeValue;

impl<'a> DwarfDebugInfo<'a> {
    /// [`DebugInfo::labels`].
    pub(super) fn labels_in(&self, scope: DieRef) -> Result<Vec<Label>> {
        let (unit, uo) = self.unit_of(scope)?;
        let die = unit.entry(uo)?;
        if !matches!(die.tag(), DW_TAG_subprogram | DW_TAG_inlined_subroutine) {
            return Err(DebugInfoError::Lookup(format!("DIE {scope:#x} is not a function")));
        }
        let mut out = Vec::new();
        let mut tree = unit.entries_tree(Some(uo))?;
        let root = tree.root()?;
        self.collect_labels(&unit, root, 0, &mut out)?;
        out.sort_by(|a, b| a.pc.cmp(&b.pc).then(a.name.cmp(&b.name)));
        out.dedup();
        Ok(out)
    }

    fn collect_labels(&self, unit: &Unit<'a>, node: gimli::EntriesTreeNode<Slice<'a>>, depth: usize, out: &mut Vec<Label>) -> Result<()> {
        let mut children = node.children();
        while let Some(child) = children.next()? {
            let e = child.entry();
            match e.tag() {
                DW_TAG_label => {
                    if let Some(l) = self.label_of(unit, e)? {
                        out.push(l);
                    }
                }
                // The bound only stops corrupt DWARF from exhausting the stack.
                DW_TAG_lexical_block if depth < 64 => self.collect_labels(unit, child, depth + 1, out)?,
                _ => {}
            }
        }
        Ok(())
    }

    /// One `DW_TAG_label`: `None` without a name or an address.
    fn label_of(&self, unit: &Unit<'a>, die: &gimli::DebuggingInformationEntry<Slice<'a>>) -> Result<Option<Label>> {
        let pc = match die.attr_value(DW_AT_low_pc)? {
            Some(AttributeValue::Addr(a)) => a,
            Some(v @ AttributeValue::DebugAddrIndex(_)) => match self.dwarf.attr_address(unit, v)? {
                Some(a) => a,
                None => return Ok(None),
            },
            _ => return Ok(None),
        };
        // Name and declaration from the DIE, else from its abstract origin.
        let (mut name, mut decl) = (None, None);
        self.name_decl(unit, die, &mut name, &mut decl)?;
        let mut origin = die.attr_value(DW_AT_abstract_origin)?.and_then(|v| Self::ref_of(unit, v));
        let mut hops = 0;
        while let (Some(o), true) = (origin, (name.is_none() || decl.is_none()) && hops < 4) {
            hops += 1;
            let (ou, oo) = self.unit_of(o)?;
            let d = ou.entry(oo)?;
            self.name_decl(&ou, &d, &mut name, &mut decl)?;
            origin = d.attr_value(DW_AT_abstract_origin)?.and_then(|v| Self::ref_of(&ou, v));
        }
        let Some(name) = name else { return Ok(None) };
        let (decl_file, decl_line) = decl.unwrap_or((None, 0));
        Ok(Some(Label { name, pc, decl_file, decl_line }))
    }

    /// Fills what is still unknown of a label's name and `(file, line)`
    /// from one DIE.
    #[allow(clippy::type_complexity)]
    fn name_decl(
        &self,
        unit: &Unit<'a>,
        d: &gimli::DebuggingInformationEntry<Slice<'a>>,
        name: &mut Option<String>,
        decl: &mut Option<(Option<String>, u32)>,
    ) -> Result<()> {
        if name.is_none() {
            *name = d.attr_value(DW_AT_name)?.and_then(|v| self.attr_str(unit, v));
        }
        if decl.is_none() {
            if let Some(line) = d.attr_value(DW_AT_decl_line)?.and_then(|v| v.udata_value()) {
                let index = match d.attr_value(DW_AT_decl_file)? {
                    Some(AttributeValue::FileIndex(f)) => Some(f),
                    v => v.and_then(|v| v.udata_value()),
                };
                let file = match index {
                    Some(f) if f != 0 || unit.header.version() >= 5 => self.file_name(unit, f),
                    _ => None,
                };
                *decl = Some((file, line as u32));
            }
        }
        Ok(())
    }
}
