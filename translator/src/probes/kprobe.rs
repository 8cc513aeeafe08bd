//! `kprobe.function("sym")` and `kprobe.function("sym").return`: probes on
//! kernel symbols without debuginfo.
//!
//! Input: the point and the target kernel's symbol table (when known).
//! Output: one `ProbeKind::Kprobe` per matching symbol (wildcards expand
//! against the symbol table). Invariants: a symbol the kernel does not have
//! is an error here, at translation time, when the symbol table is known.

use super::{string_arg, KernelSymbols, ProbeError, Resolved};
use crate::ir::ProbeKind;
use crate::syntax::ast::ProbePoint;

pub fn resolve(point: &ProbePoint, symbols: &dyn KernelSymbols) -> Result<Resolved, ProbeError> {
    let comps = &point.components;
    let func = match comps.get(1) {
        Some(c) if c.name == "function" => c,
        Some(c) => {
            return Err(ProbeError::new(
                c.span,
                format!("unknown kprobe component `{}`; expected kprobe.function(\"name\")", c.name),
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
