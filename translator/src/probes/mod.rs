//! Probe families: turning a resolved probe point into concrete probes.
//!
//! Input: an `ast::ProbePoint` whose first component names a built-in family
//! (aliases were already expanded by pass 2), plus what pass 2 knows about the
//! target kernel (`KernelSymbols`). Output: one or more `(ProbeKind, pp)`.
//! Invariants: no IO here; a point that names a family but is malformed is an
//! error with the span of the offending component.

pub mod begin_end;
pub mod blacklist;
pub mod dwarf;
pub mod hooks;
pub mod kprobe;
pub mod netfilter;
pub mod perf;
pub mod procfs;
pub mod syscall;
pub mod timer;
pub mod tracepoint;
pub mod watch;

use crate::diag::Span;
use crate::ir::ProbeKind;
use crate::syntax::ast::{Component, Literal, ProbePoint};

/// What pass 2 may ask about the target kernel's symbols.
pub trait KernelSymbols {
    /// `Some(true/false)` when the kernel's symbol table is known, `None`
    /// when it is not (then registration at run time is the check).
    fn has_function(&self, name: &str) -> Option<bool>;
    /// Every function symbol matching a glob pattern, when known.
    fn matching_functions(&self, pattern: &str) -> Option<Vec<String>>;
    /// The no-probe section (`.noinstr.text`, `.init.text`, ...) the
    /// symbol table places a function in, when it does.
    fn refused_section(&self, _name: &str) -> Option<&'static str> {
        None
    }
    /// A function symbol's address in the table, when known (two names of
    /// one function share it).
    fn address(&self, _name: &str) -> Option<u64> {
        None
    }
    /// `Some(true/false)`: whether a data symbol (a variable) of that name
    /// exists, when the table holds data symbols at all (`kernel.data`).
    fn has_data(&self, _name: &str) -> Option<bool> {
        None
    }
}

/// A kernel we know nothing about: every check is left to run time.
pub struct NoSymbols;

impl KernelSymbols for NoSymbols {
    fn has_function(&self, _name: &str) -> Option<bool> {
        None
    }
    fn matching_functions(&self, _pattern: &str) -> Option<Vec<String>> {
        None
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProbeError {
    pub span: Span,
    pub message: String,
}

impl ProbeError {
    pub fn new(span: Span, message: impl Into<String>) -> ProbeError {
        ProbeError {
            span,
            message: message.into(),
        }
    }
}

pub type Resolved = Vec<(ProbeKind, String)>;

/// Names of the built-in probe families (the first component).
pub const FAMILIES: &[&str] = &["begin", "end", "timer", "kprobe", "kernel", "module", "netfilter", "procfs", "perf"];

/// Resolves a point of a built-in family; `Ok(None)` when the first
/// component is not a built-in family.
pub fn resolve_builtin(
    point: &ProbePoint,
    symbols: &dyn KernelSymbols,
) -> Result<Option<Resolved>, ProbeError> {
    let Some(first) = point.components.first() else {
        return Ok(None);
    };
    let resolved = match first.name.as_str() {
        "begin" | "end" => begin_end::resolve(point)?,
        "timer" => timer::resolve(point)?,
        "kprobe" => kprobe::resolve(point, symbols)?,
        "procfs" => procfs::resolve(point)?,
        "perf" => match perf::resolve(point)? {
            Some(r) => r,
            None => return Ok(None),
        },
        "netfilter" => match netfilter::resolve(point)? {
            Some(r) => r,
            None => return Ok(None),
        },
        _ => return Ok(None),
    };
    Ok(Some(resolved))
}

/// Formats a point the way `pp()` shows it.
pub fn format_point(components: &[Component]) -> String {
    components
        .iter()
        .map(|c| match &c.arg {
            None => c.name.clone(),
            Some(Literal::Number(n)) => format!("{}({})", c.name, n),
            Some(Literal::String(s)) => format!("{}(\"{}\")", c.name, s),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// The numeric argument of a component, or an error naming what is wanted.
pub fn number_arg(c: &Component) -> Result<i64, ProbeError> {
    match &c.arg {
        Some(Literal::Number(n)) => Ok(*n),
        _ => Err(ProbeError::new(
            c.span,
            format!("probe point component `{}` needs a number argument", c.name),
        )),
    }
}

/// The argument of `.maxactive(N)`: the outstanding returns a `.return`
/// probe tracks, within the range of KRETACTIVE (limits.rs).
pub fn maxactive_arg(c: &Component) -> Result<u32, ProbeError> {
    let n = number_arg(c)?;
    let (min, max) = crate::limits::KRETACTIVE_RANGE;
    if n < min || n > max {
        return Err(ProbeError::new(c.span, format!("maxactive({n}) is out of range: a .return probe tracks {min} to {max} outstanding returns")));
    }
    Ok(n as u32)
}

/// The string argument of a component, or an error naming what is wanted.
pub fn string_arg(c: &Component) -> Result<&str, ProbeError> {
    match &c.arg {
        Some(Literal::String(s)) => Ok(s),
        _ => Err(ProbeError::new(
            c.span,
            format!("probe point component `{}` needs a string argument", c.name),
        )),
    }
}

/// Fails on a component that was not expected after the family's last one.
pub fn no_more(point: &ProbePoint, used: usize) -> Result<(), ProbeError> {
    match point.components.get(used) {
        None => Ok(()),
        Some(c) => Err(ProbeError::new(
            c.span,
            format!(
                "unexpected probe point component `{}` after `{}`",
                c.name,
                format_point(&point.components[..used])
            ),
        )),
    }
}
