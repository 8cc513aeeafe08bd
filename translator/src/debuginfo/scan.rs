//! The fast function index: one pass over the top level of every unit.
//!
//! Input: a loaded `gimli::Dwarf` over borrowed section bytes.
//! Output: [`FunctionIndex`]: per unit its name, compilation directory and
//! whether it was optimized; per top-level `DW_TAG_subprogram` definition
//! its name, DIE offset, entry/low/high pc, flags and declaration line.
//!
//! Invariants and method: gimli parses the abbreviation tables; the DIEs are
//! walked by this file's own reader, which compiles each abbreviation into a
//! "plan" (runs of fixed-size attributes are merged into one skip) and jumps
//! over children with `DW_AT_sibling`. Only top-level DIEs of the unit are
//! decoded. Units are scanned in parallel on up to 4 threads. Malformed
//! input gives an error, never a panic or an out-of-bounds read.
//! Declarations (`DW_AT_declaration`) are not indexed. A nameless concrete
//! DIE takes name and declaration data from its `DW_AT_abstract_origin` /
//! `DW_AT_specification` in the same unit.

#![allow(non_upper_case_globals)]

use super::{DebugInfoError, Result};
use gimli::constants::*;
use gimli::{EndianSlice, LittleEndian};
use std::collections::HashMap;

pub(crate) type Slice<'a> = EndianSlice<'a, LittleEndian>;

/// One compilation unit as the index knows it.
#[derive(Clone, Debug)]
pub(crate) struct UnitInfo<'a> {
    /// Offset of the unit header in `.debug_info`.
    pub offset: u64,
    pub name: &'a [u8],
    pub comp_dir: &'a [u8],
    pub optimized: bool,
}

/// One top-level function DIE.
#[derive(Clone, Debug)]
pub(crate) struct FuncEntry<'a> {
    pub name: &'a [u8],
    /// Index into [`FunctionIndex::units`].
    pub unit: u32,
    /// Offset of the DIE in `.debug_info`.
    pub die: u64,
    pub low_pc: Option<u64>,
    pub high_pc: Option<u64>,
    pub entry_pc: Option<u64>,
    pub has_ranges: bool,
    pub external: bool,
    /// `DW_AT_inline` says the function was (declared) inline: an abstract
    /// instance root whose inlined copies refer to it.
    pub inline: bool,
    pub decl_file: u32,
    pub decl_line: u32,
    /// `DW_AT_abstract_origin` or `DW_AT_specification`, as a `.debug_info`
    /// offset.
    pub origin: Option<u64>,
}

/// All units and top-level function definitions of one file.
#[derive(Debug, Default)]
pub(crate) struct FunctionIndex<'a> {
    pub units: Vec<UnitInfo<'a>>,
    pub funcs: Vec<FuncEntry<'a>>,
}

/// The sections the reader needs, as raw bytes.
#[derive(Clone, Copy)]
pub(crate) struct Sections<'a> {
    pub info: &'a [u8],
    pub str_: &'a [u8],
    pub line_str: &'a [u8],
    pub str_offsets: &'a [u8],
    pub addr: &'a [u8],
    pub abbrev: &'a [u8],
}

impl<'a> FunctionIndex<'a> {
    /// Scans every unit of `dwarf`.
    pub fn build(dwarf: &gimli::Dwarf<Slice<'a>>, secs: Sections<'a>) -> Result<FunctionIndex<'a>> {
        let mut headers = Vec::new();
        let mut it = dwarf.units();
        while let Some(h) = it.next()? {
            headers.push(h);
        }
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 4);
        let threads = if headers.len() < 64 { 1 } else { threads };
        // Split into contiguous chunks of roughly equal byte size.
        let total: u64 = headers.iter().map(|h| h.length_including_self() as u64).sum();
        let mut chunks: Vec<&[gimli::UnitHeader<Slice<'a>>]> = Vec::new();
        let (mut start, mut acc) = (0usize, 0u64);
        for (i, h) in headers.iter().enumerate() {
            acc += h.length_including_self() as u64;
            if acc * threads as u64 >= total * (chunks.len() as u64 + 1) && chunks.len() + 1 < threads {
                chunks.push(&headers[start..=i]);
                start = i + 1;
            }
        }
        chunks.push(&headers[start..]);
        let results: Vec<Result<FunctionIndex<'a>>> = if chunks.len() == 1 {
            vec![scan_units(secs, chunks[0])]
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> =
                    chunks.iter().map(|c| s.spawn(move || scan_units(secs, c))).collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|_| Err(DebugInfoError::Dwarf("index thread failed".into()))))
                    .collect()
            })
        };
        let mut index = FunctionIndex::default();
        for r in results {
            let part = r?;
            let base = index.units.len() as u32;
            index.units.extend(part.units);
            index.funcs.extend(part.funcs.into_iter().map(|mut f| {
                f.unit += base;
                f
            }));
        }
        Ok(index)
    }
}

