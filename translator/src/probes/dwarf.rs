//! `kernel.function("PATTERN")`, `kernel.statement("PATTERN")`, their
//! `module("NAME")` forms, `.call`, `.return` and `.label("LPATTERN")`:
//! probes placed from DWARF debuginfo.
//!
//! Input: the point and the debuginfo of the kernel and of the modules the
//! script names ([`Dwarf`]). Output: one [`DwarfProbe`] per matching
//! out-of-line function (or statement address): a kprobe at
//! `symbol + offset` (from `DebugInfo::symbol_at` of the probe pc) plus the
//! [`DwarfSite`] pass 2 needs to resolve target variables there. A module's
//! kprobe symbol is `module:symbol`, which the kernel resolves when the
//! module is loaded. Invariants: no IO beyond the trait; a pattern that
//! matches nothing, or missing debuginfo, is an error with the span of the
//! offending component; inline-only instances and functions in sections
//! the kernel cannot probe are skipped (and counted in `notes`). A label
//! probe is placed at the address of each C label matching LPATTERN in
//! every copy (out-of-line, clone, inlined) of the matching functions; it
//! takes no other suffix.

use super::{maxactive_arg, string_arg, ProbeError};
use crate::debuginfo::pattern::LineSpec;
use crate::debuginfo::{DebugInfo, DieRef, FunctionInfo, FunctionPattern, PrologueMode, TypeId};
use crate::ir::ProbeKind;
use crate::syntax::ast::ProbePoint;

/// The debuginfo pass 2 resolves DWARF points and target variables with.
#[derive(Default)]
pub struct Dwarf<'a> {
    /// The kernel's (vmlinux) debuginfo.
    pub debuginfo: Option<&'a dyn DebugInfo>,
    /// Why `debuginfo` is `None`: the error `kernel.function` reports.
    pub missing: String,
    /// Modules the script names, by module name (`-` spelled `_`).
    pub modules: Vec<(String, &'a dyn DebugInfo)>,
    /// `module("PATTERN")` arguments that found no debuginfo, and why.
    pub modules_missing: Vec<(String, String)>,
    /// The kernel's BTF and trace events (`kernel.trace`; the kernel's
    /// types when `debuginfo` is `None`), or why there is none.
    pub btf: Option<&'a crate::debuginfo::btf::BtfDebugInfo>,
    pub btf_missing: String,
    /// The kernel release (errors name it).
    pub release: String,
    /// The tracepoints of the release's modules (`kernel.trace` points
    /// vmlinux does not have), read on first use.
    pub module_tracepoints: Option<&'a crate::debuginfo::module_tracepoints::ModuleTracepoints>,
}

impl<'a> Dwarf<'a> {
    /// The debuginfo of a site: its module's, else the kernel's.
    pub fn for_module(&self, module: Option<&str>) -> Option<&'a dyn DebugInfo> {
        let btf = self.btf.map(|b| b as &'a dyn DebugInfo);
        match module {
            None => self.debuginfo.or(btf),
            Some(crate::debuginfo::btf::BTF_SCOPE) => btf,
            // Else the module's own file, opened on demand: its DWARF, or
            // its split BTF over the kernel's (`@cast(p, "T", "kvm")` on 6.12).
            Some(m) => self.modules.iter().find(|(n, _)| n == m).map(|(_, d)| *d).or_else(|| Some(self.module_tracepoints?.module(m).ok()?.debuginfo)),
        }
    }
}

/// The module name of a `module("...")` argument: a path's file stem, with
/// `-` spelled `_` as the kernel does.
pub fn module_name(arg: &str) -> String {
    let base = arg.rsplit('/').next().unwrap_or(arg);
    let base = base.strip_suffix(".ko").unwrap_or(base);
    base.replace('-', "_")
}

/// The module named by the module argument of `@cast(p, "T", ARG)` or
/// `@var("x", ARG)` (`"MODULE[<header.h>]"`, a name or a path), as
/// written; `None` when it names the kernel (`kernel`, `kernel<...>`).
pub fn module_arg(arg: &str) -> Option<&str> {
    let name = arg.split('<').next().unwrap_or("").trim();
    (!name.is_empty() && name != "kernel").then_some(name)
}

