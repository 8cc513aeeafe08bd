//! `perf.type(T).config(C)[.sample(N) | .hz(F)]`: a kernel perf event
//! (`perf_event_create_kernel_counter`) on every online CPU, counting the
//! event of `perf_event_attr` type T and config C system-wide; its overflow
//! handler runs the probe once per N events (default 1000000, as
//! `man stapprobes` documents) or F times a second. The named events
//! (`perf.sw.cpu_clock`, `perf.hw.cpu_cycles`, `perf.hw_cache.*`) are the
//! perf tapset's aliases over this form.
//!
//! Input: the point. Output: `Ok(None)` when the second component is not
//! `type` (then the point is the tapset's business), else one
//! `ProbeKind::Hook(Hook::Perf)`. Invariants: type and config are
//! non-negative numbers (type fits 32 bits), the period or frequency is at
//! least 1, and only numbers reach the C. The per-process forms
//! (`.process("PROC")`, `.counter("NAME")`) need user-space probing and are
//! refused with an error at their component.

use super::hooks::Hook;
use super::{format_point, no_more, number_arg, ProbeError, Resolved};
use crate::ir::ProbeKind;
use crate::syntax::ast::ProbePoint;

/// Events between two hits when the point says neither `.sample` nor `.hz`.
pub const DEFAULT_SAMPLE: u64 = 1_000_000;

pub fn resolve(point: &ProbePoint) -> Result<Option<Resolved>, ProbeError> {
    let comps = &point.components;
    let first = &comps[0];
    match comps.get(1) {
        Some(c) if c.name == "type" => {}
        _ => return Ok(None),
    }
    if first.arg.is_some() {
        return Err(ProbeError::new(first.span, "`perf` takes no argument: perf.type(T).config(C)"));
    }
    let type_c = &comps[1];
    let type_id = number_arg(type_c)?;
    if !(0..=u32::MAX as i64).contains(&type_id) {
        return Err(ProbeError::new(type_c.span, format!("perf event type {type_id} is not between 0 and {}", u32::MAX)));
    }
    let Some(config_c) = comps.get(2).filter(|c| c.name == "config") else {
        let span = comps.get(2).map(|c| c.span).unwrap_or(type_c.span);
        return Err(ProbeError::new(span, "a perf probe names its event with .type(T).config(C)"));
    };
    let config = number_arg(config_c)?;
    if config < 0 {
        return Err(ProbeError::new(config_c.span, format!("perf event config {config} is negative")));
    }
    let mut used = 3;
    let (period, freq) = match comps.get(3).map(|c| (c, c.name.as_str())) {
        Some((c, "sample")) => {
            let n = number_arg(c)?;
            if n < 1 {
                return Err(ProbeError::new(c.span, format!("perf sample period {n} must be at least 1 (events between two hits)")));
            }
            used += 1;
            (n as u64, false)
        }
        Some((c, "hz")) => {
            let n = number_arg(c)?;
            if n < 1 {
                return Err(ProbeError::new(c.span, format!("perf sample frequency {n} must be at least 1 (hits a second)")));
            }
            used += 1;
            (n as u64, true)
        }
        _ => (DEFAULT_SAMPLE, false),
    };
    if let Some(c) = comps.get(used).filter(|c| c.name == "process" || c.name == "counter") {
        return Err(ProbeError::new(
            c.span,
            format!(
                "perf probes with .{}(...) count one user-space process, which rstap does not probe yet: \
                 only the system-wide form perf.type(T).config(C)[.sample(N)|.hz(F)] is supported",
                c.name
            ),
        ));
    }
    no_more(point, used)?;
    let hook = Hook::Perf { type_id: type_id as u32, config: config as u64, period, freq };
    Ok(Some(vec![(ProbeKind::Hook(hook), format_point(&comps[..used]))]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::ast::{Component, Literal};

    fn point(parts: &[(&str, Option<i64>)]) -> ProbePoint {
        let components = parts
            .iter()
            .map(|(n, a)| Component { name: n.to_string(), arg: a.map(Literal::Number), span: Default::default() })
            .collect();
        ProbePoint { components, optional: false, sufficient: false, condition: None, span: Default::default() }
    }

    #[test]
    fn forms() {
        let r = resolve(&point(&[("perf", None), ("type", Some(1)), ("config", Some(0)), ("sample", Some(5000))])).unwrap().unwrap();
        assert_eq!(r[0].0, ProbeKind::Hook(Hook::Perf { type_id: 1, config: 0, period: 5000, freq: false }));
        assert_eq!(r[0].1, "perf.type(1).config(0).sample(5000)");
        let r = resolve(&point(&[("perf", None), ("type", Some(0)), ("config", Some(1)), ("hz", Some(100))])).unwrap().unwrap();
        assert_eq!(r[0].0, ProbeKind::Hook(Hook::Perf { type_id: 0, config: 1, period: 100, freq: true }));
        let r = resolve(&point(&[("perf", None), ("type", Some(3)), ("config", Some(0x10002))])).unwrap().unwrap();
        assert_eq!(r[0].0, ProbeKind::Hook(Hook::Perf { type_id: 3, config: 0x10002, period: DEFAULT_SAMPLE, freq: false }));
        assert_eq!(r[0].1, "perf.type(3).config(65538)");
        assert!(resolve(&point(&[("perf", None), ("sw", None), ("cpu_clock", None)])).unwrap().is_none());
    }

    #[test]
    fn bad_points() {
        let e = resolve(&point(&[("perf", None), ("type", Some(1)), ("config", Some(0)), ("sample", Some(0))])).unwrap_err();
        assert_eq!(e.message, "perf sample period 0 must be at least 1 (events between two hits)");
        let e = resolve(&point(&[("perf", None), ("type", Some(1))])).unwrap_err();
        assert_eq!(e.message, "a perf probe names its event with .type(T).config(C)");
        let e = resolve(&point(&[("perf", None), ("type", Some(-1)), ("config", Some(0))])).unwrap_err();
        assert!(e.message.starts_with("perf event type -1 is not between 0"), "{}", e.message);
        let e = resolve(&point(&[("perf", None), ("type", Some(1)), ("config", Some(0)), ("counter", None)])).unwrap_err();
        assert!(e.message.starts_with("perf probes with .counter(...) count one user-space process"), "{}", e.message);
        let e = resolve(&point(&[("perf", None), ("type", Some(1)), ("config", Some(0)), ("hz", Some(10)), ("sample", Some(1))])).unwrap_err();
        assert!(e.message.starts_with("unexpected probe point component `sample`"), "{}", e.message);
    }
}
