//! `kernel.trace("SUBSYS:EVENT")`: probes on the kernel's static
//! tracepoints, with the tracepoint's arguments as `$name` target variables.
//!
//! Input: the point and the kernel's BTF or DWARF ([`Dwarf`], BTF
//! preferred). A tracepoint `EVENT` exists when vmlinux has its iterator
//! function `__traceiter_EVENT(void *__data, ARGS...)`: that function's
//! parameters after `__data` are exactly the tracepoint's arguments, with
//! their names and types. Its subsystem is, with BTF, the `system` of its
//! trace event in the kernel image (`debuginfo::trace_events`), with DWARF
//! the trace header the iterator is declared in
//! (`include/trace/events/sched.h` is `sched`). No query module is
//! compiled: the lookup is a table scan (BTF) or one indexed DWARF search.
//! Output: one [`TracepointProbe`] per matching tracepoint: a
//! `ProbeKind::Tracepoint` and the [`DwarfSite`] of the iterator's entry.
//! The generated callback has the iterator's signature, so at its entry
//! the arguments are where the iterator's DWARF says they are at its entry
//! (`__data` in rdi, then rsi, rdx, ...); the callback hands the probe a
//! `struct pt_regs` holding them (BTF sites say so through
//! `debuginfo::btf::param_location`).
//!
//! Modules' tracepoints (`kvm_exit` of kvm.ko): only when vmlinux has no
//! tracepoint a pattern matches (so vmlinux patterns cost what they did),
//! the release's module index (`debuginfo::module_tracepoints`) is
//! searched by event; the matching modules are opened (their DWARF, else
//! their split BTF) for the iterator's arguments, and their system comes
//! from the module's trace events. Such a probe's `ProbeKind` names its
//! module (armed when the module comes) and its site's module is the
//! module, so `$vcpu->run` reads the module's types. pp() is the same
//! `kernel.trace("SYSTEM:EVENT")` as for vmlinux. Invariants: no IO beyond
//! the trait and the module index; a pattern that matches nothing is an
//! error naming the release and close matches (modules' too).

use super::dwarf::{Dwarf, DwarfSite};
use super::{string_arg, ProbeError};
use crate::debuginfo::btf::{BtfDebugInfo, BTF_SCOPE};
use crate::debuginfo::module_tracepoints::ModuleTracepoints;
use crate::debuginfo::{DebugInfo, DieRef, FunctionPattern, VarKind, Variable};
use crate::glob::glob_bytes;
use crate::ir::ProbeKind;
use crate::syntax::ast::ProbePoint;

/// The prefix of a tracepoint's iterator function.
const ITER: &str = crate::debuginfo::module_tracepoints::ITER;

/// One derived probe of a `kernel.trace` point.
#[derive(Debug, Clone)]
pub struct TracepointProbe {
    pub kind: ProbeKind,
    pub pp: String,
    pub site: DwarfSite,
}

/// A tracepoint of the kernel: subsystem, event, and where its arguments
/// are described: the iterator's DWARF DIE and entry pc, or (`btf`) its
/// BTF function record.
#[derive(Debug, Clone)]
pub struct Tracepoint {
    pub system: String,
    pub event: String,
    pub die: DieRef,
    pub pc: u64,
    pub btf: bool,
}

/// The subsystem (TRACE_SYSTEM) of a trace header: its file stem, except
/// for the few kernel headers whose TRACE_SYSTEM differs from their name.
pub fn subsystem_of(decl_file: &str) -> String {
    // DWARF spells some paths `fs/iomap/./trace.h` or `drivers/x//trace.h`.
    let mut parts = decl_file.rsplit('/').filter(|c| !c.is_empty() && *c != ".");
    let file = parts.next().unwrap_or(decl_file);
    let stem = file.strip_suffix(".h").unwrap_or(file);
    let stem = match stem {
        "syscalls" => "raw_syscalls",
        "power_cpu_migrate" => "power",
        "vsock_virtio_transport_common" => "vsock",
        s => s,
    };
    if stem == "trace" {
        // drivers/foo/trace.h: the directory names the subsystem.
        if let Some(dir) = parts.next() {
            return dir.to_string();
        }
    }
    let stem = stem.strip_suffix("_trace").or_else(|| stem.strip_prefix("trace_")).unwrap_or(stem);
    stem.to_string()
}