/// Where a DWARF probe fires, for target-variable resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DwarfSite {
    /// The function's name (`probefunc()`).
    pub function: String,
    /// The module holding the function; `None` for the kernel itself.
    pub module: Option<String>,
    /// The scope DIE to ask `DebugInfo::variables` about.
    pub die: DieRef,
    /// The probe address (link-time).
    pub pc: u64,
    /// The probe is at the function's first instruction (entry values and
    /// parameters in their entry registers are valid).
    pub at_entry: bool,
    /// A `.return` probe: `$return` is the return value register, and
    /// other target variables are read from the registers saved at entry
    /// (`pc` is then the entry pc).
    pub ret: bool,
    pub return_type: Option<TypeId>,
}

/// One derived probe of a `kernel.function` point.
#[derive(Debug, Clone)]
pub struct DwarfProbe {
    pub kind: ProbeKind,
    pub pp: String,
    pub site: DwarfSite,
}

/// The result of resolving one point.
#[derive(Debug, Clone, Default)]
pub struct DwarfResolved {
    pub probes: Vec<DwarfProbe>,
    /// Things skipped, for a note on errors or with -v.
    pub notes: Vec<String>,
    /// Matches skipped because probes may not touch them (blacklist,
    /// no-probe sections).
    pub refused: usize,
}

/// Sections whose code is gone or cannot be probed at run time.
fn unprobeable_section(name: &str) -> bool {
    name.starts_with(".init.")
        || name.starts_with(".exit.")
        || name == ".noinstr.text"
        || name == ".entry.text"
        || name == ".kprobes.text"
        || name.starts_with(".cpuidle.text")
}

/// Functions the kernel refuses to kprobe or that would recurse into the
/// probe handler.
fn blacklisted(name: &str) -> bool {
    const DENY: &[&str] = &[
        "do_int3", "do_debug", "notify_die", "kprobe_", "arch_", "preempt_count_",
        "__x86_indirect_thunk", "__x86_return_thunk", "native_", "rcu_", "lockdep_",
        "trace_hardirqs", "copy_from_kernel_nofault", "__fentry__", "ftrace_",
    ];
    DENY.iter().any(|d| name.starts_with(d))
}