/// Index of only the given units (for the exact-name fast path).
pub(crate) fn build_for_units<'a>(secs: Sections<'a>, headers: &[gimli::UnitHeader<Slice<'a>>]) -> Result<FunctionIndex<'a>> {
    scan_units(secs, headers)
}

fn scan_units<'a>(
    secs: Sections<'a>,
    headers: &[gimli::UnitHeader<Slice<'a>>],
) -> Result<FunctionIndex<'a>> {
    let mut out = FunctionIndex::default();
    let mut scratch = Scratch::default();
    for h in headers {
        let unit_idx = out.units.len() as u32;
        match scan_unit(secs, h, unit_idx, &mut out.funcs, &mut scratch)? {
            Some(u) => out.units.push(u),
            None => continue,
        }
    }
    Ok(out)
}

/// One compiled step of an abbreviation plan.
#[derive(Clone, Copy, Debug)]
enum Step {
    Fixed(u32),
    Uleb,
    Sleb,
    CStr,
    Block1,
    Block2,
    Block4,
    BlockUleb,
    /// An attribute whose value we want.
    Want(Want, DwForm, i64),
    /// `DW_FORM_indirect`: the form is in the data.
    Indirect(Want),
    /// `DW_AT_sibling` as `DW_FORM_ref4` (the common case).
    Sibling4,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Want {
    None,
    Name,
    LowPc,
    HighPc,
    EntryPc,
    Ranges,
    External,
    Declaration,
    Inline,
    DeclFile,
    DeclLine,
    Origin,
    Sibling,
    Producer,
    CompDir,
    StrOffsetsBase,
    AddrBase,
}

#[derive(Clone, Copy)]
struct Plan {
    tag: DwTag,
    has_children: bool,
    start: u32,
    len: u32,
    /// Only a sibling (if anything) is wanted and every step before it has
    /// a fixed size: the DIE can be handled without walking its steps.
    fast: bool,
    /// Byte position of a `DW_FORM_ref4` sibling within the DIE's data.
    sib_at: Option<u32>,
    /// Total data size, when every step is fixed.
    fixed_len: Option<u32>,
}

#[derive(Default)]
struct Scratch {
    specs: Vec<(DwAt, DwForm, i64)>,
    steps: Vec<Step>,
    plans: Vec<Option<Plan>>,
}

/// Values of the wanted attributes of one DIE.
#[derive(Default)]
struct Vals<'a> {
    name: Option<&'a [u8]>,
    low_pc: Option<u64>,
    high_pc: Option<(bool, u64)>, // (is offset from low_pc, value)
    entry_pc: Option<u64>,
    has_ranges: bool,
    external: bool,
    declaration: bool,
    inline: bool,
    decl_file: u32,
    decl_line: u32,
    origin: Option<u64>,
    sibling: Option<u64>,
    producer: Option<&'a [u8]>,
    comp_dir: Option<&'a [u8]>,
    str_offsets_base: Option<u64>,
    addr_base: Option<u64>,
}

struct Enc {
    offset_size: u8,
    address_size: u8,
    version: u16,
}

