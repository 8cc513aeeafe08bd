//! `kprobe.function("sym")`, `kprobe.module("mod").function("sym")` and
//! their `.return`: probes on kernel and module symbols without debuginfo.
//!
//! Input: the point and the target kernel's symbol table (when known).
//! Output: one `ProbeKind::Kprobe` per matching symbol (wildcards expand
//! against the kernel's symbol table; a module's symbol is `mod:sym`, which
//! the kernel resolves when the module is loaded). Invariants: a kernel
//! symbol the kernel does not have is an error here, at translation time,
//! when the symbol table is known; module symbols are checked when the
//! module comes, and wildcards in them are refused. A function probes may
//! not touch (`blacklist`: listed, a .cold/.part fragment, or in a no-probe
//! section of the symbol table) is an error when named, and skipped (and
//! counted for -v) when a wildcard matches it; a wildcard fails only when
//! nothing probeable is left.

use super::{blacklist, maxactive_arg, string_arg, KernelSymbols, ProbeError, Resolved};
use crate::ir::ProbeKind;
use crate::syntax::ast::{Component, ProbePoint};

pub fn resolve(point: &ProbePoint, symbols: &dyn KernelSymbols) -> Result<Resolved, ProbeError> {
    let comps = &point.components;
    if let Some(m) = comps.get(1).filter(|c| c.name == "module") {
        return resolve_module(point, m);
    }
    let func = match comps.get(1) {
        Some(c) if c.name == "function" => c,
        Some(c) => {
            return Err(ProbeError::new(
                c.span,
                format!("unknown kprobe component `{}`; expected kprobe.function(\"name\") or kprobe.module(\"mod\").function(\"name\")", c.name),
            ))
        }
        None => {
            return Err(ProbeError::new(comps[0].span, "`kprobe` needs .function(\"name\")"));
        }
    };
    let name = string_arg(func)?;
    let (ret, maxactive) = return_suffix(&comps[2..], "kprobe.function")?;
    let why_refused = |sym: &str| {
        blacklist::refused(sym).or_else(|| symbols.refused_section(sym).map(blacklist::section_reason))
    };
    let symbols_found: Vec<String> = if name.contains(['*', '?', '[']) {
        let all = match symbols.matching_functions(name) {
            Some(list) => list,
            None => {
                return Err(ProbeError::new(
                    func.span,
                    format!("cannot expand wildcard \"{name}\" without the kernel's symbol table (System.map)"),
                ))
            }
        };
        let matched = all.len();
        let mut first_skip: Option<(String, String)> = None;
        let kept: Vec<String> = all
            .into_iter()
            .filter(|sym| match why_refused(sym) {
                Some(why) => {
                    first_skip.get_or_insert((sym.clone(), why));
                    false
                }
                None => true,
            })
            .collect();
        if let Some((sym, why)) = &first_skip {
            if kept.is_empty() {
                return Err(ProbeError::new(
                    func.span,
                    format!("no kernel function matching \"{name}\" can be probed: all {matched} matches are refused (e.g. {sym}: {why})"),
                ));
            }
            let pp = format!("{}.function(\"{name}\")", comps[0].name);
            blacklist::record_skips(&pp, matched, matched - kept.len(), sym);
        }
        kept
    } else {
        if let Some(why) = why_refused(name) {
            return Err(ProbeError::new(func.span, format!("cannot probe kernel function \"{name}\": {why}")));
        }
        match symbols.has_function(name) {
            Some(false) => Vec::new(),
            _ => vec![name.to_string()],
        }
    };
    if symbols_found.is_empty() {
        return Err(ProbeError::new(
            func.span,
            format!("no kernel function matches \"{name}\" (checked against the target kernel's symbol table)"),
        ));
    }
    let suffix = suffix_text(ret, maxactive);
    Ok(symbols_found
        .into_iter()
        .map(|symbol| {
            let pp = format!("{}.function(\"{}\"){}", comps[0].name, symbol, suffix);
            (ProbeKind::Kprobe { symbol, offset: 0, ret, maxactive }, pp)
        })
        .collect())
}

/// `kprobe.module("mod").function("sym")[.return]`.
fn resolve_module(point: &ProbePoint, m: &crate::syntax::ast::Component) -> Result<Resolved, ProbeError> {
    let comps = &point.components;
    let module = crate::probes::dwarf::module_name(string_arg(m)?);
    if module.contains(['*', '?', '[']) || module.is_empty() {
        return Err(ProbeError::new(m.span, "kprobe.module needs one module's name (no wildcards: without debuginfo its symbols are unknown)"));
    }
    let func = match comps.get(2) {
        Some(c) if c.name == "function" => c,
        Some(c) => return Err(ProbeError::new(c.span, format!("unknown kprobe.module component `{}`; expected .function(\"name\")", c.name))),
        None => return Err(ProbeError::new(m.span, "`kprobe.module(...)` needs .function(\"name\")")),
    };
    let name = string_arg(func)?;
    if name.contains(['*', '?', '[']) {
        return Err(ProbeError::new(func.span, "kprobe.module functions cannot be wildcards (without debuginfo the module's symbols are unknown)"));
    }
    let (ret, maxactive) = return_suffix(&comps[3..], "kprobe.module(...).function")?;
    let pp = format!("kprobe.module(\"{module}\").function(\"{name}\"){}", suffix_text(ret, maxactive));
    Ok(vec![(ProbeKind::Kprobe { symbol: format!("{module}:{name}"), offset: 0, ret, maxactive }, pp)])
}

/// The components after `.function("F")`: nothing, `.return`, or
/// `.return.maxactive(N)`. Ok: (ret, maxactive, 0 when not given).
fn return_suffix(rest: &[Component], what: &str) -> Result<(bool, u32), ProbeError> {
    match rest {
        [] => Ok((false, 0)),
        [r] if r.name == "return" && r.arg.is_none() => Ok((true, 0)),
        [r, m] if r.name == "return" && r.arg.is_none() && m.name == "maxactive" => Ok((true, maxactive_arg(m)?)),
        [.., c] if c.name == "maxactive" && !rest.iter().any(|r| r.name == "return") => {
            Err(ProbeError::new(c.span, "`.maxactive(N)` needs `.return` before it"))
        }
        [c, ..] => Err(ProbeError::new(
            c.span,
            format!("unexpected probe point component `{}`; only .return (then .maxactive(N)) may follow {what}", c.name),
        )),
    }
}

/// The probe point's text after `.function("F")`.
fn suffix_text(ret: bool, maxactive: u32) -> String {
    match (ret, maxactive) {
        (false, _) => String::new(),
        (true, 0) => ".return".to_string(),
        (true, n) => format!(".return.maxactive({n})"),
    }
}