/// Resolves `kernel.*` and `module("NAME").*` DWARF points; `Ok(None)`
/// when the point is of another family.
pub fn resolve(point: &ProbePoint, dwarf: &Dwarf<'_>) -> Result<Option<DwarfResolved>, ProbeError> {
    let comps = &point.components;
    let Some(first) = comps.first() else { return Ok(None) };
    let targets: Vec<(Option<String>, Option<&dyn DebugInfo>)> = match first.name.as_str() {
        "kernel" if first.arg.is_none() => vec![(None, dwarf.debuginfo)],
        "module" => {
            let arg = string_arg(first)?;
            let want = module_name(arg);
            let found: Vec<_> = dwarf
                .modules
                .iter()
                .filter(|(n, _)| crate::glob::glob_bytes(want.as_bytes(), n.as_bytes()))
                .map(|(n, d)| (Some(n.clone()), Some(*d)))
                .collect();
            if found.is_empty() {
                let why = dwarf
                    .modules_missing
                    .iter()
                    .find(|(p, _)| p == arg)
                    .map(|(_, w)| w.clone())
                    .unwrap_or_else(|| format!("no debuginfo found for module \"{arg}\""));
                return Err(ProbeError::new(first.span, why));
            }
            found
        }
        _ => return Ok(None),
    };
    let what = match comps.get(1) {
        Some(c) if c.name == "function" || c.name == "statement" => c,
        Some(c) => {
            return Err(ProbeError::new(
                c.span,
                format!("unsupported {} probe component `{}`; rstap supports .function(\"PATTERN\") and .statement(\"PATTERN\")", first.name, c.name),
            ))
        }
        None => return Err(ProbeError::new(first.span, format!("`{}` needs .function(\"PATTERN\") or .statement(\"PATTERN\")", first.name))),
    };
    let pattern_text = string_arg(what)?;
    let statement = what.name == "statement";
    let (mut ret, mut call, mut inline, mut exported) = (false, false, false, false);
    let mut label: Option<&str> = None;
    let mut suffix = String::new();
    let mut maxactive = 0;
    for c in &comps[2..] {
        let ok = c.arg.is_none() && !statement;
        if !statement && (c.name == "label" || label.is_some()) {
            let other = if label.is_some() {
                Some(c.name.as_str())
            } else {
                [(ret, "return"), (call, "call"), (inline, "inline"), (exported, "exported")].iter().find(|x| x.0).map(|x| x.1)
            };
            if let Some(other) = other {
                return Err(ProbeError::new(
                    c.span,
                    format!("`.{other}` cannot be combined with `.label`: a label probe fires at the label's address, in the function's body ({}.function(\"PATTERN\").label(\"LPATTERN\") takes no other suffix)", first.name),
                ));
            }
            label = Some(string_arg(c)?);
            continue;
        }
        match c.name.as_str() {
            "maxactive" if ret && maxactive == 0 => {
                maxactive = maxactive_arg(c)?;
                suffix.push_str(&format!(".maxactive({maxactive})"));
                continue;
            }
            "return" if ok && !ret && !inline => ret = true,
            "call" if ok && !call && !inline => call = true,
            "inline" if ok && !inline && !ret && !call && !exported => inline = true,
            "exported" if ok && !exported && !inline => exported = true,
            _ => {
                let may = if statement {
                    "kernel.statement takes no further components"
                } else {
                    "kernel.function may be followed by .call, .exported, .inline, .return[.maxactive(N)] (.inline not with the others) or .label(\"LPATTERN\")"
                };
                return Err(ProbeError::new(c.span, format!("unexpected probe point component `{}`; {may}", c.name)));
            }
        }
        suffix.push('.');
        suffix.push_str(&c.name);
    }
    // `.function` is every copy: out-of-line ones, and inlined ones of a
    // function that exists only inlined; `.call` and `.return` only
    // out-of-line ones; `.inline` only inlined ones.
    let which = match (inline, call || ret) {
        (true, _) => Copies::Inline,
        (false, true) => Copies::OutOfLine,
        (false, false) if exported => Copies::OutOfLine,
        (false, false) => Copies::Any,
    };
    let pat = FunctionPattern::parse(pattern_text).map_err(|e| ProbeError::new(what.span, e.to_string()))?;
    let mut out = DwarfResolved::default();
    // Functions that matched a label probe's PATTERN (its error says
    // whether the function or the label is missing).
    let mut label_funcs = 0;
    for (module, di) in targets {
        let Some(di) = di else {
            return Err(ProbeError::new(what.span, dwarf.missing.clone()));
        };
        let prefix = match &module {
            None => "kernel".to_string(),
            Some(m) => format!("module(\"{m}\")"),
        };
        let mut sites = if statement {
            statement_sites(di, &pat, &mut out.notes).map_err(|e| ProbeError::new(what.span, e))?
        } else if let Some(lpat) = label {
            let (sites, n) = label_sites(di, &pat, lpat, &mut out.notes).map_err(|e| ProbeError::new(what.span, e))?;
            label_funcs += n;
            sites
        } else {
            function_sites(di, &pat, ret, which, &mut out.notes).map_err(|e| ProbeError::new(what.span, e))?
        };
        if exported {
            sites.retain(|s| {
                let ok = di.is_exported(&s.func);
                if !ok {
                    out.notes.push(format!("{} is not exported", s.func));
                }
                ok
            });
        }
        let first = out.probes.len();
        place(di, module.as_deref(), &prefix, &what.name, &suffix, pat.is_wildcard(), ret, sites, &mut out);
        for p in &mut out.probes[first..] {
            if let ProbeKind::Kprobe { maxactive: m, .. } = &mut p.kind {
                *m = maxactive;
            }
        }
    }
    if out.probes.is_empty() {
        let place = match first.name.as_str() {
            "kernel" => "kernel".to_string(),
            _ => format!("module \"{}\"", string_arg(first).unwrap_or("")),
        };
        let mut msg = if statement {
            format!("no {place} statement matches \"{pattern_text}\" in the debuginfo")
        } else if let (Some(lpat), true) = (label, label_funcs > 0) {
            let span = comps.iter().find(|c| c.name == "label").map(|c| c.span).unwrap_or(what.span);
            let mut msg = format!("no label matches \"{lpat}\" in {place} function \"{pattern_text}\"");
            if let Some(n) = out.notes.first() {
                msg.push_str(&format!(" ({n})"));
            }
            return Err(ProbeError::new(span, msg));
        } else {
            format!("no {place} function matches \"{pattern_text}\" in the debuginfo")
        };
        if let Some(n) = out.notes.first() {
            msg.push_str(&format!(" ({n})"));
        }
        return Err(ProbeError::new(what.span, msg));
    }
    if pat.is_wildcard() && out.refused > 0 {
        let pp = format!("{}.{}(\"{pattern_text}\")", first.name, what.name);
        let example = out.notes.first().cloned().unwrap_or_default();
        super::blacklist::record_skips(&pp, out.probes.len() + out.refused, out.refused, &example);
    }
    Ok(Some(out))
}

