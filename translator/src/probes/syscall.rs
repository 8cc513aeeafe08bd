//! `stap -l` / `-L` of probe aliases (`syscall.*`, `nd_syscall.openat`,
//! `syscall_any`): the alias names, as SystemTap lists them, instead of
//! the kprobes they expand to.
//!
//! Input: the `-l` point (as the first probe of the user's file), the
//! tapset library's files, and what pass 2 needs to elaborate one alias.
//! Output: one line per matching alias name (sorted), with `-L` each
//! variable its prologue sets, as ` name:type` (types inferred by pass 2).
//! `None` when no alias of the library matches (the caller then lists the
//! point itself). Invariants: no IO; an alias that does not elaborate on
//! this kernel (its entry point is missing) is left out.

use crate::diag::{Diagnostics, SourceMap};
use crate::elaborate::ElabOptions;
use crate::glob::glob_match;
use crate::probes::dwarf::Dwarf;
use crate::probes::{format_point, KernelSymbols};
use crate::syntax::ast::{self, ProbePoint};

fn matches(name: &ProbePoint, point: &ProbePoint) -> bool {
    name.components.len() == point.components.len()
        && name
            .components
            .iter()
            .zip(&point.components)
            .all(|(n, p)| glob_match(&p.name, &n.name) && (p.arg.is_none() || p.arg == n.arg))
}

/// The lines `stap -l`/`-L` prints for the aliases matching `user`'s point.
#[allow(clippy::too_many_arguments)]
pub fn list_aliases(
    user: &ast::File,
    with_vars: bool,
    eopts: &ElabOptions,
    tapsets: &[ast::File],
    symbols: &dyn KernelSymbols,
    dwarf: &Dwarf<'_>,
    sources: &SourceMap,
) -> Option<Vec<String>> {
    let Some(ast::Item::Probe(probe)) = user.items.first() else { return None };
    let point = probe.points.first()?;
    let mut names: Vec<&ProbePoint> = tapsets
        .iter()
        .flat_map(|f| f.items.iter())
        .filter_map(|i| match i {
            ast::Item::Alias(a) if !a.private => Some(a),
            _ => None,
        })
        .flat_map(|a| a.names.iter())
        .filter(|n| matches(n, point))
        .collect();
    if names.is_empty() {
        return None;
    }
    names.sort_by_key(|n| format_point(&n.components));
    names.dedup_by_key(|n| format_point(&n.components));
    let mut lines = Vec::new();
    for name in names {
        let text = format_point(&name.components);
        let mut one = probe.clone();
        one.points = vec![ProbePoint { optional: false, sufficient: false, ..name.clone() }];
        one.body = ast::Block { stmts: Vec::new(), ..probe.body.clone() };
        let file = ast::File { items: vec![ast::Item::Probe(one)] };
        let mut diags = Diagnostics::default();
        let keep = ElabOptions { keep_unread: true, ..eopts.clone() };
        let Some(prog) = crate::elaborate::elaborate_with(&keep, std::slice::from_ref(&file), tapsets, symbols, dwarf, sources, &mut diags) else {
            continue;
        };
        let mut line = text;
        if with_vars {
            if let Some(body) = prog.probes.first().and_then(|p| prog.bodies.get(p.body)) {
                for l in &body.locals {
                    line.push_str(&format!(" {}:{}", l.name, l.ty.name()));
                }
            }
        }
        lines.push(line);
    }
    Some(lines)
}
