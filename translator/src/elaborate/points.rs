//! Pass 2.3, resolve probe points: one point of a built-in family to the
//! concrete places it names.
//!
//! Input: a probe point, the kernel's symbol table and its DWARF (or why
//! there is none). Output: `Ok(Some(points))` for a point of a built-in
//! family (`begin`, `timer.*`, `kprobe.*`, `kernel.function`,
//! `module(...)`, ...), each a `ProbeKind`, its `pp()` text and, for DWARF
//! families, the site its body's `$var`s are read at; `Ok(None)` when the
//! point is no family's (then it names a probe alias, see `aliases`);
//! `Err` when a family's point matches nothing or is malformed. The
//! families themselves live in `probes/`; this is where pass 2 calls them.
//! Invariants: no IO beyond the traits; DWARF families are tried first.

use crate::ir::ProbeKind;
use crate::probes::dwarf::{self, Dwarf, DwarfSite};
use crate::probes::{self, KernelSymbols, ProbeError};
use crate::syntax::ast::ProbePoint;

/// One concrete place a point resolved to.
pub struct ConcretePoint {
    pub kind: ProbeKind,
    pub pp: String,
    /// A DWARF probe's site: its body is lowered for this site alone.
    pub site: Option<DwarfSite>,
}

/// Resolves `point` against the built-in probe families.
pub fn resolve_point(
    point: &ProbePoint,
    symbols: &dyn KernelSymbols,
    dwarf: &Dwarf<'_>,
) -> Result<Option<Vec<ConcretePoint>>, ProbeError> {
    if let Some(w) = probes::watch::resolve(point, symbols)? {
        return Ok(Some(w.into_iter().map(|(kind, pp)| ConcretePoint { kind, pp, site: None }).collect()));
    }
    if let Some(t) = probes::tracepoint::resolve(point, dwarf)? {
        return Ok(Some(t.into_iter().map(|p| ConcretePoint { kind: p.kind, pp: p.pp, site: Some(p.site) }).collect()));
    }
    if let Some(d) = dwarf::resolve(point, dwarf)? {
        return Ok(Some(
            d.probes.into_iter().map(|p| ConcretePoint { kind: p.kind, pp: p.pp, site: Some(p.site) }).collect(),
        ));
    }
    Ok(probes::resolve_builtin(point, symbols)?
        .map(|list| list.into_iter().map(|(kind, pp)| ConcretePoint { kind, pp, site: None }).collect()))
}