/// One candidate probe address: the function, the pc, the scope DIE,
/// whether it is the function's first instruction, and the text of the
/// point (`name@file:line`).
struct Site {
    func: String,
    pc: u64,
    die: DieRef,
    at_entry: bool,
    spec: String,
    return_type: Option<TypeId>,
    /// The label of a `.label` probe (its pp ends in `.label("NAME")`).
    label: Option<String>,
}

/// Each out-of-line copy of the matching functions: the function itself,
/// then the compiler's clones (`f.isra.0`, `f.constprop.0`), which
/// SystemTap probes too.
fn function_sites(di: &dyn DebugInfo, pat: &FunctionPattern, ret: bool, which: Copies, notes: &mut Vec<String>) -> Result<Vec<Site>, String> {
    let funcs = di.functions(pat).map_err(|e| e.to_string())?;
    let mut sites = Vec::new();
    for f in funcs {
        let only_inlined = f.entry_pc.is_none() && f.clones.is_empty();
        if which == Copies::Inline || (which == Copies::Any && only_inlined) {
            inline_sites(di, &f, &mut sites, notes);
            continue;
        }
        if only_inlined {
            notes.push(format!("{} exists only inlined (probe it with .function or .inline)", f.name));
            continue;
        }
        // A .return probe is a kretprobe on the function's entry; its
        // parameters are read from the registers saved there.
        let mode = if ret { PrologueMode::Never } else { PrologueMode::Auto };
        let site = |pc: u64, die: DieRef, entry: u64| Site {
            func: f.name.clone(),
            pc,
            die,
            at_entry: pc == entry,
            spec: f.spec(),
            return_type: f.return_type,
            label: None,
        };
        if let Some(pc) = f.probe_pc(mode) {
            sites.push(site(pc, f.die, f.entry_pc.unwrap_or(pc)));
        }
        for c in &f.clones {
            let pc = if f.optimized || ret { c.entry_pc } else { c.prologue_end.unwrap_or(c.entry_pc) };
            sites.push(site(pc, c.die, c.entry_pc));
        }
    }
    Ok(sites)
}

/// The most lines a `statement("f@file:N-M")` range may span.
const MAX_LINE_RANGE: u32 = 2000;

/// Which copies of a function a `.function` point probes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Copies {
    Any,
    OutOfLine,
    Inline,
}

/// The inlined copies of `f`: a probe at each one's first address, inside
/// its caller (never inside a caller the kernel will not let kprobes
/// touch). Entry values are not valid there: `at_entry` is false.
fn inline_sites(di: &dyn DebugInfo, f: &FunctionInfo, sites: &mut Vec<Site>, notes: &mut Vec<String>) {
    if f.inline_instances.is_empty() {
        notes.push(format!("{} has no inlined copies", f.name));
    }
    for i in &f.inline_instances {
        if let Some((caller, _)) = di.symbol_at(i.entry_pc) {
            if blacklisted(&caller) {
                notes.push(format!("{} is inlined into {caller}, which kprobes may not touch", f.name));
                continue;
            }
        }
        sites.push(Site {
            func: f.name.clone(),
            pc: i.entry_pc,
            die: i.die,
            at_entry: false,
            spec: f.spec(),
            return_type: None,
            label: None,
        });
    }
}

