//! checks: the pass-1 rules SystemTap's parser enforces on a parsed file,
//! beyond its grammar.
//!
//! Input: one file's items, `ParseOptions` (guru mode) and whether the file
//! is a library (tapset) file. Output: the errors, in source order of the
//! items. The rules (each from SystemTap's language reference):
//! - a function's parameters have distinct names;
//! - a global is declared once in a file (across files: pass 2), and
//!   `private` is not applied to a name declared without it;
//! - the right side of `=~` / `!~` is a string literal (the regex);
//! - `printf`/`sprintf` take a literal format string first, `printd`/
//!   `printdln` a literal delimiter string;
//! - `return` appears only in a function body, not in a probe or alias;
//! - embedded C (`%{ %}` at the top level, as a statement or expression,
//!   or as a function body) only in a library file or with `-g`;
//! - a user script is not empty after preprocessing (and, in `mod.rs`, a
//!   `.stpm` macro file holds nothing but `@define`s).
//!
//! Invariants: the walk is iterative (an explicit work list), so a deep
//! tree that the parser's caps admit cannot overflow the stack here; no
//! rule fires on a library file except the first four, which tapsets obey.

use std::collections::HashMap;

use super::ast::*;
use super::parser::PError;
use super::ParseOptions;
use crate::diag::Span;

/// The errors of `items`, the items of the file `file`.
pub(super) fn check(items: &[Item], opts: &ParseOptions, library: bool, file: u32) -> Vec<PError> {
    let mut c = Checker { errors: Vec::new(), guru: opts.guru || library };
    if items.is_empty() && !library {
        c.error(
            "the script is empty after preprocessing: it has no probe, function or global",
            Span::new(file, 0, 0),
        );
    }
    let mut globals: HashMap<&str, (Span, bool)> = HashMap::new();
    for item in items {
        match item {
            Item::Probe(p) => c.block(&p.body, Context::Probe),
            Item::Alias(a) => {
                c.block(&a.body, Context::Probe);
                if let Some(e) = &a.epilogue {
                    c.block(e, Context::Probe);
                }
            }
            Item::Global(g) => {
                if let Some(&(first, first_private)) = globals.get(g.name.name.as_str()) {
                    let msg = match (first_private, g.private) {
                        (false, true) => format!("`private` applied to global `{}`, declared without it", g.name.name),
                        (true, false) => format!("global `{}` is declared again without `private`", g.name.name),
                        _ => format!("global `{}` is declared twice", g.name.name),
                    };
                    c.errors.push(PError { msg, span: g.name.span, labels: vec![(first, "first declared here".into())] });
                } else {
                    globals.insert(&g.name.name, (g.name.span, g.private));
                }
            }
            Item::Function(f) => {
                let mut seen: HashMap<&str, Span> = HashMap::new();
                for p in &f.params {
                    if let Some(first) = seen.get(p.name.name.as_str()) {
                        c.errors.push(PError {
                            msg: format!("function `{}` has two parameters named `{}`", f.name.name, p.name.name),
                            span: p.name.span,
                            labels: vec![(*first, "first declared here".into())],
                        });
                    } else {
                        seen.insert(&p.name.name, p.name.span);
                    }
                }
                match &f.body {
                    FunctionBody::Script(b) => c.block(b, Context::Function),
                    FunctionBody::Embedded(_) if !c.guru => {
                        c.error("embedded C functions need guru mode (-g)", f.span);
                    }
                    FunctionBody::Embedded(_) => {}
                }
            }
            Item::Embedded(e) if !c.guru => c.error("embedded C code needs guru mode (-g)", e.span),
            Item::Embedded(_) => {}
        }
    }
    c.errors
}

