//! Probe families that attach to a kernel facility rather than to an
//! address: `timer.profile`, `netfilter.hook(...)`, `procfs(...)`,
//! `perf.*` (each resolved in its own file; this is their common kind).
//!
//! Input: nothing (a data type). Output: `Hook`, carried by
//! `ProbeKind::Hook` from pass 2 to pass 3 (`codegen::hooks`).
//! Invariants: every string a hook carries was validated by the family
//! that made it (a netfilter hook name from a fixed list, a procfs path of
//! safe characters), so pass 3 only formats it.

/// A derived probe of a hook family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hook {
    /// `timer.profile` / `timer.profile.tick`: a per-CPU timer at HZ whose
    /// handler sees the registers it interrupted.
    Profile,
    /// `netfilter.hook("NAME").pf("PF")[.priority("N")]`: an nf_hook_ops
    /// on `hook` (the `NF_INET_*`/`NF_BR_*`/`NF_ARP_*` constant's name) of
    /// protocol family `pf` (`NFPROTO_*`).
    Netfilter { pf: String, hook: String, priority: i64 },
    /// `procfs("PATH").read` / `.write`: a file under /proc/systemtap/MODULE.
    Procfs { path: String, write: bool, maxsize: Option<i64> },
    /// `perf.type(T).config(C)[.sample(N)]`: a kernel perf event on every
    /// CPU whose overflow handler runs the probe every `sample` events.
    Perf { type_id: u32, config: u64, sample: u64 },
}

impl Hook {
    /// How `stap -p2 -v`'s listing describes the probe.
    pub fn describe(&self) -> String {
        match self {
            Hook::Profile => "profile timer on every CPU at HZ".to_string(),
            Hook::Netfilter { pf, hook, priority } => format!("netfilter hook {pf} {hook} priority {priority}"),
            Hook::Procfs { path, write, .. } => format!("procfs {} of {path}", if *write { "write" } else { "read" }),
            Hook::Perf { type_id, config, sample } => format!("perf event type {type_id} config {config} every {sample}"),
        }
    }
}