/// Where the tracepoints and their argument types come from.
#[derive(Clone, Copy)]
pub enum Source<'a> {
    /// The kernel's BTF and the trace events of its image (preferred:
    /// small, and there even without DWARF).
    Btf(&'a BtfDebugInfo),
    /// The iterators' DWARF (`__traceiter_EVENT` and its declaring header).
    Dwarf(&'a dyn DebugInfo),
}

impl<'a> Source<'a> {
    /// The source `dwarf` offers, or the error naming what is missing.
    pub fn of(dwarf: &Dwarf<'a>) -> Result<Source<'a>, String> {
        if let Some(b) = dwarf.btf {
            return Ok(Source::Btf(b));
        }
        if let Some(di) = dwarf.debuginfo {
            return Ok(Source::Dwarf(di));
        }
        let mut why = String::from("kernel.trace learns the tracepoints and their arguments from the kernel's BTF or DWARF, and this kernel has neither");
        for m in [&dwarf.btf_missing, &dwarf.missing] {
            if !m.is_empty() {
                why.push_str(&format!("; {m}"));
            }
        }
        Err(why)
    }

    fn debuginfo(self) -> &'a dyn DebugInfo {
        match self {
            Source::Btf(b) => b,
            Source::Dwarf(d) => d,
        }
    }
}

/// Every tracepoint whose event name matches `event` (a glob), sorted by
/// subsystem and event.
pub fn tracepoints(src: Source<'_>, event: &str) -> Result<Vec<Tracepoint>, String> {
    let mut out: Vec<Tracepoint> = match src {
        Source::Btf(btf) => btf
            .events()
            .iter()
            .filter(|(_, e)| glob_bytes(event.as_bytes(), e.as_bytes()))
            .filter_map(|(s, e)| {
                let f = btf.func(&format!("{ITER}{e}"))?;
                Some(Tracepoint { system: s.clone(), event: e.clone(), die: f as DieRef, pc: 0, btf: true })
            })
            .collect(),
        Source::Dwarf(di) => {
            let pat = FunctionPattern::parse(&format!("{ITER}{event}")).map_err(|e| e.to_string())?;
            di.functions(&pat)
                .map_err(|e| e.to_string())?
                .into_iter()
                .filter_map(|f| {
                    let pc = f.entry_pc?;
                    let ev = f.name.strip_prefix(ITER)?.to_string();
                    let system = subsystem_of(f.decl_file.as_deref().unwrap_or(&f.cu_name));
                    Some(Tracepoint { system, event: ev, die: f.die, pc, btf: false })
                })
                .collect()
        }
    };
    out.sort_by(|a, b| (&a.system, &a.event).cmp(&(&b.system, &b.event)));
    out.dedup_by(|a, b| a.event == b.event);
    Ok(out)
}

/// The tracepoint's arguments: the iterator's parameters after `__data`.
pub fn arguments(di: &dyn DebugInfo, tp: &Tracepoint) -> Result<Vec<Variable>, String> {
    let vars = di.variables(tp.die, tp.pc).map_err(|e| e.to_string())?;
    Ok(vars.into_iter().filter(|v| v.kind == VarKind::Param && v.name != "__data").collect())
}

/// Splits `"SUBSYS:EVENT"` (either part a glob; no `:` means any
/// subsystem).
fn split_spec(spec: &str) -> (&str, &str) {
    match spec.split_once(':') {
        Some((s, e)) => (s, e),
        None => ("*", spec),
    }
}

/// Resolves `kernel.trace("...")`; `Ok(None)` for any other point.
pub fn resolve(point: &ProbePoint, dwarf: &Dwarf<'_>) -> Result<Option<Vec<TracepointProbe>>, ProbeError> {
    Ok(resolve_with(point, dwarf)?.map(|(_, p)| p))
}

fn resolve_with<'a>(point: &ProbePoint, dwarf: &Dwarf<'a>) -> Result<Option<(Source<'a>, Vec<TracepointProbe>)>, ProbeError> {
    let comps = &point.components;
    let (Some(first), Some(trace)) = (comps.first(), comps.get(1)) else { return Ok(None) };
    if first.name != "kernel" || first.arg.is_some() || trace.name != "trace" {
        return Ok(None);
    }
    let spec = string_arg(trace)?;
    if let Some(c) = comps.get(2) {
        return Err(ProbeError::new(c.span, format!("unexpected probe point component `{}`; kernel.trace(\"SUBSYS:EVENT\") takes none after it", c.name)));
    }
    let err = |m: String| ProbeError::new(trace.span, m);
    let src = Source::of(dwarf).map_err(err)?;
    let (system, event) = split_spec(spec);
    if event.is_empty() || system.is_empty() {
        return Err(err(format!("bad tracepoint \"{spec}\": expected \"SUBSYS:EVENT\" or \"EVENT\" (globs allowed)")));
    }
    let found: Vec<Tracepoint> = tracepoints(src, event)
        .map_err(err)?
        .into_iter()
        .filter(|t| glob_bytes(system.as_bytes(), t.system.as_bytes()))
        .collect();
    let mut out = Vec::new();
    for t in &found {
        let nargs = arguments(src.debuginfo(), t).map_err(err)?.len();
        out.push(probe_of(t, nargs, t.btf.then(|| BTF_SCOPE.to_string()), None));
    }
    // vmlinux first: the modules' index is read only when vmlinux has no
    // tracepoint the pattern matches.
    if found.is_empty() {
        if let Some(mt) = dwarf.module_tracepoints {
            for (module, t, di) in module_tracepoints(mt, system, event).map_err(err)? {
                let nargs = arguments(di, &t).map_err(err)?.len();
                out.push(probe_of(&t, nargs, Some(module.clone()), Some(module)));
            }
        }
    }
    if out.is_empty() {
        let all = tracepoints(src, "*").map_err(err)?;
        let names: Vec<String> = all.iter().map(|t| format!("{}:{}", t.system, t.event)).collect();
        let whole = spec.contains(':');
        let want = if whole { spec.to_string() } else { format!("*:{spec}") };
        let mut close = close_matches(&want, &names, whole);
        // Module events compete by event name (their systems are known
        // only once a module is opened), shown as `EVENT (module M)`.
        if let Some(mt) = dwarf.module_tracepoints {
            let mods: Vec<String> = mt.all().into_iter().map(|(m, e)| format!("{m}:{e}")).collect();
            let near = close_matches(&format!("*:{event}"), &mods, false);
            let room = 5usize.saturating_sub(close.len());
            close.extend(near.into_iter().take(room).filter_map(|c| c.split_once(':').map(|(m, e)| format!("{e} (module {m})"))));
        }
        let kernel = if dwarf.release.is_empty() { "this kernel".to_string() } else { format!("kernel {}", dwarf.release) };
        let mut msg = format!("no tracepoint of {kernel} matches \"{spec}\"");
        if !close.is_empty() {
            msg.push_str(&format!(" (close matches: {})", close.join(", ")));
        }
        return Err(err(msg));
    }
    Ok(Some((src, out)))
}

