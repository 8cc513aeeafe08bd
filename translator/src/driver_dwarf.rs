//! The driver's side of debuginfo: which kernel DWARF pass 2 gets.
//!
//! Input: the target release, the testbed (for `--vm`), the environment
//! (`RSTAP_DBG_ROOT`: extra search roots, `:`-separated). Output: the
//! opened vmlinux debuginfo, or the message pass 2 reports when a script
//! needs it (naming `linux-image-RELEASE-dbg`). Invariants: the -dbg
//! package is downloaded (into the testbed cache) only for `--vm`; the
//! driver asks only for what the parsed program needs (`elaborate::needs`);
//! otherwise this only reads files.

use std::path::PathBuf;

use crate::debuginfo::dwarf::{DebugFile, DwarfDebugInfo};
use crate::debuginfo::find::{self, KernelTarget};
use crate::driver::Failure;
use crate::vm::Testbed;

/// The search roots: `$RSTAP_DBG_ROOT`, then the testbed cache's root for
/// this release.
pub fn roots(release: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::env::var("RSTAP_DBG_ROOT")
        .ok()
        .map(|v| v.split(':').filter(|s| !s.is_empty()).map(PathBuf::from).collect())
        .unwrap_or_default();
    if let Ok(cache) = crate::vm::setup::cache_dir(&Default::default()) {
        out.push(crate::vm::dbg::dbg_root(&cache, release));
    }
    out
}

/// The kernel's debuginfo file, or why there is none.
pub fn open_kernel(release: &str, testbed: Option<&Testbed>, verbose: bool) -> Result<DebugFile, String> {
    let target = match testbed {
        Some(tb) => KernelTarget::from_image(release, &tb.vmlinuz).unwrap_or_else(|_| KernelTarget::for_release(release)),
        None => KernelTarget::for_release(release),
    };
    let found = match find::find_kernel_debuginfo(&target, &roots(release)) {
        Ok(f) => f,
        Err(e) => {
            let Some(tb) = testbed else {
                let hint = if testbed.is_some() { "" } else { "; or set RSTAP_DBG_ROOT to a directory where it is extracted" };
                return Err(format!("{e}{hint}"));
            };
            crate::vm::dbg::fetch(&tb.cache, release, verbose)?;
            find::find_kernel_debuginfo(&target, &roots(release)).map_err(|e| e.to_string())?
        }
    };
    if verbose {
        eprintln!("debuginfo: {}{}", found.path.display(), if found.verified { " (build id verified)" } else { "" });
    }
    DebugFile::open(&found.path).map_err(|e| e.to_string())
}

/// The kernel's BTF and trace events, from its image (the testbed's, or
/// `/boot/vmlinuz-RELEASE`), or why there are none.
pub fn open_btf(release: &str, testbed: Option<&Testbed>, verbose: bool) -> Result<crate::debuginfo::btf::BtfDebugInfo, String> {
    use crate::debuginfo::trace_events;
    let image = trace_events::image_path(release, testbed.map(|t| t.vmlinuz.as_path()))
        .ok_or_else(|| format!("no kernel image for {release} (looked for /boot/vmlinuz-{release} and the testbed's)"))?;
    trace_events::load(release, &image, verbose)
}

