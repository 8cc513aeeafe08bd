//! Pass 3 for `kernel.data(...)` watchpoints (`probes::watch`).
//!
//! Input: the hook probes of the module (those of kind `Hook::Watch` are
//! used). Output: the rendered `templates/probes/watch.c.tera`, or `None`
//! when the module has no watchpoint. Invariants: symbol names and probe
//! points reach the C only through `cstr` (and were validated in pass 2);
//! the length is one of 1, 2, 4, 8 (`HW_BREAKPOINT_LEN_*`).

use serde::Serialize;
use tera::Context;

use super::hooks::HookProbe;
use super::templates::render;
use crate::probes::hooks::Hook;

#[derive(Serialize)]
struct WatchCtx<'a> {
    probe: usize,
    pp: &'a str,
    symbol: Option<&'a str>,
    /// Hex digits.
    addr: String,
    len: u8,
    rw: bool,
}

/// The watchpoints' C, when the module has any.
pub fn render_watches(probes: &[HookProbe<'_>]) -> Result<Option<String>, String> {
    let watches: Vec<WatchCtx> = probes
        .iter()
        .filter_map(|p| match p.hook {
            Hook::Watch { symbol, addr, len, rw } => Some(WatchCtx {
                probe: p.probe,
                pp: p.pp,
                symbol: symbol.as_deref(),
                addr: format!("{addr:x}"),
                len: *len,
                rw: *rw,
            }),
            _ => None,
        })
        .collect();
    if watches.is_empty() {
        return Ok(None);
    }
    let mut ctx = Context::new();
    ctx.insert("watches", &watches);
    render("watch.c", &ctx).map(Some)
}
