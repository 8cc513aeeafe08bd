//! Pass 2.2, expand aliases: `probe a = b { prologue }` and `probe a += b
//! { epilogue }`, down to points of built-in probe families.
//!
//! Input: the user's `probe`s, the aliases of the [`SymbolTable`], and
//! what `points::resolve_point` needs (kernel symbols, DWARF). Output: per
//! point of every user probe, a [`PointExpansion`]: the concrete points it
//! derives, each with the alias prologues and epilogues to run around the
//! user's body and the `if` conditions it went through. Alias expansion and
//! point resolution are one recursion: whether a point is a family's or an
//! alias's is known only by trying the families first (SystemTap's rule).
//! Invariants: the deepest alias's prologue runs first; expansion depth is
//! bounded; a point that matches nothing is an error unless it is optional
//! (`?`, `!`); a `!` point that resolves ends its probe's list.

use super::points::resolve_point;
use super::resolve::{Def, SymbolTable};
use super::ElabOptions;
use crate::diag::{Diagnostic, Diagnostics};
use crate::glob::glob_match;
use crate::ir::ProbeKind;
use crate::probes::dwarf::Dwarf;
use crate::probes::{self, format_point, KernelSymbols};
use crate::syntax::ast::{self, AliasKind, ProbePoint};

const MAX_ALIAS_DEPTH: usize = 32;

/// An alias body to run around the user's body: the block and whether it
/// came from the tapset library.
pub type Piece<'a> = (&'a ast::Block, bool);

/// One derived probe of a point: where it is and the code around the
/// user's body.
pub struct Expanded<'a> {
    pub kind: ProbeKind,
    pub pp: String,
    pub prologue: Vec<Piece<'a>>,
    pub epilogue: Vec<Piece<'a>>,
    /// `if (cond)` of the user's point and of the alias points it went
    /// through: the handler runs only while all of them hold.
    pub conditions: Vec<&'a ast::Expr>,
    /// A DWARF probe: its body is lowered for this site alone.
    pub site: Option<crate::probes::dwarf::DwarfSite>,
}

impl Expanded<'_> {
    /// Which alias prologues, epilogues and point conditions this point
    /// went through, by identity: points that share them share a body.
    pub fn via(&self) -> impl Iterator<Item = usize> + '_ {
        self.prologue
            .iter()
            .chain(&self.epilogue)
            .map(|(b, _)| *b as *const ast::Block as usize)
            .chain(self.conditions.iter().map(|c| *c as *const ast::Expr as usize))
    }
}

/// What one point of a user probe expanded to.
pub struct PointExpansion<'a> {
    pub probe: &'a ast::Probe,
    pub point: &'a ProbePoint,
    /// `never`: no probe, but the body is still checked (and the
    /// functions it calls still exist), as in SystemTap.
    pub never: bool,
    pub derived: Vec<Expanded<'a>>,
    /// The errors expanding this point found. Lowering reports them just
    /// before it lowers the point's bodies, so that every probe's
    /// diagnostics stay together and in source order.
    pub diags: Vec<Diagnostic>,
}

/// What alias expansion reads.
pub struct ExpandInput<'a, 't> {
    pub user: &'a [ast::File],
    pub table: &'t SymbolTable<'a>,
    pub symbols: &'t dyn KernelSymbols,
    pub dwarf: &'t Dwarf<'t>,
}

/// Expands every point of every user probe, in order.
pub fn expand_aliases<'a>(
    _opts: &ElabOptions,
    input: &ExpandInput<'a, '_>,
    _diags: &mut Diagnostics,
) -> Option<Vec<PointExpansion<'a>>> {
    let mut x = Expander { aliases: &input.table.aliases, symbols: input.symbols, dwarf: input.dwarf, diags: Diagnostics::new() };
    let mut out = Vec::new();
    for file in input.user {
        for item in &file.items {
            if let ast::Item::Probe(p) = item {
                x.expand_probe(p, &mut out);
            }
        }
    }
    Some(out)
}

struct Expander<'a, 't> {
    aliases: &'t [Def<'a, ast::ProbeAlias>],
    symbols: &'t dyn KernelSymbols,
    dwarf: &'t Dwarf<'t>,
    /// The current point's errors.
    diags: Diagnostics,
}

