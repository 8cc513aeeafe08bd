//! `timer.ms(N)`, `timer.s(N)`, `timer.us(N)`, `timer.ns(N)`, `timer.hz(N)`,
//! `timer.jiffies(N)`: periodic probes on every interval; `timer.profile`
//! (and `timer.profile.tick`): a tick on every CPU that sees the registers
//! it interrupted (user or kernel).
//!
//! Input: the point. Output: `ProbeKind::Timer` with the interval in
//! nanoseconds, or `ProbeKind::Hook(Hook::Profile)`. Invariants: the interval is positive, at least 100 us
//! (shorter ones would starve the machine under TCG and on real hardware)
//! and at most a day (`limits::TIMER_MAX_NS`; longer ones would overflow
//! the kernel's signed nanosecond time).

use super::hooks::Hook;
use super::{format_point, no_more, number_arg, ProbeError, Resolved};
use crate::ir::ProbeKind;
use crate::syntax::ast::ProbePoint;

const MIN_INTERVAL_NS: u64 = 100_000;
/// Debian's kernels run at HZ=250.
const JIFFY_NS: u64 = 4_000_000;

pub fn resolve(point: &ProbePoint) -> Result<Resolved, ProbeError> {
    let Some(unit) = point.components.get(1) else {
        return Err(ProbeError::new(
            point.components[0].span,
            "`timer` needs a unit: timer.ms(N), timer.s(N), timer.us(N), timer.ns(N), timer.hz(N), timer.jiffies(N) or timer.profile",
        ));
    };
    if unit.name == "profile" && unit.arg.is_none() {
        let used = match point.components.get(2) {
            Some(c) if c.name == "tick" && c.arg.is_none() => 3,
            _ => 2,
        };
        no_more(point, used)?;
        return Ok(vec![(ProbeKind::Hook(Hook::Profile), format_point(&point.components[..used]))]);
    }
    let n = number_arg(unit)?;
    if n <= 0 {
        return Err(ProbeError::new(unit.span, format!("timer interval must be positive, got {n}")));
    }
    let n = n as u64;
    let interval_ns = match unit.name.as_str() {
        "s" | "sec" => n.checked_mul(1_000_000_000),
        "ms" | "msec" => n.checked_mul(1_000_000),
        "us" | "usec" => n.checked_mul(1_000),
        "ns" | "nsec" => Some(n),
        "hz" => Some(1_000_000_000 / n),
        "jiffies" => n.checked_mul(JIFFY_NS),
        other => {
            return Err(ProbeError::new(
                unit.span,
                format!("unknown timer unit `{other}`; use s, ms, us, ns, hz or jiffies"),
            ))
        }
    };
    let max = crate::limits::TIMER_MAX_NS;
    let Some(interval_ns) = interval_ns.filter(|&ns| ns <= max) else {
        return Err(ProbeError::new(
            unit.span,
            format!("timer interval {n} {} is above the maximum of {} s (one day)", unit.name, max / 1_000_000_000),
        ));
    };
    if interval_ns < MIN_INTERVAL_NS {
        return Err(ProbeError::new(
            unit.span,
            format!("timer interval {interval_ns} ns is below the minimum of {MIN_INTERVAL_NS} ns"),
        ));
    }
    no_more(point, 2)?;
    Ok(vec![(ProbeKind::Timer { interval_ns }, format_point(&point.components[..2]))])
}