/// `statement("func@file:LINE")`: the first address of each line-table
/// run for the line(s) inside the matching functions. The line may be
/// `N`, `N-M`, or `+N` (relative to the function's declaration).
fn statement_sites(di: &dyn DebugInfo, pat: &FunctionPattern, notes: &mut Vec<String>) -> Result<Vec<Site>, String> {
    let relative = matches!(pat.line, Some(LineSpec::Relative(_)));
    let lines = |decl: u32| -> Vec<u32> {
        match pat.line {
            Some(LineSpec::Exact(n)) => vec![n],
            Some(LineSpec::Range(a, b)) => (a..=b).collect(),
            Some(LineSpec::Relative(n)) => vec![decl.saturating_add(n)],
            _ => Vec::new(),
        }
    };
    if let Some(LineSpec::Range(a, b)) = pat.line {
        if b - a >= MAX_LINE_RANGE {
            return Err(format!("statement line range {a}-{b} is too large (at most {MAX_LINE_RANGE} lines)"));
        }
    }
    if matches!(pat.line, Some(LineSpec::Any)) {
        return every_line_sites(di, pat, notes);
    }
    if pat.line.is_none() {
        return Err(format!(
            "statement probe \"{}\" needs a line: use \"FUNCTION@FILE:LINE\" (or :N-M, :+N)",
            display_pattern(pat)
        ));
    }
    // Each (file, lines, function filter) to ask the line table about.
    let mut queries: Vec<(String, Vec<u32>, Option<FunctionInfo>)> = Vec::new();
    match (&pat.file, relative) {
        (Some(file), false) => queries.push((file.clone(), lines(0), None)),
        _ => {
            let no_line = FunctionPattern { line: None, ..pat.clone() };
            for f in di.functions(&no_line).map_err(|e| e.to_string())? {
                let Some(file) = f.decl_file.clone() else { continue };
                queries.push((file, lines(f.decl_line), Some(f)));
            }
        }
    }
    let mut sites = Vec::new();
    let mut tried = Vec::new();
    for (file, lines, func) in queries {
        for line in lines {
            for s in di.line_addresses(&file, line).map_err(|e| e.to_string())? {
                let Some((name, die)) = s.function.clone() else { continue };
                let ok = match &func {
                    Some(f) => f.name == name,
                    None => pat.matches_name(&name),
                };
                if ok {
                    sites.push(Site {
                        func: name.clone(),
                        pc: s.address,
                        die,
                        at_entry: func.as_ref().and_then(|f| f.entry_pc) == Some(s.address),
                        spec: format!("{name}@{}:{}", s.file, s.line),
                        return_type: None,
                        label: None,
                    });
                }
            }
            tried.push((file.clone(), line));
        }
    }
    if sites.is_empty() {
        if let Some((file, line)) = tried.first() {
            let mut near = Vec::new();
            for l in line.saturating_sub(5)..=line + 5 {
                let found = di.line_addresses(file, l).map_err(|e| e.to_string())?;
                if found.iter().any(|s| s.function.as_ref().is_some_and(|(n, _)| pat.matches_name(n))) {
                    near.push(l.to_string());
                }
            }
            let hint = if near.is_empty() { String::new() } else { format!("; lines with code nearby: {}", near.join(" ")) };
            notes.push(format!("no line records for {file}:{line} in a matching function{hint}"));
        }
    }
    Ok(sites)
}

