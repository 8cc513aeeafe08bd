//! Pass 3 for the hook families (`probes::hooks`): `timer.profile`,
//! netfilter hooks, procfs files and perf events.
//!
//! Input: the derived probes of kind `ProbeKind::Hook` (probe index, hook,
//! pp) and the module name. Output: the rendered C of each family in use
//! and the names of its register/start/stop functions, added to the
//! module's lists. Invariants: one template per family (in
//! `templates/probes/`); strings reach the C only through `cstr`.

use serde::Serialize;
use tera::Context;

use super::templates::render;
use crate::probes::hooks::Hook;

/// The templates of the hook families, added to the module's set.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("profile.c", include_str!("../../../templates/probes/profile.c.tera")),
    ("netfilter.c", include_str!("../../../templates/probes/netfilter.c.tera")),
];

#[derive(Serialize)]
struct NetfilterCtx<'a> {
    index: usize,
    probe: usize,
    pp: &'a str,
    pf: &'a str,
    hook: &'a str,
    priority: i64,
}

/// One hook probe as the code generator sees it.
pub struct HookProbe<'a> {
    pub probe: usize,
    pub hook: &'a Hook,
    pub pp: &'a str,
}

/// The lists of the module template that the hook families add to.
pub struct ModuleLists<'m> {
    pub families: &'m mut Vec<String>,
    pub registers: &'m mut Vec<&'static str>,
    pub starts: &'m mut Vec<&'static str>,
    pub unregisters: &'m mut Vec<&'static str>,
}

/// Renders every hook family the probes use and adds its functions.
pub fn add(probes: &[HookProbe<'_>], _module_name: &str, lists: ModuleLists<'_>) -> Result<(), String> {
    let profiles: Vec<usize> = probes.iter().filter(|p| matches!(p.hook, Hook::Profile)).map(|p| p.probe).collect();
    if !profiles.is_empty() {
        let mut ctx = Context::new();
        ctx.insert("probes", &profiles);
        lists.families.push(render("profile.c", &ctx)?);
        lists.starts.push("rstap_profile_start");
        // Like the interval timers: stopped before anything else.
        lists.unregisters.insert(0, "rstap_profile_stop");
    }
    let netfilter: Vec<NetfilterCtx> = probes
        .iter()
        .filter_map(|p| match p.hook {
            Hook::Netfilter { pf, hook, priority } => Some((p, pf, hook, *priority)),
            _ => None,
        })
        .enumerate()
        .map(|(index, (p, pf, hook, priority))| NetfilterCtx { index, probe: p.probe, pp: p.pp, pf, hook, priority })
        .collect();
    if !netfilter.is_empty() {
        let mut ctx = Context::new();
        ctx.insert("hooks", &netfilter);
        lists.families.push(render("netfilter.c", &ctx)?);
        lists.registers.push("rstap_netfilter_register");
        lists.unregisters.push("rstap_netfilter_unregister");
    }
    Ok(())
}
