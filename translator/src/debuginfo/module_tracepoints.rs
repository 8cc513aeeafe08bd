//! The tracepoints of a release's kernel modules (`kernel.trace("kvm_exit")`
//! where `kvm_exit` lives in `kvm.ko`), loaded or not.
//!
//! Input: the release's module tree (`<testbed>/RELEASE/lib/modules/RELEASE`
//! of an extracted image, else `/lib/modules/RELEASE`; `.ko`, `.ko.xz`,
//! `.ko.zst`, `.ko.gz`), the debuginfo search roots, and the kernel image
//! whose BTF the split BTF of modules without DWARF extends. Output: an index
//! `module -> events` (a module has tracepoint EVENT when its symbol
//! table has `__traceiter_EVENT`), and for the few modules a script's
//! pattern matches, their [`Loaded`] info: a `DebugInfo` that describes
//! the iterators' arguments (the module's DWARF, else its `.BTF` on top of
//! vmlinux's) and each event's trace system (followed through the
//! relocations of `event_EVENT` -> `event_class_T` -> `system` string).
//! Invariants: the index is one symbol-table scan per module file, cached
//! (keyed by each file's path, size and mtime) next to a testbed's image
//! or in rstap's debuginfo cache; a cache that does not parse is rebuilt;
//! a module is opened at most once per run and its files live for the
//! rest of the run (pass 2 hands out `&dyn DebugInfo` into them); a module
//! file that cannot be read is skipped in the index, not an error.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use object::{Object, ObjectSection, ObjectSymbol, RelocationTarget};

use super::btf::BtfDebugInfo;
use super::dwarf::{DebugFile, DwarfDebugInfo};
use super::find::{self, KernelTarget};
use super::DebugInfo;

/// The prefix of a tracepoint's iterator function.
pub const ITER: &str = "__traceiter_";

/// One module file of the index and its tracepoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedModule {
    /// The module name (`-` spelled `_`).
    pub name: String,
    pub path: PathBuf,
    pub events: Vec<String>,
}

/// A module opened for its tracepoints.
pub struct Loaded {
    pub name: String,
    /// Where the iterators' arguments are described.
    pub debuginfo: &'static dyn DebugInfo,
    /// The debuginfo is the module's split BTF (function records, pc 0).
    pub btf: Option<&'static BtfDebugInfo>,
    /// Event -> trace system, from the module's relocations.
    pub systems: HashMap<String, String>,
}

/// The module tracepoints of one release, read on first use.
pub struct ModuleTracepoints {
    release: String,
    modules_dir: PathBuf,
    roots: Vec<PathBuf>,
    /// The kernel image whose `.BTF` the modules' split BTF extends
    /// (read only for a module with no DWARF).
    base_image: Option<PathBuf>,
    index: RefCell<Option<Result<&'static [IndexedModule], String>>>,
    loaded: RefCell<HashMap<String, Result<&'static Loaded, String>>>,
}

/// The module tree of `release`: the extracted image's when given, else
/// the host's.
pub fn modules_dir(release: &str, image_root: Option<&Path>) -> PathBuf {
    if let Some(r) = image_root {
        let d = r.join("lib/modules").join(release);
        if d.is_dir() {
            return d;
        }
    }
    PathBuf::from(format!("/lib/modules/{release}"))
}

impl ModuleTracepoints {
    pub fn new(release: &str, modules_dir: PathBuf, roots: Vec<PathBuf>, base_image: Option<PathBuf>) -> ModuleTracepoints {
        ModuleTracepoints {
            release: release.to_string(),
            modules_dir,
            roots,
            base_image,
            index: RefCell::new(None),
            loaded: RefCell::new(HashMap::new()),
        }
    }