fn probe_of(t: &Tracepoint, nargs: usize, site_module: Option<String>, module: Option<String>) -> TracepointProbe {
    TracepointProbe {
        kind: ProbeKind::Tracepoint { name: t.event.clone(), args: nargs, module },
        pp: format!("kernel.trace(\"{}:{}\")", t.system, t.event),
        site: DwarfSite {
            function: t.event.clone(),
            module: site_module,
            die: t.die,
            pc: t.pc,
            at_entry: true,
            ret: false,
            return_type: None,
        },
    }
}

/// The tracepoints of the release's modules matching `system:event`:
/// `(module, tracepoint, the module's debuginfo)`, sorted by system and
/// event. A matching module whose debuginfo cannot be opened is an error
/// naming it.
fn module_tracepoints(
    mt: &ModuleTracepoints,
    system: &str,
    event: &str,
) -> Result<Vec<(String, Tracepoint, &'static dyn DebugInfo)>, String> {
    let mut out = Vec::new();
    // No module tree (a host without /lib/modules/RELEASE) means no
    // module tracepoints, not an error.
    for (module, ev) in mt.matching(event).unwrap_or_default() {
        let m = mt.module(&module)?;
        let iter = format!("{ITER}{ev}");
        let (die, pc, decl) = match m.btf {
            Some(btf) => match btf.func(&iter) {
                Some(f) => (f as DieRef, 0, None),
                None => continue,
            },
            None => {
                let pat = FunctionPattern::parse(&iter).map_err(|e| e.to_string())?;
                let fs = m.debuginfo.functions(&pat).map_err(|e| format!("module {module}: {e}"))?;
                let Some((f, pc)) = fs.iter().find_map(|f| Some((f, f.entry_pc?))) else { continue };
                (f.die, pc, Some(f.decl_file.clone().unwrap_or_else(|| f.cu_name.clone())))
            }
        };
        let sys = m.systems.get(&ev).cloned().or_else(|| decl.map(|d| subsystem_of(&d))).unwrap_or_else(|| module.clone());
        if !glob_bytes(system.as_bytes(), sys.as_bytes()) {
            continue;
        }
        out.push((module, Tracepoint { system: sys, event: ev, die, pc, btf: m.btf.is_some() }, m.debuginfo));
    }
    out.sort_by(|a, b| (&a.1.system, &a.1.event).cmp(&(&b.1.system, &b.1.event)));
    out.dedup_by(|a, b| a.1.event == b.1.event);
    Ok(out)
}

