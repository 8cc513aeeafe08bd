//! The kernel's symbol table from System.map or /proc/kallsyms.
//!
//! Input: the text of a System.map-style file ("address type name" lines).
//! Output: the set of function (text) symbol names, answering
//! `KernelSymbols` queries for `kprobe.function` checks and wildcards, and
//! the data symbol names when the table has them (`kernel.data` checks).
//! Invariants: malformed lines are skipped; names stay in file order.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::glob::glob_match;
use crate::probes::KernelSymbols;

/// Fewer function symbols than this is not a real kernel's table.
const MIN_REAL_SYMBOLS: usize = 1000;

pub struct SystemMap {
    pub names: Vec<String>,
    set: HashSet<String>,
    /// Functions inside the kernel's no-probe sections, with the section.
    fenced: std::collections::HashMap<String, &'static str>,
    /// Each function symbol's (first) address.
    address: std::collections::HashMap<String, u64>,
    /// Variables (data, bss, read-only data); empty when the table lists
    /// functions only (the testbed's).
    data: HashSet<String>,
}

/// Section markers of the symbol table and the section they bound.
const FENCES: &[(&str, &str, &str)] = &[
    ("__noinstr_text_start", "__noinstr_text_end", ".noinstr.text"),
    ("__kprobes_text_start", "__kprobes_text_end", ".kprobes.text"),
    ("__entry_text_start", "__entry_text_end", ".entry.text"),
    ("__irqentry_text_start", "__irqentry_text_end", ".irqentry.text"),
    ("__cpuidle_text_start", "__cpuidle_text_end", ".cpuidle.text"),
    ("__lock_text_start", "__lock_text_end", ".spinlock.text"),
    ("_sinittext", "_einittext", ".init.text"),
];

impl SystemMap {
    pub fn parse(text: &str) -> SystemMap {
        let mut names = Vec::new();
        let mut set = HashSet::new();
        let mut addrs: Vec<(u64, String)> = Vec::new();
        let mut marks = std::collections::HashMap::new();
        let mut data = HashSet::new();
        for line in text.lines() {
            let mut parts = line.split_whitespace();
            let (Some(addr), Some(kind), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
                continue;
            };
            // Module symbols in kallsyms carry a "[module]" fourth column.
            if parts.next().is_some() {
                continue;
            }
            if !matches!(kind, "t" | "T" | "W" | "w") {
                if matches!(kind, "d" | "D" | "b" | "B" | "r" | "R") {
                    data.insert(name.to_string());
                }
                continue;
            }
            if let Ok(a) = u64::from_str_radix(addr, 16) {
                if FENCES.iter().any(|(lo, hi, _)| name == *lo || name == *hi) {
                    marks.insert(name.to_string(), a);
                }
                addrs.push((a, name.to_string()));
            }
            if set.insert(name.to_string()) {
                names.push(name.to_string());
            }
        }
        let mut fenced = std::collections::HashMap::new();
        for (lo, hi, section) in FENCES {
            if let (Some(&lo), Some(&hi)) = (marks.get(*lo), marks.get(*hi)) {
                for (a, n) in &addrs {
                    if *a >= lo && *a < hi {
                        fenced.entry(n.clone()).or_insert(*section);
                    }
                }
            }
        }
        let mut address = std::collections::HashMap::with_capacity(addrs.len());
        for (a, n) in addrs {
            address.entry(n).or_insert(a);
        }
        SystemMap { names, set, fenced, address, data }
    }