    /// The index (built or read from its cache on first call).
    pub fn index(&self) -> Result<&'static [IndexedModule], String> {
        if let Some(r) = self.index.borrow().as_ref() {
            return r.clone();
        }
        let r = load_index(&self.release, &self.modules_dir).map(|v| &*Vec::leak(v));
        *self.index.borrow_mut() = Some(r.clone());
        r
    }

    /// `(module, event)` of every module tracepoint whose event matches
    /// the glob `event`, sorted by module then event.
    pub fn matching(&self, event: &str) -> Result<Vec<(String, String)>, String> {
        let mut out = Vec::new();
        for m in self.index()? {
            for e in &m.events {
                if crate::glob::glob_bytes(event.as_bytes(), e.as_bytes()) {
                    out.push((m.name.clone(), e.clone()));
                }
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Every `(module, event)` (for close-match suggestions).
    pub fn all(&self) -> Vec<(String, String)> {
        self.matching("*").unwrap_or_default()
    }

    /// The opened module `name` (its debuginfo and trace systems).
    pub fn module(&self, name: &str) -> Result<&'static Loaded, String> {
        if let Some(r) = self.loaded.borrow().get(name) {
            return r.clone();
        }
        let r = self.open(name).map(|l| &*Box::leak(Box::new(l)));
        self.loaded.borrow_mut().insert(name.to_string(), r.clone());
        r
    }

    /// The debuginfo of an already opened module (pass 2's target
    /// variables at a module tracepoint's site).
    pub fn debuginfo(&self, name: &str) -> Option<&'static dyn DebugInfo> {
        self.loaded.borrow().get(name).and_then(|r| r.as_ref().ok()).map(|l| l.debuginfo)
    }

    fn open(&self, name: &str) -> Result<Loaded, String> {
        let index = self.index()?;
        let m = index.iter().find(|m| m.name == name).ok_or_else(|| format!("no module {name} in {}", self.modules_dir.display()))?;
        let ko = crate::vm::kmod::read_module(&m.path)?;
        let ko: &'static [u8] = Vec::leak(ko);
        let systems = trace_systems(ko).unwrap_or_default();
        // The module's DWARF (a -dbg tree, or the .ko itself), else its
        // split BTF on top of vmlinux's.
        let target = KernelTarget { release: self.release.clone(), build_id: None };
        let why: String;
        match find::find_module_debuginfo(&target, name, &self.roots) {
            Ok(found) => match DebugFile::open(&found.path) {
                Ok(file) => {
                    let file: &'static DebugFile = Box::leak(Box::new(file));
                    match DwarfDebugInfo::new(file) {
                        Ok(di) => {
                            let di = match find::default_index_cache_dir() {
                                Some(dir) => di.with_index_cache(&dir),
                                None => di,
                            };
                            let di: &'static DwarfDebugInfo<'static> = Box::leak(Box::new(di));
                            return Ok(Loaded { name: name.to_string(), debuginfo: di, btf: None, systems });
                        }
                        Err(e) => why = e.to_string(),
                    }
                }
                Err(e) => why = e.to_string(),
            },
            Err(e) => why = e.to_string(),
        }
        let base = self.base_image.as_deref().and_then(|i| super::trace_events::raw_btf(&self.release, i));
        let Some(base) = base else {
            return Err(format!("module {name}: {why}; and no kernel BTF to read the module's BTF with"));
        };
        let split = module_btf(ko).ok_or_else(|| format!("module {name}: {why}; and {} has no .BTF", m.path.display()))?;
        let merged = merge_split_btf(&base, split).ok_or_else(|| format!("module {name}: its .BTF does not fit the kernel's"))?;
        let btf = BtfDebugInfo::parse(&merged).map_err(|e| format!("module {name}: {e}"))?;
        let btf: &'static BtfDebugInfo = Box::leak(Box::new(btf));
        Ok(Loaded { name: name.to_string(), debuginfo: btf, btf: Some(btf), systems })
    }
}

fn module_btf(ko: &[u8]) -> Option<&[u8]> {
    let obj = object::File::parse(ko).ok()?;
    obj.section_by_name(".BTF")?.data().ok()
}

