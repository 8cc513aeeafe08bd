//! `kernel.function("PATTERN")`, `.call` and `.return`: probes placed from
//! DWARF debuginfo.
//!
//! Input: the point and the target kernel's debuginfo (`&dyn DebugInfo`).
//! Output: one [`DwarfProbe`] per matching out-of-line function: a kprobe
//! at `symbol + offset` (from `DebugInfo::symbol_at` of the probe pc that
//! `FunctionInfo::probe_pc` chose) plus the [`DwarfSite`] pass 2 needs to
//! resolve target variables there. Invariants: no IO beyond the trait; a
//! pattern that matches nothing, or missing debuginfo, is an error with the
//! span of the `function` component; inline-only instances and functions in
//! sections the kernel cannot probe are skipped (and counted in `notes`).

use super::{string_arg, ProbeError};
use crate::debuginfo::{DebugInfo, DieRef, FunctionPattern, PrologueMode, TypeId};
use crate::ir::ProbeKind;
use crate::syntax::ast::ProbePoint;

/// Where a DWARF probe fires, for target-variable resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DwarfSite {
    /// The function's name (`probefunc()`).
    pub function: String,
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

/// Resolves `kernel.function(...)`; `Ok(None)` when the point is not of
/// this family. `di` is `None` when no debuginfo could be loaded; then
/// `missing` explains why.
pub fn resolve(point: &ProbePoint, di: Option<&dyn DebugInfo>, missing: &str) -> Result<Option<DwarfResolved>, ProbeError> {
    let comps = &point.components;
    match comps.first() {
        Some(c) if c.name == "kernel" => {}
        _ => return Ok(None),
    }
    let func = match comps.get(1) {
        Some(c) if c.name == "function" => c,
        Some(c) => {
            return Err(ProbeError::new(
                c.span,
                format!("unsupported kernel probe component `{}`; rstap supports kernel.function(\"PATTERN\")", c.name),
            ))
        }
        None => return Err(ProbeError::new(comps[0].span, "`kernel` needs .function(\"PATTERN\")")),
    };
    let pattern_text = string_arg(func)?;
    let mut ret = false;
    let mut suffix = String::new();
    for c in &comps[2..] {
        match c.name.as_str() {
            "return" if c.arg.is_none() && !ret => {
                ret = true;
                suffix.push_str(".return");
            }
            "call" if c.arg.is_none() => suffix.push_str(".call"),
            _ => {
                return Err(ProbeError::new(
                    c.span,
                    format!("unexpected probe point component `{}`; kernel.function may be followed by .call or .return", c.name),
                ))
            }
        }
    }
    let Some(di) = di else {
        return Err(ProbeError::new(func.span, missing.to_string()));
    };
    let pat = FunctionPattern::parse(pattern_text).map_err(|e| ProbeError::new(func.span, e.to_string()))?;
    let funcs = di.functions(&pat).map_err(|e| ProbeError::new(func.span, e.to_string()))?;
    let mut out = DwarfResolved::default();
    let mut seen = std::collections::HashSet::new();
    let wildcard = pat.is_wildcard();
    // Each out-of-line copy: the function itself, then the compiler's
    // clones (`f.isra.0`, `f.constprop.0`), which SystemTap probes too.
    let mut sites: Vec<(crate::debuginfo::FunctionInfo, u64, DieRef, bool)> = Vec::new();
    for f in funcs {
        // A .return probe is a kretprobe on the function's entry; its
        // parameters are read from the registers saved there.
        let mode = if ret { PrologueMode::Never } else { PrologueMode::Auto };
        match f.probe_pc(mode) {
            Some(pc) => sites.push((f.clone(), pc, f.die, Some(pc) == f.entry_pc)),
            None if f.clones.is_empty() => {
                out.notes.push(format!("{} exists only inlined; inline instances are not probed by rstap yet", f.name));
            }
            None => {}
        }
        for c in &f.clones {
            let pc = if f.optimized || ret { c.entry_pc } else { c.prologue_end.unwrap_or(c.entry_pc) };
            sites.push((f.clone(), pc, c.die, pc == c.entry_pc));
        }
    }
    for (f, pc, die, at_entry) in sites {
        if let Some((sec, _)) = di.section_of(pc) {
            if unprobeable_section(&sec) {
                out.notes.push(format!("{} is in section {sec}, which cannot be probed", f.name));
                continue;
            }
        }
        if wildcard && blacklisted(&f.name) {
            out.notes.push(format!("{} is not probed by wildcards (kprobe blacklist)", f.name));
            continue;
        }
        let (symbol, offset) = match di.symbol_at(pc) {
            Some(s) => s,
            None => (f.name.clone(), pc.wrapping_sub(f.entry_pc.unwrap_or(pc))),
        };
        if !seen.insert((symbol.clone(), offset)) {
            out.notes.push(format!("{} is defined more than once; only the first copy is probed", f.name));
            continue;
        }
        if symbol != f.name && offset == 0 && !wildcard {
            // An alias symbol at the same address is fine; keep it.
        }
        let pp = format!("kernel.function(\"{}\"){suffix}", f.spec());
        let site = DwarfSite {
            function: f.name.clone(),
            die,
            pc,
            at_entry,
            ret,
            return_type: f.return_type,
        };
        out.probes.push(DwarfProbe { kind: ProbeKind::Kprobe { symbol, offset: if ret { 0 } else { offset }, ret }, pp, site });
    }
    if out.probes.is_empty() {
        let mut msg = format!("no kernel function matches \"{pattern_text}\" in the debuginfo");
        if let Some(n) = out.notes.first() {
            msg.push_str(&format!(" ({n})"));
        }
        return Err(ProbeError::new(func.span, msg));
    }
    Ok(Some(out))
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
        let r = resolve(&point(&[("kernel", None), ("function", Some("vfs_*")), ("return", None)]), Some(&di), "")
            .unwrap()
            .unwrap();
        assert_eq!(r.probes.len(), 2);
        assert_eq!(r.probes[0].pp, "kernel.function(\"vfs_read@fs/read_write.c:450\").return");
        assert!(matches!(&r.probes[0].kind, ProbeKind::Kprobe { symbol, ret: true, .. } if symbol == "vfs_read"));
        let e = resolve(&point(&[("kernel", None), ("function", Some("nope"))]), Some(&di), "").unwrap_err();
        assert!(e.message.contains("no kernel function matches"));
        let e = resolve(&point(&[("kernel", None), ("function", Some("vfs_read"))]), None, "missing debuginfo").unwrap_err();
        assert_eq!(e.message, "missing debuginfo");
    }
}
