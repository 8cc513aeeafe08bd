//! The gimli-backed [`DebugInfo`]: one ELF file with DWARF 2-5.
//!
//! Input: a [`DebugFile`] (the mapped file) that outlives the
//! [`DwarfDebugInfo`] borrowing it.
//! Output: the [`DebugInfo`] queries. The function index (`scan`) is built
//! on the first `functions` call; units are parsed by gimli only when a query
//! reaches into them, and are cached.
//! Invariants: no panics on malformed input; all DIE references are
//! `.debug_info` offsets; relocatable objects (`ET_REL`, e.g. `.ko`) are
//! relocated by [`DebugFile::open`] (synthetic section addresses, see
//! [`DebugFile::section_of`]); `from_bytes` refuses them.

#![allow(non_upper_case_globals)]

use super::scan::{FuncEntry, FunctionIndex, Sections, Slice};
use super::*;
use gimli::constants::*;
use gimli::{AttributeValue, DebugInfoOffset, LittleEndian, UnitOffset};
use object::{Object, ObjectSection};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

/// A debuginfo file mapped into memory. It also owns inflated copies of
/// compressed `.debug_*` sections and, for a relocatable object (a kernel
/// module `.ko`), relocated copies of the `.debug_*` sections: allocated
/// sections get distinct synthetic addresses (their file offsets), see
/// [`DebugFile::section_of`].
pub struct DebugFile {
    map: memmap2::Mmap,
    path: String,
    /// Inflated and/or relocated `.debug_*` sections, by name.
    owned: HashMap<String, Vec<u8>>,
    /// Allocated sections of a relocatable object: (name, synthetic base, size).
    alloc_sections: Vec<(String, u64, u64)>,
    /// Synthetic base of each allocated section, by section index.
    section_bases: HashMap<usize, u64>,
}

impl DebugFile {
    pub fn open(path: &Path) -> Result<DebugFile> {
        let f = std::fs::File::open(path)
            .map_err(|e| DebugInfoError::Io(format!("cannot open {}: {e}", path.display())))?;
        // SAFETY: the file is mapped read-only; a concurrent truncation by
        // another process is outside what this tool defends against (as for
        // every debugger).
        let map = unsafe { memmap2::Mmap::map(&f) }
            .map_err(|e| DebugInfoError::Io(format!("cannot map {}: {e}", path.display())))?;
        let mut file = DebugFile { map, path: path.display().to_string(), owned: HashMap::new(), alloc_sections: Vec::new(), section_bases: HashMap::new() };
        file.relocate()?;
        Ok(file)
    }

    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// For a relocatable object: the allocated section holding synthetic
    /// address `addr`, and the offset in it (e.g. `(".text", 0x1c0)`).
    pub fn section_of(&self, addr: u64) -> Option<(String, u64)> {
        self.alloc_sections
            .iter()
            .find(|(_, base, size)| *base <= addr && addr < base.saturating_add(*size))
            .map(|(n, base, _)| (n.clone(), addr - base))
    }

    /// Applies `R_X86_64_64/32/32S` relocations to the `.debug_*` sections
    /// of an `ET_REL` file.
    fn relocate(&mut self) -> Result<()> {
        use object::{ObjectSymbol, RelocationTarget, SectionKind};
        let obj = match object::File::parse(&*self.map) {
            Ok(o) => o,
            Err(_) => return Ok(()), // reported by DwarfDebugInfo::new
        };
        // Compressed sections (SHF_COMPRESSED, as Fedora ships them) are
        // inflated once here.
        for sec in obj.sections() {
            let name = match sec.name() {
                Ok(n) if n.starts_with(".debug_") => n.to_string(),
                _ => continue,
            };
            let compressed = sec.compressed_file_range().map(|r| r.format != object::CompressionFormat::None).unwrap_or(false);
            if compressed {
                let data = sec
                    .uncompressed_data()
                    .map_err(|e| DebugInfoError::Dwarf(format!("{}: cannot decompress {name}: {e}", self.path)))?;
                self.owned.insert(name, data.into_owned());
            }
        }
        if obj.kind() != object::ObjectKind::Relocatable {
            return Ok(());
        }
        let alloc = |k: SectionKind| {
            !matches!(k, SectionKind::Debug | SectionKind::Metadata | SectionKind::Other | SectionKind::Note | SectionKind::Linker | SectionKind::Unknown | SectionKind::DebugString | SectionKind::OtherString)
        };
        let mut bases: HashMap<object::SectionIndex, u64> = HashMap::new();
        for sec in obj.sections() {
            if alloc(sec.kind()) {
                let base = sec.file_range().map(|r| r.0).unwrap_or(0);
                bases.insert(sec.index(), base);
                self.section_bases.insert(sec.index().0, base);
                if let Ok(n) = sec.name() {
                    self.alloc_sections.push((n.to_string(), base, sec.size()));
                }
            }
        }
        for sec in obj.sections() {
            let name = match sec.name() {
                Ok(n) if n.starts_with(".debug_") => n.to_string(),
                _ => continue,
            };
            if sec.relocations().next().is_none() {
                continue;
            }
            let mut data = match self.owned.remove(&name) {
                Some(d) => d,
                None => sec
                    .uncompressed_data()
                    .map_err(|e| DebugInfoError::Dwarf(format!("{}: section {name}: {e}", self.path)))?
                    .into_owned(),
            };
            for (off, rel) in sec.relocations() {
                let sym_value = match rel.target() {
                    RelocationTarget::Symbol(i) => match obj.symbol_by_index(i) {
                        Ok(sym) => {
                            let base = sym.section_index().and_then(|si| bases.get(&si).copied()).unwrap_or(0);
                            base.wrapping_add(sym.address())
                        }
                        Err(_) => continue,
                    },
                    RelocationTarget::Section(si) => bases.get(&si).copied().unwrap_or(0),
                    _ => continue,
                };
                let v = sym_value.wrapping_add(rel.addend() as u64);
                let r_type = match rel.flags() {
                    object::RelocationFlags::Elf { r_type } => r_type,
                    _ => continue,
                };
                let at = off as usize;
                let put = |data: &mut Vec<u8>, bytes: &[u8]| -> Result<()> {
                    let dst = at.checked_add(bytes.len()).and_then(|e| data.get_mut(at..e)).ok_or_else(|| {
                        DebugInfoError::Dwarf(format!("{}: relocation outside {name}", self.path))
                    })?;
                    dst.copy_from_slice(bytes);
                    Ok(())
                };
                match r_type {
                    object::elf::R_X86_64_64 => put(&mut data, &v.to_le_bytes())?,
                    object::elf::R_X86_64_32 | object::elf::R_X86_64_32S => put(&mut data, &(v as u32).to_le_bytes())?,
                    object::elf::R_X86_64_NONE => {}
                    t => {
                        return Err(DebugInfoError::Dwarf(format!(
                            "{}: unsupported relocation type {t} in {name}",
                            self.path
                        )))
                    }
                }
            }
            self.owned.insert(name, data);
        }
        Ok(())
    }
}

