//! Stores nobody reads: the variables a tapset alias sets for the script
//! (`name`, `argstr`, `fd`, ... of every `syscall.NAME`) cost a string
//! store or a register read per hit even when the body never reads them.
//!
//! Input: a typed `ir::Program` (after the embedded-C pragmas: `/* pure */`
//! says which calls have no effect) and the source map. Output: the same
//! program with each `local = value` statement dropped when nothing in its
//! probe body reads that local, the statement comes from a tapset file,
//! and `value` has no effect (literals, locals, operators, target reads,
//! `sprintf`, calls of `/* pure */` functions and of script functions
//! that only compute and return); repeated until nothing
//! changes (dropping `argstr = sprintf("%d", fd)` can leave `fd` unread).
//! Locals nothing mentions any more leave the body's frame, and functions
//! nothing calls any more leave the program.
//! Invariants: the user's own statements are never dropped (what they
//! compute, and the errors they can raise, stay as written); a body with
//! embedded C is left alone (its C may name any local).

use crate::diag::SourceMap;
use crate::ir::visit::{self, Visitor, VisitorMut};
use crate::ir::{Expr, ExprKind, FunctionBody, Program, Stmt, StmtKind, Var};
use crate::elaborate::guru::{self, has_pragma};

/// Drops the unread tapset stores of every probe body.
pub fn elide(prog: &mut Program, sources: &SourceMap) {
    let pure = pure_functions(prog);
    let mut any = false;
    for b in &mut prog.bodies {
        if has_embedded(&b.body) {
            continue;
        }
        let mut dropped = 0;
        loop {
            let read = reads(&b.body, b.locals.len());
            let mut drop = Drop { read: &read, pure: &pure, sources, dropped: 0 };
            drop.visit_stmt_mut(&mut b.body);
            if drop.dropped == 0 {
                break;
            }
            dropped += drop.dropped;
        }
        if dropped > 0 {
            compact(b);
            any = true;
        }
    }
    if any {
        drop_uncalled_functions(prog);
    }
}

/// Which functions have no effect but their value: embedded C marked
/// `/* pure */`, and script functions whose statements only compute into
/// their own locals and return (no loops: a loop's time is an effect),
/// calling only such functions.
fn pure_functions(prog: &Program) -> Vec<bool> {
    let mut pure: Vec<bool> = prog
        .functions
        .iter()
        .map(|f| matches!(&f.body, FunctionBody::Embedded(c) if has_pragma(c, "pure")))
        .collect();
    loop {
        let mut changed = false;
        for (i, f) in prog.functions.iter().enumerate() {
            if let (false, FunctionBody::Script(body)) = (pure[i], &f.body) {
                if pure_stmt(body, &pure) {
                    pure[i] = true;
                    changed = true;
                }
            }
        }
        if !changed {
            return pure;
        }
    }
}

fn pure_stmt(s: &Stmt, pure: &[bool]) -> bool {
    match &s.kind {
        StmtKind::Block(list) => list.iter().all(|x| pure_stmt(x, pure)),
        StmtKind::If { cond, then, els } => {
            no_effect(cond, pure) && pure_stmt(then, pure) && els.as_ref().is_none_or(|e| pure_stmt(e, pure))
        }
        StmtKind::Return(v) => v.as_ref().is_none_or(|e| no_effect(e, pure)),
        StmtKind::Expr(Expr { kind: ExprKind::Assign { var: Var::Local(_), value, .. }, .. }) => no_effect(value, pure),
        StmtKind::Empty => true,
        _ => false,
    }
}

/// Removes the functions no probe body calls any more (directly or through
/// another function) and renumbers the calls.
fn drop_uncalled_functions(prog: &mut Program) {
    let n = prog.functions.len();
    let calls = |s: &Stmt, out: &mut Vec<usize>| {
        visit::each_expr(s, |e| {
            if let ExprKind::Call { func, .. } = e.kind {
                out.push(func);
            }
        })
    };
    let mut live = vec![false; n];
    let mut todo = Vec::new();
    for b in &prog.bodies {
        calls(&b.body, &mut todo);
    }
    while let Some(f) = todo.pop() {
        if f >= n || live[f] {
            continue;
        }
        live[f] = true;
        if let FunctionBody::Script(body) = &prog.functions[f].body {
            calls(body, &mut todo);
        }
    }
    if live.iter().all(|l| *l) {
        return;
    }
    let map = renumbering(&live);
    let mut re = Recall { map: &map };
    for b in &mut prog.bodies {
        re.visit_stmt_mut(&mut b.body);
    }
    for f in &mut prog.functions {
        if let FunctionBody::Script(body) = &mut f.body {
            re.visit_stmt_mut(body);
        }
    }
    let mut i = 0;
    prog.functions.retain(|_| {
        i += 1;
        live[i - 1]
    });
}

/// Renumbers the calls after functions were removed.
struct Recall<'a> {
    map: &'a [usize],
}

impl VisitorMut for Recall<'_> {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        if let ExprKind::Call { func, .. } = &mut e.kind {
            *func = self.map[*func];
        }
        visit::walk_expr_mut(self, e);
    }
}

