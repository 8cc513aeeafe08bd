//! The embedded-C pragmas `man stap` documents, and the guru-only calls.
//!
//! Input: a lowered, typed `ir::Program` (for `apply_pragmas`); a call's
//! name while lowering (for `check_guru_call`). Output: the program with
//! `/* pure */` calls whose value is unused elided and `/* stable */` calls
//! memoized once per probe hit; an error naming -g for a call of a
//! `/* guru */` function from the user's script without `-g`. Invariants:
//! a pragma is a C comment holding exactly its word (`/* pure */`, `/*
//! myproc-unprivileged */`); tapset code may call guru functions without
//! `-g` (SystemTap: "tapsets are permitted and presumed to call them
//! safely"); `/* unprivileged */` and `/* myproc-unprivileged */` are
//! accepted and change nothing, since rstap runs every script with
//! SystemTap's stapdev privilege (there is no `--unprivileged` mode).

use crate::ir::visit::{self, VisitorMut};
use crate::ir::{Expr, ExprKind, FunctionBody, Local, Program, Stmt, StmtKind, Type, Var};
use crate::syntax::ast;

use super::lower::Lowerer;

/// Does embedded C `code` carry the pragma comment `/* word */`?
pub fn has_pragma(code: &str, word: &str) -> bool {
    let mut rest = code;
    while let Some(i) = rest.find("/*") {
        let after = &rest[i + 2..];
        let Some(j) = after.find("*/") else { return false };
        if after[..j].trim() == word {
            return true;
        }
        rest = &after[j + 2..];
    }
    false
}

impl<'a> Lowerer<'a> {
    /// A call from the user's script (without -g) of a function whose
    /// embedded C says `/* guru */` is an error at the call's name.
    pub(super) fn check_guru_call(&mut self, name: &ast::Ident) {
        if self.opts.guru || self.in_tapset {
            return;
        }
        let Some((_, def)) = self.find_function(&name.name, None) else { return };
        if let ast::FunctionBody::Embedded(c) = &def.item.body {
            if has_pragma(&c.code, "guru") {
                self.diags.error(
                    format!("function `{}` is guru-mode only (its embedded C is marked /* guru */); need stap -g", name.name),
                    name.span,
                );
            }
        }
    }
}

/// The pragmas of function `f`: (pure, stable).
fn pragmas(prog: &Program, f: usize) -> (bool, bool) {
    match &prog.functions[f].body {
        FunctionBody::Embedded(code) => {
            let pure = has_pragma(code, "pure");
            // `man stap`: stable functions take no parameters and are pure.
            let stable = pure && has_pragma(code, "stable") && prog.functions[f].params == 0;
            (pure, stable)
        }
        FunctionBody::Script(_) => (false, false),
    }
}

/// Applies `/* pure */` and `/* stable */` to every probe body and script
/// function (after type inference: memoized values need their types).
pub fn apply_pragmas(prog: &mut Program) {
    let info: Vec<(bool, bool)> = (0..prog.functions.len()).map(|f| pragmas(prog, f)).collect();
    if !info.iter().any(|(p, _)| *p) {
        return;
    }
    let mut elide = ElidePure { prog_info: &info };
    for b in &mut prog.bodies {
        elide.visit_stmt_mut(&mut b.body);
    }
    for f in &mut prog.functions {
        if let FunctionBody::Script(s) = &mut f.body {
            elide.visit_stmt_mut(s);
        }
    }
    for b in 0..prog.bodies.len() {
        memoize_stable(prog, b, &info);
    }
}

/// Replaces `pure_call(args);` statements whose arguments have no effects
/// with nothing.
struct ElidePure<'i> {
    prog_info: &'i [(bool, bool)],
}

impl VisitorMut for ElidePure<'_> {
    fn visit_stmt_mut(&mut self, s: &mut Stmt) {
        if let StmtKind::Expr(e) = &s.kind {
            if let ExprKind::Call { func, args } = &e.kind {
                if self.prog_info[*func].0 && args.iter().all(|a| simple(a, self.prog_info)) {
                    s.kind = StmtKind::Empty;
                    return;
                }
            }
        }
        visit::walk_stmt_mut(self, s);
    }
}

/// Can `e` be dropped when its value is unused: no stores, prints, calls
/// of anything but pure functions, or other effects? (`info`: the pragmas
/// of each function.)
fn simple(e: &Expr, info: &[(bool, bool)]) -> bool {
    no_effect(e, &|f| info[f].0)
}

/// Does `e` do nothing but compute its value: literals, variable and
/// target reads, operators, `sprintf`, and calls of the functions `pure`
/// says have no effect?
pub(super) fn no_effect(e: &Expr, pure: &dyn Fn(usize) -> bool) -> bool {
    let mut ok = true;
    visit::each_subexpr(e, |x| {
        ok &= match &x.kind {
            ExprKind::Long(_)
            | ExprKind::Str(_)
            | ExprKind::Var(_)
            | ExprKind::Unary { .. }
            | ExprKind::Binary { .. }
            | ExprKind::Ternary { .. }
            | ExprKind::Index { .. }
            | ExprKind::In { .. }
            | ExprKind::InSlice { .. }
            | ExprKind::Target(_) => true,
            ExprKind::Format { to_string, .. } => *to_string,
            ExprKind::Call { func, .. } => pure(*func),
            _ => false,
        }
    });
    ok
}

/// In probe body `b`, a stable function called more than once is called
/// once, at the top of the body, into a local `__stable_NAME`; its calls
/// read the local.
fn memoize_stable(prog: &mut Program, b: usize, info: &[(bool, bool)]) {
    let mut counts = vec![0usize; info.len()];
    visit::each_expr(&prog.bodies[b].body, |e| {
        if let ExprKind::Call { func, .. } = e.kind {
            if info[func].1 {
                counts[func] += 1;
            }
        }
    });
    let mut slots: Vec<Option<usize>> = vec![None; info.len()];
    let mut first = Vec::new();
    for (f, n) in counts.iter().enumerate() {
        if *n < 2 {
            continue;
        }
        let func = &prog.functions[f];
        let body = &mut prog.bodies[b];
        let idx = body.locals.len();
        let ty = if func.ret == Type::Unknown { Type::Long } else { func.ret };
        body.locals.push(Local { name: format!("__stable_{}", func.name), ty, span: func.span });
        slots[f] = Some(idx);
        let span = body.body.span;
        let call = Expr { kind: ExprKind::Call { func: f, args: Vec::new() }, ty, span };
        let assign = Expr { kind: ExprKind::Assign { var: Var::Local(idx), op: None, value: Box::new(call) }, ty, span };
        first.push(Stmt { kind: StmtKind::Expr(assign), span });
    }
    if first.is_empty() {
        return;
    }
    struct Memo<'s>(&'s [Option<usize>]);
    impl VisitorMut for Memo<'_> {
        fn visit_expr_mut(&mut self, e: &mut Expr) {
            if let ExprKind::Call { func, .. } = e.kind {
                if let Some(idx) = self.0[func] {
                    e.kind = ExprKind::Var(Var::Local(idx));
                    return;
                }
            }
            visit::walk_expr_mut(self, e);
        }
    }
    let body = &mut prog.bodies[b];
    Memo(&slots).visit_stmt_mut(&mut body.body);
    let span = body.body.span;
    let old = std::mem::replace(&mut body.body, Stmt { kind: StmtKind::Empty, span });
    first.push(old);
    body.body = Stmt { kind: StmtKind::Block(first), span };
}