fn want_of(interesting: bool, at: DwAt) -> Want {
    match at {
        DW_AT_sibling => Want::Sibling,
        _ if !interesting => Want::None,
        DW_AT_name => Want::Name,
        DW_AT_low_pc => Want::LowPc,
        DW_AT_high_pc => Want::HighPc,
        DW_AT_entry_pc => Want::EntryPc,
        DW_AT_ranges => Want::Ranges,
        DW_AT_external => Want::External,
        DW_AT_declaration => Want::Declaration,
        DW_AT_inline => Want::Inline,
        DW_AT_decl_file => Want::DeclFile,
        DW_AT_decl_line => Want::DeclLine,
        DW_AT_abstract_origin | DW_AT_specification => Want::Origin,
        DW_AT_producer => Want::Producer,
        DW_AT_comp_dir => Want::CompDir,
        DW_AT_str_offsets_base => Want::StrOffsetsBase,
        DW_AT_addr_base | DW_AT_GNU_addr_base => Want::AddrBase,
        _ => Want::None,
    }
}

/// Size of a form's data, when fixed.
fn fixed_size(form: DwForm, enc: &Enc) -> Option<u32> {
    let os = enc.offset_size as u32;
    Some(match form {
        DW_FORM_addr => enc.address_size as u32,
        DW_FORM_data1 | DW_FORM_ref1 | DW_FORM_flag | DW_FORM_strx1 | DW_FORM_addrx1 => 1,
        DW_FORM_data2 | DW_FORM_ref2 | DW_FORM_strx2 | DW_FORM_addrx2 => 2,
        DW_FORM_strx3 | DW_FORM_addrx3 => 3,
        DW_FORM_data4 | DW_FORM_ref4 | DW_FORM_strx4 | DW_FORM_addrx4 | DW_FORM_ref_sup4 => 4,
        DW_FORM_data8 | DW_FORM_ref8 | DW_FORM_ref_sig8 | DW_FORM_ref_sup8 => 8,
        DW_FORM_data16 => 16,
        DW_FORM_strp | DW_FORM_line_strp | DW_FORM_sec_offset | DW_FORM_strp_sup
        | DW_FORM_GNU_ref_alt | DW_FORM_GNU_strp_alt => os,
        DW_FORM_ref_addr => {
            if enc.version <= 2 {
                enc.address_size as u32
            } else {
                os
            }
        }
        DW_FORM_flag_present | DW_FORM_implicit_const => 0,
        _ => return None,
    })
}

/// Compiles one attribute specification into a step appended to the plan
/// being built (merging runs of fixed sizes).
fn push_step(scratch: &mut Scratch, start: u32, interesting: bool, at: DwAt, form: DwForm, implicit: i64, enc: &Enc) -> Result<()> {
    let want = want_of(interesting, at);
    let step = if form == DW_FORM_indirect {
        Step::Indirect(want)
    } else if want == Want::Sibling && matches!(form, DW_FORM_ref4) {
        Step::Sibling4
    } else if want != Want::None {
        Step::Want(want, form, implicit)
    } else if let Some(n) = fixed_size(form, enc) {
        Step::Fixed(n)
    } else {
        match form {
            DW_FORM_udata | DW_FORM_ref_udata | DW_FORM_strx | DW_FORM_addrx | DW_FORM_loclistx
            | DW_FORM_rnglistx | DW_FORM_GNU_addr_index | DW_FORM_GNU_str_index => Step::Uleb,
            DW_FORM_sdata => Step::Sleb,
            DW_FORM_string => Step::CStr,
            DW_FORM_block1 => Step::Block1,
            DW_FORM_block2 => Step::Block2,
            DW_FORM_block4 => Step::Block4,
            DW_FORM_block | DW_FORM_exprloc => Step::BlockUleb,
            _ => return Err(DebugInfoError::Dwarf(format!("unsupported attribute form {form}"))),
        }
    };
    let in_plan = scratch.steps.len() as u32 > start;
    match (scratch.steps.last_mut(), step) {
        (Some(Step::Fixed(a)), Step::Fixed(b)) if in_plan => *a += b,
        (_, Step::Fixed(0)) => {}
        _ => scratch.steps.push(step),
    }
    Ok(())
}

