//! Probe alias expansion: `probe a = b { prologue }` and `probe a += b {
//! epilogue }`, down to built-in probe families.
//!
//! Input: a user `probe` and the aliases of the script and tapset library.
//! Output: derived probes (`ir::DerivedProbe`) whose bodies are the alias
//! prologues, the user's body and the alias epilogues lowered in one scope
//! (so locals set by an alias are visible to the user's body). Invariants:
//! the deepest alias's prologue runs first; expansion depth is bounded; a
//! point that matches nothing is an error unless it is optional (`?`, `!`).

use std::collections::HashMap;

use super::lower::Scope;
use super::{Def, Elab};
use crate::diag::Diagnostic;
use crate::glob::glob_match;
use crate::ir::{DerivedProbe, ProbeBody, ProbeKind, Stmt, StmtKind};
use crate::probes::{self, format_point};
use crate::syntax::ast::{self, AliasKind, ProbePoint};

const MAX_ALIAS_DEPTH: usize = 32;

/// An alias body to run around the user's body: the block and whether it
/// came from the tapset library.
type Piece<'a> = (&'a ast::Block, bool);

struct Expanded<'a> {
    kind: ProbeKind,
    pp: String,
    prologue: Vec<Piece<'a>>,
    epilogue: Vec<Piece<'a>>,
    /// `if (cond)` of the user's point and of the alias points it went
    /// through: the handler runs only while all of them hold.
    conditions: Vec<&'a ast::Expr>,
    /// A DWARF probe: its body is lowered for this site alone.
    site: Option<crate::probes::dwarf::DwarfSite>,
}

/// The `never` probe point: resolves, but never fires.
fn is_never(point: &ProbePoint) -> bool {
    matches!(point.components.as_slice(), [c] if c.name == "never" && c.arg.is_none())
}

fn alias_matches(name: &ProbePoint, point: &ProbePoint) -> bool {
    name.components.len() == point.components.len()
        && name.components.iter().zip(&point.components).all(|(n, p)| {
            glob_match(&p.name, &n.name) && (p.arg.is_none() || p.arg == n.arg)
        })
}

impl<'a> Elab<'a> {
    /// Expands every point of `probe`. A point with the `!` (sufficient)
    /// suffix that resolves ends the list: later points are not tried.
    pub fn expand_probe(&mut self, probe: &'a ast::Probe) {
        for point in &probe.points {
            if is_never(point) {
                // `never`: no probe, but the body is still checked (and
                // the functions it calls still exist), as in SystemTap.
                self.lower_probe_body(probe, &[], &[], &[]);
                self.prog.bodies.pop();
                continue;
            }
            let mut out = Vec::new();
            self.expand_point(point, &[], &[], &[], 0, &mut out);
            let resolved = !out.is_empty();
            // Derived probes that went through the same aliases (and
            // conditions) share a body.
            let mut groups: HashMap<Vec<usize>, usize> = HashMap::new();
            for x in out {
                let key: Vec<usize> = x
                    .prologue
                    .iter()
                    .chain(&x.epilogue)
                    .map(|(b, _)| *b as *const ast::Block as usize)
                    .chain(std::iter::once(0))
                    .chain(x.conditions.iter().map(|c| *c as *const ast::Expr as usize))
                    .collect();
                let mut entry = None;
                let body = match groups.get(&key) {
                    _ if x.site.is_some() => {
                        if let Some(s) = x.site.as_ref().filter(|s| s.module.is_none()) {
                            self.line_sites.push(s.pc);
                        }
                        self.site = x.site.clone();
                        self.undefined_targets.clear();
                        let b = self.lower_probe_body(probe, &x.prologue, &x.epilogue, &x.conditions);
                        entry = self.entry_body(probe.span);
                        self.site = None;
                        b
                    }
                    Some(&b) => b,
                    None => {
                        let b = self.lower_probe_body(probe, &x.prologue, &x.epilogue, &x.conditions);
                        groups.insert(key, b);
                        b
                    }
                };
                self.prog.probes.push(DerivedProbe {
                    kind: x.kind,
                    pp: x.pp,
                    body,
                    entry,
                    locks: Vec::new(),
                    span: point.span,
                });
            }
            if point.sufficient && resolved {
                break;
            }
        }
    }

    fn lower_probe_body(
        &mut self,
        probe: &'a ast::Probe,
        prologue: &[Piece<'a>],
        epilogue: &[Piece<'a>],
        conditions: &[&'a ast::Expr],
    ) -> usize {
        let mut scope = Scope::new(false);
        let mut stmts: Vec<Stmt> = Vec::new();
        let saved = self.in_tapset;
        for (block, from_tapset) in prologue {
            self.in_tapset = *from_tapset;
            self.current_file = block.span.file;
            stmts.push(self.lower_block(&mut scope, block));
        }
        self.in_tapset = false;
        self.current_file = probe.span.file;
        stmts.push(self.lower_block(&mut scope, &probe.body));
        for (block, from_tapset) in epilogue {
            self.in_tapset = *from_tapset;
            self.current_file = block.span.file;
            stmts.push(self.lower_block(&mut scope, block));
        }
        self.in_tapset = saved;
        let mut body = Stmt {
            kind: StmtKind::Block(stmts),
            span: probe.body.span,
        };
        body = self.guard_with_conditions(conditions, body);
        self.prog.bodies.push(ProbeBody {
            locals: scope.locals,
            body,
            span: probe.span,
        });
        self.prog.bodies.len() - 1
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
        let resolved = match self.resolve_dwarf_point(point) {
            Ok(Some(d)) => {
                for p in d.probes {
                    out.push(Expanded {
                        kind: p.kind,
                        pp: p.pp,
                        prologue: prologue.to_vec(),
                        epilogue: epilogue.to_vec(),
                        conditions: conditions.clone(),
                        site: Some(p.site),
                    });
                }
                return;
            }
            Ok(None) => probes::resolve_builtin(point, self.symbols),
            Err(e) => Err(e),
        };
        match resolved {
            Ok(Some(list)) => {
                for (kind, pp) in list {
                    out.push(Expanded {
                        kind,
                        pp,
                        prologue: prologue.to_vec(),
                        epilogue: epilogue.to_vec(),
                        conditions: conditions.clone(),
                        site: None,
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
        let matching: Vec<Def<'a, ast::ProbeAlias>> = self
            .aliases
            .iter()
            .filter(|a| a.item.names.iter().any(|n| alias_matches(n, point)))
            .filter(|a| !a.item.private || a.item.span.file == point.span.file)
            .copied()
            .collect();
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
                self.diags.push(d);
            }
            return;
        }
        for alias in matching {
            let piece = (&alias.item.body, alias.from_tapset);
            let (pro, epi): (Vec<Piece<'a>>, Vec<Piece<'a>>) = match alias.item.kind {
                AliasKind::Prologue => {
                    let mut p = vec![piece];
                    p.extend_from_slice(prologue);
                    let mut e = epilogue.to_vec();
                    // `probe a = b { prologue }, { epilogue }`
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
            };
            for target in &alias.item.points {
                let before = out.len();
                self.expand_point(target, &pro, &epi, &conditions, depth + 1, out);
                if target.sufficient && out.len() > before {
                    break;
                }
            }
        }
    }
}