/// Kprobes of one alias on two names of one address (6.12's
/// `__ia32_sys_sync` is `__x64_sys_sync`: a call without arguments needs no
/// 32-bit wrapper) would fire twice per hit: the first one stays.
fn drop_same_address(derived: &mut Vec<Expanded<'_>>, symbols: &dyn KernelSymbols) {
    let mut seen = std::collections::HashSet::new();
    derived.retain(|d| {
        let ProbeKind::Kprobe { symbol, offset, ret, .. } = &d.kind else { return true };
        let Some(addr) = (d.site.is_none()).then(|| symbols.address(symbol)).flatten() else { return true };
        seen.insert((addr.wrapping_add(*offset), *ret, d.via().collect::<Vec<_>>()))
    });
}

/// The `never` probe point: resolves, but never fires.
fn is_never(point: &ProbePoint) -> bool {
    matches!(point.components.as_slice(), [c] if c.name == "never" && c.arg.is_none())
}

pub(super) fn alias_matches(name: &ProbePoint, point: &ProbePoint) -> bool {
    name.components.len() == point.components.len()
        && name.components.iter().zip(&point.components).all(|(n, p)| {
            glob_match(&p.name, &n.name) && (p.arg.is_none() || p.arg == n.arg)
        })
}

impl<'a> Expander<'a, '_> {
    /// Expands every point of `probe`. A point with the `!` (sufficient)
    /// suffix that resolves ends the list: later points are not tried.
    fn expand_probe(&mut self, probe: &'a ast::Probe, out: &mut Vec<PointExpansion<'a>>) {
        for point in &probe.points {
            if is_never(point) {
                out.push(PointExpansion { probe, point, never: true, derived: Vec::new(), diags: Vec::new() });
                continue;
            }
            let mut derived = Vec::new();
            self.expand_point(point, &[], &[], &[], 0, &mut derived);
            drop_same_address(&mut derived, self.symbols);
            let resolved = !derived.is_empty();
            let diags = std::mem::take(&mut self.diags.list);
            out.push(PointExpansion { probe, point, never: false, derived, diags });
            if point.sufficient && resolved {
                break;
            }
        }
    }

    /// The aliases whose names match `point` and that `point`'s file may
    /// see (a `private` alias only from its own file).
    fn visible_matching(&self, point: &ProbePoint) -> Vec<Def<'a, ast::ProbeAlias>> {
        self.aliases
            .iter()
            .filter(|a| a.item.names.iter().any(|n| alias_matches(n, point)))
            .filter(|a| !a.item.private || a.item.span.file == point.span.file)
            .copied()
            .collect()
    }

    fn expand_point(
        &mut self,
        point: &'a ProbePoint,
        prologue: &[Piece<'a>],
        epilogue: &[Piece<'a>],
        conditions: &[&'a ast::Expr],
        depth: usize,
        out: &mut Vec<Expanded<'a>>,
    ) {
        if is_never(point) {
            return;
        }
        let mut conditions = conditions.to_vec();
        if let Some(c) = &point.condition {
            conditions.push(c);
        }
        if depth > MAX_ALIAS_DEPTH {
            self.diags.error(
                format!("probe alias expansion of `{}` is nested too deeply (recursive alias?)", format_point(&point.components)),
                point.span,
            );
            return;
        }
        match resolve_point(point, self.symbols, self.dwarf) {
            Ok(Some(list)) => {
                for p in list {
                    out.push(Expanded {
                        kind: p.kind,
                        pp: p.pp,
                        prologue: prologue.to_vec(),
                        epilogue: epilogue.to_vec(),
                        conditions: conditions.clone(),
                        site: p.site,
                    });
                }
                return;
            }
            Ok(None) => {}
            Err(e) => {
                if !(point.optional || point.sufficient) {
                    self.diags.error(e.message, e.span);
                }
                return;
            }
        }
        let matching = self.visible_matching(point);
        if matching.is_empty() && self.expand_suffixed(point, prologue, epilogue, &conditions, depth, out) {
            return;
        }
        if matching.is_empty() {
            if !(point.optional || point.sufficient) {
                let name = format_point(&point.components);
                let mut d = Diagnostic::error(format!("no match for probe point `{name}`"), Some(point.span));
                let family = &point.components[0].name;
                if !probes::FAMILIES.contains(&family.as_str()) && !self.aliases.iter().any(|a| {
                    a.item.names.iter().any(|n| n.components.first().map(|c| &c.name) == Some(family))
                }) {
                    d = d.with_note(format!(
                        "`{family}` is neither a probe family ({}) nor a probe alias of the tapset library",
                        probes::FAMILIES.join(", ")
                    ));
                }
                if let Some(hidden) = self.aliases.iter().find(|a| {
                    a.item.private && a.item.names.iter().any(|n| alias_matches(n, point))
                }) {
                    d = d.with_label(
                        hidden.item.span,
                        "this alias matches, but it is `private` to its own file",
                    );
                }
                let names: Vec<String> = self
                    .aliases
                    .iter()
                    .filter(|a| !a.item.private || a.item.span.file == point.span.file)
                    .flat_map(|a| a.item.names.iter())
                    .filter(|n| n.components.len() == point.components.len())
                    .map(|n| format_point(&n.components))
                    .filter(|n| *n != name)
                    .collect();
                let close = probes::tracepoint::close_matches(&name, &names, true);
                if !close.is_empty() {
                    d = d.with_note(format!("close matches: {}", close.join(", ")));
                }
                self.diags.push(d);
            }
            return;
        }
        for alias in matching {
            let (pro, epi) = wrap(&alias, prologue, epilogue);
            for target in &alias.item.points {
                let before = out.len();
                self.expand_point(target, &pro, &epi, &conditions, depth + 1, out);
                if target.sufficient && out.len() > before {
                    break;
                }
            }
        }
    }
    /// Alias suffixes: `a.return` where `a` is an alias and `a.return` is
    /// not: each point of `a`, with `.return` (the components after the
    /// alias's name) appended, under `a`'s body. The longest alias name
    /// that matches wins. False when no prefix of the point is an alias.
    fn expand_suffixed(
        &mut self,
        point: &'a ProbePoint,
        prologue: &[Piece<'a>],
        epilogue: &[Piece<'a>],
        conditions: &[&'a ast::Expr],
        depth: usize,
        out: &mut Vec<Expanded<'a>>,
    ) -> bool {
        for k in (1..point.components.len()).rev() {
            let prefix = ProbePoint { components: point.components[..k].to_vec(), optional: false, sufficient: false, condition: None, span: point.span };
            let matching = self.visible_matching(&prefix);
            if matching.is_empty() {
                continue;
            }
            let before = out.len();
            for alias in matching {
                let (pro, epi) = wrap(&alias, prologue, epilogue);
                for target in &alias.item.points {
                    let mut components = target.components.clone();
                    components.extend_from_slice(&point.components[k..]);
                    // The point lives as long as the expansions that point
                    // into it (a few per suffixed use, for one translation).
                    let suffixed: &'a ProbePoint = Box::leak(Box::new(ProbePoint {
                        components,
                        optional: target.optional || point.optional,
                        sufficient: target.sufficient,
                        condition: target.condition.clone(),
                        span: point.span,
                    }));
                    let n = out.len();
                    self.expand_point(suffixed, &pro, &epi, conditions, depth + 1, out);
                    if target.sufficient && out.len() > n {
                        break;
                    }
                }
            }
            return out.len() > before || !self.diags.list.is_empty();
        }
        false
    }
}

/// The prologue and epilogue around an alias's points: the alias's body
/// goes before (`=`) or after (`+=`) what wraps the alias's own use, and
/// `probe a = b { prologue }, { epilogue }` adds an epilogue too.
fn wrap<'a>(alias: &Def<'a, ast::ProbeAlias>, prologue: &[Piece<'a>], epilogue: &[Piece<'a>]) -> (Vec<Piece<'a>>, Vec<Piece<'a>>) {
    let piece = (&alias.item.body, alias.from_tapset);
    match alias.item.kind {
        AliasKind::Prologue => {
            let mut p = vec![piece];
            p.extend_from_slice(prologue);
            let mut e = epilogue.to_vec();
            if let Some(after) = &alias.item.epilogue {
                e.push((after, alias.from_tapset));
            }
            (p, e)
        }
        AliasKind::Epilogue => {
            let mut e = epilogue.to_vec();
            e.push(piece);
            (prologue.to_vec(), e)
        }
    }
}
