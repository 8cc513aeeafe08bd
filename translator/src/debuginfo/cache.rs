//! Optional on-disk cache of the function index, keyed by build id.
//!
//! Input: a built [`FunctionIndex`] and the section bytes it borrows from;
//! a cache directory chosen by the caller (the driver; nothing is cached
//! unless it asks). Output: `<dir>/<build-id>-<len>.idx`, and on later runs
//! the same index rebuilt from that file without scanning `.debug_info`.
//! Invariants: a cache file is only trusted after its magic, key and every
//! bound check pass; names are stored as (section, offset, length) into the
//! debuginfo file itself, so a stale or corrupt cache can at worst be
//! rejected (the index is then rebuilt), never read out of bounds. Writes
//! go to a temporary file renamed into place; write errors are ignored.

use super::scan::{FuncEntry, FunctionIndex, Sections, UnitInfo};
use std::io::Write;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"RSTAPIX1";

/// The cache file for a debuginfo file with this build id.
pub(crate) fn cache_path(dir: &Path, build_id: &[u8], info_len: usize) -> PathBuf {
    let hex: String = build_id.iter().map(|b| format!("{b:02x}")).collect();
    dir.join(format!("{hex}-{info_len}.idx"))
}

/// A fast 64-bit checksum (not cryptographic: it catches corruption).
fn checksum(b: &[u8]) -> u64 {
    let mut h = 0x9e37_79b9_7f4a_7c15u64 ^ b.len() as u64;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h.rotate_left(5) ^ w).wrapping_mul(0x100_0000_01b3);
    }
    for &x in chunks.remainder() {
        h = (h.rotate_left(5) ^ x as u64).wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// Which section a name slice points into.
fn locate(secs: &Sections<'_>, s: &[u8]) -> (u8, u64, u32) {
    if s.is_empty() {
        return (0, 0, 0);
    }
    let p = s.as_ptr() as usize;
    for (id, sec) in [(1u8, secs.str_), (2, secs.line_str), (3, secs.info)] {
        let start = sec.as_ptr() as usize;
        if p >= start && p + s.len() <= start + sec.len() {
            return (id, (p - start) as u64, s.len() as u32);
        }
    }
    (0, 0, 0)
}

fn resolve<'a>(secs: &Sections<'a>, id: u8, off: u64, len: u32) -> Option<&'a [u8]> {
    let sec = match id {
        0 => return Some(b""),
        1 => secs.str_,
        2 => secs.line_str,
        3 => secs.info,
        _ => return None,
    };
    sec.get(off as usize..(off as usize).checked_add(len as usize)?)
}

struct W(Vec<u8>);

impl W {
    fn u8(&mut self, v: u8) {
        self.0.push(v)
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes())
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes())
    }
    fn opt(&mut self, v: Option<u64>) {
        self.u8(v.is_some() as u8);
        self.u64(v.unwrap_or(0));
    }
    fn name(&mut self, secs: &Sections<'_>, s: &[u8]) {
        let (id, off, len) = locate(secs, s);
        self.u8(id);
        self.u64(off);
        self.u32(len);
    }
}

/// Writes the index; errors are ignored (a cache is an optimization).
pub(crate) fn save(path: &Path, secs: &Sections<'_>, index: &FunctionIndex<'_>) {
    let mut w = W(Vec::with_capacity(64 * index.funcs.len() + 1024));
    w.0.extend_from_slice(MAGIC);
    w.u64(secs.info.len() as u64);
    w.u32(index.units.len() as u32);
    w.u32(index.funcs.len() as u32);
    for u in &index.units {
        w.u64(u.offset);
        w.name(secs, u.name);
        w.name(secs, u.comp_dir);
        w.u8(u.optimized as u8);
    }
    for f in &index.funcs {
        w.name(secs, f.name);
        w.u32(f.unit);
        w.u64(f.die);
        w.opt(f.low_pc);
        w.opt(f.high_pc);
        w.opt(f.entry_pc);
        w.u8((f.has_ranges as u8) | (f.external as u8) << 1 | (f.inline as u8) << 2);
        w.u32(f.decl_file);
        w.u32(f.decl_line);
        w.opt(f.origin);
    }
    let sum = checksum(&w.0);
    w.u64(sum);
    let Some(dir) = path.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let Ok(mut tmp) = tempfile::NamedTempFile::new_in(dir) else { return };
    if tmp.write_all(&w.0).is_ok() {
        let _ = tmp.persist(path);
    }
}

struct R<'b> {
    b: &'b [u8],
    p: usize,
}

impl<'b> R<'b> {
    fn take(&mut self, n: usize) -> Option<&'b [u8]> {
        let s = self.b.get(self.p..self.p.checked_add(n)?)?;
        self.p += n;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|s| s[0])
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|s| u32::from_le_bytes(s.try_into().unwrap_or([0; 4])))
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8).map(|s| u64::from_le_bytes(s.try_into().unwrap_or([0; 8])))
    }
    fn opt(&mut self) -> Option<Option<u64>> {
        let f = self.u8()?;
        let v = self.u64()?;
        Some((f != 0).then_some(v))
    }
    fn name<'a>(&mut self, secs: &Sections<'a>) -> Option<&'a [u8]> {
        let id = self.u8()?;
        let off = self.u64()?;
        let len = self.u32()?;
        resolve(secs, id, off, len)
    }
}

/// Reads a cached index; `None` if absent, stale or corrupt.
pub(crate) fn load<'a>(path: &Path, secs: &Sections<'a>) -> Option<FunctionIndex<'a>> {
    let all = std::fs::read(path).ok()?;
    let (bytes, sum) = all.split_at(all.len().checked_sub(8)?);
    if checksum(bytes) != u64::from_le_bytes(sum.try_into().ok()?) {
        return None;
    }
    let mut r = R { b: bytes, p: 0 };
    if r.take(8)? != MAGIC || r.u64()? != secs.info.len() as u64 {
        return None;
    }
    let nunits = r.u32()? as usize;
    let nfuncs = r.u32()? as usize;
    // Each record has a minimum size; reject absurd counts before allocating.
    if nunits.checked_mul(34)? + nfuncs.checked_mul(60)? > bytes.len() {
        return None;
    }
    let mut index = FunctionIndex { units: Vec::with_capacity(nunits), funcs: Vec::with_capacity(nfuncs) };
    for _ in 0..nunits {
        let offset = r.u64()?;
        let name = r.name(secs)?;
        let comp_dir = r.name(secs)?;
        let optimized = r.u8()? != 0;
        index.units.push(UnitInfo { offset, name, comp_dir, optimized });
    }
    for _ in 0..nfuncs {
        let name = r.name(secs)?;
        let unit = r.u32()?;
        if unit as usize >= nunits {
            return None;
        }
        let die = r.u64()?;
        let low_pc = r.opt()?;
        let high_pc = r.opt()?;
        let entry_pc = r.opt()?;
        let flags = r.u8()?;
        let decl_file = r.u32()?;
        let decl_line = r.u32()?;
        let origin = r.opt()?;
        index.funcs.push(FuncEntry {
            name,
            unit,
            die,
            low_pc,
            high_pc,
            entry_pc,
            has_ranges: flags & 1 != 0,
            external: flags & 2 != 0,
            inline: flags & 4 != 0,
            decl_file,
            decl_line,
            origin,
        });
    }
    (r.p == bytes.len()).then_some(index)
}