/// One self-contained `.BTF` blob: vmlinux's types and strings, then the
/// module's split ones (whose type ids and string offsets continue
/// vmlinux's, so concatenating keeps them right).
pub fn merge_split_btf(base: &[u8], split: &[u8]) -> Option<Vec<u8>> {
    let parts = |d: &[u8]| -> Option<(Vec<u8>, Vec<u8>, Vec<u8>)> {
        let u = |p: usize| d.get(p..p + 4).map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]) as usize);
        let (hl, to, tl, so, sl) = (u(4)?, u(8)?, u(12)?, u(16)?, u(20)?);
        let sec = |o: usize, l: usize| d.get(hl.checked_add(o)?..hl.checked_add(o)?.checked_add(l)?).map(|s| s.to_vec());
        Some((d.get(..hl)?.to_vec(), sec(to, tl)?, sec(so, sl)?))
    };
    let (hdr, mut types, mut strings) = parts(base)?;
    let (_, t2, s2) = parts(split)?;
    types.extend_from_slice(&t2);
    strings.extend_from_slice(&s2);
    let mut out = hdr.clone();
    let put = |out: &mut Vec<u8>, at: usize, v: usize| out[at..at + 4].copy_from_slice(&(v as u32).to_le_bytes());
    put(&mut out, 8, 0);
    put(&mut out, 12, types.len());
    put(&mut out, 16, types.len());
    put(&mut out, 20, strings.len());
    out.extend_from_slice(&types);
    out.extend_from_slice(&strings);
    Some(out)
}

/// The trace system of each trace event of a module: `event_EVENT` (a
/// `struct trace_event_call`) points at `event_class_T` through a
/// relocation at its `class` member, whose first member `system` points
/// at the system's name. (`class` follows the 16-byte `list_head`; both
/// layouts have been the same since 3.x.)
pub fn trace_systems(ko: &[u8]) -> Option<HashMap<String, String>> {
    const CLASS_OFF: u64 = 16;
    const SYSTEM_OFF: u64 = 0;
    let obj = object::File::parse(ko).ok()?;
    // (section, offset) -> (section, offset) of what the pointer there
    // is relocated to, for the sections that hold event structs.
    let mut relocs: HashMap<(usize, u64), (usize, u64)> = HashMap::new();
    let syms: Vec<_> = obj.symbols().collect();
    let target_of = |t: RelocationTarget, addend: i64| -> Option<(usize, u64)> {
        match t {
            RelocationTarget::Symbol(i) => {
                let s = obj.symbol_by_index(i).ok()?;
                let sec = s.section_index()?.0;
                Some((sec, s.address().checked_add_signed(addend)?))
            }
            RelocationTarget::Section(s) => Some((s.0, u64::try_from(addend).ok()?)),
            _ => None,
        }
    };
    for sec in obj.sections() {
        let name = sec.name().unwrap_or("");
        // Event structs live in .data, their classes also in .ref.data.
        if name.starts_with(".debug") || name.contains("text") || name.starts_with("__ksymtab") {
            continue;
        }
        for (off, r) in sec.relocations() {
            if let Some(t) = target_of(r.target(), r.addend()) {
                relocs.insert((sec.index().0, off), t);
            }
        }
    }
    let mut out = HashMap::new();
    for s in &syms {
        let Some(event) = s.name().ok().and_then(|n| n.strip_prefix("event_")) else { continue };
        if event.starts_with("class_") {
            continue;
        }
        let Some(sec) = s.section_index() else { continue };
        let Some(&class) = relocs.get(&(sec.0, s.address() + CLASS_OFF)) else { continue };
        let Some(&(ssec, soff)) = relocs.get(&(class.0, class.1 + SYSTEM_OFF)) else { continue };
        let Ok(data) = obj.section_by_index(object::SectionIndex(ssec)).and_then(|s| s.data()) else { continue };
        let Some(rest) = usize::try_from(soff).ok().and_then(|o| data.get(o..)) else { continue };
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len()).min(64);
        let sys = &rest[..end];
        if !sys.is_empty() && sys.iter().all(|b| *b == b'_' || b.is_ascii_alphanumeric()) {
            out.insert(event.to_string(), String::from_utf8_lossy(sys).into_owned());
        }
    }
    Some(out)
}

