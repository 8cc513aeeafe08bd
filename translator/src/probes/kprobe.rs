//! `kprobe.function("sym")`, `kprobe.module("mod").function("sym")` and
//! their `.return`: probes on kernel and module symbols without debuginfo.
//!
//! Input: the point and the target kernel's symbol table (when known).
//! Output: one `ProbeKind::Kprobe` per matching symbol (wildcards expand
//! against the kernel's symbol table; a module's symbol is `mod:sym`, which
//! the kernel resolves when the module is loaded). Invariants: a kernel
//! symbol the kernel does not have is an error here, at translation time,
//! when the symbol table is known; module symbols are checked when the
//! module comes, and wildcards in them are refused.

use super::{string_arg, KernelSymbols, ProbeError, Resolved};
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
    let symbols_found: Vec<String> = if name.contains(['*', '?', '[']) {
        match symbols.matching_functions(name) {
            Some(list) => list,
            None => {
                return Err(ProbeError::new(
                    func.span,
                    format!("cannot expand wildcard \"{name}\" without the kernel's symbol table (System.map)"),
                ))
            }
        }
    } else {
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
