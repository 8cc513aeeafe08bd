//! Locating kernel and module debuginfo the way SystemTap does.
//!
//! Input: a kernel release (and, when it can be known, the kernel's build
//! id) plus optional search roots (a directory holding an extracted `-dbg`
//! package, i.e. `<root>/usr/lib/debug/...`; `/` is always searched last).
//! Output: the path of a debuginfo ELF whose build id matches, or an error
//! naming the package to install (`linux-image-RELEASE-dbg`).
//! Invariants: only reads files (never writes); the build id of the running
//! kernel comes from `/sys/kernel/notes`; for another release it comes from
//! an uncompressed `/boot/vmlinux-RELEASE` when present, otherwise it is
//! unknown and candidates are accepted unverified (`verified: false`).

use super::{DebugInfoError, Result};
use object::Object;
use std::path::{Path, PathBuf};

/// The kernel we build probes for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelTarget {
    pub release: String,
    pub build_id: Option<Vec<u8>>,
}

/// A found debuginfo file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundDebuginfo {
    pub path: PathBuf,
    pub build_id: Option<Vec<u8>>,
    /// The build id was compared with the target's and matched.
    pub verified: bool,
}

impl KernelTarget {
    /// The running kernel: release from `/proc/sys/kernel/osrelease`, build
    /// id from `/sys/kernel/notes`.
    pub fn running() -> Result<KernelTarget> {
        let rel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_err(|e| DebugInfoError::Io(format!("cannot read the kernel release: {e}")))?;
        let build_id = std::fs::read("/sys/kernel/notes").ok().and_then(|n| parse_build_id_notes(&n));
        Ok(KernelTarget { release: rel.trim().to_string(), build_id })
    }

    /// Another release (`stap -r`). Its build id comes from the running
    /// kernel if it is that release, else from `/boot/vmlinux-RELEASE` or
    /// `/boot/vmlinuz-RELEASE` (see [`super::image`]); otherwise unknown.
    pub fn for_release(release: &str) -> KernelTarget {
        if let Ok(run) = KernelTarget::running() {
            if run.release == release {
                return run;
            }
        }
        for name in [format!("/boot/vmlinux-{release}"), format!("/boot/vmlinuz-{release}")] {
            if let Ok(t) = KernelTarget::from_image(release, Path::new(&name)) {
                if t.build_id.is_some() {
                    return t;
                }
            }
        }
        KernelTarget { release: release.to_string(), build_id: None }
    }

    /// A release whose kernel image (ELF vmlinux or bzImage vmlinuz) is at
    /// `image`, e.g. the one a test VM boots.
    pub fn from_image(release: &str, image: &Path) -> Result<KernelTarget> {
        let data = std::fs::read(image).map_err(|e| DebugInfoError::Io(format!("cannot read {}: {e}", image.display())))?;
        let build_id = super::image::image_build_id(&data)?;
        Ok(KernelTarget { release: release.to_string(), build_id })
    }

    /// The Debian package holding this kernel's debuginfo.
    pub fn dbg_package(&self) -> String {
        format!("linux-image-{}-dbg", self.release)
    }
}

/// Where to keep the function index cache
/// ([`super::dwarf::DwarfDebugInfo::with_index_cache`]): the debuginfo
/// cache of [`crate::cache_dir`]; None (no index cache) when there is no
/// usable one.
pub fn default_index_cache_dir() -> Option<PathBuf> {
    crate::cache_dir::cache_dir(crate::cache_dir::CacheKind::Debuginfo).ok()
}

/// Hex form of a build id.
pub fn hex(id: &[u8]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses a sequence of ELF notes (as in `/sys/kernel/notes`) and returns
/// the GNU build id.
pub fn parse_build_id_notes(data: &[u8]) -> Option<Vec<u8>> {
    let mut p = 0usize;
    let rd = |p: usize| -> Option<u32> { data.get(p..p + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])) };
    while p + 12 <= data.len() {
        let namesz = rd(p)? as usize;
        let descsz = rd(p + 4)? as usize;
        let ntype = rd(p + 8)?;
        let name_start = p + 12;
        let desc_start = name_start.checked_add((namesz + 3) & !3)?;
        let next = desc_start.checked_add((descsz + 3) & !3)?;
        let name = data.get(name_start..name_start + namesz)?;
        if ntype == 3 && name.starts_with(b"GNU") {
            return data.get(desc_start..desc_start + descsz).map(|d| d.to_vec());
        }
        p = next;
    }
    None
}

