//! Pass 3 for the hook families (`probes::hooks`): `timer.profile`,
//! netfilter hooks, procfs files, perf events and watchpoints (`watch`).
//!
//! Input: the derived probes of kind `ProbeKind::Hook` (probe index, hook,
//! pp) and the module name. Output: the rendered C of each family in use
//! and the names of its register/start/stop functions, added to the
//! module's lists. Invariants: one template per family (in
//! `templates/probes/`); strings reach the C only through `cstr`.

use serde::Serialize;
use tera::Context;

use super::templates::render;
use crate::probes::hooks::Hook;

/// The templates of the hook families, added to the module's set.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("watch.c", include_str!("../../../templates/probes/watch.c.tera")),
    ("profile.c", include_str!("../../../templates/probes/profile.c.tera")),
    ("netfilter.c", include_str!("../../../templates/probes/netfilter.c.tera")),
    ("procfs.c", include_str!("../../../templates/probes/procfs.c.tera")),
    ("perf.c", include_str!("../../../templates/probes/perf.c.tera")),
];

/// One perf probe: its event's `perf_event_attr` numbers.
#[derive(Serialize)]
struct PerfCtx<'a> {
    index: usize,
    probe: usize,
    pp: &'a str,
    type_id: u32,
    config: u64,
    period: u64,
    freq: bool,
}

/// One procfs file: its read and write probes.
#[derive(Serialize)]
struct ProcfsFileCtx {
    index: usize,
    path: String,
    /// The octal permission, as C.
    mode: String,
    /// A C expression: maxsize (MAXSTRINGLEN by default) and the NUL.
    bufsize: String,
    /// Bytes per write probe hit: 1 for "__stdin" (input.char and
    /// input.line see one character at a time).
    chunk: &'static str,
    reads: Vec<usize>,
    writes: Vec<usize>,
}

fn procfs_files(probes: &[HookProbe<'_>]) -> (Vec<ProcfsFileCtx>, Vec<String>) {
    let mut files: Vec<ProcfsFileCtx> = Vec::new();
    let mut umasks: Vec<Option<i64>> = Vec::new();
    let mut sizes: Vec<Option<i64>> = Vec::new();
    for p in probes {
        let Hook::Procfs { path, write, maxsize, umask } = p.hook else { continue };
        let i = match files.iter().position(|f| &f.path == path) {
            Some(i) => i,
            None => {
                files.push(ProcfsFileCtx {
                    index: files.len(),
                    path: path.clone(),
                    mode: String::new(),
                    bufsize: String::new(),
                    chunk: if path == "__stdin" { "1" } else { "MAXSTRINGLEN - 1" },
                    reads: Vec::new(),
                    writes: Vec::new(),
                });
                umasks.push(None);
                sizes.push(None);
                files.len() - 1
            }
        };
        let f = &mut files[i];
        if *write {
            f.writes.push(p.probe);
        } else {
            f.reads.push(p.probe);
            if let Some(m) = maxsize {
                sizes[i] = Some(sizes[i].unwrap_or(0).max(*m));
            }
        }
        if umask.is_some() {
            umasks[i] = *umask;
        }
    }
    for (f, (umask, size)) in files.iter_mut().zip(umasks.into_iter().zip(sizes)) {
        f.bufsize = match size {
            Some(n) => format!("{n} + 1"),
            None => "MAXSTRINGLEN + 1".to_string(),
        };
        // 0400 for reading, 0200 for writing, 0600 for both; a umask
        // takes its bits from 0444 / 0222.
        let (r, w) = match umask {
            Some(u) => (0o444 & !u, 0o222 & !u),
            None => (0o400, 0o200),
        };
        let mode = if f.reads.is_empty() { 0 } else { r } | if f.writes.is_empty() { 0 } else { w };
        f.mode = format!("0{mode:o}");
    }
    let mut subdirs: Vec<String> = Vec::new();
    for f in &files {
        let parts: Vec<&str> = f.path.split('/').collect();
        for n in 1..parts.len() {
            let d = parts[..n].join("/");
            if !subdirs.contains(&d) {
                subdirs.push(d);
            }
        }
    }
    (files, subdirs)
}

#[derive(Serialize)]
struct NetfilterCtx<'a> {
    index: usize,
    probe: usize,
    pp: &'a str,
    pf: &'a str,
    hook: &'a str,
    priority: i64,
}

/// One hook probe as the code generator sees it.
pub struct HookProbe<'a> {
    pub probe: usize,
    pub hook: &'a Hook,
    pub pp: &'a str,
}

/// The lists of the module template that the hook families add to.
pub struct ModuleLists<'m> {
    pub families: &'m mut Vec<String>,
    pub registers: &'m mut Vec<&'static str>,
    pub starts: &'m mut Vec<&'static str>,
    pub unregisters: &'m mut Vec<&'static str>,
}

/// Renders every hook family the probes use and adds its functions.
pub fn add(probes: &[HookProbe<'_>], module_name: &str, lists: ModuleLists<'_>) -> Result<(), String> {
    let profiles: Vec<usize> = probes.iter().filter(|p| matches!(p.hook, Hook::Profile)).map(|p| p.probe).collect();
    if !profiles.is_empty() {
        let mut ctx = Context::new();
        ctx.insert("probes", &profiles);
        lists.families.push(render("profile.c", &ctx)?);
        lists.starts.push("rstap_profile_start");
        // Like the interval timers: stopped before anything else.
        lists.unregisters.insert(0, "rstap_profile_stop");
    }
    let netfilter: Vec<NetfilterCtx> = probes
        .iter()
        .filter_map(|p| match p.hook {
            Hook::Netfilter { pf, hook, priority } => Some((p, pf, hook, *priority)),
            _ => None,
        })
        .enumerate()
        .map(|(index, (p, pf, hook, priority))| NetfilterCtx { index, probe: p.probe, pp: p.pp, pf, hook, priority })
        .collect();
    if !netfilter.is_empty() {
        let mut ctx = Context::new();
        ctx.insert("hooks", &netfilter);
        lists.families.push(render("netfilter.c", &ctx)?);
        lists.registers.push("rstap_netfilter_register");
        lists.unregisters.push("rstap_netfilter_unregister");
    }
    let perf: Vec<PerfCtx> = probes
        .iter()
        .filter_map(|p| match *p.hook {
            Hook::Perf { type_id, config, period, freq } => Some((p, type_id, config, period, freq)),
            _ => None,
        })
        .enumerate()
        .map(|(index, (p, type_id, config, period, freq))| PerfCtx { index, probe: p.probe, pp: p.pp, type_id, config, period, freq })
        .collect();
    if !perf.is_empty() {
        let mut ctx = Context::new();
        ctx.insert("events", &perf);
        lists.families.push(render("perf.c", &ctx)?);
        lists.registers.push("rstap_perf_register");
        // Like the timers: no hit may come into a stopping session.
        lists.unregisters.insert(0, "rstap_perf_unregister");
    }
    let (files, subdirs) = procfs_files(probes);
    if !files.is_empty() {
        let mut ctx = Context::new();
        ctx.insert("module_name", module_name);
        ctx.insert("files", &files);
        ctx.insert("subdirs", &subdirs);
        lists.families.push(render("procfs.c", &ctx)?);
        lists.registers.push("rstap_procfs_register");
        lists.unregisters.push("rstap_procfs_unregister");
    }
    if let Some(c) = super::watch::render_watches(probes)? {
        lists.families.push(c);
        lists.registers.push("rstap_watch_register");
        lists.unregisters.push("rstap_watch_unregister");
    }
    Ok(())
}