/// The tracepoint events of one module file: its `__traceiter_EVENT`
/// symbols.
pub fn module_events(ko: &[u8]) -> Vec<String> {
    let Ok(obj) = object::File::parse(ko) else { return Vec::new() };
    let mut out: Vec<String> = obj
        .symbols()
        .filter(|s| s.is_definition())
        .filter_map(|s| s.name().ok()?.strip_prefix(ITER).map(|e| e.to_string()))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn module_name(file_name: &str) -> Option<String> {
    let stem = [".ko", ".ko.xz", ".ko.zst", ".ko.gz"].iter().find_map(|s| file_name.strip_suffix(s))?;
    Some(stem.replace('-', "_"))
}

/// `(name, path, size, mtime)` of every module file under `dir`, sorted by
/// path.
fn module_files(dir: &Path) -> Vec<(String, PathBuf, u64, u64)> {
    fn walk(dir: &Path, depth: usize, out: &mut Vec<(String, PathBuf, u64, u64)>) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() && depth < 16 {
                walk(&p, depth + 1, out);
            } else if let Some(name) = e.file_name().to_str().and_then(module_name) {
                let Ok(m) = e.metadata() else { continue };
                let mtime = m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_secs());
                out.push((name, p, m.len(), mtime));
            }
        }
    }
    let mut out = Vec::new();
    walk(&dir.join("kernel"), 0, &mut out);
    walk(&dir.join("updates"), 0, &mut out);
    walk(&dir.join("extra"), 0, &mut out);
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

const MAGIC: &str = "rstap-module-tracepoints 1";

fn cache_file(release: &str, dir: &Path) -> Option<PathBuf> {
    if let Ok(tb) = crate::cache_dir::cache_path(crate::cache_dir::CacheKind::Testbed) {
        if dir.starts_with(&tb) {
            // <testbed>/RELEASE/lib/modules/RELEASE -> <testbed>/RELEASE
            return Some(dir.parent()?.parent()?.parent()?.join("module-tracepoints"));
        }
    }
    let d = crate::cache_dir::cache_dir(crate::cache_dir::CacheKind::Debuginfo).ok()?;
    Some(d.join(format!("module-tracepoints-{release}")))
}

/// Cache layout: MAGIC, then per module file `path\tsize\tmtime\tname\tevents` (events
/// space-separated). Valid when the file list, sizes and mtimes are
/// today's.
fn read_cache(path: &Path, files: &[(String, PathBuf, u64, u64)]) -> Option<Vec<IndexedModule>> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    if lines.next()? != MAGIC {
        return None;
    }
    let mut out = Vec::new();
    let mut n = 0;
    for (line, (name, p, size, mtime)) in lines.by_ref().zip(files) {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 5 || f[0] != p.to_str()? || f[1] != size.to_string() || f[2] != mtime.to_string() || f[3] != name {
            return None;
        }
        n += 1;
        if !f[4].is_empty() {
            out.push(IndexedModule { name: name.clone(), path: p.clone(), events: f[4].split(' ').map(String::from).collect() });
        }
    }
    (n == files.len() && lines.next().is_none()).then_some(out)
}

