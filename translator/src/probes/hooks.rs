//! Probe families that attach to a kernel facility rather than to an
//! address: `timer.profile`, `netfilter.hook(...)`, `procfs(...)`,
//! `perf.*`, `kernel.data(...)` (each resolved in its own file; this is their common kind).
//!
//! Input: nothing (a data type). Output: `Hook`, carried by
//! `ProbeKind::Hook` from pass 2 to pass 3 (`codegen::hooks`).
//! Invariants: every string a hook carries was validated by the family
//! that made it (a netfilter hook name from a fixed list, a procfs path of
//! safe characters), so pass 3 only formats it.

/// A derived probe of a hook family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hook {
    /// `kernel.data(ADDR|"SYMBOL")[.length(N)].write|.rw`: a hardware
    /// watchpoint of `len` bytes (1, 2, 4, 8) on every CPU, at `symbol`
    /// (looked up when the module starts) or else at `addr`.
    Watch { symbol: Option<String>, addr: u64, len: u8, rw: bool },
    /// `timer.profile` / `timer.profile.tick`: a per-CPU timer at HZ whose
    /// handler sees the registers it interrupted.
    Profile,
    /// `netfilter.hook("NAME").pf("PF")[.priority("N")]`: an nf_hook_ops
    /// on `hook` (the `NF_INET_*`/`NF_BR_*`/`NF_ARP_*` constant's name) of
    /// protocol family `pf` (`NFPROTO_*`).
    Netfilter { pf: String, hook: String, priority: i64 },
    /// `procfs("PATH")[.umask(U)].read[.maxsize(N)]` / `.write`: a file
    /// under /proc/systemtap/MODULE; `maxsize` is the read buffer's size.
    Procfs { path: String, write: bool, maxsize: Option<i64>, umask: Option<i64> },
    /// `perf.type(T).config(C)[.sample(N)|.hz(F)]`: a kernel perf event on
    /// every CPU whose overflow handler runs the probe every `period`
    /// events, or `period` times a second when `freq`.
    Perf { type_id: u32, config: u64, period: u64, freq: bool },
}

impl Hook {
    /// How `stap -p2 -v`'s listing describes the probe.
    pub fn describe(&self) -> String {
        match self {
            Hook::Watch { symbol, addr, len, rw } => format!(
                "hardware watchpoint on {} byte{} at {} for {}",
                len,
                if *len == 1 { "" } else { "s" },
                symbol.clone().unwrap_or_else(|| format!("0x{addr:x}")),
                if *rw { "reads and writes" } else { "writes" }
            ),
            Hook::Profile => "profile timer on every CPU at HZ".to_string(),
            Hook::Netfilter { pf, hook, priority } => format!("netfilter hook {pf} {hook} priority {priority}"),
            Hook::Procfs { path, write, .. } => format!("procfs {} of {path}", if *write { "write" } else { "read" }),
            Hook::Perf { type_id, config, period, freq: false } => format!("perf event type {type_id} config {config:#x} every {period} events"),
            Hook::Perf { type_id, config, period, freq: true } => format!("perf event type {type_id} config {config:#x} at {period} Hz"),
        }
    }
}

/// The hook a derived probe of `kind` is, if any.
pub fn of_kind(kind: &crate::ir::ProbeKind) -> Option<Hook> {
    match kind {
        crate::ir::ProbeKind::Hook(h) => Some(h.clone()),
        _ => None,
    }
}

/// Bodies of derived probes are shared only between probes whose context
/// variables are the same: 0 for the families without any.
pub fn body_key(kind: &crate::ir::ProbeKind) -> usize {
    match kind {
        crate::ir::ProbeKind::Hook(Hook::Netfilter { .. }) => 1,
        crate::ir::ProbeKind::Hook(Hook::Procfs { write: false, .. }) => 2,
        crate::ir::ProbeKind::Hook(Hook::Procfs { write: true, .. }) => 3,
        _ => 0,
    }
}

/// One context variable of a hook family: `$name`, held in register `reg`
/// (DWARF numbering) of the registers the hook hands its probe, and the
/// type it points to when it is a pointer (`->` then reads through it).
pub struct HookVar {
    pub name: &'static str,
    pub reg: u16,
    pub points_to: Option<&'static str>,
}

/// The netfilter hook's variables (see `templates/probes/netfilter.c.tera`,
/// which fills these registers): rdi, rsi, rdx, rcx, r9.
const NETFILTER_VARS: &[HookVar] = &[
    HookVar { name: "hooknum", reg: 5, points_to: None },
    HookVar { name: "skb", reg: 4, points_to: Some("struct sk_buff") },
    HookVar { name: "in", reg: 1, points_to: Some("struct net_device") },
    HookVar { name: "out", reg: 2, points_to: Some("struct net_device") },
    HookVar { name: "verdict", reg: 9, points_to: None },
];

/// The context variables of a hook.
pub fn vars(hook: &Hook) -> &'static [HookVar] {
    match hook {
        Hook::Netfilter { .. } => NETFILTER_VARS,
        _ => &[],
    }
}