/// The GNU build id of an ELF file, `Ok(None)` if it has none.
pub fn elf_build_id(path: &Path) -> Result<Option<Vec<u8>>> {
    let f = std::fs::File::open(path).map_err(|e| DebugInfoError::Io(format!("cannot open {}: {e}", path.display())))?;
    // SAFETY: read-only mapping; only the note sections are touched.
    let map = unsafe { memmap2::Mmap::map(&f) }.map_err(|e| DebugInfoError::Io(format!("cannot map {}: {e}", path.display())))?;
    let obj = object::File::parse(&*map).map_err(|e| DebugInfoError::Io(format!("{}: not an ELF file: {e}", path.display())))?;
    Ok(obj.build_id().ok().flatten().map(|b| b.to_vec()))
}

fn search_roots(roots: &[PathBuf]) -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = roots.to_vec();
    all.push(PathBuf::from("/"));
    all
}

/// Candidate paths for the kernel's debuginfo, in SystemTap's order, under
/// each root.
pub fn kernel_candidates(target: &KernelTarget, roots: &[PathBuf]) -> Vec<PathBuf> {
    let rel = &target.release;
    let mut out = Vec::new();
    for root in search_roots(roots) {
        out.push(root.join(format!("usr/lib/debug/lib/modules/{rel}/vmlinux")));
        out.push(root.join(format!("usr/lib/debug/boot/vmlinux-{rel}")));
        out.push(root.join(format!("usr/lib/debug/vmlinux-{rel}")));
        if let Some(id) = &target.build_id {
            if id.len() > 1 {
                let h = hex(id);
                out.push(root.join(format!("usr/lib/debug/.build-id/{}/{}.debug", &h[..2], &h[2..])));
            }
        }
        out.push(root.join(format!("lib/modules/{rel}/build/vmlinux")));
        out.push(root.join(format!("boot/vmlinux-{rel}")));
    }
    out
}

/// Picks the first candidate that exists, has DWARF and (when the target's
/// build id is known) the same build id.
fn pick(candidates: Vec<PathBuf>, target: &KernelTarget, what: &str) -> Result<FoundDebuginfo> {
    let mut tried = Vec::new();
    let mut mismatch = None;
    for c in candidates {
        if !c.is_file() {
            tried.push(c.display().to_string());
            continue;
        }
        let id = elf_build_id(&c)?;
        match (&target.build_id, &id) {
            (Some(want), Some(got)) if want != got => {
                mismatch.get_or_insert((c.display().to_string(), hex(got)));
                tried.push(c.display().to_string());
                continue;
            }
            _ => {}
        }
        let verified = target.build_id.is_some() && id.is_some();
        return Ok(FoundDebuginfo { path: c, build_id: id, verified });
    }
    if let (Some((path, found)), Some(want)) = (mismatch, &target.build_id) {
        return Err(DebugInfoError::BuildIdMismatch { path, expected: hex(want), found, package: target.dbg_package() });
    }
    Err(DebugInfoError::NotFound { what: what.to_string(), tried, package: target.dbg_package() })
}

/// Finds vmlinux debuginfo for `target`.
pub fn find_kernel_debuginfo(target: &KernelTarget, roots: &[PathBuf]) -> Result<FoundDebuginfo> {
    pick(kernel_candidates(target, roots), target, &format!("kernel {}", target.release))
}

/// Finds the debuginfo of module `name` (`ext4`, `nf_tables`; `-` and `_`
/// are the same) under `usr/lib/debug/lib/modules/RELEASE/` of each root,
/// then in `lib/modules/RELEASE/` (a module that was not stripped). When
/// the installed module (`lib/modules/RELEASE/.../NAME.ko`) is found too,
/// their build ids must match (`verified`); a compressed installed module
/// (`.ko.xz`) cannot be read and leaves the result unverified.
pub fn find_module_debuginfo(target: &KernelTarget, name: &str, roots: &[PathBuf]) -> Result<FoundDebuginfo> {
    let want = name.replace('-', "_");
    let mut tried = Vec::new();
    let mut debug = None;
    let mut installed = None;
    for root in search_roots(roots) {
        let dbg_dir = root.join(format!("usr/lib/debug/lib/modules/{}", target.release));
        let mod_dir = root.join(format!("lib/modules/{}", target.release));
        if debug.is_none() {
            tried.push(dbg_dir.display().to_string());
            debug = walk_for_module(&dbg_dir, &want, 0);
        }
        if installed.is_none() {
            installed = walk_for_module(&mod_dir, &want, 0);
        }
    }
    choose_module_file(target, name, debug, installed, tried)
}

