//! Derived probes: each expanded point becomes `ir::DerivedProbe`s and the
//! bodies they run (part of pass 2.4, lowering).
//!
//! Input: the [`PointExpansion`]s of `aliases::expand_aliases`. Output:
//! `Program::probes` and `Program::bodies`: a body is the alias prologues,
//! the user's body and the alias epilogues lowered in one scope (so locals
//! set by an alias are visible to the user's body), guarded by the point
//! conditions. Invariants: derived probes that went through the same
//! aliases and conditions share one body; a DWARF probe gets its own body,
//! lowered for its site (its `$var`s, `@entry` values and line-table
//! address are that site's); a `never` point's body is checked, then
//! dropped.

use std::collections::HashMap;

use super::aliases::{Piece, PointExpansion};
use super::lower::{Lowerer, Scope};
use crate::ir::{DerivedProbe, ProbeBody, ProbeKind, Stmt, StmtKind};
use crate::syntax::ast;

/// A body shared by derived probes, and its `@entry` body and slot count.
type SharedBody = (usize, Option<(usize, usize)>);

impl<'a> Lowerer<'a> {
    /// Lowers one point's expansion into derived probes.
    pub(super) fn derive_probes(&mut self, x: &PointExpansion<'a>) {
        let probe = x.probe;
        for d in &x.diags {
            self.diags.push(d.clone());
        }
        if x.never {
            self.lower_probe_body(probe, &[], &[], &[]);
            self.prog.bodies.pop();
            return;
        }
        // Derived probes that went through the same aliases (and
        // conditions) share a body.
        let mut groups: HashMap<Vec<usize>, SharedBody> = HashMap::new();
        for d in &x.derived {
            // A kretprobe without DWARF computes its `@entry` values in its
            // entry handler too, and its `$return` is the return-value
            // register (see `writes`).
            let kret = d.site.is_none() && matches!(d.kind, ProbeKind::Kprobe { ret: true, .. });
            let key: Vec<usize> = std::iter::once(kret as usize)
                .chain(std::iter::once(crate::probes::hooks::body_key(&d.kind)))
                .chain(d.via())
                .chain(syscall_key(&d.kind))
                .collect();
            self.target.kprobe_return = kret;
            self.target.kprobe_symbol = match &d.kind {
                ProbeKind::Kprobe { symbol, .. } if d.site.is_none() => Some(symbol.clone()),
                _ => None,
            };
            let entry;
            let body = match groups.get(&key) {
                _ if d.site.is_some() => {
                    if let Some(s) = d.site.as_ref().filter(|s| s.module.is_none()) {
                        self.line_sites.push(s.pc);
                    }
                    self.target.site = d.site.clone();
                    self.target.undefined.clear();
                    let b = self.lower_probe_body(probe, &d.prologue, &d.epilogue, &d.conditions);
                    entry = self.entry_body(probe.span);
                    self.target.site = None;
                    b
                }
                Some(&(b, e)) => {
                    entry = e;
                    b
                }
                None => {
                    self.kprobe_return = kret;
                    self.target.hook = crate::probes::hooks::of_kind(&d.kind);
                    let b = self.lower_probe_body(probe, &d.prologue, &d.epilogue, &d.conditions);
                    self.target.hook = None;
                    self.kprobe_return = false;
                    entry = if kret { self.entry_body(probe.span) } else { None };
                    groups.insert(key, (b, entry));
                    b
                }
            };
            self.target.kprobe_return = false;
            self.target.kprobe_symbol = None;
            self.prog.probes.push(DerivedProbe {
                kind: d.kind.clone(),
                pp: d.pp.clone(),
                body,
                entry,
                locks: Vec::new(),
                span: x.point.span,
            });
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
        scope.body = super::autocast::BodyKey::Probe(self.prog.bodies.len());
        let mut stmts: Vec<Stmt> = Vec::new();
        let saved = self.in_tapset;
        self.handler = Some(&probe.body);
        for (block, from_tapset) in prologue {
            self.in_tapset = *from_tapset;
            self.current_file = block.span.file;
            stmts.push(self.lower_block(&mut scope, block));
        }
        self.handler = None;
        self.in_tapset = false;
        self.current_file = probe.span.file;
        stmts.push(self.lower_block(&mut scope, &probe.body));
        self.handler = Some(&probe.body);
        for (block, from_tapset) in epilogue {
            self.in_tapset = *from_tapset;
            self.current_file = block.span.file;
            stmts.push(self.lower_block(&mut scope, block));
        }
        self.handler = None;
        self.in_tapset = saved;
        let mut body = Stmt { kind: StmtKind::Block(stmts), span: probe.body.span };
        body = self.guard_with_conditions(conditions, body);
        self.prog.bodies.push(ProbeBody { locals: scope.locals, body, span: probe.span });
        self.prog.bodies.len() - 1
    }
}

/// Kprobes on different system calls' entry points do not share a body:
/// their `$param`s differ (see `writes::syscall_param`).
fn syscall_key(kind: &ProbeKind) -> Option<usize> {
    match kind {
        ProbeKind::Kprobe { symbol, .. } if symbol.starts_with("__x64_sys_") || symbol.starts_with("__ia32_") => {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            symbol.hash(&mut h);
            Some(h.finish() as usize)
        }
        _ => None,
    }
}
