//! `netfilter.hook("HOOK").pf("PF")[.priority("P")]` and
//! `netfilter.pf("PF").hook("HOOK")[.priority("P")]`: a netfilter hook
//! function (`nf_register_net_hook`) that runs the probe on every packet.
//!
//! Input: the point. Output: `Ok(None)` when the point's second component
//! is neither `hook` nor `pf` (then `netfilter.ip.local_in` and friends
//! are the tapset's aliases), else one `ProbeKind::Hook(Hook::Netfilter)`.
//! Invariants: the protocol family, the hook and a named priority come from
//! fixed lists (the kernel's `NFPROTO_*`, `NF_INET_*`/`NF_IP_*`/`NF_IP6_*`,
//! `NF_ARP_*`, `NF_BR_*` and `NF_IP_PRI_*`/`NF_IP6_PRI_*` names), so only
//! known identifiers reach the C; a numeric priority is in range.

use super::hooks::Hook;
use super::{format_point, no_more, string_arg, ProbeError, Resolved};
use crate::ir::ProbeKind;
use crate::syntax::ast::{Component, ProbePoint};

const FAMILIES: &[&str] = &["NFPROTO_IPV4", "NFPROTO_IPV6", "NFPROTO_ARP", "NFPROTO_BRIDGE"];

/// The hooks of each family, as `(name, the kernel's constant)`: the old
/// `NF_IP_*`/`NF_IP6_*` names are the `NF_INET_*` hooks.
fn hooks(pf: &str) -> &'static [(&'static str, &'static str)] {
    const INET: &[(&str, &str)] = &[
        ("NF_INET_PRE_ROUTING", "NF_INET_PRE_ROUTING"),
        ("NF_INET_LOCAL_IN", "NF_INET_LOCAL_IN"),
        ("NF_INET_FORWARD", "NF_INET_FORWARD"),
        ("NF_INET_LOCAL_OUT", "NF_INET_LOCAL_OUT"),
        ("NF_INET_POST_ROUTING", "NF_INET_POST_ROUTING"),
        ("NF_IP_PRE_ROUTING", "NF_INET_PRE_ROUTING"),
        ("NF_IP_LOCAL_IN", "NF_INET_LOCAL_IN"),
        ("NF_IP_FORWARD", "NF_INET_FORWARD"),
        ("NF_IP_LOCAL_OUT", "NF_INET_LOCAL_OUT"),
        ("NF_IP_POST_ROUTING", "NF_INET_POST_ROUTING"),
        ("NF_IP6_PRE_ROUTING", "NF_INET_PRE_ROUTING"),
        ("NF_IP6_LOCAL_IN", "NF_INET_LOCAL_IN"),
        ("NF_IP6_FORWARD", "NF_INET_FORWARD"),
        ("NF_IP6_LOCAL_OUT", "NF_INET_LOCAL_OUT"),
        ("NF_IP6_POST_ROUTING", "NF_INET_POST_ROUTING"),
    ];
    const ARP: &[(&str, &str)] = &[("NF_ARP_IN", "NF_ARP_IN"), ("NF_ARP_OUT", "NF_ARP_OUT"), ("NF_ARP_FORWARD", "NF_ARP_FORWARD")];
    const BRIDGE: &[(&str, &str)] = &[
        ("NF_BR_PRE_ROUTING", "NF_BR_PRE_ROUTING"),
        ("NF_BR_LOCAL_IN", "NF_BR_LOCAL_IN"),
        ("NF_BR_FORWARD", "NF_BR_FORWARD"),
        ("NF_BR_LOCAL_OUT", "NF_BR_LOCAL_OUT"),
        ("NF_BR_POST_ROUTING", "NF_BR_POST_ROUTING"),
    ];
    match pf {
        "NFPROTO_IPV4" | "NFPROTO_IPV6" => INET,
        "NFPROTO_ARP" => ARP,
        _ => BRIDGE,
    }
}

