//! `begin` and `end` probes: run once when the script starts and stops.
//!
//! Input: `begin`, `end`, optionally with a sequence number `begin(N)`.
//! Output: `ProbeKind::Begin` / `ProbeKind::End`. Probes of one kind run in
//! the order they appear in the script.

use super::{format_point, no_more, ProbeError, Resolved};
use crate::ir::ProbeKind;
use crate::syntax::ast::{Literal, ProbePoint};

pub fn resolve(point: &ProbePoint) -> Result<Resolved, ProbeError> {
    let first = &point.components[0];
    if let Some(Literal::String(_)) = first.arg {
        return Err(ProbeError::new(
            first.span,
            format!("`{}` takes an optional number, not a string", first.name),
        ));
    }
    no_more(point, 1)?;
    let kind = if first.name == "begin" { ProbeKind::Begin } else { ProbeKind::End };
    Ok(vec![(kind, format_point(&point.components[..1]))])
}