/// Where an item starts and ends.
pub(super) fn item_span(item: &Item) -> Span {
    match item {
        Item::Probe(p) => p.span,
        Item::Alias(a) => a.span,
        Item::Global(g) => g.span,
        Item::Function(f) => f.span,
        Item::Embedded(e) => e.span,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Probe,
    Function,
}

enum Node<'a> {
    Stmt(&'a Stmt),
    Expr(&'a Expr),
}

struct Checker {
    errors: Vec<PError>,
    guru: bool,
}

impl Checker {
    fn error(&mut self, msg: impl Into<String>, span: Span) {
        self.errors.push(PError { msg: msg.into(), span, labels: Vec::new() });
    }

    fn block(&mut self, b: &Block, ctx: Context) {
        let mut work: Vec<Node> = b.stmts.iter().rev().map(Node::Stmt).collect();
        while let Some(n) = work.pop() {
            match n {
                Node::Stmt(s) => self.stmt(s, ctx, &mut work),
                Node::Expr(e) => self.expr(e, &mut work),
            }
        }
    }

    /// Checks `s` itself and pushes its children (last first, so they are
    /// visited in source order).
    fn stmt<'a>(&mut self, s: &'a Stmt, ctx: Context, work: &mut Vec<Node<'a>>) {
        let mut kids: Vec<Node<'a>> = Vec::new();
        match &s.kind {
            StmtKind::Block(b) => kids.extend(b.stmts.iter().map(Node::Stmt)),
            StmtKind::Expr(e) | StmtKind::Delete(e) => kids.push(Node::Expr(e)),
            StmtKind::If { cond, then, els } => {
                kids.push(Node::Expr(cond));
                kids.push(Node::Stmt(then));
                if let Some(e) = els {
                    kids.push(Node::Stmt(e));
                }
            }
            StmtKind::While { cond, body } => {
                kids.push(Node::Expr(cond));
                kids.push(Node::Stmt(body));
            }
            StmtKind::For { init, cond, step, body } => {
                kids.extend([init, cond, step].into_iter().flatten().map(|e| Node::Expr(e)));
                kids.push(Node::Stmt(body));
            }
            StmtKind::Foreach(f) => {
                kids.push(Node::Expr(&f.array));
                if let Some(l) = &f.limit {
                    kids.push(Node::Expr(l));
                }
                kids.push(Node::Stmt(&f.body));
            }
            StmtKind::Return(v) => {
                if ctx != Context::Function {
                    self.error("`return` outside a function; use `next` to leave a probe", s.span);
                }
                if let Some(v) = v {
                    kids.push(Node::Expr(v));
                }
            }
            StmtKind::Try { body, catch_body, .. } => {
                kids.extend(body.stmts.iter().map(Node::Stmt));
                kids.extend(catch_body.stmts.iter().map(Node::Stmt));
            }
            StmtKind::Embedded(e) => {
                if !self.guru {
                    self.error("embedded C code needs guru mode (-g)", e.span);
                }
            }
            StmtKind::Next | StmtKind::Break | StmtKind::Continue | StmtKind::Empty => {}
        }
        work.extend(kids.into_iter().rev());
    }

    fn expr<'a>(&mut self, e: &'a Expr, work: &mut Vec<Node<'a>>) {
        let mut kids: Vec<&'a Expr> = Vec::new();
        match &e.kind {
            ExprKind::Number(_)
            | ExprKind::String(_)
            | ExprKind::Var(_)
            | ExprKind::Star
            | ExprKind::Perf(_)
            | ExprKind::Positional { .. }
            | ExprKind::ArgCount
            | ExprKind::Const(_) => {}
            ExprKind::Index { keys, .. } => kids.extend(keys),
            ExprKind::Call { name, args } => {
                self.call(name, args, e.span);
                kids.extend(args);
            }
            ExprKind::Unary { operand, .. }
            | ExprKind::Stat { operand, .. }
            | ExprKind::Defined(operand)
            | ExprKind::Entry(operand)
            | ExprKind::ProbeWrite(operand) => kids.push(operand),
            ExprKind::Binary { op, lhs, rhs } => {
                if matches!(op, BinaryOp::RegexMatch | BinaryOp::RegexNoMatch) && !matches!(rhs.kind, ExprKind::String(_)) {
                    self.error(
                        format!("the right side of `{}` must be a string literal (the regular expression)", op.symbol()),
                        rhs.span,
                    );
                }
                kids.push(lhs);
                kids.push(rhs);
            }
            ExprKind::Assign { target, value, .. } | ExprKind::Accumulate { target, value } => {
                kids.push(target);
                kids.push(value);
            }
            ExprKind::Ternary { cond, then, els } => kids.extend([&**cond, &**then, &**els]),
            ExprKind::In { keys, array } => {
                kids.extend(keys);
                kids.push(array);
            }
            ExprKind::Hist { kind, operand } => {
                kids.push(operand);
                if let HistKind::Linear { start, stop, interval } = kind {
                    kids.extend([&**start, &**stop, &**interval]);
                }
            }
            ExprKind::Target(t) => {
                match &t.base {
                    TargetBase::Var(_) | TargetBase::AtVar { .. } => {}
                    TargetBase::Cast { operand, .. } | TargetBase::Autocast(operand) => kids.push(operand),
                }
                for c in &t.chain {
                    if let TargetComponent::Index(i) = c {
                        kids.push(i);
                    }
                }
            }
            ExprKind::Variance { operand, shift } => kids.extend([&**operand, &**shift]),
            ExprKind::HistBucket { hist, bucket } => kids.extend([&**hist, &**bucket]),
            ExprKind::Embedded(c) => {
                if !self.guru {
                    self.error("embedded C code needs guru mode (-g)", c.span);
                }
            }
            ExprKind::Register { index, .. } => kids.push(index),
            ExprKind::Deref { size, addr, .. } => kids.extend([&**size, &**addr]),
        }
        work.extend(kids.into_iter().rev().map(Node::Expr));
    }

    /// The print family's literal first argument.
    fn call(&mut self, name: &Ident, args: &[Expr], span: Span) {
        let what = match name.name.as_str() {
            "printf" | "sprintf" => "a format string",
            "printd" | "printdln" => "a delimiter",
            _ => return,
        };
        match args.first() {
            Some(Expr { kind: ExprKind::String(_), .. }) => {}
            Some(a) => self.error(
                format!("the first argument of `{}` must be {what} given as a string literal", name.name),
                a.span,
            ),
            None => self.error(format!("`{}` needs {what} (a string literal) as its first argument", name.name), span),
        }
    }
}