/// `statement("func@file:*")`: the lowest address of each line of the
/// function's own file, from its declaration on, that has code in its
/// out-of-line body (lines of functions inlined into it are not its
/// lines), in line order. A function that exists
/// only inlined has no lines of its own to probe: a note says so.
fn every_line_sites(di: &dyn DebugInfo, pat: &FunctionPattern, notes: &mut Vec<String>) -> Result<Vec<Site>, String> {
    let no_line = FunctionPattern { line: None, ..pat.clone() };
    let mut sites = Vec::new();
    for f in di.functions(&no_line).map_err(|e| e.to_string())? {
        let Some(entry) = f.entry_pc else {
            notes.push(format!("{} exists only inlined: it has no lines of its own", f.name));
            continue;
        };
        let Some(fl) = di.function_lines(entry).map_err(|e| e.to_string())? else {
            notes.push(format!("no line records for {}", f.name));
            continue;
        };
        let own = |file: &str| match &f.decl_file {
            Some(d) => file == d || file.ends_with(&format!("/{d}")) || d.ends_with(&format!("/{file}")),
            None => true,
        };
        let mut seen = std::collections::HashSet::new();
        let mut rows: Vec<&(u64, String, u32)> = fl.rows.iter().collect();
        rows.sort_by_key(|r| (r.2, r.0));
        for (address, file, line) in rows {
            // Lines above the declaration are helpers inlined from the same file.
            if !own(file) || *line < f.decl_line || !seen.insert(*line) {
                continue;
            }
            sites.push(Site {
                func: f.name.clone(),
                pc: *address,
                die: f.die,
                at_entry: *address == entry,
                spec: format!("{}@{file}:{line}", f.name),
                return_type: None,
                label: None,
            });
        }
    }
    Ok(sites)
}

/// `.function("PATTERN").label("LPATTERN")`: the address of each label
/// matching LPATTERN in each copy of the matching functions (the
/// out-of-line one, the compiler's clones, and the inlined ones, as
/// SystemTap does), with the function's variables visible there. The
/// point names the label's declaration line (`func@file:LINE`). Returns
/// the sites and how many functions matched PATTERN; when those have no
/// matching label, a note lists the labels they do have.
fn label_sites(di: &dyn DebugInfo, pat: &FunctionPattern, lpat: &str, notes: &mut Vec<String>) -> Result<(Vec<Site>, usize), String> {
    let funcs = di.functions(pat).map_err(|e| e.to_string())?;
    let mut sites = Vec::new();
    let mut others: Vec<String> = Vec::new();
    for f in &funcs {
        let mut scopes: Vec<(DieRef, Option<u64>)> = Vec::new();
        if f.entry_pc.is_some() {
            scopes.push((f.die, f.entry_pc));
        }
        scopes.extend(f.clones.iter().map(|c| (c.die, Some(c.entry_pc))));
        for i in &f.inline_instances {
            if let Some((caller, _)) = di.symbol_at(i.entry_pc) {
                if blacklisted(&caller) {
                    notes.push(format!("{} is inlined into {caller}, which kprobes may not touch", f.name));
                    continue;
                }
            }
            scopes.push((i.die, None));
        }
        for (die, entry) in scopes {
            for l in di.labels(die).map_err(|e| e.to_string())? {
                if !crate::glob::glob_bytes(lpat.as_bytes(), l.name.as_bytes()) {
                    if !others.contains(&l.name) {
                        others.push(l.name.clone());
                    }
                    continue;
                }
                let file = l.decl_file.as_ref().or(f.decl_file.as_ref());
                let spec = match file {
                    Some(file) => format!("{}@{file}:{}", f.name, l.decl_line),
                    None => f.name.clone(),
                };
                sites.push(Site { func: f.name.clone(), pc: l.pc, die, at_entry: entry == Some(l.pc), spec, return_type: None, label: Some(l.name) });
            }
        }
    }
    if sites.is_empty() && !funcs.is_empty() {
        let names: Vec<&str> = funcs.iter().map(|f| f.name.as_str()).take(3).collect();
        notes.push(if others.is_empty() {
            format!("{} has no labels with code", names.join(", "))
        } else {
            format!("labels there: {}", others.join(", "))
        });
    }
    Ok((sites, funcs.len()))
}

fn display_pattern(p: &FunctionPattern) -> String {
    match &p.file {
        Some(f) => format!("{}@{f}", p.function),
        None => p.function.clone(),
    }
}