/// Parses the abbreviation table at `offset` of `.debug_abbrev` straight
/// into plans (gimli's parser allocates per abbreviation; this is the hot
/// path of the index).
fn compile_abbrevs(abbrev: &[u8], offset: usize, scratch: &mut Scratch, enc: &Enc) -> Result<()> {
    scratch.steps.clear();
    scratch.plans.clear();
    let bad = || DebugInfoError::Dwarf("malformed DWARF: bad abbreviation table".into());
    if offset > abbrev.len() {
        return Err(bad());
    }
    let mut cur = Cur { buf: abbrev, pos: offset };
    loop {
        let code = cur.uleb()?;
        if code == 0 {
            return Ok(());
        }
        if code > 1 << 20 {
            return Err(DebugInfoError::Dwarf(format!("unsupported abbreviation code {code}")));
        }
        let tag = DwTag(u16::try_from(cur.uleb()?).map_err(|_| bad())?);
        let has_children = cur.uint(1)? != 0;
        let start = scratch.steps.len() as u32;
        scratch.specs.clear();
        loop {
            let at = cur.uleb()?;
            let form = cur.uleb()?;
            if at == 0 && form == 0 {
                break;
            }
            let form = DwForm(u16::try_from(form).map_err(|_| bad())?);
            let implicit = if form == DW_FORM_implicit_const { cur.sleb()? } else { 0 };
            let at = DwAt(u16::try_from(at).map_err(|_| bad())?);
            scratch.specs.push((at, form, implicit));
        }
        // Subprogram declarations (DW_AT_declaration as flag_present, the
        // usual form) are skipped like any uninteresting DIE.
        let decl = scratch.specs.iter().any(|&(at, form, _)| at == DW_AT_declaration && form == DW_FORM_flag_present);
        let interesting = (tag == DW_TAG_subprogram && !decl) || tag == DW_TAG_compile_unit || tag == DW_TAG_partial_unit;
        for i in 0..scratch.specs.len() {
            let (at, form, implicit) = scratch.specs[i];
            push_step(scratch, start, interesting, at, form, implicit, enc)?;
        }
        if scratch.plans.len() <= code as usize {
            scratch.plans.resize(code as usize + 1, None);
        }
        let steps = &scratch.steps[start as usize..];
        let mut pos = Some(0u32);
        let (mut sib_at, mut fast) = (None, true);
        for st in steps {
            match st {
                Step::Fixed(n) => pos = pos.map(|p| p + n),
                Step::Sibling4 => {
                    if sib_at.is_none() {
                        sib_at = pos;
                    }
                    pos = pos.map(|p| p + 4);
                }
                Step::Want(..) | Step::Indirect(_) => fast = false,
                _ => pos = None,
            }
        }
        let plan = Plan {
            tag,
            has_children,
            start,
            len: steps.len() as u32,
            fast: fast && tag != DW_TAG_compile_unit && tag != DW_TAG_partial_unit,
            sib_at,
            fixed_len: pos,
        };
        scratch.plans[code as usize] = Some(plan);
    }
}

fn malformed() -> DebugInfoError {
    DebugInfoError::Dwarf("malformed DWARF: truncated or out-of-range data in .debug_info".into())
}

/// A bounds-checked little-endian cursor.
struct Cur<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cur<'a> {
    #[inline]
    fn uleb(&mut self) -> Result<u64> {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let b = *self.buf.get(self.pos).ok_or_else(malformed)?;
            self.pos += 1;
            if shift < 64 {
                v |= ((b & 0x7f) as u64) << shift;
            }
            shift += 7;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
    }
    #[inline]
    fn sleb(&mut self) -> Result<i64> {
        let mut v = 0i64;
        let mut shift = 0;
        loop {
            let b = *self.buf.get(self.pos).ok_or_else(malformed)?;
            self.pos += 1;
            if shift < 64 {
                v |= ((b & 0x7f) as i64) << shift;
            }
            shift += 7;
            if b & 0x80 == 0 {
                if shift < 64 && b & 0x40 != 0 {
                    v |= -1i64 << shift;
                }
                return Ok(v);
            }
        }
    }
    #[inline]
    fn skip(&mut self, n: usize) -> Result<()> {
        if self.buf.len() - self.pos < n {
            return Err(malformed());
        }
        self.pos += n;
        Ok(())
    }
    #[inline]
    fn uint(&mut self, n: usize) -> Result<u64> {
        let b = self.buf.get(self.pos..self.pos + n).ok_or_else(malformed)?;
        self.pos += n;
        let mut v = 0u64;
        for (i, &x) in b.iter().enumerate().take(8) {
            v |= (x as u64) << (8 * i);
        }
        Ok(v)
    }
    fn cstr(&mut self) -> Result<&'a [u8]> {
        let rest = &self.buf[self.pos..];
        let n = rest.iter().position(|&b| b == 0).ok_or_else(malformed)?;
        self.pos += n + 1;
        Ok(&rest[..n])
    }
}

