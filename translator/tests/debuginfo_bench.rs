//! Timings on the real vmlinux (skips when its debuginfo is absent).
//! Run: cargo test --release --test debuginfo_bench -- --nocapture --test-threads 1
//!
//! Measured on Debian 6.1.0-56-cloud-amd64 (vmlinux 563 MB, .debug_info
//! 164 MB, 2172 units), 2 cores shared with other builds (load 3-6):
//! - `vfs_read` + its variables + `$file->f_pos`: 5-25 ms with the file in
//!   the page cache, 80-90 ms with it evicted (symtab + aranges fast path,
//!   no full index).
//! - `vfs_*` (96 functions, names, entries, inline instances): 165-340 ms
//!   wall, ~250 ms CPU for the whole process (the full index scan is ~60%
//!   of it, page faults ~20%); 45-105 ms with the on-disk index cache.
//! - peak RSS 232 MB (mostly mapped .debug_info pages); `*` (131,879
//!   functions, 310,938 inline instances): 4.8 s, 420 MB.

mod debuginfo_common;

use rstap::debuginfo::dwarf::{DebugFile, DwarfDebugInfo};
use rstap::debuginfo::{types, AccessStep, DebugInfo, FunctionPattern, PrologueMode};
use std::time::Instant;

fn rss_kb() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn bench_vmlinux() {
    let Some((rel, path)) = debuginfo_common::find_vmlinux() else {
        eprintln!("note: no kernel debuginfo found (install linux-image-<rel>-dbg); skipping");
        return;
    };
    eprintln!("vmlinux for {rel}: {}", path.display());

    // 1. vfs_read with its variables and $file->f_pos.
    let t = Instant::now();
    let file = DebugFile::open(&path).unwrap();
    let di = DwarfDebugInfo::new(&file).unwrap();
    let t_open = t.elapsed();
    let fs = di.functions(&FunctionPattern::parse("vfs_read").unwrap()).unwrap();
    let t_find = t.elapsed();
    let f = &fs[0];
    let pc = f.probe_pc(PrologueMode::Auto).unwrap();
    let vars = di.variables(f.die, pc).unwrap();
    let fv = vars.iter().find(|v| v.name == "file").unwrap();
    let acc = types::resolve_access(&di, fv.type_id.unwrap(), &[AccessStep::Field("f_pos".into())]).unwrap();
    let t1 = t.elapsed();
    eprintln!(
        "vfs_read: open {:?}, index+lookup {:?}, total with vars and $file->f_pos {:?}; {:?}",
        t_open, t_find, t1, acc.ops
    );
    for v in &vars {
        eprintln!("  ${}:{} {:?}", v.name, v.type_name, v.location);
    }

    // Index alone (a name that matches nothing), on a fresh instance.
    let t = Instant::now();
    let di0 = DwarfDebugInfo::new(&file).unwrap();
    assert!(di0.functions(&FunctionPattern::parse("no_such_function_x").unwrap()).unwrap().is_empty());
    eprintln!("index build alone: {:?}", t.elapsed());
    // A type lookup (@cast) on a fresh instance.
    let t = Instant::now();
    let di0 = DwarfDebugInfo::new(&file).unwrap();
    let task = di0.find_type("struct task_struct").unwrap().unwrap();
    let tt = di0.type_info(task).unwrap();
    eprintln!("find struct task_struct ({} members): {:?}", match tt.kind { rstap::debuginfo::TypeKind::Struct { members } => members.len(), _ => 0 }, t.elapsed());

    // 2. vfs_* on a fresh instance.
    let t = Instant::now();
    let di2 = DwarfDebugInfo::new(&file).unwrap();
    let all = di2.functions(&FunctionPattern::parse("vfs_*").unwrap()).unwrap();
    let t2 = t.elapsed();
    let with_pc = all.iter().filter(|f| f.entry_pc.is_some()).count();
    eprintln!("vfs_*: {} functions ({} out of line) in {:?}", all.len(), with_pc, t2);
    eprintln!("peak RSS {} MB", rss_kb() / 1024);
    eprintln!("TIMING vfs_read_s={:.3} vfs_star_s={:.3} rss_mb={}", t1.as_secs_f64(), t2.as_secs_f64(), rss_kb() / 1024);
}

/// Only the full function index, for `perf stat` (CPU time vs wall time):
/// `perf stat -e task-clock target/.../debuginfo_bench-* index_only`
#[test]
fn index_only() {
    let Some((_, path)) = debuginfo_common::find_vmlinux() else { return };
    let t = Instant::now();
    let file = DebugFile::open(&path).unwrap();
    let di = DwarfDebugInfo::new(&file).unwrap();
    let all = di.functions(&FunctionPattern::parse("vfs_*").unwrap()).unwrap();
    eprintln!("index_only: vfs_* {} functions in {:?}", all.len(), t.elapsed());
}

/// vfs_* with the on-disk index cache: the first instance writes it, the
/// second (a later `stap` run) loads it.
#[test]
fn cached_index() {
    let Some((_, path)) = debuginfo_common::find_vmlinux() else { return };
    let cache = tempfile::tempdir().unwrap();
    let file = DebugFile::open(&path).unwrap();
    let pat = FunctionPattern::parse("vfs_*").unwrap();
    let t = Instant::now();
    let a = DwarfDebugInfo::new(&file).unwrap().with_index_cache(cache.path()).functions(&pat).unwrap();
    let t_first = t.elapsed();
    let t = Instant::now();
    let b = DwarfDebugInfo::new(&file).unwrap().with_index_cache(cache.path()).functions(&pat).unwrap();
    let t_second = t.elapsed();
    assert_eq!(a, b);
    eprintln!("cached_index: vfs_* first run (scan + write) {t_first:?}, next run (cache) {t_second:?}");
    eprintln!("TIMING vfs_star_cached_s={:.3}", t_second.as_secs_f64());
}

/// `stap -l 'kernel.function("*")'`: every function with its inline
/// instances (informational).
#[test]
fn all_functions() {
    if cfg!(debug_assertions) {
        eprintln!("note: all_functions runs in release builds only (it takes minutes unoptimized)");
        return;
    }
    let Some((_, path)) = debuginfo_common::find_vmlinux() else { return };
    let file = DebugFile::open(&path).unwrap();
    let t = Instant::now();
    let di = DwarfDebugInfo::new(&file).unwrap();
    let all = di.functions(&FunctionPattern::parse("*").unwrap()).unwrap();
    let inl: usize = all.iter().map(|f| f.inline_instances.len()).sum();
    eprintln!("all_functions: {} functions, {} inline instances in {:?}; peak RSS {} MB", all.len(), inl, t.elapsed(), rss_kb() / 1024);
}