/// The named priorities (`<linux/netfilter_ipv4.h>`, `_ipv6.h`).
const PRIORITIES: &[(&str, i64)] = &[
    ("NF_IP_PRI_FIRST", i32::MIN as i64),
    ("NF_IP_PRI_RAW_BEFORE_DEFRAG", -450),
    ("NF_IP_PRI_CONNTRACK_DEFRAG", -400),
    ("NF_IP_PRI_RAW", -300),
    ("NF_IP_PRI_SELINUX_FIRST", -225),
    ("NF_IP_PRI_CONNTRACK", -200),
    ("NF_IP_PRI_MANGLE", -150),
    ("NF_IP_PRI_NAT_DST", -100),
    ("NF_IP_PRI_FILTER", 0),
    ("NF_IP_PRI_SECURITY", 50),
    ("NF_IP_PRI_NAT_SRC", 100),
    ("NF_IP_PRI_SELINUX_LAST", 225),
    ("NF_IP_PRI_CONNTRACK_HELPER", 300),
    ("NF_IP_PRI_CONNTRACK_CONFIRM", i32::MAX as i64),
    ("NF_IP_PRI_LAST", i32::MAX as i64),
    ("NF_IP6_PRI_FIRST", i32::MIN as i64),
    ("NF_IP6_PRI_RAW_BEFORE_DEFRAG", -450),
    ("NF_IP6_PRI_CONNTRACK_DEFRAG", -400),
    ("NF_IP6_PRI_RAW", -300),
    ("NF_IP6_PRI_SELINUX_FIRST", -225),
    ("NF_IP6_PRI_CONNTRACK", -200),
    ("NF_IP6_PRI_MANGLE", -150),
    ("NF_IP6_PRI_NAT_DST", -100),
    ("NF_IP6_PRI_FILTER", 0),
    ("NF_IP6_PRI_SECURITY", 50),
    ("NF_IP6_PRI_NAT_SRC", 100),
    ("NF_IP6_PRI_SELINUX_LAST", 225),
    ("NF_IP6_PRI_CONNTRACK_HELPER", 300),
    ("NF_IP6_PRI_LAST", i32::MAX as i64),
];

fn priority(c: &Component) -> Result<i64, ProbeError> {
    let text = string_arg(c)?.trim();
    if let Some(&(_, v)) = PRIORITIES.iter().find(|(n, _)| *n == text) {
        return Ok(v);
    }
    match text.parse::<i64>() {
        Ok(v) if (i32::MIN as i64..=i32::MAX as i64).contains(&v) => Ok(v),
        _ => Err(ProbeError::new(
            c.span,
            format!("netfilter priority \"{text}\" is neither a 32-bit integer nor a NF_IP_PRI_*/NF_IP6_PRI_* name"),
        )),
    }
}

