//! Pass 2.8, the end-of-session dump: globals the script writes but never
//! reads are printed when the session ends, as SystemTap does.
//!
//! Input: a typed program and the indices of the user's own globals.
//! Output: `Global::read` set for every global, and, when some user global
//! is written but never read, one more `end` probe (after the user's own)
//! whose body prints each such global: `n=5`, `s="text"`,
//! `a["x",1]=3` (one line per element), `st @count=3 @min=1 @max=9 @sum=12
//! @avg=4` (statistics, only when not empty). Invariants: the synthesized
//! body is ordinary IR, so locking, budgets and C come from the usual
//! passes; string keys and values are quoted.

use crate::diag::Span;
use crate::ir::visit::{visit_program, Each};
use crate::ir::{
    BinaryOp, DerivedProbe, Expr, ExprKind, FormatPiece, Local, ProbeBody, ProbeKind, Program,
    StatOp, Stmt, StmtKind, Type, Var,
};

/// Which globals are read and which are written anywhere in the program.
fn uses(prog: &Program) -> (Vec<bool>, Vec<bool>) {
    let n = prog.globals.len();
    let mut read = vec![false; n];
    let mut written = vec![false; n];
    let mut on_expr = |e: &Expr| match &e.kind {
        ExprKind::Var(Var::Global(g)) => read[*g] = true,
        ExprKind::Index { global, .. }
        | ExprKind::In { global, .. }
        | ExprKind::InSlice { global, .. }
        | ExprKind::Stat { global, .. }
        | ExprKind::PrintHist { global, .. } => read[*global] = true,
        ExprKind::Assign { var: Var::Global(g), .. } | ExprKind::IncDec { var: Var::Global(g), .. } => {
            written[*g] = true
        }
        ExprKind::IndexAssign { global, .. }
        | ExprKind::IndexIncDec { global, .. }
        | ExprKind::Accumulate { global, .. } => written[*global] = true,
        _ => {}
    };
    let mut foreach_reads = Vec::new();
    let mut on_stmt = |s: &Stmt| {
        if let StmtKind::Foreach { global, .. } = &s.kind {
            foreach_reads.push(*global);
        }
    };
    visit_program(&mut Each { on_expr: &mut on_expr, on_stmt: &mut on_stmt }, prog);
    for g in foreach_reads {
        read[g] = true;
    }
    (read, written)
}

fn text(s: &str) -> FormatPiece {
    FormatPiece::Text(s.to_string())
}

fn conv(arg: usize, ty: Type) -> FormatPiece {
    FormatPiece::Conv {
        arg,
        flags: String::new(),
        width: None,
        precision: None,
        conv: if ty == Type::String { 's' } else { 'd' },
    }
}

fn typed(kind: ExprKind, ty: Type, span: Span) -> Expr {
    Expr { kind, ty, span }
}

fn stmt(kind: StmtKind, span: Span) -> Stmt {
    Stmt { kind, span }
}

/// Pieces and arguments that print `v` (quoted when a string).
fn push_value(pieces: &mut Vec<FormatPiece>, args: &mut Vec<Expr>, v: Expr) {
    let quote = v.ty == Type::String;
    if quote {
        pieces.push(text("\""));
    }
    pieces.push(conv(args.len(), v.ty));
    args.push(v);
    if quote {
        pieces.push(text("\""));
    }
}

fn printf(pieces: Vec<FormatPiece>, args: Vec<Expr>, span: Span) -> Stmt {
    stmt(StmtKind::Expr(typed(ExprKind::Format { pieces, args, to_string: false }, Type::Long, span)), span)
}

/// `@count(s) > 0 ? print " @count=.. @min=.. @max=.. @sum=.. @avg=.."`
fn stat_line(global: usize, keys: &[Expr], mut pieces: Vec<FormatPiece>, mut args: Vec<Expr>, span: Span) -> Stmt {
    let stat = |op| typed(ExprKind::Stat { op, global, keys: keys.to_vec() }, Type::Long, span);
    for (name, op) in [
        (" @count=", StatOp::Count),
        (" @min=", StatOp::Min),
        (" @max=", StatOp::Max),
        (" @sum=", StatOp::Sum),
        (" @avg=", StatOp::Avg),
    ] {
        pieces.push(text(name));
        push_value(&mut pieces, &mut args, stat(op));
    }
    pieces.push(text("\n"));
    let cond = typed(
        ExprKind::Binary {
            op: BinaryOp::Gt,
            lhs: Box::new(stat(StatOp::Count)),
            rhs: Box::new(typed(ExprKind::Long(0), Type::Long, span)),
        },
        Type::Long,
        span,
    );
    stmt(StmtKind::If { cond, then: Box::new(printf(pieces, args, span)), els: None }, span)
}

/// Sets `Global::read` and appends the dump probe when it has work.
pub fn add_dump_probe(prog: &mut Program, user_globals: &[usize]) {
    let (read, written) = uses(prog);
    for (g, r) in prog.globals.iter_mut().zip(&read) {
        g.read = *r;
    }
    let mut locals: Vec<Local> = Vec::new();
    let mut stmts = Vec::new();
    let mut span = None;
    for &gi in user_globals {
        if read[gi] || !written[gi] {
            continue;
        }
        let g = &prog.globals[gi];
        let sp = g.span;
        span.get_or_insert(sp);
        let Some(key_types) = g.keys.clone() else {
            if g.ty == Type::Stat {
                stmts.push(stat_line(gi, &[], vec![text(&g.name)], Vec::new(), sp));
            } else {
                let mut pieces = vec![text(&format!("{}=", g.name))];
                let mut args = Vec::new();
                push_value(&mut pieces, &mut args, typed(ExprKind::Var(Var::Global(gi)), g.ty, sp));
                pieces.push(text("\n"));
                stmts.push(printf(pieces, args, sp));
            }
            continue;
        };
        let mut keys = Vec::new();
        let mut key_exprs = Vec::new();
        let mut pieces = vec![text(&format!("{}[", g.name))];
        let mut args = Vec::new();
        for (i, t) in key_types.iter().enumerate() {
            let l = locals.len();
            locals.push(Local { name: format!("dump{}_k{}", gi, i), ty: *t, span: sp });
            keys.push(l);
            let k = typed(ExprKind::Var(Var::Local(l)), *t, sp);
            key_exprs.push(k.clone());
            if i > 0 {
                pieces.push(text(","));
            }
            push_value(&mut pieces, &mut args, k);
        }
        pieces.push(text("]"));
        let (value, body) = if g.ty == Type::Stat {
            (None, stat_line(gi, &key_exprs, pieces, args, sp))
        } else {
            let l = locals.len();
            locals.push(Local { name: format!("dump{}_v", gi), ty: g.ty, span: sp });
            pieces.push(text("="));
            push_value(&mut pieces, &mut args, typed(ExprKind::Var(Var::Local(l)), g.ty, sp));
            pieces.push(text("\n"));
            (Some(l), printf(pieces, args, sp))
        };
        stmts.push(stmt(
            StmtKind::Foreach { global: gi, slice: Vec::new(), keys, value, sort: None, limit: None, body: Box::new(body) },
            sp,
        ));
    }
    let Some(span) = span else { return };
    let body = prog.bodies.len();
    prog.bodies.push(ProbeBody { locals, body: stmt(StmtKind::Block(stmts), span), span });
    prog.probes.push(DerivedProbe { kind: ProbeKind::End, pp: "end".into(), body, entry: None, locks: Vec::new(), span });
}
