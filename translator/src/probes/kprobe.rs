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

use super::{blacklist, string_arg, KernelSymbols, ProbeError, Resolved};
use crate::ir::ProbeKind;
use crate::syntax::ast::ProbePoint;

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
    let ret = match comps.get(2) {
        None => false,
        Some(c) if c.name == "return" && c.arg.is_none() && comps.len() == 3 => true,
        Some(c) => {
            return Err(ProbeError::new(
                c.span,
                format!("unexpected probe point component `{}`; only .return may follow kprobe.function", c.name),
            ))
        }
    };
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
    let suffix = if ret { ".return" } else { "" };
    Ok(symbols_found
        .into_iter()
        .map(|symbol| {
            let pp = format!("{}.function(\"{}\"){}", comps[0].name, symbol, suffix);
            (ProbeKind::Kprobe { symbol, offset: 0, ret }, pp)
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
    let ret = match comps.get(3) {
        None => false,
        Some(c) if c.name == "return" && c.arg.is_none() && comps.len() == 4 => true,
        Some(c) => {
            return Err(ProbeError::new(c.span, format!("unexpected probe point component `{}`; only .return may follow kprobe.module(...).function", c.name)))
        }
    };
    let pp = format!("kprobe.module(\"{module}\").function(\"{name}\"){}", if ret { ".return" } else { "" });
    Ok(vec![(ProbeKind::Kprobe { symbol: format!("{module}:{name}"), offset: 0, ret }, pp)])
}
