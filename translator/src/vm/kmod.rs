//! kmod: which kernel modules of the extracted image the guest must insmod
//! for the virtio console, in load order.
//!
//! Input: the extracted `linux-image-REL` tree (`boot/config-REL`,
//! `lib/modules/REL/kernel/**.ko[.xz|.zst|.gz]`).
//! Output: [`VirtioPlan`]: built in (nothing to load), a list of
//! (module name, uncompressed .ko bytes) with dependencies first, or
//! unavailable (the caller falls back to serial ports).
//! Invariants: dependencies come from each module's own `.modinfo`
//! `depends=` (the .deb ships no modules.dep); no module appears twice; a
//! dependency cycle or a missing module is an error, not a loop.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use object::{Object, ObjectSection};

/// (module name, uncompressed .ko bytes), in insmod order.
pub type ModuleList = Vec<(String, Vec<u8>)>;

/// How the guest gets a virtio console.
#[derive(Debug)]
pub enum VirtioPlan {
    /// `CONFIG_VIRTIO_CONSOLE=y` (and the PCI transport too).
    BuiltIn,
    /// insmod these, in order.
    Modules(ModuleList),
    /// Not configured at all: use serial ports.
    Unavailable(String),
}

/// Reads `boot/config-REL` of the image and plans the virtio console.
pub fn plan_virtio(image: &Path, release: &str) -> VirtioPlan {
    let config_path = image.join("boot").join(format!("config-{release}"));
    let config = match fs::read_to_string(&config_path) {
        Ok(c) => c,
        Err(e) => return VirtioPlan::Unavailable(format!("cannot read {}: {e}", config_path.display())),
    };
    let opt = |name: &str| -> Option<char> {
        let key = format!("CONFIG_{name}=");
        config.lines().find_map(|l| l.strip_prefix(&key)).and_then(|v| v.chars().next())
    };
    let mut roots = Vec::new();
    for (cfg, module) in [("VIRTIO_PCI", "virtio_pci"), ("VIRTIO_CONSOLE", "virtio_console")] {
        match opt(cfg) {
            Some('y') => {}
            Some('m') => roots.push(module),
            _ => return VirtioPlan::Unavailable(format!("CONFIG_{cfg} is not set in {}", config_path.display())),
        }
    }
    if roots.is_empty() {
        return VirtioPlan::BuiltIn;
    }
    match resolve(image, release, &roots) {
        Ok(mods) => VirtioPlan::Modules(mods),
        Err(e) => VirtioPlan::Unavailable(e),
    }
}

fn module_name(file_name: &str) -> Option<String> {
    let stem = file_name
        .strip_suffix(".ko")
        .or_else(|| file_name.strip_suffix(".ko.xz"))
        .or_else(|| file_name.strip_suffix(".ko.zst"))
        .or_else(|| file_name.strip_suffix(".ko.gz"))?;
    Some(stem.replace('-', "_"))
}

fn index_modules(dir: &Path, out: &mut HashMap<String, PathBuf>, depth: usize) {
    if depth > 16 {
        return;
    }
    let Ok(entries) = fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            index_modules(&p, out, depth + 1);
        } else if let Some(name) = e.file_name().to_str().and_then(module_name) {
            out.entry(name).or_insert(p);
        }
    }
}

/// The uncompressed bytes of a module file.
pub fn read_module(path: &Path) -> Result<Vec<u8>, String> {
    let name = path.to_string_lossy();
    let tool = if name.ends_with(".xz") {
        Some("xz")
    } else if name.ends_with(".zst") {
        Some("zstd")
    } else if name.ends_with(".gz") {
        Some("gzip")
    } else {
        None
    };
    match tool {
        None => fs::read(path).map_err(|e| format!("cannot read {name}: {e}")),
        Some(tool) => {
            let out = Command::new(tool)
                .arg("-dc")
                .arg(path)
                .output()
                .map_err(|e| format!("cannot run `{tool} -dc {name}` to decompress a module: {e} (install {tool})"))?;
            if !out.status.success() {
                return Err(format!("`{tool} -dc {name}` failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
            }
            Ok(out.stdout)
        }
    }
}

/// The `depends=` list from a module's `.modinfo` section.
pub fn module_depends(ko: &[u8]) -> Result<Vec<String>, String> {
    let file = object::File::parse(ko).map_err(|e| format!("not an ELF module: {e}"))?;
    let Some(section) = file.section_by_name(".modinfo") else { return Ok(Vec::new()) };
    let data = section.data().map_err(|e| format!("bad .modinfo: {e}"))?;
    for entry in data.split(|&b| b == 0) {
        if let Some(v) = entry.strip_prefix(b"depends=") {
            let v = String::from_utf8_lossy(v);
            return Ok(v.split(',').filter(|s| !s.is_empty()).map(|s| s.replace('-', "_")).collect());
        }
    }
    Ok(Vec::new())
}

fn resolve(image: &Path, release: &str, roots: &[&str]) -> Result<ModuleList, String> {
    let kdir = image.join("lib/modules").join(release).join("kernel");
    let mut index = HashMap::new();
    index_modules(&kdir, &mut index, 0);
    if index.is_empty() {
        return Err(format!("no kernel modules under {}", kdir.display()));
    }
    let mut order = Vec::new();
    let mut done = HashSet::new();
    let mut visiting = HashSet::new();
    for root in roots {
        visit(root, &index, &mut order, &mut done, &mut visiting)?;
    }
    Ok(order)
}

fn visit(
    name: &str,
    index: &HashMap<String, PathBuf>,
    order: &mut ModuleList,
    done: &mut HashSet<String>,
    visiting: &mut HashSet<String>,
) -> Result<(), String> {
    if done.contains(name) {
        return Ok(());
    }
    if !visiting.insert(name.to_string()) {
        return Err(format!("module dependency cycle through {name}"));
    }
    let path = index.get(name).ok_or_else(|| format!("module {name} not found in the kernel image"))?;
    let bytes = read_module(path)?;
    for dep in module_depends(&bytes).map_err(|e| format!("{}: {e}", path.display()))? {
        visit(&dep, index, order, done, visiting)?;
    }
    visiting.remove(name);
    done.insert(name.to_string());
    order.push((name.to_string(), bytes));
    Ok(())
}