pub(super) type Unit<'a> = gimli::Unit<Slice<'a>>;

/// DWARF of one file, answering [`DebugInfo`] queries.
pub struct DwarfDebugInfo<'a> {
    path: String,
    pub(super) data: &'a [u8],
    pub(super) dwarf: gimli::Dwarf<Slice<'a>>,
    secs: Sections<'a>,
    debug_frame: Option<gimli::DebugFrame<Slice<'a>>>,
    eh_frame: Option<(gimli::EhFrame<Slice<'a>>, u64)>,
    /// Sorted offsets of all unit headers (read on first need: walking
    /// every header touches pages all over `.debug_info`).
    unit_offsets: OnceLock<Vec<u64>>,
    /// Sorted offsets of the units `.debug_aranges` lists (a small
    /// section): tried first.
    code_unit_offsets: OnceLock<Vec<u64>>,
    index: OnceLock<std::result::Result<FunctionIndex<'a>, DebugInfoError>>,
    /// Where to keep the function index between runs (opt-in).
    index_cache: Option<std::path::PathBuf>,
    build_id: Option<Vec<u8>>,
    func_symbols: OnceLock<HashMap<&'a [u8], Vec<u64>>>,
    /// Function symbols sorted by address (built on first use).
    func_table: OnceLock<Vec<FuncSym<'a>>>,
    /// Names with a `__ksymtab_NAME` symbol: what EXPORT_SYMBOL exported.
    exported: OnceLock<std::collections::HashSet<&'a [u8]>>,
    /// For a relocatable object: synthetic base by section index.
    section_bases: HashMap<usize, u64>,
    /// Allocated sections: (name, address, size).
    sections: Vec<(String, u64, u64)>,
    units: Mutex<HashMap<u64, Arc<Unit<'a>>>>,
    /// `find_type` answers (each is a walk over every unit), by name.
    found_types: Mutex<HashMap<String, Option<TypeId>>>,
}