/// Opens (and relocates) module debuginfo files, on every CPU: a glob
/// such as `module("*")` names a thousand of them. Keeps the order.
fn open_all(paths: Vec<(String, Result<PathBuf, String>)>) -> Vec<(String, Result<DebugFile, String>)> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(8);
    if paths.len() < 8 || threads < 2 {
        return paths
            .into_iter()
            .map(|(n, p)| (n, p.and_then(|p| DebugFile::open(&p).map_err(|e| e.to_string()))))
            .collect();
    }
    let chunk = paths.len().div_ceil(threads);
    let chunks: Vec<Vec<(String, Result<PathBuf, String>)>> = {
        let mut it = paths.into_iter().peekable();
        let mut v = Vec::new();
        while it.peek().is_some() {
            v.push(it.by_ref().take(chunk).collect());
        }
        v
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|c| {
                s.spawn(move || {
                    c.into_iter()
                        .map(|(n, p)| (n, p.and_then(|p| DebugFile::open(&p).map_err(|e| e.to_string()))))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// A module's name and its opened debuginfo file.
pub type ModuleFile = (String, DebugFile);

/// The debuginfo files of the modules `args` name: a path is opened as
/// is; a name (or glob) is looked up as SystemTap does (see
/// `find::find_module_debuginfo`). Returns `(module name, file)` pairs and
/// `(arg, why)` for the arguments that found none.
pub fn open_modules(release: &str, args: &[String], verbose: bool) -> (Vec<ModuleFile>, Vec<(String, String)>) {
    let target = KernelTarget::for_release(release);
    let roots = roots(release);
    let mut files: Vec<ModuleFile> = Vec::new();
    let mut missing = Vec::new();
    for arg in args {
        let paths: Vec<(String, Result<PathBuf, String>)> = if arg.contains('/') {
            vec![(crate::probes::dwarf::module_name(arg), Ok(PathBuf::from(arg)))]
        } else if crate::debuginfo::pattern::has_glob(arg) {
            find::find_modules_matching(&target, arg, &roots)
                .into_iter()
                .map(|(n, r)| (n, r.map(|f| f.path).map_err(|e| e.to_string())))
                .collect()
        } else {
            let p = find::find_module_debuginfo(&target, arg, &roots).map(|f| f.path).map_err(|e| e.to_string());
            vec![(crate::probes::dwarf::module_name(arg), p)]
        };
        if paths.is_empty() {
            missing.push((arg.clone(), format!("no module matching \"{arg}\" has debuginfo for {release}")));
        }
        let paths: Vec<_> = paths.into_iter().filter(|(name, _)| !files.iter().any(|(n, _)| n == name)).collect();
        for (name, opened) in open_all(paths) {
            match opened {
                Ok(f) => {
                    if verbose {
                        eprintln!("debuginfo: module {name}: {}", f.path());
                    }
                    files.push((name, f));
                }
                Err(e) => missing.push((arg.clone(), e)),
            }
        }
    }
    (files, missing)
}

/// DWARF over an opened file, with the function index cached on disk.
pub fn dwarf(file: &DebugFile) -> Result<DwarfDebugInfo<'_>, String> {
    let di = DwarfDebugInfo::new(file).map_err(|e| e.to_string())?;
    Ok(match find::default_index_cache_dir() {
        Some(dir) => di.with_index_cache(&dir),
        None => di,
    })
}

/// `stap -l` / `-L`: prints the probe points `point` expands to (for
/// `kernel.function("PATTERN")`: SystemTap's `name@file:line` form, with
/// ` $var:type` for -L).
#[allow(clippy::too_many_arguments)]
pub fn list(
    point: &str,
    with_vars: bool,
    dwarf: &crate::elaborate::target::Dwarf<'_>,
    eopts: &crate::elaborate::ElabOptions,
    user: &[crate::syntax::ast::File],
    tapsets: &[crate::syntax::ast::File],
    symbols: &dyn crate::probes::KernelSymbols,
    sources: &crate::diag::SourceMap,
    diags: &mut crate::diag::Diagnostics,
) -> Result<(), Failure> {
    let fail = |message: String| Failure::Message { pass: 2, message };
    let kernel_fn = point
        .strip_prefix("kernel.function(\"")
        .and_then(|r| r.strip_suffix("\")"))
        .filter(|p| !p.contains('"'));
    let mut lines = Vec::new();
    if let Some(pattern) = kernel_fn {
        let Some(di) = dwarf.debuginfo else {
            return Err(fail(dwarf.missing.clone()));
        };
        lines = crate::debuginfo::listing::list_functions(di, "kernel", pattern, with_vars).map_err(|e| fail(e.to_string()))?;
    } else if let Some(found) = user.first().map(|u| trace_points(u, dwarf, with_vars)).transpose().map_err(fail)?.flatten() {
        lines = found;
    } else if let Some(found) = user.first().map(|u| dwarf_points(u, dwarf, with_vars)).transpose().map_err(fail)?.flatten() {
        lines = found;
    } else if let Some(found) = user.first().and_then(|u| crate::probes::syscall::list_aliases(u, with_vars, eopts, tapsets, symbols, dwarf, sources)) {
        lines = found;
    } else {
        let prog = crate::elaborate::elaborate_with(eopts, user, tapsets, symbols, dwarf, sources, diags);
        let Some(prog) = prog else {
            return Err(Failure::Reported { pass: 2 });
        };
        for p in &prog.probes {
            lines.push(p.pp.clone());
        }
        lines.sort();
        lines.dedup();
    }
    crate::stdout::print_lines(lines);
    Ok(())
}

/// `-l`/`-L` of `kernel.trace(...)` points (see `probes::tracepoint`).
fn trace_points(user: &crate::syntax::ast::File, dwarf: &crate::elaborate::target::Dwarf<'_>, with_vars: bool) -> Result<Option<Vec<String>>, String> {
    let Some(crate::syntax::ast::Item::Probe(probe)) = user.items.first() else { return Ok(None) };
    let Some(point) = probe.points.first() else { return Ok(None) };
    crate::probes::tracepoint::list(point, dwarf, with_vars).map_err(|e| e.message)
}

/// `-l`/`-L` of DWARF points other than a plain `kernel.function`
/// (`module(...)`, `.statement`, `.return`): each derived probe's point,
/// with `-L` the variables there (`$return` first in `.return` probes,
/// then the parameters saved at entry). `Ok(None)` when the point is not a
/// DWARF point.
fn dwarf_points(
    user: &crate::syntax::ast::File,
    dwarf: &crate::elaborate::target::Dwarf<'_>,
    with_vars: bool,
) -> Result<Option<Vec<String>>, String> {
    use crate::debuginfo::{types, VarKind};
    let Some(crate::syntax::ast::Item::Probe(probe)) = user.items.first() else { return Ok(None) };
    let Some(point) = probe.points.first() else { return Ok(None) };
    if crate::probes::watch::is_watch_point(point) {
        return Ok(None);
    }
    let Some(res) = crate::probes::dwarf::resolve(point, dwarf).map_err(|e| e.message)? else { return Ok(None) };
    let mut lines = Vec::new();
    for p in res.probes {
        let mut line = p.pp.clone();
        let di = dwarf.for_module(p.site.module.as_deref());
        if let (true, Some(di)) = (with_vars, di) {
            if p.site.ret {
                if let Some(t) = p.site.return_type {
                    line.push_str(&format!(" $return:{}", types::type_name(di, t)));
                }
            }
            for v in di.variables(p.site.die, p.site.pc).map_err(|e| e.to_string())? {
                if p.site.ret && v.kind != VarKind::Param {
                    continue;
                }
                line.push_str(&format!(" ${}:{}", v.name, v.type_name));
            }
        }
        lines.push(line);
    }
    lines.sort();
    lines.dedup();
    Ok(Some(lines))
}
