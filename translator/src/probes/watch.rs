//! `kernel.data(ADDRESS)[.length(LEN)].write|.rw` and
//! `kernel.data("SYMBOL").write|.rw`: hardware watchpoints (the CPU's
//! debug registers) on every CPU, as `man stapprobes` documents them
//! ("HARDWARE BREAKPOINTS").
//!
//! Input: the point and what pass 2 knows of the kernel's symbols. Output:
//! `Ok(None)` when the point is not `kernel.data(...)`, else one
//! `ProbeKind::Hook(Hook::Watch)` and its `pp()` text; and, over the whole
//! program, a warning when more watchpoints are asked for than x86_64 has
//! debug registers. Invariants: the length is one the hardware watches (1,
//! 2, 4 or 8 bytes; 3 and 5..7 round up, as SystemTap approximates), an
//! address is aligned to it, and a symbol name is made of symbol
//! characters only (it reaches the C as a string); a symbol the symbol
//! table knows to be missing, or to be a function, is an error here; one
//! the table cannot tell about is looked up when the module starts.

use super::hooks::Hook;
use super::{no_more, number_arg, KernelSymbols, ProbeError, Resolved};
use crate::diag::Diagnostics;
use crate::ir::{DerivedProbe, ProbeKind};
use crate::syntax::ast::{Literal, ProbePoint};

/// Debug registers an x86_64 CPU has for watchpoints (DR0..DR3).
pub const DEBUG_REGISTERS: usize = 4;

/// The length the hardware watches for a requested one: the next of 1, 2,
/// 4, 8 bytes; `None` past 8 (or below 1).
fn hardware_length(len: i64) -> Option<u8> {
    match len {
        1 => Some(1),
        2 => Some(2),
        3 | 4 => Some(4),
        5..=8 => Some(8),
        _ => None,
    }
}