impl<'a> DwarfDebugInfo<'a> {
    /// Parses the ELF container and the unit headers.
    pub fn new(file: &'a DebugFile) -> Result<DwarfDebugInfo<'a>> {
        let mut di = Self::build(file.bytes(), file.path(), Some(&file.owned))?;
        if !file.alloc_sections.is_empty() {
            di.sections = file.alloc_sections.clone();
            di.section_bases = file.section_bases.clone();
        }
        Ok(di)
    }

    /// Like [`DwarfDebugInfo::new`], over bytes already in memory (no
    /// relocation: relocatable objects are refused).
    pub fn from_bytes(data: &'a [u8], path: &str) -> Result<DwarfDebugInfo<'a>> {
        Self::build(data, path, None)
    }

    fn build(data: &'a [u8], path: &str, relocated: Option<&'a HashMap<String, Vec<u8>>>) -> Result<DwarfDebugInfo<'a>> {
        let obj = object::File::parse(data)
            .map_err(|e| DebugInfoError::Dwarf(format!("{path}: not an ELF file: {e}")))?;
        if !obj.is_little_endian() || !obj.is_64() {
            return Err(DebugInfoError::Dwarf(format!("{path}: only 64-bit little-endian ELF is supported")));
        }
        if relocated.is_none() && obj.kind() == object::ObjectKind::Relocatable && obj.section_by_name(".rela.debug_info").is_some() {
            return Err(DebugInfoError::Dwarf(format!(
                "{path}: relocatable object (kernel module): DWARF relocation is not supported yet"
            )));
        }
        let sec = |name: &str| -> &'a [u8] {
            if let Some(d) = relocated.and_then(|r| r.get(name)) {
                return d.as_slice();
            }
            match obj.section_by_name(name) {
                Some(s) => match s.data() {
                    Ok(d) => d,
                    Err(_) => &[],
                },
                None => &[],
            }
        };
        if sec(".debug_info").is_empty() {
            return Err(DebugInfoError::Dwarf(format!("{path}: no .debug_info section (not a debuginfo file)")));
        }
        for s in obj.sections() {
            if let Ok(name) = s.name() {
                let owned = relocated.map(|r| r.contains_key(name)).unwrap_or(false);
                if !owned && name.starts_with(".debug_") && s.compressed_file_range().map(|r| r.format != object::CompressionFormat::None).unwrap_or(false) {
                    return Err(DebugInfoError::Dwarf(format!("{path}: compressed section {name} is not supported")));
                }
            }
        }
        let load = |id: gimli::SectionId| -> std::result::Result<Slice<'a>, gimli::Error> {
            Ok(Slice::new(sec(id.name()), LittleEndian))
        };
        let dwarf = gimli::Dwarf::load(load)?;
        let secs = Sections {
            info: sec(".debug_info"),
            str_: sec(".debug_str"),
            line_str: sec(".debug_line_str"),
            str_offsets: sec(".debug_str_offsets"),
            addr: sec(".debug_addr"),
            abbrev: sec(".debug_abbrev"),
        };
        let df = sec(".debug_frame");
        let debug_frame = (!df.is_empty()).then(|| {
            let mut f = gimli::DebugFrame::new(df, LittleEndian);
            f.set_address_size(8);
            f
        });
        let eh_frame = obj.section_by_name(".eh_frame").and_then(|s| {
            let d = s.data().ok()?;
            (!d.is_empty()).then(|| (gimli::EhFrame::new(d, LittleEndian), s.address()))
        });
        Ok(DwarfDebugInfo {
            path: path.to_string(),
            data,
            dwarf,
            secs,
            debug_frame,
            eh_frame,
            unit_offsets: OnceLock::new(),
            code_unit_offsets: OnceLock::new(),
            func_symbols: OnceLock::new(),
            func_table: OnceLock::new(),
            exported: OnceLock::new(),
            section_bases: HashMap::new(),
            index: OnceLock::new(),
            index_cache: None,
            build_id: obj.build_id().ok().flatten().map(|b| b.to_vec()),
            sections: obj
                .sections()
                .filter(|s| s.address() != 0 && s.size() != 0)
                .filter_map(|s| Some((s.name().ok()?.to_string(), s.address(), s.size())))
                .collect(),
            units: Mutex::new(HashMap::new()),
            found_types: Mutex::new(HashMap::new()),
        })
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// Fast path for an exact name that is a global function symbol: a
    /// global function is defined once and can be inlined only into its own
    /// unit, so indexing the units that `.debug_aranges` gives for its
    /// addresses is complete. `None` when the path does not apply (wildcard,
    /// static or unknown symbol, no aranges, relocatable file, index built).
    fn exact_global_index(&self, pattern: &FunctionPattern) -> Result<Option<FunctionIndex<'a>>> {
        use object::{ObjectSymbol, SymbolKind};
        if pattern.is_wildcard() || self.index.get().is_some() {
            return Ok(None);
        }
        let obj = match object::File::parse(self.data) {
            Ok(o) if o.kind() != object::ObjectKind::Relocatable => o,
            _ => return Ok(None),
        };
        let mut addrs = Vec::new();
        for sym in obj.symbols() {
            if sym.kind() == SymbolKind::Text && sym.name_bytes().ok() == Some(pattern.function.as_bytes()) {
                if !sym.is_global() {
                    return Ok(None);
                }
                addrs.push(sym.address());
            }
        }
        if addrs.is_empty() {
            return Ok(None);
        }
        let mut units: Vec<u64> = Vec::new();
        let mut found = vec![false; addrs.len()];
        let mut headers = self.dwarf.debug_aranges.headers();
        while let Some(h) = headers.next()? {
            let mut entries = h.entries();
            while let Some(e) = entries.next()? {
                let r = e.range();
                for (i, a) in addrs.iter().enumerate() {
                    if r.begin <= *a && *a < r.end {
                        found[i] = true;
                        units.push(h.debug_info_offset().0 as u64);
                    }
                }
            }
        }
        if found.iter().any(|f| !f) {
            return Ok(None);
        }
        units.sort();
        units.dedup();
        let mut hs = Vec::new();
        for u in units {
            hs.push(self.dwarf.debug_info.header_from_offset(DebugInfoOffset(u as usize))?);
        }
        super::scan::build_for_units(self.secs, &hs).map(Some)
    }

    /// Keeps the function index in `dir` between runs (files named by
    /// build id; files without a build id are not cached). The first
    /// wildcard query writes it, later instances load it instead of
    /// scanning `.debug_info`.
    pub fn with_index_cache(mut self, dir: &Path) -> Self {
        self.index_cache = Some(dir.to_path_buf());
        self
    }

    /// ELF function symbols sorted by address (synthetic addresses for a
    /// relocatable object), globals before locals at the same address.
    fn function_table(&self) -> &[FuncSym<'a>] {
        self.func_table.get_or_init(|| {
            use object::{ObjectSymbol, SymbolKind};
            let mut v = Vec::new();
            if let Ok(obj) = object::File::parse(self.data) {
                for sym in obj.symbols() {
                    if sym.kind() != SymbolKind::Text {
                        continue;
                    }
                    let Ok(name) = sym.name_bytes() else { continue };
                    if name.is_empty() {
                        continue;
                    }
                    let base = sym.section_index().and_then(|i| self.section_bases.get(&i.0).copied()).unwrap_or(0);
                    v.push(FuncSym { addr: base.wrapping_add(sym.address()), size: sym.size(), name, global: sym.is_global() });
                }
            }
            v.sort_by_key(|f| (f.addr, !f.global));
            v
        })
    }

    /// Addresses of ELF function symbols by name (built on first use).
    fn function_symbols(&self) -> &HashMap<&'a [u8], Vec<u64>> {
        self.func_symbols.get_or_init(|| {
            let mut m: HashMap<&'a [u8], Vec<u64>> = HashMap::new();
            for f in self.function_table() {
                m.entry(f.name).or_default().push(f.addr);
            }
            m
        })
    }

    pub(super) fn index(&self) -> Result<&FunctionIndex<'a>> {
        self.index
            .get_or_init(|| {
                let path = match (&self.index_cache, &self.build_id) {
                    (Some(dir), Some(id)) => Some(super::cache::cache_path(dir, id, self.secs.info.len())),
                    _ => None,
                };
                if let Some(p) = &path {
                    if let Some(idx) = super::cache::load(p, &self.secs) {
                        return Ok(idx);
                    }
                }
                let idx = FunctionIndex::build(&self.dwarf, self.secs)?;
                if let Some(p) = &path {
                    super::cache::save(p, &self.secs, &idx);
                }
                Ok(idx)
            })
            .as_ref()
            .map_err(|e| e.clone())
    }

    /// The unit holding the DIE at `off` and the unit-relative offset.
    pub(super) fn unit_of(&self, off: u64) -> Result<(Arc<Unit<'a>>, UnitOffset)> {
        let code = self.code_unit_offsets.get_or_init(|| {
            let mut v = Vec::new();
            let mut headers = self.dwarf.debug_aranges.headers();
            while let Ok(Some(h)) = headers.next() {
                v.push(h.debug_info_offset().0 as u64);
            }
            v.sort();
            v.dedup();
            v
        });
        if let Some(found) = self.unit_in(code, off)? {
            return Ok(found);
        }
        let all = match self.unit_offsets.get() {
            Some(v) => v,
            None => {
                let mut v = Vec::new();
                let mut it = self.dwarf.units();
                while let Some(h) = it.next()? {
                    if let Some(o) = h.offset().as_debug_info_offset() {
                        v.push(o.0 as u64);
                    }
                }
                self.unit_offsets.get_or_init(|| v)
            }
        };
        self.unit_in(all, off)?
            .ok_or_else(|| DebugInfoError::Lookup(format!("no unit holds DIE offset {off:#x}")))
    }

    /// The unit among `starts` (sorted unit offsets) that holds `off`.
    fn unit_in(&self, starts: &[u64], off: u64) -> Result<Option<(Arc<Unit<'a>>, UnitOffset)>> {
        let i = starts.partition_point(|&u| u <= off);
        if i == 0 {
            return Ok(None);
        }
        let unit = match self.unit_at(starts[i - 1]) {
            Ok(u) => u,
            Err(_) => return Ok(None),
        };
        Ok(DebugInfoOffset(off as usize).to_unit_offset(&unit.header).map(|uo| (unit, uo)))
    }

    pub(super) fn unit_at(&self, unit_off: u64) -> Result<Arc<Unit<'a>>> {
        if let Some(u) = self.units.lock().map_err(|_| poisoned())?.get(&unit_off) {
            return Ok(u.clone());
        }
        let header = self.dwarf.debug_info.header_from_offset(DebugInfoOffset(unit_off as usize))?;
        let unit = Arc::new(self.dwarf.unit(header)?);
        self.units.lock().map_err(|_| poisoned())?.insert(unit_off, unit.clone());
        Ok(unit)
    }

    pub(super) fn global(unit: &Unit<'a>, o: UnitOffset) -> u64 {
        o.to_debug_info_offset(&unit.header).map(|d| d.0 as u64).unwrap_or(0)
    }

    /// Resolves a reference attribute value to a global offset.
    pub(super) fn ref_of(unit: &Unit<'a>, v: AttributeValue<Slice<'a>>) -> Option<u64> {
        match v {
            AttributeValue::UnitRef(o) => Some(Self::global(unit, o)),
            AttributeValue::DebugInfoRef(o) => Some(o.0 as u64),
            _ => None,
        }
    }

    pub(super) fn attr_str(&self, unit: &Unit<'a>, v: AttributeValue<Slice<'a>>) -> Option<String> {
        self.dwarf.attr_string(unit, v).ok().map(|s| String::from_utf8_lossy(s.slice()).into_owned())
    }

    /// A file name of the unit's line table, relative to the comp dir.
    pub(super) fn file_name(&self, unit: &Unit<'a>, index: u64) -> Option<String> {
        let lp = unit.line_program.as_ref()?;
        let header = lp.header();
        let file = header.file(index)?;
        let name = self.attr_str(unit, file.path_name())?;
        let dir = file.directory(header).and_then(|d| self.attr_str(unit, d)).unwrap_or_default();
        let full = if name.starts_with('/') || dir.is_empty() { name } else { format!("{dir}/{name}") };
        let comp = unit.comp_dir.map(|c| String::from_utf8_lossy(c.slice()).into_owned()).unwrap_or_default();
        Some(match full.strip_prefix(&comp) {
            Some(rest) if !comp.is_empty() && rest.starts_with('/') => rest[1..].to_string(),
            _ => full,
        })
    }

    /// Entry address of a DIE with pc attributes: `DW_AT_entry_pc`, else
    /// `DW_AT_low_pc`, else the first range.
    pub(super) fn die_entry_pc(&self, unit: &Unit<'a>, die: &gimli::DebuggingInformationEntry<Slice<'a>>) -> Result<Option<u64>> {
        let low = match die.attr_value(DW_AT_low_pc)? {
            Some(AttributeValue::Addr(a)) => Some(a),
            Some(v @ AttributeValue::DebugAddrIndex(_)) => self.dwarf.attr_address(unit, v)?,
            _ => None,
        };
        let first_range = || -> Result<Option<u64>> {
            let mut it = self.dwarf.die_ranges(unit, die)?;
            Ok(it.next()?.map(|r| r.begin))
        };
        match die.attr_value(DW_AT_entry_pc)? {
            Some(AttributeValue::Addr(a)) => return Ok(Some(a)),
            Some(v @ AttributeValue::DebugAddrIndex(_)) => return Ok(self.dwarf.attr_address(unit, v)?),
            Some(v) => {
                if let Some(k) = v.udata_value() {
                    let base = match low {
                        Some(l) => Some(l),
                        None => first_range()?,
                    };
                    return Ok(base.map(|b| b.wrapping_add(k)));
                }
            }
            None => {}
        }
        match low {
            Some(l) if die.attr_value(DW_AT_ranges)?.is_none() => Ok(Some(l)),
            _ => first_range(),
        }
    }

    /// Does the DIE have a pc range containing `pc`?
    pub(super) fn die_has_pc(&self, unit: &Unit<'a>, die: &gimli::DebuggingInformationEntry<Slice<'a>>, pc: u64) -> Result<bool> {
        let mut it = self.dwarf.die_ranges(unit, die)?;
        while let Some(r) = it.next()? {
            if r.begin <= pc && pc < r.end {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Does the DIE's pc range contain `pc`? (No ranges at all: yes.)
    pub(super) fn die_contains(&self, unit: &Unit<'a>, die: &gimli::DebuggingInformationEntry<Slice<'a>>, pc: u64) -> Result<bool> {
        let mut any = false;
        let mut it = self.dwarf.die_ranges(unit, die)?;
        while let Some(r) = it.next()? {
            any = true;
            if r.begin <= pc && pc < r.end {
                return Ok(true);
            }
        }
        Ok(!any)
    }

    /// Builds [`FunctionInfo`]s for index entries that all name one
    /// function of one unit.
    fn function_info(
        &self,
        index: &FunctionIndex<'a>,
        group: &[&FuncEntry<'a>],
        pattern: &FunctionPattern,
        memo: &mut UnitMemo,
    ) -> Result<Option<FunctionInfo>> {
        let first = group[0];
        let uinfo = &index.units[first.unit as usize];
        let unit = self.unit_at(uinfo.offset)?;
        let decl = group.iter().find(|e| e.decl_line != 0).unwrap_or(&first);
        let decl_file = if decl.decl_file != 0 || unit.header.version() >= 5 {
            self.file_name(&unit, decl.decl_file as u64)
        } else {
            None
        };
        if !pattern.matches_line(decl.decl_line) {
            return Ok(None);
        }
        if pattern.file.is_some() && !decl_file.as_deref().map(|f| pattern.matches_file(f)).unwrap_or(false) {
            return Ok(None);
        }
        // Out-of-line instances: entries with a pc. More than one means
        // compiler clones (`f.part.0`, `f.isra.0`, `f.constprop.0`); the
        // primary is the one at the address of the ELF symbol `f`.
        let mut concretes = Vec::new();
        for c in group.iter().filter(|e| e.low_pc.is_some() || e.has_ranges || e.entry_pc.is_some()) {
            let entry = match (c.entry_pc, c.low_pc, c.has_ranges) {
                (Some(e), _, _) => Some(e),
                (None, Some(l), false) => Some(l),
                _ => {
                    let (u, uo) = self.unit_of(c.die)?;
                    let d = u.entry(uo)?;
                    self.die_entry_pc(&u, &d)?
                }
            };
            if let Some(e) = entry {
                concretes.push((c.die, e, c.high_pc));
            }
        }
        concretes.sort_by_key(|c| c.1);
        if concretes.len() > 1 {
            if let Some(addrs) = self.function_symbols().get(first.name) {
                if let Some(i) = concretes.iter().position(|c| addrs.contains(&c.1)) {
                    let primary = concretes.remove(i);
                    concretes.insert(0, primary);
                }
            }
        }
        let (die, entry_pc, high_pc) = match concretes.first() {
            Some(&(d, e, h)) => (d, Some(e), h),
            None => (group.iter().find(|e| e.inline).unwrap_or(&first).die, None, None),
        };
        let mut inline_instances = Vec::new();
        for root in group.iter().filter(|e| e.inline) {
            if memo.inline.is_none() {
                memo.inline = Some(self.inline_instances(&unit, &memo.roots)?);
            }
            if let Some(v) = memo.inline.as_ref().and_then(|m| m.get(&root.die)) {
                inline_instances.extend(v.iter().cloned());
            }
        }
        inline_instances.sort_by_key(|i| i.entry_pc);
        if entry_pc.is_none() && inline_instances.is_empty() {
            return Ok(None);
        }
        let return_type = {
            let (u, uo) = self.unit_of(die)?;
            let d = u.entry(uo)?;
            self.var_name_type(&u, &d)?.1
        };
        let prologue_end = match entry_pc {
            Some(e) => {
                if memo.rows.is_none() {
                    memo.rows = Some(self.line_rows(&unit)?);
                }
                prologue_end(memo.rows.as_deref().unwrap_or(&[]), e, high_pc)
            }
            None => None,
        };
        let mut clones = Vec::new();
        for &(cdie, centry, chigh) in concretes.iter().skip(1) {
            if memo.rows.is_none() {
                memo.rows = Some(self.line_rows(&unit)?);
            }
            let pe = self::prologue_end(memo.rows.as_deref().unwrap_or(&[]), centry, chigh);
            clones.push(CloneInstance { die: cdie, entry_pc: centry, prologue_end: pe });
        }
        Ok(Some(FunctionInfo {
            name: String::from_utf8_lossy(first.name).into_owned(),
            cu_name: String::from_utf8_lossy(uinfo.name).into_owned(),
            decl_file,
            decl_line: decl.decl_line,
            external: group.iter().any(|e| e.external),
            die,
            entry_pc,
            prologue_end,
            optimized: uinfo.optimized,
            inline_instances,
            clones,
            return_type,
        }))
    }

    /// All `DW_TAG_inlined_subroutine`s of `unit` whose abstract origin is
    /// one of `roots`.
    fn inline_instances(&self, unit: &Unit<'a>, roots: &[u64]) -> Result<HashMap<u64, Vec<InlineInstance>>> {
        let roots: HashSet<u64> = roots.iter().copied().collect();
        let mut out: HashMap<u64, Vec<InlineInstance>> = HashMap::new();
        let mut cursor = unit.entries();
        while let Some((_, die)) = cursor.next_dfs()? {
            if die.tag() != DW_TAG_inlined_subroutine {
                continue;
            }
            let origin = match die.attr_value(DW_AT_abstract_origin)? {
                Some(v) => Self::ref_of(unit, v),
                None => None,
            };
            let origin = match origin {
                Some(o) if roots.contains(&o) => o,
                _ => continue,
            };
            let entry_pc = match self.die_entry_pc(unit, die)? {
                Some(e) => e,
                None => continue,
            };
            let call_file = match die.attr_value(DW_AT_call_file)?.and_then(|v| v.udata_value()) {
                Some(f) => self.file_name(unit, f),
                None => None,
            };
            let call_line = die.attr_value(DW_AT_call_line)?.and_then(|v| v.udata_value()).unwrap_or(0) as u32;
            out.entry(origin).or_default().push(InlineInstance {
                die: Self::global(unit, die.offset()),
                entry_pc,
                call_file,
                call_line,
            });
        }
        Ok(out)
    }

    /// All rows of the unit's line table, sorted by address.
    fn line_rows(&self, unit: &Unit<'a>) -> Result<Vec<LineRow>> {
        let lp = match &unit.line_program {
            Some(lp) => lp.clone(),
            None => return Ok(Vec::new()),
        };
        let mut rows = lp.rows();
        let mut out = Vec::new();
        while let Some((_, row)) = rows.next_row()? {
            if row.end_sequence() {
                continue;
            }
            out.push(LineRow {
                address: row.address(),
                line: row.line().map(|l| l.get()).unwrap_or(0),
                is_stmt: row.is_stmt(),
                prologue_end: row.prologue_end(),
            });
        }
        out.sort_by_key(|r| r.address);
        Ok(out)
    }

    /// The CFA at `pc` as a register + offset, from `.debug_frame` or
    /// `.eh_frame`.
    pub(super) fn cfa_at(&self, pc: u64) -> Result<Option<(Reg, i64)>> {
        use gimli::UnwindSection;
        let mut ctx = Box::new(gimli::UnwindContext::new());
        if let Some(df) = &self.debug_frame {
            let bases = gimli::BaseAddresses::default();
            if let Ok(fde) = df.fde_for_address(&bases, pc, gimli::DebugFrame::cie_from_offset) {
                let row = fde.unwind_info_for_address(df, &bases, &mut ctx, pc)?;
                if let gimli::CfaRule::RegisterAndOffset { register, offset } = row.cfa() {
                    return Ok(Some((Reg(register.0), *offset)));
                }
                return Ok(None);
            }
        }
        if let Some((eh, addr)) = &self.eh_frame {
            let bases = gimli::BaseAddresses::default().set_eh_frame(*addr);
            if let Ok(fde) = eh.fde_for_address(&bases, pc, gimli::EhFrame::cie_from_offset) {
                let row = fde.unwind_info_for_address(eh, &bases, &mut ctx, pc)?;
                if let gimli::CfaRule::RegisterAndOffset { register, offset } = row.cfa() {
                    return Ok(Some((Reg(register.0), *offset)));
                }
            }
        }
        Ok(None)
    }

    /// Finds a top-level type DIE by tag and name, preferring definitions.
    fn find_type_die(&self, tags: &[DwTag], name: &str) -> Result<Option<u64>> {
        let mut decl = None;
        let mut it = self.dwarf.units();
        while let Some(h) = it.next()? {
            if let Some(found) = self.find_type_in_unit(&h, tags, name, &mut decl)? {
                return Ok(Some(found));
            }
        }
        Ok(decl)
    }

    /// Walks the top level of one unit (jumping over children with
    /// `DW_AT_sibling`) for a type DIE named `name` with a tag in `tags`.
    pub(super) fn find_type_in_unit(
        &self,
        h: &gimli::UnitHeader<Slice<'a>>,
        tags: &[DwTag],
        name: &str,
        decl: &mut Option<u64>,
    ) -> Result<Option<u64>> {
        let base = h.offset().as_debug_info_offset().map(|d| d.0 as u64).unwrap_or(0);
        let abbrevs = self.dwarf.abbreviations(h)?;
        let mut raw = h.entries_raw(&abbrevs, None)?;
        // Depth of raw's depth 0 relative to the unit DIE.
        let mut shift = 0isize;
        let mut str_base = None;
        while !raw.is_empty() {
            let depth = raw.next_depth() + shift;
            let off = raw.next_offset();
            let ab = match raw.read_abbreviation()? {
                Some(a) => a,
                None => {
                    if depth <= 1 {
                        break;
                    }
                    continue;
                }
            };
            let unit_die = depth == 0;
            let want = depth == 1 && tags.contains(&ab.tag());
            let mut sibling = None;
            let mut nm: Option<&[u8]> = None;
            let mut is_decl = false;
            for spec in ab.attributes() {
                if !want && !unit_die && spec.name() != DW_AT_sibling {
                    raw.skip_attributes(std::slice::from_ref(spec))?;
                    continue;
                }
                let a = raw.read_attribute(*spec)?;
                match (a.name(), a.value()) {
                    (DW_AT_sibling, AttributeValue::UnitRef(o)) => sibling = Some(o),
                    (DW_AT_str_offsets_base, AttributeValue::DebugStrOffsetsBase(b)) => str_base = Some(b),
                    (DW_AT_name, v) if want => {
                        nm = match v {
                            AttributeValue::String(s) => Some(s.slice()),
                            AttributeValue::DebugStrRef(o) => self.dwarf.debug_str.get_str(o).ok().map(|s| s.slice()),
                            AttributeValue::DebugLineStrRef(o) => {
                                self.dwarf.debug_line_str.get_str(o).ok().map(|s| s.slice())
                            }
                            AttributeValue::DebugStrOffsetsIndex(i) => str_base
                                .and_then(|b| self.dwarf.debug_str_offsets.get_str_offset(h.format(), b, i).ok())
                                .and_then(|o| self.dwarf.debug_str.get_str(o).ok())
                                .map(|s| s.slice()),
                            _ => None,
                        }
                    }
                    (DW_AT_declaration, AttributeValue::Flag(f)) => is_decl = f,
                    _ => {}
                }
            }
            if want && nm == Some(name.as_bytes()) {
                let g = base + off.0 as u64;
                if !is_decl {
                    return Ok(Some(g));
                }
                decl.get_or_insert(g);
            }
            if ab.has_children() && depth == 1 {
                if let Some(s) = sibling {
                    if s.0 > off.0 {
                        raw = h.entries_raw(&abbrevs, Some(s))?;
                        shift = 1;
                    }
                }
            }
        }
        Ok(None)
    }
}

/// One ELF function symbol.
struct FuncSym<'a> {
    addr: u64,
    size: u64,
    name: &'a [u8],
    global: bool,
}

/// One line-table row, as the prologue search needs it.
struct LineRow {
    address: u64,
    line: u64,
    is_stmt: bool,
    prologue_end: bool,
}

/// Per-unit data shared by the functions of one query.
#[derive(Default)]
struct UnitMemo {
    /// Abstract roots (inline functions) matched in this unit.
    roots: Vec<u64>,
    inline: Option<HashMap<u64, Vec<InlineInstance>>>,
    rows: Option<Vec<LineRow>>,
}

/// End of the prologue of the function at `[entry, high)` by the line
/// table: a row flagged `prologue_end`, else the first `is_stmt` row past
/// the entry whose line differs from the entry's line, else the entry.
fn prologue_end(rows: &[LineRow], entry: u64, high: Option<u64>) -> Option<u64> {
    let high = high.unwrap_or(u64::MAX);
    let start = rows.partition_point(|r| r.address < entry);
    let mut entry_line = None;
    let mut candidate = None;
    for r in rows[start..].iter().take_while(|r| r.address < high) {
        if r.prologue_end {
            return Some(r.address);
        }
        match entry_line {
            None if r.address == entry => entry_line = Some(r.line),
            Some(l) if r.address > entry && r.is_stmt && r.line != l && r.line != 0 && candidate.is_none() => {
                candidate = Some(r.address)
            }
            _ => {}
        }
    }
    candidate.or(Some(entry))
}

fn poisoned() -> DebugInfoError {
    DebugInfoError::Dwarf("internal lock poisoned".into())
}


impl<'a> DebugInfo for DwarfDebugInfo<'a> {
    fn functions(&self, pattern: &FunctionPattern) -> Result<Vec<FunctionInfo>> {
        let fast;
        let index = match self.exact_global_index(pattern)? {
            Some(i) => {
                fast = i;
                &fast
            }
            None => self.index()?,
        };
        // A file part naming a .c file restricts the units by their name.
        let unit_filter: Option<Vec<bool>> = match &pattern.file {
            Some(f) if f.ends_with(".c") => Some(
                index
                    .units
                    .iter()
                    .map(|u| super::pattern::file_match(f, &String::from_utf8_lossy(u.name)))
                    .collect(),
            ),
            _ => None,
        };
        let exact = !pattern.is_wildcard();
        let mut groups: HashMap<(u32, u64), Vec<&FuncEntry<'a>>> = HashMap::new();
        for f in &index.funcs {
            if let Some(uf) = &unit_filter {
                if !uf.get(f.unit as usize).copied().unwrap_or(false) {
                    continue;
                }
            }
            let hit = if exact {
                f.name == pattern.function.as_bytes()
            } else {
                crate::glob::glob_bytes(pattern.function.as_bytes(), f.name)
            };
            if hit {
                // Group an out-of-line instance with its abstract root.
                let key = (f.unit, f.origin.filter(|_| !f.inline).unwrap_or(f.die));
                groups.entry(key).or_default().push(f);
            }
        }
        let mut keys: Vec<_> = groups.keys().copied().collect();
        keys.sort();
        let mut memos: HashMap<u32, UnitMemo> = HashMap::new();
        for (k, g) in &groups {
            memos.entry(k.0).or_default().roots.extend(g.iter().filter(|e| e.inline).map(|e| e.die));
        }
        let mut out = Vec::new();
        for k in keys {
            let memo = memos.entry(k.0).or_default();
            if let Some(fi) = self.function_info(index, &groups[&k], pattern, memo)? {
                out.push(fi);
            }
            // Units are visited in order: drop a finished unit's memo.
            if memos.keys().any(|&u| u < k.0) {
                memos.retain(|&u, _| u >= k.0);
            }
        }
        out.sort_by(|a, b| {
            a.name.cmp(&b.name).then(
                a.entry_pc
                    .or(a.inline_instances.first().map(|i| i.entry_pc))
                    .cmp(&b.entry_pc.or(b.inline_instances.first().map(|i| i.entry_pc))),
            )
        });
        Ok(out)
    }

    fn variables(&self, scope: DieRef, pc: u64) -> Result<Vec<Variable>> {
        self.variables_at(scope, pc)
    }

    fn global_variable(&self, name: &str, file: Option<&str>) -> Result<Option<Variable>> {
        self.global_variable_impl(name, file)
    }

    fn variable_at(&self, var: DieRef, pc: u64) -> Result<Variable> {
        self.variable_at_impl(var, pc)
    }

    fn labels(&self, scope: DieRef) -> Result<Vec<Label>> {
        self.labels_in(scope)
    }

    fn line_addresses(&self, file: &str, line: u32) -> Result<Vec<StatementSite>> {
        let index = self.index()?;
        let by_name = file.ends_with(".c");
        let mut out = Vec::new();
        for (ui, u) in index.units.iter().enumerate() {
            if by_name && !super::pattern::file_match(file, &String::from_utf8_lossy(u.name)) {
                continue;
            }
            let unit = self.unit_at(u.offset)?;
            let lp = match &unit.line_program {
                Some(lp) => lp.clone(),
                None => continue,
            };
            let mut names: HashMap<u64, Option<String>> = HashMap::new();
            let mut rows = lp.rows();
            let mut prev_match = false;
            let mut hits = Vec::new();
            while let Some((_, row)) = rows.next_row()? {
                if row.end_sequence() {
                    prev_match = false;
                    continue;
                }
                let fidx = row.file_index();
                let fname = names.entry(fidx).or_insert_with(|| self.file_name(&unit, fidx)).clone();
                let hit = row.line().map(|l| l.get()) == Some(line as u64)
                    && fname.as_deref().map(|n| super::pattern::file_match(file, n)).unwrap_or(false);
                if hit && row.is_stmt() && !prev_match {
                    hits.push((row.address(), fname.unwrap_or_default()));
                }
                prev_match = hit;
            }
            for (address, fname) in hits {
                let function = index
                    .funcs
                    .iter()
                    .filter(|f| f.unit as usize == ui)
                    .find(|f| matches!((f.low_pc, f.high_pc), (Some(lo), Some(hi)) if lo <= address && address < hi))
                    .map(|f| (String::from_utf8_lossy(f.name).into_owned(), f.die));
                out.push(StatementSite { address, file: fname, line, function });
            }
        }
        out.sort_by_key(|s| s.address);
        out.dedup_by_key(|s| s.address);
        Ok(out)
    }

    fn function_lines(&self, pc: u64) -> Result<Option<FunctionLines>> {
        let index = self.index()?;
        let Some(f) = index
            .funcs
            .iter()
            .find(|f| matches!((f.low_pc, f.high_pc), (Some(lo), Some(hi)) if lo <= pc && pc < hi))
        else {
            return Ok(None);
        };
        let (lo, hi) = (f.low_pc.unwrap_or(0), f.high_pc.unwrap_or(0));
        let u = &index.units[f.unit as usize];
        let unit = self.unit_at(u.offset)?;
        let Some(lp) = unit.line_program.clone() else { return Ok(None) };
        let mut names: HashMap<u64, Option<String>> = HashMap::new();
        let mut rows = lp.rows();
        let mut out: Vec<(u64, String, u32)> = Vec::new();
        while let Some((_, row)) = rows.next_row()? {
            let a = row.address();
            if row.end_sequence() || a < lo || a >= hi || !row.is_stmt() {
                continue;
            }
            let Some(line) = row.line().map(|l| l.get() as u32) else { continue };
            let name = names.entry(row.file_index()).or_insert_with(|| self.file_name(&unit, row.file_index())).clone();
            let Some(name) = name else { continue };
            if out.last().is_some_and(|(_, f, l)| *l == line && *f == name) {
                continue;
            }
            out.push((a, name, line));
        }
        out.sort_by_key(|r| r.0);
        out.dedup_by_key(|r| r.0);
        Ok(Some(FunctionLines { low: lo, high: hi, rows: out }))
    }

    fn data_symbol_at(&self, addr: u64) -> Option<(String, u64)> {
        use object::{ObjectSymbol, SymbolKind};
        let obj = object::File::parse(self.data).ok()?;
        let mut best: Option<(String, u64)> = None;
        for sym in obj.symbols() {
            if !matches!(sym.kind(), SymbolKind::Data | SymbolKind::Unknown) || sym.is_undefined() {
                continue;
            }
            let Some(sec) = sym.section_index() else { continue };
            let Ok(name) = sym.name() else { continue };
            if name.is_empty() || name.starts_with('.') || name.starts_with("__") {
                continue;
            }
            let base = self.section_bases.get(&sec.0).copied().unwrap_or(0);
            let a = base.wrapping_add(sym.address());
            let inside = a == addr || (a < addr && addr < a.saturating_add(sym.size()));
            if inside && best.as_ref().is_none_or(|(_, off)| addr - a < *off) {
                best = Some((name.to_string(), addr - a));
            }
        }
        best
    }

    fn is_exported(&self, name: &str) -> bool {
        let set = self.exported.get_or_init(|| {
            use object::ObjectSymbol;
            let mut set = std::collections::HashSet::new();
            if let Ok(obj) = object::File::parse(self.data) {
                for sym in obj.symbols() {
                    if let Some(n) = sym.name_bytes().ok().and_then(|n| n.strip_prefix(b"__ksymtab_")) {
                        set.insert(n);
                    }
                }
            }
            set
        });
        set.contains(name.as_bytes())
    }

    fn symbol_at(&self, addr: u64) -> Option<(String, u64)> {
        let t = self.function_table();
        let i = t.partition_point(|f| f.addr <= addr);
        // The closest symbol at or below addr whose extent covers it (an
        // unsized symbol covers up to the next one).
        let at = t[..i].last()?.addr;
        let first = t[..i].partition_point(|f| f.addr < at);
        t[first..i]
            .iter()
            .find(|f| f.size == 0 || addr < f.addr.saturating_add(f.size))
            .map(|f| (String::from_utf8_lossy(f.name).into_owned(), addr - f.addr))
    }

    fn section_of(&self, addr: u64) -> Option<(String, u64)> {
        self.sections
            .iter()
            .find(|(_, base, size)| *base <= addr && addr < base.saturating_add(*size))
            .map(|(n, base, _)| (n.clone(), addr - base))
    }

    fn type_info(&self, ty: TypeId) -> Result<TypeInfo> {
        let (unit, uo) = self.unit_of(ty)?;
        let die = unit.entry(uo)?;
        let name = die.attr_value(DW_AT_name)?.and_then(|v| self.attr_str(&unit, v));
        let size = die.attr_value(DW_AT_byte_size)?.and_then(|v| v.udata_value());
        let declaration = matches!(die.attr_value(DW_AT_declaration)?, Some(AttributeValue::Flag(true)));
        let target = die.attr_value(DW_AT_type)?.and_then(|v| Self::ref_of(&unit, v));
        let children = |f: &mut dyn FnMut(&gimli::DebuggingInformationEntry<Slice<'a>>) -> Result<()>| -> Result<()> {
            let mut tree = unit.entries_tree(Some(uo))?;
            let root = tree.root()?;
            let mut ch = root.children();
            while let Some(c) = ch.next()? {
                f(c.entry())?;
            }
            Ok(())
        };
        let kind = match die.tag() {
            DW_TAG_base_type => {
                let enc = die.attr_value(DW_AT_encoding)?;
                TypeKind::Base(match enc {
                    Some(AttributeValue::Encoding(e)) => match e {
                        DW_ATE_signed | DW_ATE_signed_char => BaseEncoding::Signed,
                        DW_ATE_unsigned | DW_ATE_unsigned_char | DW_ATE_UTF => BaseEncoding::Unsigned,
                        DW_ATE_boolean => BaseEncoding::Bool,
                        DW_ATE_float => BaseEncoding::Float,
                        _ => BaseEncoding::Other,
                    },
                    _ => BaseEncoding::Other,
                })
            }
            DW_TAG_unspecified_type => TypeKind::Void,
            DW_TAG_pointer_type | DW_TAG_reference_type | DW_TAG_rvalue_reference_type => TypeKind::Pointer { target },
            DW_TAG_typedef => TypeKind::Typedef { target },
            DW_TAG_const_type => TypeKind::Const { target },
            DW_TAG_volatile_type => TypeKind::Volatile { target },
            DW_TAG_restrict_type | DW_TAG_atomic_type => TypeKind::Restrict { target },
            DW_TAG_array_type => {
                let mut dims = Vec::new();
                children(&mut |c| {
                    if c.tag() == DW_TAG_subrange_type || c.tag() == DW_TAG_enumeration_type {
                        let count = match c.attr_value(DW_AT_count)?.and_then(|v| v.udata_value()) {
                            Some(n) => Some(n),
                            None => c.attr_value(DW_AT_upper_bound)?.and_then(|v| v.udata_value()).map(|u| u.wrapping_add(1)),
                        };
                        dims.push(count);
                    }
                    Ok(())
                })?;
                if dims.is_empty() {
                    dims.push(None);
                }
                match target {
                    Some(element) => TypeKind::Array { element, dims },
                    None => TypeKind::Other("array without element type".into()),
                }
            }
            DW_TAG_structure_type | DW_TAG_union_type | DW_TAG_class_type => {
                let mut members = Vec::new();
                let is_union = die.tag() == DW_TAG_union_type;
                children(&mut |c| {
                    if c.tag() != DW_TAG_member {
                        return Ok(());
                    }
                    let name = c.attr_value(DW_AT_name)?.and_then(|v| self.attr_str(&unit, v));
                    let type_id = match c.attr_value(DW_AT_type)?.and_then(|v| Self::ref_of(&unit, v)) {
                        Some(t) => t,
                        None => return Ok(()),
                    };
                    let byte_off = match c.attr_value(DW_AT_data_member_location)? {
                        Some(v) => v.udata_value().unwrap_or(0),
                        None => 0,
                    };
                    let bit_size = c.attr_value(DW_AT_bit_size)?.and_then(|v| v.udata_value());
                    let (offset, bitfield) = match bit_size {
                        None => (byte_off, None),
                        Some(bs) => {
                            let total_bits = match c.attr_value(DW_AT_data_bit_offset)?.and_then(|v| v.udata_value()) {
                                Some(b) => b,
                                None => {
                                    // DWARF 2/3: DW_AT_bit_offset counts from the
                                    // most significant bit of a storage unit of
                                    // DW_AT_byte_size bytes (little endian).
                                    let storage = c.attr_value(DW_AT_byte_size)?.and_then(|v| v.udata_value()).unwrap_or(4);
                                    let bo = c.attr_value(DW_AT_bit_offset)?.and_then(|v| v.udata_value()).unwrap_or(0);
                                    byte_off.wrapping_mul(8).wrapping_add(storage.saturating_mul(8).saturating_sub(bo.saturating_add(bs)))
                                }
                            };
                            (total_bits / 8, Some(Bitfield { bit_offset: (total_bits % 8) as u32, bit_size: bs as u32 }))
                        }
                    };
                    members.push(Member { name, type_id, offset: if is_union { 0 } else { offset }, bitfield });
                    Ok(())
                })?;
                if is_union {
                    TypeKind::Union { members }
                } else {
                    TypeKind::Struct { members }
                }
            }
            DW_TAG_enumeration_type => {
                let mut enumerators = Vec::new();
                children(&mut |c| {
                    if c.tag() == DW_TAG_enumerator {
                        let n = c.attr_value(DW_AT_name)?.and_then(|v| self.attr_str(&unit, v)).unwrap_or_default();
                        let v = match c.attr_value(DW_AT_const_value)? {
                            Some(AttributeValue::Sdata(x)) => x,
                            Some(v) => v.udata_value().map(|x| x as i64).or(v.sdata_value()).unwrap_or(0),
                            None => 0,
                        };
                        enumerators.push((n, v));
                    }
                    Ok(())
                })?;
                TypeKind::Enum { enumerators }
            }
            DW_TAG_subroutine_type => {
                let mut params = Vec::new();
                let mut variadic = false;
                children(&mut |c| {
                    match c.tag() {
                        DW_TAG_formal_parameter => {
                            if let Some(t) = c.attr_value(DW_AT_type)?.and_then(|v| Self::ref_of(&unit, v)) {
                                params.push(t);
                            }
                        }
                        DW_TAG_unspecified_parameters => variadic = true,
                        _ => {}
                    }
                    Ok(())
                })?;
                TypeKind::Function { ret: target, params, variadic }
            }
            t => TypeKind::Other(format!("{t}")),
        };
        let size = size.or(match &kind {
            TypeKind::Pointer { .. } => Some(unit.encoding().address_size as u64),
            _ => None,
        });
        Ok(TypeInfo { id: ty, name, size, declaration, kind })
    }

    fn find_type(&self, name: &str) -> Result<Option<TypeId>> {
        let name = name.trim();
        let (tags, bare): (&[DwTag], &str) = if let Some(n) = name.strip_prefix("struct ") {
            (&[DW_TAG_structure_type, DW_TAG_class_type], n.trim())
        } else if let Some(n) = name.strip_prefix("union ") {
            (&[DW_TAG_union_type], n.trim())
        } else if let Some(n) = name.strip_prefix("enum ") {
            (&[DW_TAG_enumeration_type], n.trim())
        } else {
            // A bare name (`@cast(p, "task_struct")`) may name a typedef,
            // a base type, or a struct, union or enum tag.
            (
                &[DW_TAG_typedef, DW_TAG_base_type, DW_TAG_structure_type, DW_TAG_class_type, DW_TAG_union_type, DW_TAG_enumeration_type],
                name,
            )
        };
        let key = format!("{tags:?} {bare}");
        if let Some(hit) = self.found_types.lock().ok().and_then(|m| m.get(&key).copied()) {
            return Ok(hit);
        }
        let found = self.find_type_die(tags, bare)?;
        if let Ok(mut m) = self.found_types.lock() {
            m.insert(key, found);
        }
        Ok(found)
    }
}