fn cstr_at(sec: &[u8], off: u64) -> Option<&[u8]> {
    let rest = sec.get(off as usize..)?;
    let n = rest.iter().position(|&b| b == 0)?;
    Some(&rest[..n])
}

struct UnitCtx<'a> {
    secs: Sections<'a>,
    enc: Enc,
    unit_start: u64,
    str_offsets_base: u64,
    addr_base: u64,
}

impl<'a> UnitCtx<'a> {
    fn strx(&self, idx: u64) -> Option<&'a [u8]> {
        let os = self.enc.offset_size as u64;
        let at = self.str_offsets_base.checked_add(idx.checked_mul(os)?)? as usize;
        let b = self.secs.str_offsets.get(at..at + os as usize)?;
        let mut off = 0u64;
        for (i, &x) in b.iter().enumerate() {
            off |= (x as u64) << (8 * i);
        }
        cstr_at(self.secs.str_, off)
    }
    fn addrx(&self, idx: u64) -> Option<u64> {
        let asz = self.enc.address_size as u64;
        let at = self.addr_base.checked_add(idx.checked_mul(asz)?)? as usize;
        let b = self.secs.addr.get(at..at + asz as usize)?;
        let mut v = 0u64;
        for (i, &x) in b.iter().enumerate() {
            v |= (x as u64) << (8 * i);
        }
        Some(v)
    }
}

