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
    /// A DWARF probe: its body is lowered for this site alone.
    site: Option<crate::probes::dwarf::DwarfSite>,
}

/// Glob match with `*` (any run) and `?` (one character).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

fn alias_matches(name: &ProbePoint, point: &ProbePoint) -> bool {
    name.components.len() == point.components.len()
        && name.components.iter().zip(&point.components).all(|(n, p)| {
            glob_match(&p.name, &n.name) && (p.arg.is_none() || p.arg == n.arg)
        })
}

impl<'a> Elab<'a> {
    pub fn expand_probe(&mut self, probe: &'a ast::Probe) {
        for point in &probe.points {
            if let Some(cond) = &point.condition {
                self.diags.error("probe point conditions (`if`) are not supported by rstap yet", cond.span);
            }
            let mut out = Vec::new();
            self.expand_point(point, &[], &[], 0, &mut out);
            // Derived probes that went through the same aliases share a body.
            let mut groups: HashMap<Vec<*const ast::Block>, usize> = HashMap::new();
            for x in out {
                let key: Vec<*const ast::Block> = x
                    .prologue
                    .iter()
                    .chain(&x.epilogue)
                    .map(|(b, _)| *b as *const ast::Block)
                    .collect();
                let body = match groups.get(&key) {
                    _ if x.site.is_some() => {
                        self.site = x.site.clone();
                        self.undefined_targets.clear();
                        let b = self.lower_probe_body(probe, &x.prologue, &x.epilogue);
                        self.site = None;
                        b
                    }
                    Some(&b) => b,
                    None => {
                        let b = self.lower_probe_body(probe, &x.prologue, &x.epilogue);
                        groups.insert(key, b);
                        b
                    }
                };
                self.prog.probes.push(DerivedProbe {
                    kind: x.kind,
                    pp: x.pp,
                    body,
                    locks: Vec::new(),
                    span: point.span,
                });
            }
        }
    }

    fn lower_probe_body(&mut self, probe: &'a ast::Probe, prologue: &[Piece<'a>], epilogue: &[Piece<'a>]) -> usize {
        let mut scope = Scope::new(false);
        let mut stmts: Vec<Stmt> = Vec::new();
        let saved = self.in_tapset;
        for (block, from_tapset) in prologue {
            self.in_tapset = *from_tapset;
            stmts.push(self.lower_block(&mut scope, block));
        }
        self.in_tapset = false;
        stmts.push(self.lower_block(&mut scope, &probe.body));
        for (block, from_tapset) in epilogue {
            self.in_tapset = *from_tapset;
            stmts.push(self.lower_block(&mut scope, block));
        }
        self.in_tapset = saved;
        self.prog.bodies.push(ProbeBody {
            locals: scope.locals,
            body: Stmt {
                kind: StmtKind::Block(stmts),
                span: probe.body.span,
            },
            span: probe.span,
        });
        self.prog.bodies.len() - 1
    }

    fn expand_point(
        &mut self,
        point: &ProbePoint,
        prologue: &[Piece<'a>],
        epilogue: &[Piece<'a>],
        depth: usize,
        out: &mut Vec<Expanded<'a>>,
    ) {
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
                self.expand_point(target, &pro, &epi, depth + 1, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("*", "open"));
        assert!(glob_match("op*", "open"));
        assert!(glob_match("*en", "open"));
        assert!(glob_match("o?en", "open"));
        assert!(!glob_match("o?en", "oopen"));
        assert!(!glob_match("read*", "open"));
        assert!(glob_match("a*b*c", "aXXbYYc"));
    }
}