/// Removes the locals nothing mentions any more (their frame slots are
/// zeroed at every hit) and renumbers the rest.
fn compact(b: &mut crate::ir::ProbeBody) {
    let mut used = vec![false; b.locals.len()];
    let mut mark = Renumber { map: None, used: &mut used };
    mark.visit_stmt_mut(&mut b.body);
    if used.iter().all(|u| *u) {
        return;
    }
    let map = renumbering(&used);
    let mut unused_marks = vec![false; used.len()];
    Renumber { map: Some(&map), used: &mut unused_marks }.visit_stmt_mut(&mut b.body);
    let mut i = 0;
    b.locals.retain(|_| {
        i += 1;
        used[i - 1]
    });
}

/// The new index of each kept entry (`keep[i]`) once the others are gone;
/// usize::MAX for the gone ones.
fn renumbering(keep: &[bool]) -> Vec<usize> {
    let mut next = 0;
    keep.iter()
        .map(|&k| {
            if !k {
                return usize::MAX;
            }
            next += 1;
            next - 1
        })
        .collect()
}

/// Marks (map None) or renumbers (map Some) every mention of a local.
struct Renumber<'a> {
    map: Option<&'a [usize]>,
    used: &'a mut [bool],
}

impl Renumber<'_> {
    fn local(&mut self, i: &mut usize) {
        match self.map {
            None => {
                if let Some(u) = self.used.get_mut(*i) {
                    *u = true;
                }
            }
            Some(m) => *i = m[*i],
        }
    }

    fn var(&mut self, v: &mut Var) {
        if let Var::Local(i) = v {
            self.local(i);
        }
    }
}

impl VisitorMut for Renumber<'_> {
    fn visit_stmt_mut(&mut self, s: &mut Stmt) {
        match &mut s.kind {
            StmtKind::Foreach { keys, value, .. } => {
                keys.iter_mut().for_each(|k| self.local(k));
                if let Some(v) = value {
                    self.local(v);
                }
            }
            StmtKind::Try { catch_var: Some(v), .. } => self.local(v),
            _ => {}
        }
        visit::walk_stmt_mut(self, s);
    }

    fn visit_expr_mut(&mut self, e: &mut Expr) {
        match &mut e.kind {
            ExprKind::Var(v) | ExprKind::IncDec { var: v, .. } | ExprKind::Assign { var: v, .. } => self.var(v),
            _ => {}
        }
        visit::walk_expr_mut(self, e);
    }
}

fn has_embedded(s: &Stmt) -> bool {
    let mut found = false;
    visit::Each { on_expr: |_: &Expr| {}, on_stmt: |s: &Stmt| found |= matches!(s.kind, StmtKind::Embedded(_)) }
        .visit_stmt(s);
    found
}

/// Which locals something reads (a plain `=` store is no read).
fn reads(s: &Stmt, n: usize) -> Vec<bool> {
    let mut read = vec![false; n];
    let mut mark = |v: &Var| {
        if let Var::Local(i) = v {
            if let Some(r) = read.get_mut(*i) {
                *r = true;
            }
        }
    };
    visit::each_expr(s, |e| match &e.kind {
        ExprKind::Var(v) | ExprKind::IncDec { var: v, .. } => mark(v),
        ExprKind::Assign { var, op: Some(_), .. } => mark(var),
        _ => {}
    });
    read
}

struct Drop<'a> {
    read: &'a [bool],
    pure: &'a [bool],
    sources: &'a SourceMap,
    dropped: usize,
}

impl VisitorMut for Drop<'_> {
    fn visit_stmt_mut(&mut self, s: &mut Stmt) {
        if let StmtKind::Expr(e) = &s.kind {
            if let ExprKind::Assign { var: Var::Local(i), op: None, value } = &e.kind {
                let unread = !self.read.get(*i).copied().unwrap_or(true);
                let library = self.sources.files.get(s.span.file as usize).is_some_and(|f| f.library);
                if unread && library && no_effect(value, self.pure) {
                    s.kind = StmtKind::Empty;
                    self.dropped += 1;
                    return;
                }
            }
        }
        visit::walk_stmt_mut(self, s);
        // What an alias computed only for what it dropped: `if (flags & 64)
        // {} else {}`.
        if let StmtKind::If { cond, then, els } = &s.kind {
            let library = self.sources.files.get(s.span.file as usize).is_some_and(|f| f.library);
            if library && is_empty(then) && els.as_deref().is_none_or(is_empty) && no_effect(cond, self.pure) {
                s.kind = StmtKind::Empty;
                self.dropped += 1;
            }
        }
    }
}

fn is_empty(s: &Stmt) -> bool {
    match &s.kind {
        StmtKind::Empty => true,
        StmtKind::Block(list) => list.iter().all(is_empty),
        _ => false,
    }
}

/// Can `e` go when its value is unused: nothing it does outlives it?
fn no_effect(e: &Expr, pure: &[bool]) -> bool {
    guru::no_effect(e, &|f| pure.get(f).copied().unwrap_or(false))
}