/// Reads one attribute value of form `form` for `want` into `vals`.
fn read_want<'a>(
    cur: &mut Cur<'a>,
    ctx: &UnitCtx<'a>,
    want: Want,
    form: DwForm,
    implicit: i64,
    vals: &mut Vals<'a>,
) -> Result<()> {
    let os = ctx.enc.offset_size as usize;
    // Generic value decoding: (numeric value, is a string?).
    enum V<'a> {
        U(u64),
        Str(Option<&'a [u8]>),
        Ref(u64), // .debug_info offset
        Skip,
    }
    let v = match form {
        DW_FORM_addr => V::U(cur.uint(ctx.enc.address_size as usize)?),
        DW_FORM_data1 | DW_FORM_flag => V::U(cur.uint(1)?),
        DW_FORM_data2 => V::U(cur.uint(2)?),
        DW_FORM_data4 => V::U(cur.uint(4)?),
        DW_FORM_data8 => V::U(cur.uint(8)?),
        DW_FORM_sec_offset => V::U(cur.uint(os)?),
        DW_FORM_udata => V::U(cur.uleb()?),
        DW_FORM_sdata => V::U(cur.sleb()? as u64),
        DW_FORM_implicit_const => V::U(implicit as u64),
        DW_FORM_flag_present => V::U(1),
        DW_FORM_ref1 => V::Ref(ctx.unit_start.wrapping_add(cur.uint(1)?)),
        DW_FORM_ref2 => V::Ref(ctx.unit_start.wrapping_add(cur.uint(2)?)),
        DW_FORM_ref4 => V::Ref(ctx.unit_start.wrapping_add(cur.uint(4)?)),
        DW_FORM_ref8 => V::Ref(ctx.unit_start.wrapping_add(cur.uint(8)?)),
        DW_FORM_ref_udata => V::Ref(ctx.unit_start.wrapping_add(cur.uleb()?)),
        DW_FORM_ref_addr => {
            let n = if ctx.enc.version <= 2 { ctx.enc.address_size as usize } else { os };
            V::Ref(cur.uint(n)?)
        }
        DW_FORM_strp => V::Str(cstr_at(ctx.secs.str_, cur.uint(os)?)),
        DW_FORM_line_strp => V::Str(cstr_at(ctx.secs.line_str, cur.uint(os)?)),
        DW_FORM_string => V::Str(Some(cur.cstr()?)),
        DW_FORM_strx | DW_FORM_GNU_str_index => V::Str(ctx.strx(cur.uleb()?)),
        DW_FORM_strx1 => V::Str(ctx.strx(cur.uint(1)?)),
        DW_FORM_strx2 => V::Str(ctx.strx(cur.uint(2)?)),
        DW_FORM_strx3 => V::Str(ctx.strx(cur.uint(3)?)),
        DW_FORM_strx4 => V::Str(ctx.strx(cur.uint(4)?)),
        DW_FORM_addrx | DW_FORM_GNU_addr_index => V::U(ctx.addrx(cur.uleb()?).ok_or_else(malformed)?),
        DW_FORM_addrx1 => V::U(ctx.addrx(cur.uint(1)?).ok_or_else(malformed)?),
        DW_FORM_addrx2 => V::U(ctx.addrx(cur.uint(2)?).ok_or_else(malformed)?),
        DW_FORM_addrx3 => V::U(ctx.addrx(cur.uint(3)?).ok_or_else(malformed)?),
        DW_FORM_addrx4 => V::U(ctx.addrx(cur.uint(4)?).ok_or_else(malformed)?),
        DW_FORM_rnglistx | DW_FORM_loclistx => V::U(cur.uleb()?),
        _ => {
            // Any other form: skip it by its size class.
            if let Some(n) = fixed_size(form, &ctx.enc) {
                cur.skip(n as usize)?;
            } else {
                match form {
                    DW_FORM_block1 => {
                        let n = cur.uint(1)?;
                        cur.skip(n as usize)?
                    }
                    DW_FORM_block2 => {
                        let n = cur.uint(2)?;
                        cur.skip(n as usize)?
                    }
                    DW_FORM_block4 => {
                        let n = cur.uint(4)?;
                        cur.skip(n as usize)?
                    }
                    DW_FORM_block | DW_FORM_exprloc => {
                        let n = cur.uleb()?;
                        cur.skip(n as usize)?
                    }
                    _ => return Err(DebugInfoError::Dwarf(format!("unsupported attribute form {form}"))),
                }
            }
            V::Skip
        }
    };
    match (want, v) {
        (Want::Name, V::Str(s)) => vals.name = s,
        (Want::Producer, V::Str(s)) => vals.producer = s,
        (Want::CompDir, V::Str(s)) => vals.comp_dir = s,
        (Want::LowPc, V::U(x)) => vals.low_pc = Some(x),
        (Want::HighPc, V::U(x)) => vals.high_pc = Some((form != DW_FORM_addr && !is_addrx(form), x)),
        (Want::EntryPc, V::U(x)) if form == DW_FORM_addr || is_addrx(form) => vals.entry_pc = Some(x),
        (Want::Ranges, _) => vals.has_ranges = true,
        (Want::External, V::U(x)) => vals.external = x != 0,
        (Want::Declaration, V::U(x)) => vals.declaration = x != 0,
        (Want::Inline, V::U(x)) => vals.inline = x == DW_INL_inlined.0 as u64 || x == DW_INL_declared_inlined.0 as u64,
        (Want::DeclFile, V::U(x)) => vals.decl_file = x as u32,
        (Want::DeclLine, V::U(x)) => vals.decl_line = x as u32,
        (Want::Origin, V::Ref(r)) => vals.origin = Some(r),
        (Want::Sibling, V::Ref(r)) => vals.sibling = Some(r),
        (Want::StrOffsetsBase, V::U(x)) => vals.str_offsets_base = Some(x),
        (Want::AddrBase, V::U(x)) => vals.addr_base = Some(x),
        _ => {}
    }
    Ok(())
}