/// Turns sites into kprobes: skips unprobeable sections, wildcard matches
/// of blacklisted functions and duplicate addresses.
#[allow(clippy::too_many_arguments)]
fn place(
    di: &dyn DebugInfo,
    module: Option<&str>,
    prefix: &str,
    what: &str,
    suffix: &str,
    wildcard: bool,
    ret: bool,
    sites: Vec<Site>,
    out: &mut DwarfResolved,
) {
    let mut seen = std::collections::HashSet::new();
    for s in sites {
        if let Some((sec, _)) = di.section_of(s.pc) {
            if unprobeable_section(&sec) {
                out.notes.push(format!("{} is in section {sec}, which cannot be probed", s.func));
                out.refused += 1;
                continue;
            }
        }
        if module.is_none() {
            if let Some(why) = super::blacklist::refused(&s.func) {
                out.notes.push(format!("{}: {why}", s.func));
                out.refused += 1;
                continue;
            }
        }
        if wildcard && blacklisted(&s.func) {
            out.notes.push(format!("{} is not probed by wildcards (kprobe blacklist)", s.func));
            out.refused += 1;
            continue;
        }
        let (symbol, offset) = match di.symbol_at(s.pc) {
            Some(x) => x,
            None if s.at_entry => (s.func.clone(), 0),
            None => {
                out.notes.push(format!("no ELF symbol holds {:#x} in {}, so it cannot be placed", s.pc, s.func));
                continue;
            }
        };
        // Two labels at one address are two probe points (both fire).
        if !seen.insert((symbol.clone(), offset, s.label.clone())) {
            out.notes.push(format!("{} is defined more than once; only the first copy is probed", s.func));
            continue;
        }
        let symbol = match module {
            Some(m) => format!("{m}:{symbol}"),
            None => symbol,
        };
        let mut pp = format!("{prefix}.{what}(\"{}\"){suffix}", s.spec);
        if let Some(l) = &s.label {
            pp.push_str(&format!(".label(\"{l}\")"));
        }
        let site = DwarfSite {
            function: s.func,
            module: module.map(str::to_string),
            die: s.die,
            pc: s.pc,
            at_entry: s.at_entry,
            ret,
            return_type: s.return_type,
        };
        out.probes.push(DwarfProbe { kind: ProbeKind::Kprobe { symbol, offset: if ret { 0 } else { offset }, ret, maxactive: 0 }, pp, site });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::debuginfo::fake::FakeDebugInfo;
    use crate::debuginfo::{BaseEncoding, Location, Reg};
    use crate::diag::Span;
    use crate::syntax::ast::{Component, Literal};

    fn point(parts: &[(&str, Option<&str>)]) -> ProbePoint {
        ProbePoint {
            components: parts
                .iter()
                .map(|(n, a)| Component { name: n.to_string(), arg: a.map(|s| Literal::String(s.into())), span: Span::default() })
                .collect(),
            optional: false,
            sufficient: false,
            condition: None,
            span: Span::default(),
        }
    }

    #[test]
    fn wildcard_and_return() {
        let mut di = FakeDebugInfo::new();
        let long = di.base("long int", 8, BaseEncoding::Signed);
        di.function("vfs_read", "fs/read_write.c", 450, 0x1000, &[("count", long, Location::Register(Reg(1)))]);
        di.function("vfs_write", "fs/read_write.c", 560, 0x2000, &[]);
        di.function("ksys_read", "fs/read_write.c", 600, 0x3000, &[]);
        let r = resolve(&point(&[("kernel", None), ("function", Some("vfs_*")), ("return", None)]), &Dwarf { debuginfo: Some(&di), ..Default::default() })
            .unwrap()
            .unwrap();
        assert_eq!(r.probes.len(), 2);
        assert_eq!(r.probes[0].pp, "kernel.function(\"vfs_read@fs/read_write.c:450\").return");
        assert!(matches!(&r.probes[0].kind, ProbeKind::Kprobe { symbol, ret: true, .. } if symbol == "vfs_read"));
        let e = resolve(&point(&[("kernel", None), ("function", Some("nope"))]), &Dwarf { debuginfo: Some(&di), ..Default::default() }).unwrap_err();
        assert!(e.message.contains("no kernel function matches"));
        let e = resolve(&point(&[("kernel", None), ("function", Some("vfs_read"))]), &Dwarf { missing: "missing debuginfo".into(), ..Default::default() }).unwrap_err();
        assert_eq!(e.message, "missing debuginfo");
    }

    fn labelled() -> FakeDebugInfo {
        let mut di = FakeDebugInfo::new();
        let long = di.base("long int", 8, BaseEncoding::Signed);
        let f = di.function("do_chdir", "fs/open.c", 508, 0x1000, &[("filename", long, Location::Register(Reg(5)))]);
        di.label(f, "retry", 0x1010, 513);
        di.label(f, "out", 0x1080, 530);
        di.label(f, "out_early", 0x1080, 529);
        di.symbol("do_chdir", 0x1000, 0x100);
        di.function("vfs_read", "fs/read_write.c", 450, 0x2000, &[]);
        di
    }

    #[test]
    fn labels_are_probed_at_their_address() {
        let di = labelled();
        let d = Dwarf { debuginfo: Some(&di), ..Default::default() };
        let r = resolve(&point(&[("kernel", None), ("function", Some("do_chdir")), ("label", Some("out*"))]), &d).unwrap().unwrap();
        let got: Vec<(&str, u64)> = r.probes.iter().map(|p| (p.pp.as_str(), p.site.pc)).collect();
        // Sorted by address; two labels at one address are two probes.
        assert_eq!(
            got,
            [
                ("kernel.function(\"do_chdir@fs/open.c:530\").label(\"out\")", 0x1080),
                ("kernel.function(\"do_chdir@fs/open.c:529\").label(\"out_early\")", 0x1080)
            ]
        );
        assert!(r.probes.iter().all(|p| !p.site.at_entry && !p.site.ret && p.site.die == r.probes[0].site.die));
        assert!(matches!(&r.probes[0].kind, ProbeKind::Kprobe { symbol, offset: 0x80, ret: false, .. } if symbol == "do_chdir"));
        let r = resolve(&point(&[("kernel", None), ("function", Some("do_*")), ("label", Some("retry"))]), &d).unwrap().unwrap();
        assert_eq!(r.probes.len(), 1);
        assert_eq!(r.probes[0].site.pc, 0x1010);
        // module("M").function(P).label(L): the kprobe symbol is the module's.
        let d = Dwarf { modules: vec![("m_one".into(), &di as &dyn DebugInfo)], ..Default::default() };
        let r = resolve(&point(&[("module", Some("m-one")), ("function", Some("do_chdir")), ("label", Some("retry"))]), &d).unwrap().unwrap();
        assert_eq!(r.probes[0].pp, "module(\"m_one\").function(\"do_chdir@fs/open.c:513\").label(\"retry\")");
        assert_eq!(r.probes[0].site.module.as_deref(), Some("m_one"));
        assert!(matches!(&r.probes[0].kind, ProbeKind::Kprobe { symbol, offset: 0x10, .. } if symbol == "m_one:do_chdir"));
    }

    #[test]
    fn label_errors_name_the_missing_part() {
        let di = labelled();
        let d = Dwarf { debuginfo: Some(&di), ..Default::default() };
        let e = resolve(&point(&[("kernel", None), ("function", Some("do_chdir")), ("label", Some("nope"))]), &d).unwrap_err();
        assert_eq!(e.message, "no label matches \"nope\" in kernel function \"do_chdir\" (labels there: retry, out, out_early)");
        let e = resolve(&point(&[("kernel", None), ("function", Some("vfs_read")), ("label", Some("*"))]), &d).unwrap_err();
        assert_eq!(e.message, "no label matches \"*\" in kernel function \"vfs_read\" (vfs_read has no labels with code)");
        let e = resolve(&point(&[("kernel", None), ("function", Some("nope")), ("label", Some("out"))]), &d).unwrap_err();
        assert_eq!(e.message, "no kernel function matches \"nope\" in the debuginfo");
        for other in ["return", "call", "inline", "exported"] {
            for parts in [[("label", Some("out")), (other, None)], [(other, None), ("label", Some("out"))]] {
                let mut p = vec![("kernel", None), ("function", Some("do_chdir"))];
                p.extend(parts);
                let e = resolve(&point(&p), &d).unwrap_err();
                assert!(e.message.starts_with(&format!("`.{other}` cannot be combined with `.label`")), "{}", e.message);
            }
        }
        let e = resolve(&point(&[("kernel", None), ("statement", Some("do_chdir@fs/open.c:513")), ("label", Some("out"))]), &d).unwrap_err();
        assert!(e.message.contains("kernel.statement takes no further components"), "{}", e.message);
    }
}