    /// The symbol table of `release`: System.map from /boot (or a testbed
    /// image root), or /proc/kallsyms for the running kernel.
    pub fn find(release: &str, image_root: Option<&Path>) -> Option<SystemMap> {
        let mut candidates: Vec<PathBuf> = Vec::new();
        if let Some(root) = image_root {
            candidates.push(root.join("kallsyms"));
            candidates.push(root.join(format!("boot/System.map-{release}")));
        }
        candidates.push(PathBuf::from(format!("/boot/System.map-{release}")));
        candidates.push(PathBuf::from(format!("/usr/lib/debug/boot/System.map-{release}")));
        candidates.push(PathBuf::from(format!("/lib/modules/{release}/build/System.map")));
        for c in candidates {
            if let Ok(text) = std::fs::read_to_string(&c) {
                let map = SystemMap::parse(&text);
                // Debian's image packages ship a one-line placeholder that
                // points at the -dbg package; a real kernel has far more.
                if map.names.len() >= MIN_REAL_SYMBOLS {
                    return Some(map);
                }
            }
        }
        let running = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
        if running.trim() == release {
            let map = SystemMap::parse(&std::fs::read_to_string("/proc/kallsyms").ok()?);
            return (map.names.len() >= MIN_REAL_SYMBOLS).then_some(map);
        }
        None
    }
}

/// The symbol table of a release, read the first time a probe asks (most
/// scripts never do, and /proc/kallsyms takes seconds to read).
pub struct LazySystemMap {
    release: String,
    image_root: Option<PathBuf>,
    map: std::sync::OnceLock<Option<SystemMap>>,
}

impl LazySystemMap {
    pub fn new(release: &str, image_root: Option<PathBuf>) -> LazySystemMap {
        LazySystemMap { release: release.to_string(), image_root, map: std::sync::OnceLock::new() }
    }

    fn get(&self) -> Option<&SystemMap> {
        self.map
            .get_or_init(|| SystemMap::find(&self.release, self.image_root.as_deref()))
            .as_ref()
    }
}

impl KernelSymbols for LazySystemMap {
    fn has_function(&self, name: &str) -> Option<bool> {
        self.get()?.has_function(name)
    }

    fn matching_functions(&self, pattern: &str) -> Option<Vec<String>> {
        self.get()?.matching_functions(pattern)
    }

    fn refused_section(&self, name: &str) -> Option<&'static str> {
        self.get()?.refused_section(name)
    }

    fn address(&self, name: &str) -> Option<u64> {
        self.get()?.address(name)
    }

    fn has_data(&self, name: &str) -> Option<bool> {
        self.get()?.has_data(name)
    }
}

impl KernelSymbols for SystemMap {
    fn has_function(&self, name: &str) -> Option<bool> {
        Some(self.set.contains(name))
    }

    fn matching_functions(&self, pattern: &str) -> Option<Vec<String>> {
        Some(self.names.iter().filter(|n| glob_match(pattern, n)).cloned().collect())
    }

    fn refused_section(&self, name: &str) -> Option<&'static str> {
        self.fenced.get(name).copied()
    }

    fn address(&self, name: &str) -> Option<u64> {
        self.address.get(name).copied().filter(|a| *a != 0)
    }

    fn has_data(&self, name: &str) -> Option<bool> {
        (!self.data.is_empty()).then(|| self.data.contains(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_text_symbols_only() {
        let m = SystemMap::parse(
            "ffffffff81000000 T _text\nffffffff81234560 T ksys_read\nffffffff81234570 t vfs_read\nffffffff82000000 D jiffies\nffffffffc0000000 t mod_fn [ext4]\nbad line\n",
        );
        assert_eq!(m.has_function("ksys_read"), Some(true));
        assert_eq!(m.has_function("vfs_read"), Some(true));
        assert_eq!(m.has_function("jiffies"), Some(false));
        assert_eq!(m.has_function("mod_fn"), Some(false));
        assert_eq!(m.matching_functions("*s_read").unwrap(), vec!["ksys_read", "vfs_read"]);
    }

    #[test]
    fn functions_in_no_probe_sections_are_known() {
        let m = SystemMap::parse(
            "ffffffff81000100 T __noinstr_text_start\nffffffff81000100 T exc_page_fault\nffffffff81000200 T __noinstr_text_end\nffffffff81000300 T vfs_read\nffffffff82000000 T _sinittext\nffffffff82000010 t early_setup\nffffffff82001000 T _einittext\n",
        );
        assert_eq!(m.refused_section("exc_page_fault"), Some(".noinstr.text"));
        assert_eq!(m.refused_section("early_setup"), Some(".init.text"));
        assert_eq!(m.refused_section("vfs_read"), None);
    }
}