fn is_addrx(form: DwForm) -> bool {
    matches!(
        form,
        DW_FORM_addrx | DW_FORM_addrx1 | DW_FORM_addrx2 | DW_FORM_addrx3 | DW_FORM_addrx4 | DW_FORM_GNU_addr_index
    )
}

fn skip_step(cur: &mut Cur<'_>, step: Step) -> Result<()> {
    match step {
        Step::Fixed(n) => cur.skip(n as usize),
        Step::Uleb => cur.uleb().map(|_| ()),
        Step::Sleb => cur.sleb().map(|_| ()),
        Step::CStr => cur.cstr().map(|_| ()),
        Step::Block1 => {
            let n = cur.uint(1)?;
            cur.skip(n as usize)
        }
        Step::Block2 => {
            let n = cur.uint(2)?;
            cur.skip(n as usize)
        }
        Step::Block4 => {
            let n = cur.uint(4)?;
            cur.skip(n as usize)
        }
        Step::BlockUleb => {
            let n = cur.uleb()?;
            cur.skip(n as usize)
        }
        Step::Want(..) | Step::Indirect(_) | Step::Sibling4 => Ok(()),
    }
}

/// Scans one unit; returns `None` for units that are not compile units
/// (type units, skeleton units).
fn scan_unit<'a>(
    secs: Sections<'a>,
    header: &gimli::UnitHeader<Slice<'a>>,
    unit_idx: u32,
    out: &mut Vec<FuncEntry<'a>>,
    scratch: &mut Scratch,
) -> Result<Option<UnitInfo<'a>>> {
    let unit_start = match header.offset().as_debug_info_offset() {
        Some(o) => o.0 as u64,
        None => return Ok(None),
    };
    if !matches!(header.type_(), gimli::UnitType::Compilation | gimli::UnitType::Partial) {
        return Ok(None);
    }
    let enc = header.encoding();
    let end = (unit_start as usize).saturating_add(header.length_including_self());
    let entries = (unit_start as usize).saturating_add(header.header_size());
    if end > secs.info.len() || entries > end {
        return Err(malformed());
    }
    let mut ctx = UnitCtx {
        secs,
        enc: Enc { offset_size: enc.format.word_size(), address_size: enc.address_size, version: enc.version },
        unit_start,
        str_offsets_base: 0,
        addr_base: 0,
    };
    compile_abbrevs(secs.abbrev, header.debug_abbrev_offset().0, scratch, &ctx.enc)?;
    let mut cur = Cur { buf: &secs.info[..end], pos: entries };
    let mut depth: i32 = 0;
    let mut unit = UnitInfo { offset: unit_start, name: b"", comp_dir: b"", optimized: false };
    let first_func = out.len();
    while cur.pos < end {
        let die = cur.pos as u64;
        let code = cur.uleb()?;
        if code == 0 {
            depth -= 1;
            if depth <= 0 {
                break;
            }
            continue;
        }
        let plan = scratch.plans.get(code as usize).copied().flatten().ok_or_else(|| {
            DebugInfoError::Dwarf(format!("malformed DWARF: unknown abbreviation code {code}"))
        })?;
        if plan.fast && depth >= 1 {
            // Hot path: nothing wanted but the sibling.
            if plan.has_children {
                if let Some(at) = plan.sib_at {
                    let p = cur.pos + at as usize;
                    let b = cur.buf.get(p..p + 4).ok_or_else(malformed)?;
                    let sib = unit_start as usize + u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
                    if sib > cur.pos && sib <= end {
                        cur.pos = sib;
                        continue;
                    }
                }
            }
            let walked = match plan.fixed_len {
                Some(n) => {
                    cur.skip(n as usize)?;
                    true
                }
                None => false,
            };
            if walked {
                if plan.has_children {
                    depth += 1;
                }
                continue;
            }
        }
        let mut vals = Vals::default();
        let mut sibling_only = true;
        for i in plan.start..plan.start + plan.len {
            let step = scratch.steps[i as usize];
            match step {
                Step::Want(w, form, imp) => {
                    if w != Want::Sibling {
                        sibling_only = false;
                    }
                    read_want(&mut cur, &ctx, w, form, imp, &mut vals)?
                }
                Step::Sibling4 => vals.sibling = Some(unit_start.wrapping_add(cur.uint(4)?)),
                Step::Indirect(w) => {
                    let form = DwForm(cur.uleb()? as u16);
                    read_want(&mut cur, &ctx, w, form, 0, &mut vals)?
                }
                s => skip_step(&mut cur, s)?,
            }
        }
        if depth == 0 {
            // The unit DIE.
            unit.name = vals.name.unwrap_or(b"");
            unit.comp_dir = vals.comp_dir.unwrap_or(b"");
            unit.optimized = vals.producer.map(producer_optimized).unwrap_or(false);
            ctx.str_offsets_base = vals.str_offsets_base.unwrap_or(0);
            ctx.addr_base = vals.addr_base.unwrap_or(0);
            // Units written with strx/addrx before the base attribute: redo.
            if !plan.has_children {
                break;
            }
            depth = 1;
            continue;
        }
        if depth == 1 && plan.tag == DW_TAG_subprogram && !sibling_only && !vals.declaration {
            let high_pc = match (vals.high_pc, vals.low_pc) {
                (Some((true, off)), Some(lo)) => Some(lo.wrapping_add(off)),
                (Some((false, hi)), _) => Some(hi),
                _ => None,
            };
            out.push(FuncEntry {
                name: vals.name.unwrap_or(b""),
                unit: unit_idx,
                die,
                low_pc: vals.low_pc,
                high_pc,
                entry_pc: vals.entry_pc,
                has_ranges: vals.has_ranges,
                external: vals.external,
                inline: vals.inline,
                decl_file: vals.decl_file,
                decl_line: vals.decl_line,
                origin: vals.origin,
            });
        }
        if plan.has_children {
            match vals.sibling {
                Some(s) if depth >= 1 && s as usize > cur.pos && (s as usize) <= end => cur.pos = s as usize,
                _ => depth += 1,
            }
        }
    }
    // Fill nameless concrete instances from their origin in this unit.
    let nameless = out[first_func..].iter().any(|f| f.name.is_empty());
    let named: HashMap<u64, usize> = if nameless {
        (first_func..out.len()).map(|i| (out[i].die, i)).collect()
    } else {
        HashMap::new()
    };
    for i in first_func..out.len() {
        if !out[i].name.is_empty() {
            continue;
        }
        let mut origin = out[i].origin;
        let mut hops = 0;
        while let (Some(o), true) = (origin, hops < 4) {
            hops += 1;
            match named.get(&o).copied() {
                Some(j) if !out[j].name.is_empty() => {
                    let src = out[j].clone();
                    let f = &mut out[i];
                    f.name = src.name;
                    f.external |= src.external;
                    if f.decl_line == 0 {
                        f.decl_file = src.decl_file;
                        f.decl_line = src.decl_line;
                    }
                    break;
                }
                Some(j) => origin = out[j].origin,
                None => break,
            }
        }
    }
    // Entries still nameless (origin in another unit) are dropped.
    let mut k = first_func;
    for i in first_func..out.len() {
        if !out[i].name.is_empty() {
            out.swap(k, i);
            k += 1;
        }
    }
    out.truncate(k);
    Ok(Some(unit))
}

/// Whether a `DW_AT_producer` string says the unit was optimized: an `-O`
/// option other than `-O0` (GCC records its options there).
pub(crate) fn producer_optimized(p: &[u8]) -> bool {
    let mut opt = false;
    for w in p.split(|&b| b == b' ') {
        if let Some(level) = w.strip_prefix(b"-O") {
            opt = level != b"0";
        }
    }
    // clang does not record options; it is treated as optimized when it
    // says nothing (its location lists are valid from the entry).
    let has = |needle: &[u8]| p.windows(needle.len()).any(|w| w == needle);
    opt || (has(b"clang") && !has(b"-O0"))
}