/// Resolves a `netfilter.hook(...).pf(...)` point; `Ok(None)` for other
/// `netfilter.*` points (aliases).
pub fn resolve(point: &ProbePoint) -> Result<Option<Resolved>, ProbeError> {
    let comps = &point.components;
    let (Some(a), Some(b)) = (comps.get(1), comps.get(2)) else {
        return Ok(None);
    };
    let (hook_c, pf_c) = match (a.name.as_str(), b.name.as_str()) {
        ("hook", "pf") => (a, b),
        ("pf", "hook") => (b, a),
        ("hook" | "pf", _) => {
            return Err(ProbeError::new(
                b.span,
                "a netfilter probe is netfilter.hook(\"HOOK\").pf(\"PF\") or netfilter.pf(\"PF\").hook(\"HOOK\"), optionally .priority(\"P\")",
            ))
        }
        _ => return Ok(None),
    };
    let pf = string_arg(pf_c)?;
    if !FAMILIES.contains(&pf) {
        return Err(ProbeError::new(
            pf_c.span,
            format!("unknown netfilter protocol family \"{pf}\"; use {}", FAMILIES.join(", ")),
        ));
    }
    let hook_name = string_arg(hook_c)?;
    let table = hooks(pf);
    let Some(&(_, hook)) = table.iter().find(|(n, _)| *n == hook_name) else {
        let names: Vec<&str> = table.iter().map(|(n, _)| *n).filter(|n| !n.starts_with("NF_IP")).collect();
        return Err(ProbeError::new(
            hook_c.span,
            format!("unknown netfilter hook \"{hook_name}\" for {pf}; use {}", names.join(", ")),
        ));
    };
    let (prio, used) = match comps.get(3) {
        Some(c) if c.name == "priority" => (priority(c)?, 4),
        _ => (0, 3),
    };
    no_more(point, used)?;
    let kind = ProbeKind::Hook(Hook::Netfilter { pf: pf.to_string(), hook: hook.to_string(), priority: prio });
    Ok(Some(vec![(kind, format_point(&comps[..used]))]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::ast::Literal;

    fn point(parts: &[(&str, Option<&str>)]) -> ProbePoint {
        let components = parts
            .iter()
            .map(|(n, a)| Component { name: n.to_string(), arg: a.map(|s| Literal::String(s.into())), span: Default::default() })
            .collect();
        ProbePoint { components, optional: false, sufficient: false, condition: None, span: Default::default() }
    }

    #[test]
    fn hook_and_pf_in_either_order() {
        let r = resolve(&point(&[("netfilter", None), ("pf", Some("NFPROTO_IPV4")), ("hook", Some("NF_IP_LOCAL_IN"))]))
            .unwrap()
            .unwrap();
        assert_eq!(
            r[0].0,
            ProbeKind::Hook(Hook::Netfilter { pf: "NFPROTO_IPV4".into(), hook: "NF_INET_LOCAL_IN".into(), priority: 0 })
        );
        assert_eq!(r[0].1, "netfilter.pf(\"NFPROTO_IPV4\").hook(\"NF_IP_LOCAL_IN\")");
        let r = resolve(&point(&[
            ("netfilter", None),
            ("hook", Some("NF_BR_FORWARD")),
            ("pf", Some("NFPROTO_BRIDGE")),
            ("priority", Some("NF_IP_PRI_FIRST")),
        ]))
        .unwrap()
        .unwrap();
        assert!(matches!(&r[0].0, ProbeKind::Hook(Hook::Netfilter { priority, .. }) if *priority == i32::MIN as i64));
    }

    #[test]
    fn aliases_are_not_the_family() {
        assert!(resolve(&point(&[("netfilter", None), ("ip", None), ("local_in", None)])).unwrap().is_none());
        assert!(resolve(&point(&[("netfilter", None), ("*", None), ("*", None)])).unwrap().is_none());
    }

    #[test]
    fn bad_names_are_located_errors() {
        let e = resolve(&point(&[("netfilter", None), ("hook", Some("NF_ARP_IN")), ("pf", Some("NFPROTO_IPV4"))])).unwrap_err();
        assert!(e.message.starts_with("unknown netfilter hook \"NF_ARP_IN\" for NFPROTO_IPV4; use NF_INET_PRE_ROUTING"), "{}", e.message);
        let e = resolve(&point(&[("netfilter", None), ("hook", Some("NF_INET_LOCAL_IN")), ("pf", Some("inet"))])).unwrap_err();
        assert_eq!(e.message, "unknown netfilter protocol family \"inet\"; use NFPROTO_IPV4, NFPROTO_IPV6, NFPROTO_ARP, NFPROTO_BRIDGE");
        let e = resolve(&point(&[
            ("netfilter", None),
            ("hook", Some("NF_INET_LOCAL_IN")),
            ("pf", Some("NFPROTO_IPV4")),
            ("priority", Some("1; evil()")),
        ]))
        .unwrap_err();
        assert!(e.message.contains("neither a 32-bit integer"));
    }
}