/// `stap -l` / `-L` of a `kernel.trace` point: `kernel.trace("S:E")`, with
/// ` $name:type` per argument for `-L`. `Ok(None)` for other points.
pub fn list(point: &ProbePoint, dwarf: &Dwarf<'_>, with_vars: bool) -> Result<Option<Vec<String>>, ProbeError> {
    let Some((src, probes)) = resolve_with(point, dwarf)? else { return Ok(None) };
    let mut lines = Vec::new();
    for p in probes {
        let mut line = p.pp.clone();
        if with_vars {
            let di = match &p.kind {
                ProbeKind::Tracepoint { module: Some(_), .. } => dwarf.for_module(p.site.module.as_deref()).unwrap_or(src.debuginfo()),
                _ => src.debuginfo(),
            };
            let vars = di.variables(p.site.die, p.site.pc).map_err(|e| ProbeError::new(point.span, e.to_string()))?;
            for v in vars.iter().filter(|v| v.kind == VarKind::Param && v.name != "__data") {
                line.push_str(&format!(" ${}:{}", v.name, v.type_name));
            }
        }
        lines.push(line);
    }
    Ok(Some(lines))
}

/// Levenshtein distance between two names.
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb { prev } else { 1 + prev.min(cur).min(row[j]) };
            prev = cur;
        }
    }
    row[b.len()]
}

/// Up to five of `names` closest to `want` (at most a third of its length
/// away); with `whole` false only the part after `:` is compared.
pub fn close_matches(want: &str, names: &[String], whole: bool) -> Vec<String> {
    let key = |s: &str| -> String {
        if whole {
            s.to_string()
        } else {
            s.split_once(':').map(|(_, e)| e.to_string()).unwrap_or_else(|| s.to_string())
        }
    };
    let w = key(want);
    let limit = (w.len() / 3).max(2);
    let mut scored: Vec<(usize, &String)> = names
        .iter()
        .map(|n| (distance(&w, &key(n)), n))
        .filter(|(d, _)| *d <= limit)
        .collect();
    scored.sort();
    scored.dedup();
    scored.into_iter().take(5).map(|(_, n)| n.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsystems_come_from_the_trace_header() {
        assert_eq!(subsystem_of("include/trace/events/sched.h"), "sched");
        assert_eq!(subsystem_of("include/trace/events/syscalls.h"), "raw_syscalls");
        assert_eq!(subsystem_of("fs/xfs/xfs_trace.h"), "xfs");
        assert_eq!(subsystem_of("drivers/gpu/drm/i915/trace.h"), "i915");
        assert_eq!(subsystem_of("fs/iomap/./trace.h"), "iomap");
        assert_eq!(subsystem_of("include/trace/../../drivers/iommu/intel//trace.h"), "intel");
    }

    #[test]
    fn close_matches_are_ranked_by_distance() {
        let names: Vec<String> = ["sched:sched_switch", "sched:sched_wakeup", "irq:irq_handler_entry"].iter().map(|s| s.to_string()).collect();
        assert_eq!(close_matches("sched:sched_swich", &names, true), vec!["sched:sched_switch".to_string()]);
        assert_eq!(close_matches("*:sched_wakup", &names, false), vec!["sched:sched_wakeup".to_string()]);
        assert!(close_matches("nothing_like_it", &names, true).is_empty());
    }
}