/// The module debuginfo to use given the file found under the debuginfo
/// tree (`debug`) and the installed module (`installed`): the debug file,
/// else an installed module that has DWARF; their build ids must match.
fn choose_module_file(
    target: &KernelTarget,
    name: &str,
    debug: Option<PathBuf>,
    installed: Option<PathBuf>,
    tried: Vec<String>,
) -> Result<FoundDebuginfo> {
    let debug = match debug.or_else(|| installed.clone().filter(|p| has_debug_info(p))) {
        Some(p) => p,
        None => {
            return Err(DebugInfoError::NotFound { what: format!("module {name}"), tried, package: target.dbg_package() })
        }
    };
    let id = elf_build_id(&debug).ok().flatten();
    let want_id = installed.as_ref().filter(|p| **p != debug).and_then(|p| elf_build_id(p).ok().flatten());
    match (&id, &want_id) {
        (Some(got), Some(want)) if got != want => Err(DebugInfoError::BuildIdMismatch {
            path: debug.display().to_string(),
            expected: hex(want),
            found: hex(got),
            package: target.dbg_package(),
        }),
        (Some(_), Some(_)) => Ok(FoundDebuginfo { path: debug, build_id: id, verified: true }),
        _ => Ok(FoundDebuginfo { path: debug, build_id: id, verified: false }),
    }
}

/// The debuginfo of every module whose name (with `-` spelled `_`)
/// matches `glob`, found as [`find_module_debuginfo`] finds one but with
/// one walk of the trees: what `module("GLOB")` opens. Sorted by name;
/// a module whose files do not fit is an `Err` entry.
pub fn find_modules_matching(target: &KernelTarget, glob: &str, roots: &[PathBuf]) -> Vec<(String, Result<FoundDebuginfo>)> {
    use std::collections::BTreeMap;
    let glob = glob.replace('-', "_");
    // name -> (file under the debuginfo tree, installed file), first found.
    let mut found: BTreeMap<String, (Option<PathBuf>, Option<PathBuf>)> = BTreeMap::new();
    let mut tried = Vec::new();
    for root in search_roots(roots) {
        let dbg_dir = root.join(format!("usr/lib/debug/lib/modules/{}", target.release));
        let mod_dir = root.join(format!("lib/modules/{}", target.release));
        tried.push(dbg_dir.display().to_string());
        for (dir, installed) in [(dbg_dir, false), (mod_dir, true)] {
            let mut files = Vec::new();
            collect_modules(&dir, 0, &mut files);
            for (name, path) in files {
                if !crate::glob::glob_bytes(glob.as_bytes(), name.as_bytes()) {
                    continue;
                }
                let e = found.entry(name).or_default();
                let slot = if installed { &mut e.1 } else { &mut e.0 };
                if slot.is_none() {
                    *slot = Some(path);
                }
            }
        }
    }
    found
        .into_iter()
        .map(|(name, (debug, installed))| {
            let r = choose_module_file(target, &name, debug, installed, tried.clone());
            (name, r)
        })
        .collect()
}

/// Every module file under `dir`: (name with `-` spelled `_`, path).
fn collect_modules(dir: &Path, depth: usize, out: &mut Vec<(String, PathBuf)>) {
    if depth > 8 {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            // `build` and `source` point at whole kernel trees.
            if depth > 0 || !matches!(e.file_name().to_str(), Some("build" | "source")) {
                collect_modules(&p, depth + 1, out);
            }
            continue;
        }
        if let Some(name) = module_file_name(&e.file_name().to_string_lossy()) {
            out.push((name, p));
        }
    }
}

/// The module a file name holds (`af-key.ko.xz` → `af_key`), if any.
fn module_file_name(fname: &str) -> Option<String> {
    [".ko", ".ko.debug", ".ko.xz", ".ko.zst", ".ko.gz"]
        .iter()
        .find_map(|suffix| fname.strip_suffix(suffix))
        .map(|stem| stem.replace('-', "_"))
}

/// Whether an ELF file has a `.debug_info` section.
fn has_debug_info(path: &Path) -> bool {
    let Ok(f) = std::fs::File::open(path) else { return false };
    // SAFETY: read-only mapping; only section headers are read.
    let Ok(map) = (unsafe { memmap2::Mmap::map(&f) }) else { return false };
    object::File::parse(&*map).map(|o| o.section_by_name(".debug_info").is_some()).unwrap_or(false)
}