fn load_index(release: &str, dir: &Path) -> Result<Vec<IndexedModule>, String> {
    let files = module_files(dir);
    if files.is_empty() {
        return Err(format!("no kernel modules in {}", dir.display()));
    }
    let cache = cache_file(release, dir);
    if let Some(idx) = cache.as_deref().and_then(|c| read_cache(c, &files)) {
        return Ok(idx);
    }
    let events = scan_all(&files);
    let mut text = format!("{MAGIC}\n");
    let mut out = Vec::new();
    for ((name, p, size, mtime), ev) in files.iter().zip(events) {
        text.push_str(&format!("{}\t{size}\t{mtime}\t{name}\t{}\n", p.display(), ev.join(" ")));
        if !ev.is_empty() {
            out.push(IndexedModule { name: name.clone(), path: p.clone(), events: ev });
        }
    }
    if let Some(c) = cache {
        let tmp = c.with_extension(format!("tmp.{}", std::process::id()));
        if std::fs::write(&tmp, text).is_ok() {
            let _ = std::fs::rename(&tmp, &c);
        }
    }
    Ok(out)
}

/// The events of every file, on a few threads (compressed modules are
/// decompressed by a child process each).
fn scan_all(files: &[(String, PathBuf, u64, u64)]) -> Vec<Vec<String>> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 8);
    let chunk = files.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|c| {
                s.spawn(move || {
                    c.iter()
                        .map(|(_, p, _, _)| crate::vm::kmod::read_module(p).map(|ko| module_events(&ko)).unwrap_or_default())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn testbed(release_prefix: &str) -> Option<(String, PathBuf)> {
        let tb = crate::cache_dir::cache_path(crate::cache_dir::CacheKind::Testbed).ok()?;
        for e in std::fs::read_dir(&tb).ok()?.flatten() {
            let rel = e.file_name().to_string_lossy().into_owned();
            if rel.starts_with(release_prefix) && e.path().join("lib/modules").join(&rel).is_dir() {
                return Some((rel.clone(), e.path().join("lib/modules").join(&rel)));
            }
        }
        eprintln!("skipped: no testbed module tree for {release_prefix}*");
        None
    }

    /// Both testbed kernels: kvm.ko has kvm_exit (system kvm) and
    /// kvm_mmu_pagetable_walk of system kvmmmu; the index is
    /// the same when read back from its cache.
    #[test]
    fn testbed_module_index_finds_kvm_exit() {
        for prefix in ["6.1.", "6.12."] {
            let Some((rel, dir)) = testbed(prefix) else { continue };
            let mt = ModuleTracepoints::new(&rel, dir.clone(), Vec::new(), None);
            let m = mt.matching("kvm_exit").unwrap();
            assert_eq!(m, vec![("kvm".to_string(), "kvm_exit".to_string())], "{rel}");
            assert!(mt.all().len() > 1000, "{rel}: {} module tracepoints", mt.all().len());
            let again = load_index(&rel, &dir).unwrap();
            assert_eq!(again, mt.index().unwrap().to_vec(), "{rel}");
            let kvm = again.iter().find(|m| m.name == "kvm").unwrap();
            let ko = crate::vm::kmod::read_module(&kvm.path).unwrap();
            let sys = trace_systems(&ko).unwrap();
            assert_eq!(sys.get("kvm_exit").map(String::as_str), Some("kvm"), "{rel}");
            assert_eq!(sys.get("kvm_mmu_pagetable_walk").map(String::as_str), Some("kvmmmu"), "{rel}");
        }
    }

    #[test]
    fn split_btf_merges_after_the_base() {
        let hdr = |tl: u32, sl: u32| {
            let mut h = vec![0x9f, 0xeb, 1, 0];
            for v in [24u32, 0, tl, tl, sl] {
                h.extend_from_slice(&v.to_le_bytes());
            }
            h
        };
        let mut base = hdr(4, 2);
        base.extend_from_slice(&[1, 2, 3, 4, 0, b'a']);
        let mut split = hdr(2, 1);
        split.extend_from_slice(&[5, 6, b'b']);
        let m = merge_split_btf(&base, &split).unwrap();
        assert_eq!(&m[..24], &hdr(6, 3)[..]);
        assert_eq!(&m[24..], &[1, 2, 3, 4, 5, 6, 0, b'a', b'b']);
    }
}