fn valid_symbol(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

/// Whether `point` is of this family (`kernel.data...`).
pub fn is_watch_point(point: &ProbePoint) -> bool {
    let comps = &point.components;
    comps.first().is_some_and(|c| c.name == "kernel" && c.arg.is_none()) && comps.get(1).is_some_and(|c| c.name == "data")
}

/// Resolves a `kernel.data(...)` point; `Ok(None)` for any other point.
pub fn resolve(point: &ProbePoint, symbols: &dyn KernelSymbols) -> Result<Option<Resolved>, ProbeError> {
    let comps = &point.components;
    if !is_watch_point(point) {
        return Ok(None);
    }
    let data = &comps[1];
    let (addr, symbol) = match &data.arg {
        Some(Literal::Number(n)) => (*n as u64, None),
        Some(Literal::String(s)) => {
            if !valid_symbol(s) {
                return Err(ProbeError::new(
                    data.span,
                    format!("\"{s}\" is not a kernel symbol name (letters, digits, `_` and `.`)"),
                ));
            }
            (0, Some(s.clone()))
        }
        None => {
            return Err(ProbeError::new(
                data.span,
                "kernel.data needs the address or the name of what to watch: kernel.data(0xADDRESS) or kernel.data(\"SYMBOL\")",
            ))
        }
    };
    let mut used = 2;
    let mut pp = match &symbol {
        Some(s) => format!("kernel.data(\"{s}\")"),
        None => format!("kernel.data(0x{addr:x})"),
    };
    let mut len = 1u8;
    if let Some(c) = comps.get(used).filter(|c| c.name == "length") {
        if symbol.is_some() {
            return Err(ProbeError::new(
                c.span,
                "`.length` is not valid with a symbol name: kernel.data(\"SYMBOL\") watches the symbol's first byte; give an address to watch more",
            ));
        }
        let n = number_arg(c)?;
        len = hardware_length(n).ok_or_else(|| {
            ProbeError::new(
                c.span,
                format!("length({n}) cannot be watched: x86_64's debug registers watch 1, 2, 4 or 8 bytes (a length up to 8 is rounded up to one of these)"),
            )
        })?;
        if addr % len as u64 != 0 {
            return Err(ProbeError::new(
                data.span,
                format!("address 0x{addr:x} is not aligned to the {len} bytes watched: x86_64 watches a range aligned to its length"),
            ));
        }
        pp.push_str(&format!(".length({n})"));
        used += 1;
    }
    let rw = match comps.get(used) {
        Some(c) if c.arg.is_none() && (c.name == "write" || c.name == "rw") => c.name == "rw",
        Some(c) if c.name == "read" => {
            return Err(ProbeError::new(
                c.span,
                "x86_64's debug registers cannot watch reads alone: use .rw (reads and writes) or .write",
            ))
        }
        Some(c) => {
            return Err(ProbeError::new(
                c.span,
                format!("unexpected probe point component `{}`; kernel.data(...) is followed by [.length(LEN)] and then .write or .rw", c.name),
            ))
        }
        None => {
            let last = &comps[used - 1];
            return Err(ProbeError::new(
                last.span,
                format!("`{pp}` needs .write or .rw after it: the accesses that trigger the watchpoint"),
            ));
        }
    };
    pp.push_str(if rw { ".rw" } else { ".write" });
    used += 1;
    no_more(point, used)?;
    if let Some(s) = &symbol {
        match symbols.has_data(s) {
            Some(true) => {}
            _ if symbols.has_function(s) == Some(true) => {
                return Err(ProbeError::new(
                    data.span,
                    format!("`{s}` is a function of the kernel, not a variable: kernel.data watches data (a function is probed with kernel.function or kprobe.function)"),
                ))
            }
            Some(false) => {
                return Err(ProbeError::new(data.span, format!("the kernel's symbol table has no variable `{s}`")))
            }
            None => {}
        }
    }
    Ok(Some(vec![(ProbeKind::Hook(Hook::Watch { symbol, addr, len, rw }), pp)]))
}

/// Warns, as SystemTap does at pass 2, when the program asks for more
/// watchpoints than a CPU has debug registers (those past them are refused
/// when the module registers them).
pub fn warn_if_too_many(probes: &[DerivedProbe], diags: &mut Diagnostics) {
    let watches: Vec<&DerivedProbe> =
        probes.iter().filter(|p| matches!(p.kind, ProbeKind::Hook(Hook::Watch { .. }))).collect();
    if let Some(extra) = watches.get(DEBUG_REGISTERS) {
        diags.warning(
            format!(
                "{} hardware watchpoints are requested, but x86_64 has {DEBUG_REGISTERS} debug registers: `{}` and any later ones will fail to register",
                watches.len(),
                extra.pp
            ),
            extra.span,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::debuginfo::system_map::SystemMap;
    use crate::diag::Span;
    use crate::probes::NoSymbols;
    use crate::syntax::ast::Component;

    fn point(comps: &[(&str, Option<Literal>)]) -> ProbePoint {
        ProbePoint {
            components: comps
                .iter()
                .map(|(n, a)| Component { name: n.to_string(), arg: a.clone(), span: Span::default() })
                .collect(),
            optional: false,
            sufficient: false,
            condition: None,
            span: Span::default(),
        }
    }

    fn num(n: i64) -> Option<Literal> {
        Some(Literal::Number(n))
    }

    fn s(t: &str) -> Option<Literal> {
        Some(Literal::String(t.into()))
    }

    #[test]
    fn addresses_and_lengths() {
        let r = resolve(&point(&[("kernel", None), ("data", num(0xffffffff82b48ec8u64 as i64)), ("write", None)]), &NoSymbols)
            .unwrap()
            .unwrap();
        assert_eq!(r[0].1, "kernel.data(0xffffffff82b48ec8).write");
        assert_eq!(r[0].0, ProbeKind::Hook(Hook::Watch { symbol: None, addr: 0xffffffff82b48ec8, len: 1, rw: false }));
        let r = resolve(&point(&[("kernel", None), ("data", num(0x1000)), ("length", num(3)), ("rw", None)]), &NoSymbols)
            .unwrap()
            .unwrap();
        assert_eq!(r[0].1, "kernel.data(0x1000).length(3).rw");
        assert_eq!(r[0].0, ProbeKind::Hook(Hook::Watch { symbol: None, addr: 0x1000, len: 4, rw: true }));
        let e = resolve(&point(&[("kernel", None), ("data", num(0x1000)), ("length", num(16)), ("rw", None)]), &NoSymbols).unwrap_err();
        assert!(e.message.starts_with("length(16) cannot be watched"), "{}", e.message);
        let e = resolve(&point(&[("kernel", None), ("data", num(0x1002)), ("length", num(8)), ("rw", None)]), &NoSymbols).unwrap_err();
        assert!(e.message.starts_with("address 0x1002 is not aligned to the 8 bytes"), "{}", e.message);
        let e = resolve(&point(&[("kernel", None), ("data", num(0x1000))]), &NoSymbols).unwrap_err();
        assert!(e.message.contains("needs .write or .rw"), "{}", e.message);
        let e = resolve(&point(&[("kernel", None), ("data", num(0x1000)), ("write", None), ("rw", None)]), &NoSymbols).unwrap_err();
        assert!(e.message.starts_with("unexpected probe point component `rw`"), "{}", e.message);
        assert!(resolve(&point(&[("kernel", None), ("function", s("vfs_read"))]), &NoSymbols).unwrap().is_none());
    }

    #[test]
    fn symbols_are_checked_when_the_table_knows_data() {
        let map = SystemMap::parse(
            "ffffffff81000000 T _text\nffffffff81234560 T ksys_read\nffffffff82b48ec8 d vm_dirty_ratio\nffffffff82c00000 B jiffies_64\n",
        );
        let ok = resolve(&point(&[("kernel", None), ("data", s("vm_dirty_ratio")), ("rw", None)]), &map).unwrap().unwrap();
        assert_eq!(ok[0].1, "kernel.data(\"vm_dirty_ratio\").rw");
        let e = resolve(&point(&[("kernel", None), ("data", s("no_such_var")), ("write", None)]), &map).unwrap_err();
        assert_eq!(e.message, "the kernel's symbol table has no variable `no_such_var`");
        let e = resolve(&point(&[("kernel", None), ("data", s("ksys_read")), ("write", None)]), &map).unwrap_err();
        assert!(e.message.starts_with("`ksys_read` is a function of the kernel"), "{}", e.message);
        // A table of functions only (the testbed's) cannot tell: run time looks.
        let funcs = SystemMap::parse("ffffffff81000000 T _text\nffffffff81234560 T ksys_read\n");
        assert!(resolve(&point(&[("kernel", None), ("data", s("no_such_var")), ("write", None)]), &funcs).unwrap().is_some());
        let e = resolve(&point(&[("kernel", None), ("data", s("x")), ("length", num(4)), ("write", None)]), &map).unwrap_err();
        assert!(e.message.starts_with("`.length` is not valid with a symbol name"), "{}", e.message);
        let e = resolve(&point(&[("kernel", None), ("data", s("a\"b")), ("write", None)]), &map).unwrap_err();
        assert!(e.message.contains("is not a kernel symbol name"), "{}", e.message);
    }
}