fn walk_for_module(dir: &Path, want: &str, depth: usize) -> Option<PathBuf> {
    if depth > 8 {
        return None;
    }
    let rd = std::fs::read_dir(dir).ok()?;
    let mut subdirs = Vec::new();
    for e in rd.flatten() {
        let p = e.path();
        let ft = match e.file_type() {
            Ok(t) => t,
            Err(_) => continue,
        };
        if ft.is_dir() {
            subdirs.push(p);
            continue;
        }
        if module_file_name(&e.file_name().to_string_lossy()).as_deref() == Some(want) {
            return Some(p);
        }
    }
    subdirs.sort();
    subdirs.iter().find_map(|d| walk_for_module(d, want, depth + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes() {
        // One GNU build-id note: namesz 4, descsz 4, type 3, "GNU\0", desc.
        let mut n = Vec::new();
        n.extend_from_slice(&4u32.to_le_bytes());
        n.extend_from_slice(&4u32.to_le_bytes());
        n.extend_from_slice(&3u32.to_le_bytes());
        n.extend_from_slice(b"GNU\0");
        n.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(parse_build_id_notes(&n), Some(vec![0xde, 0xad, 0xbe, 0xef]));
        assert_eq!(parse_build_id_notes(&n[..7]), None);
        assert_eq!(hex(&[0xde, 0xad]), "dead");
    }

    /// Builds `root/usr/lib/debug/lib/modules/R/kernel/m.ko` and
    /// `root/lib/modules/R/kernel/m.ko` from C sources: the same binary
    /// when the sources are equal, else two builds (different build ids).
    fn module_tree(debug_src: &str, installed_src: &str) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let compile = |src: &str, out: &Path| {
            let c = root.path().join("m.c");
            std::fs::write(&c, src).unwrap();
            let target = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
            let st = cc::Build::new()
                .target(&target)
                .host(&target)
                .opt_level(0)
                .debug(false)
                .no_default_flags(true)
                .cargo_metadata(false)
                .emit_rerun_if_env_changed(false)
                .try_get_compiler()
                .expect("the cc crate finds a C compiler")
                .to_command()
                .args(["-g", "-shared", "-fPIC", "-Wl,--build-id", "-o"])
                .arg(out)
                .arg(&c)
                .status()
                .unwrap();
            assert!(st.success());
        };
        let dbg = root.path().join("usr/lib/debug/lib/modules/R/kernel");
        let inst = root.path().join("lib/modules/R/kernel");
        std::fs::create_dir_all(&dbg).unwrap();
        std::fs::create_dir_all(&inst).unwrap();
        compile(debug_src, &dbg.join("m.ko"));
        if debug_src == installed_src {
            std::fs::copy(dbg.join("m.ko"), inst.join("m.ko")).unwrap();
        } else {
            compile(installed_src, &inst.join("m.ko"));
        }
        root
    }

    #[test]
    fn module_build_ids() {
        let t = KernelTarget { release: "R".into(), build_id: None };
        let same = module_tree("int f(void){return 1;}", "int f(void){return 1;}");
        let ok = find_module_debuginfo(&t, "m", &[same.path().to_path_buf()]).unwrap();
        assert!(ok.verified && ok.path.starts_with(same.path().join("usr/lib/debug")));
        let differ = module_tree("int f(void){return 1;}", "int f(void){return 2;}");
        match find_module_debuginfo(&t, "m", &[differ.path().to_path_buf()]) {
            Err(DebugInfoError::BuildIdMismatch { package, .. }) => assert_eq!(package, "linux-image-R-dbg"),
            other => panic!("{other:?}"),
        }
        let e = find_module_debuginfo(&t, "nope", &[same.path().to_path_buf()]).unwrap_err();
        assert!(e.to_string().contains("install package `linux-image-R-dbg`"), "{e}");
        // A glob finds the same files, with the same build-id check.
        let all = find_modules_matching(&t, "*", &[same.path().to_path_buf()]);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].0, "m");
        assert!(matches!(&all[0].1, Ok(f) if f.verified && f.path == ok.path));
        let all = find_modules_matching(&t, "m*", &[differ.path().to_path_buf()]);
        assert!(matches!(&all[..], [(n, Err(DebugInfoError::BuildIdMismatch { .. }))] if n == "m"));
        assert!(find_modules_matching(&t, "x*", &[same.path().to_path_buf()]).is_empty());
    }

    #[test]
    fn missing_names_package() {
        let t = KernelTarget { release: "0.0.0-none".into(), build_id: None };
        let e = find_kernel_debuginfo(&t, &[]).unwrap_err();
        assert!(e.to_string().contains("linux-image-0.0.0-none-dbg"), "{e}");
    }
}
