//! Shared helpers of the debuginfo tests: finding a real vmlinux.

#![allow(dead_code)]

use std::path::PathBuf;

/// Roots that may hold an extracted `linux-image-*-dbg` package:
/// `$RSTAP_DBG_ROOT` (colon-separated), then /work/cache-dbg/root.
pub fn dbg_roots() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::env::var("RSTAP_DBG_ROOT")
        .map(|s| s.split(':').filter(|p| !p.is_empty()).map(PathBuf::from).collect())
        .unwrap_or_default();
    v.push(PathBuf::from("/work/cache-dbg/root"));
    v
}

/// The release and path of some installed or extracted kernel debuginfo.
pub fn find_vmlinux() -> Option<(String, PathBuf)> {
    let mut roots = dbg_roots();
    roots.push(PathBuf::from("/"));
    for root in roots {
        let dir = root.join("usr/lib/debug/boot");
        let Ok(rd) = std::fs::read_dir(&dir) else { continue };
        let mut names: Vec<String> = rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        for n in names.iter().rev() {
            if let Some(rel) = n.strip_prefix("vmlinux-") {
                let target = rstap::debuginfo::find::KernelTarget { release: rel.to_string(), build_id: None };
                if let Ok(found) = rstap::debuginfo::find::find_kernel_debuginfo(&target, &dbg_roots()) {
                    return Some((rel.to_string(), found.path));
                }
            }
        }
    }
    None
}
