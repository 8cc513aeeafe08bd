//! Prints an `ast::File` back as SystemTap source (`stap -p1`).
//!
//! Input: a parsed `ast::File`. Output: source text. Invariants: the text
//! parses back to the same tree modulo spans (parentheses are added exactly
//! where precedence needs them; string literals are re-escaped); the output
//! is already preprocessed, so it holds no `%( %)`, `@define` or `$1`.

use super::ast::*;
use super::expr::{binary_level, IN_PRECEDENCE};
use super::lexer::quote;
use std::fmt::Write;

/// Prints a whole file, one item per paragraph.
pub fn print_file(file: &File) -> String {
    let mut p = Printer { out: String::new(), indent: 0 };
    for (k, item) in file.items.iter().enumerate() {
        // A blank line between items, except within a run of globals.
        let both_globals = k > 0 && matches!(item, Item::Global(_)) && matches!(file.items[k - 1], Item::Global(_));
        if k > 0 && !both_globals {
            p.out.push('\n');
        }
        p.item(item);
    }
    p.out
}

/// Prints one expression (for messages and tests).
pub fn print_expr(e: &Expr) -> String {
    let mut p = Printer { out: String::new(), indent: 0 };
    p.expr(e, 0);
    p.out
}

/// Prints one probe point as written (`kernel.function("vfs_read").return?`),
/// for messages and `-l` listings.
pub fn print_probe_point(p: &ProbePoint) -> String {
    let mut pr = Printer { out: String::new(), indent: 0 };
    pr.points(std::slice::from_ref(p));
    pr.out
}

struct Printer {
    out: String,
    indent: usize,
}

// Expression levels: 0 assignment, 1 ternary, 2..=12 binary levels 1..=11
// (+1), 13 unary, 14 postfix, 15 primary.
const ASSIGN: u8 = 0;
const TERNARY: u8 = 1;
const UNARY: u8 = 13;
const POSTFIX: u8 = 14;
const PRIMARY: u8 = 15;

fn bin(level: u8) -> u8 {
    level + 1
}

fn level_of(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Assign { .. } | ExprKind::Accumulate { .. } => ASSIGN,
        ExprKind::Ternary { .. } => TERNARY,
        ExprKind::Binary { op, .. } => bin(binary_level(*op)),
        ExprKind::In { .. } => bin(IN_PRECEDENCE),
        ExprKind::Unary { op: UnaryOp::PostInc | UnaryOp::PostDec, .. } => POSTFIX,
        ExprKind::Unary { .. } => UNARY,
        ExprKind::Number(n) if *n < 0 => UNARY,
        ExprKind::Target(t) if t.addr_of => UNARY,
        _ => PRIMARY,
    }
}

fn binary_text(op: BinaryOp) -> &'static str {
    op.symbol()
}

fn stat_text(op: StatOp) -> &'static str {
    op.symbol()
}

fn literal_text(l: &Literal) -> String {
    match l {
        Literal::Number(n) => n.to_string(),
        Literal::String(s) => quote(s),
    }
}

fn type_text(t: TypeName) -> &'static str {
    match t {
        TypeName::Long => "long",
        TypeName::String => "string",
    }
}

impl Printer {
    fn nl(&mut self) {
        self.out.push('\n');
        for _ in 0..self.indent {
            self.out.push_str("    ");
        }
    }

    fn item(&mut self, item: &Item) {
        match item {
            Item::Probe(p) => {
                self.out.push_str("probe ");
                self.points(&p.points);
                self.out.push(' ');
                self.block(&p.body);
            }
            Item::Alias(a) => {
                if a.private {
                    self.out.push_str("private ");
                }
                self.out.push_str("probe ");
                self.points(&a.names);
                self.out.push_str(match a.kind {
                    AliasKind::Prologue => " = ",
                    AliasKind::Epilogue => " += ",
                });
                self.points(&a.points);
                self.out.push(' ');
                self.block(&a.body);
                if let Some(e) = &a.epilogue {
                    self.out.push_str(", ");
                    self.block(e);
                }
            }
            Item::Global(g) => {
                if g.private {
                    self.out.push_str("private ");
                }
                let _ = write!(self.out, "global {}", g.name.name);
                if g.wrap {
                    self.out.push('%');
                }
                if g.is_array {
                    match g.size {
                        Some(n) => {
                            let _ = write!(self.out, "[{}]", n);
                        }
                        None if !g.wrap => self.out.push_str("[]"),
                        None => {}
                    }
                }
                if let Some(init) = &g.init {
                    let _ = write!(self.out, " = {}", literal_text(init));
                }
            }
            Item::Function(f) => {
                if f.private {
                    self.out.push_str("private ");
                }
                let _ = write!(self.out, "function {}", f.name.name);
                if let Some(t) = f.ret {
                    let _ = write!(self.out, ":{}", type_text(t));
                }
                self.out.push_str(" (");
                for (k, p) in f.params.iter().enumerate() {
                    if k > 0 {
                        self.out.push_str(", ");
                    }
                    self.out.push_str(&p.name.name);
                    if let Some(t) = p.ty {
                        let _ = write!(self.out, ":{}", type_text(t));
                    }
                }
                self.out.push(')');
                if let Some(p) = f.priority {
                    let _ = write!(self.out, ":{}", p);
                }
                self.out.push(' ');
                match &f.body {
                    FunctionBody::Script(b) => self.block(b),
                    FunctionBody::Embedded(e) => self.embedded(e),
                }
            }
            Item::Embedded(e) => self.embedded(e),
        }
        self.out.push('\n');
    }

    fn embedded(&mut self, e: &EmbeddedC) {
        let _ = write!(self.out, "%{{{}%}}", e.code);
    }

    fn points(&mut self, points: &[ProbePoint]) {
        for (k, p) in points.iter().enumerate() {
            if k > 0 {
                self.out.push_str(", ");
            }
            for (j, c) in p.components.iter().enumerate() {
                if j > 0 {
                    self.out.push('.');
                }
                self.out.push_str(&c.name);
                if let Some(arg) = &c.arg {
                    let _ = write!(self.out, "({})", literal_text(arg));
                }
            }
            if p.optional {
                self.out.push('?');
            }
            if p.sufficient {
                self.out.push('!');
            }
            if let Some(cond) = &p.condition {
                self.out.push_str(" if (");
                self.expr(cond, ASSIGN);
                self.out.push(')');
            }
        }
    }

    fn block(&mut self, b: &Block) {
        self.out.push('{');
        self.indent += 1;
        for s in &b.stmts {
            self.nl();
            self.stmt(s);
        }
        self.indent -= 1;
        self.nl();
        self.out.push('}');
    }

    /// A statement; simple ones end with `;` so nothing merges with the
    /// next statement (`a` then `-1` must not read as `a - 1`).
    fn stmt(&mut self, s: &Stmt) {
        match &s.kind {
            StmtKind::Block(b) => self.block(b),
            StmtKind::Expr(e) => {
                self.expr(e, ASSIGN);
                self.out.push(';');
            }
            StmtKind::If { cond, then, els } => {
                self.out.push_str("if (");
                self.expr(cond, ASSIGN);
                self.out.push(')');
                self.sub_stmt(then);
                if let Some(e) = els {
                    if !matches!(then.kind, StmtKind::Block(_)) {
                        self.nl();
                    } else {
                        self.out.push(' ');
                    }
                    self.out.push_str("else");
                    if matches!(e.kind, StmtKind::If { .. }) {
                        // `else if` stays on one line.
                        self.out.push(' ');
                        self.stmt(e);
                    } else {
                        self.sub_stmt(e);
                    }
                }
            }
            StmtKind::While { cond, body } => {
                self.out.push_str("while (");
                self.expr(cond, ASSIGN);
                self.out.push(')');
                self.sub_stmt(body);
            }
            StmtKind::For { init, cond, step, body } => {
                self.out.push_str("for (");
                if let Some(e) = init {
                    self.expr(e, ASSIGN);
                }
                self.out.push(';');
                if let Some(e) = cond {
                    self.out.push(' ');
                    self.expr(e, ASSIGN);
                }
                self.out.push(';');
                if let Some(e) = step {
                    self.out.push(' ');
                    self.expr(e, ASSIGN);
                }
                self.out.push(')');
                self.sub_stmt(body);
            }
            StmtKind::Foreach(f) => self.foreach(f),
            StmtKind::Delete(e) => {
                self.out.push_str("delete ");
                self.expr(e, UNARY);
                self.out.push(';');
            }
            StmtKind::Next => self.out.push_str("next;"),
            StmtKind::Break => self.out.push_str("break;"),
            StmtKind::Continue => self.out.push_str("continue;"),
            StmtKind::Return(v) => {
                self.out.push_str("return");
                if let Some(e) = v {
                    self.out.push(' ');
                    self.expr(e, ASSIGN);
                }
                self.out.push(';');
            }
            StmtKind::Try { body, catch_var, catch_body } => {
                self.out.push_str("try ");
                self.block(body);
                self.out.push_str(" catch ");
                if let Some(v) = catch_var {
                    let _ = write!(self.out, "({}) ", v.name);
                }
                self.block(catch_body);
            }
            StmtKind::Embedded(e) => self.embedded(e),
            StmtKind::Empty => self.out.push(';'),
        }
    }

    /// The body of if/while/for/foreach: blocks inline, others indented.
    fn sub_stmt(&mut self, s: &Stmt) {
        if matches!(s.kind, StmtKind::Block(_)) {
            self.out.push(' ');
            self.stmt(s);
        } else {
            self.indent += 1;
            self.nl();
            self.stmt(s);
            self.indent -= 1;
        }
    }

    fn foreach(&mut self, f: &Foreach) {
        let mark = |col: usize| -> &'static str {
            match f.sort {
                Some(s) if s.column == col => {
                    if s.ascending {
                        "+"
                    } else {
                        "-"
                    }
                }
                _ => "",
            }
        };
        self.out.push_str("foreach (");
        if let Some(v) = &f.value {
            let _ = write!(self.out, "{} = ", v.name);
        }
        let bracket = f.keys.len() != 1;
        if bracket {
            self.out.push('[');
        }
        for (k, key) in f.keys.iter().enumerate() {
            if k > 0 {
                self.out.push_str(", ");
            }
            self.out.push_str(&key.name);
            self.out.push_str(mark(k + 1));
        }
        if bracket {
            self.out.push(']');
        }
        self.out.push_str(" in ");
        self.expr(&f.array, PRIMARY);
        if let Some(s) = f.sort {
            if s.column == 0 {
                if let Some(a) = s.aggregate {
                    let _ = write!(self.out, " {}", stat_text(a));
                }
                self.out.push_str(mark(0));
            }
        }
        if let Some(l) = &f.limit {
            self.out.push_str(" limit ");
            self.expr(l, ASSIGN);
        }
        self.out.push(')');
        self.sub_stmt(&f.body);
    }

    fn args(&mut self, args: &[&Expr]) {
        self.out.push('(');
        for (k, a) in args.iter().enumerate() {
            if k > 0 {
                self.out.push_str(", ");
            }
            self.expr(a, ASSIGN);
        }
        self.out.push(')');
    }

    fn keys(&mut self, keys: &[Expr]) {
        self.out.push('[');
        for (k, e) in keys.iter().enumerate() {
            if k > 0 {
                self.out.push_str(", ");
            }
            self.expr(e, ASSIGN);
        }
        self.out.push(']');
    }

    /// Prints `e`, in parentheses if its level is below `min`.
    fn expr(&mut self, e: &Expr, min: u8) {
        let paren = level_of(e) < min;
        if paren {
            self.out.push('(');
        }
        self.expr_inner(e);
        if paren {
            self.out.push(')');
        }
    }

    fn expr_inner(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Number(n) => {
                let _ = write!(self.out, "{}", n);
            }
            ExprKind::String(s) => self.out.push_str(&quote(s)),
            ExprKind::Var(v) => self.out.push_str(&v.name),
            ExprKind::Index { array, keys } => {
                self.out.push_str(&array.name);
                self.keys(keys);
            }
            ExprKind::Star => self.out.push('*'),
            ExprKind::Call { name, args } => {
                self.out.push_str(&name.name);
                let refs: Vec<&Expr> = args.iter().collect();
                self.args(&refs);
            }
            ExprKind::Unary { op, operand } => {
                let (text, post) = match op {
                    UnaryOp::Neg => ("-", false),
                    UnaryOp::Plus => ("+", false),
                    UnaryOp::Not => ("!", false),
                    UnaryOp::BitNot => ("~", false),
                    UnaryOp::PreInc => ("++", false),
                    UnaryOp::PreDec => ("--", false),
                    UnaryOp::PostInc => ("++", true),
                    UnaryOp::PostDec => ("--", true),
                };
                if post {
                    self.expr(operand, PRIMARY);
                    self.out.push_str(text);
                } else {
                    self.out.push_str(text);
                    // `- -x`, `- 5` (not a literal), `+ +x`: keep them apart.
                    let start = self.out.len();
                    self.expr(operand, UNARY);
                    let next = self.out[start..].chars().next();
                    let clash = matches!(next, Some('-') | Some('+') | Some('0'..='9') | Some('&'))
                        && matches!(op, UnaryOp::Neg | UnaryOp::Plus | UnaryOp::PreInc | UnaryOp::PreDec);
                    if clash {
                        self.out.insert(start, ' ');
                    }
                }
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let level = bin(binary_level(*op));
                self.expr(lhs, level);
                let _ = write!(self.out, " {} ", binary_text(*op));
                self.expr(rhs, level + 1);
            }
            ExprKind::Assign { op, target, value } => {
                self.expr(target, TERNARY + 1);
                let text = match op {
                    AssignOp::Assign => "=".to_string(),
                    AssignOp::Compound(b) => format!("{}=", binary_text(*b)),
                };
                let _ = write!(self.out, " {} ", text);
                self.expr(value, ASSIGN);
            }
            ExprKind::Accumulate { target, value } => {
                self.expr(target, TERNARY + 1);
                self.out.push_str(" <<< ");
                self.expr(value, ASSIGN);
            }
            ExprKind::Ternary { cond, then, els } => {
                self.expr(cond, bin(1));
                self.out.push_str(" ? ");
                self.expr(then, ASSIGN);
                self.out.push_str(" : ");
                self.expr(els, ASSIGN);
            }
            ExprKind::In { keys, array } => {
                if keys.len() == 1 && !matches!(keys[0].kind, ExprKind::Star) {
                    self.expr(&keys[0], bin(IN_PRECEDENCE) + 1);
                } else {
                    self.keys(keys);
                }
                self.out.push_str(" in ");
                self.expr(array, PRIMARY);
            }
            ExprKind::Stat { op, operand } => {
                self.out.push_str(stat_text(*op));
                self.args(&[operand]);
            }
            ExprKind::Variance { operand, shift } => {
                self.out.push_str("@variance");
                self.args(&[operand, shift]);
            }
            ExprKind::Hist { kind, operand } => match kind {
                HistKind::Log => {
                    self.out.push_str("@hist_log");
                    self.args(&[operand]);
                }
                HistKind::Linear { start, stop, interval } => {
                    self.out.push_str("@hist_linear");
                    self.args(&[operand, start, stop, interval]);
                }
            },
            ExprKind::HistBucket { hist, bucket } => {
                self.expr(hist, PRIMARY);
                self.out.push('[');
                self.expr(bucket, ASSIGN);
                self.out.push(']');
            }
            ExprKind::Target(t) => self.target(t),
            ExprKind::Defined(x) => {
                self.out.push_str("@defined");
                self.args(&[x]);
            }
            ExprKind::Entry(x) => {
                self.out.push_str("@entry");
                self.args(&[x]);
            }
            ExprKind::ProbeWrite(x) => {
                self.out.push_str("@probewrite");
                self.args(&[x]);
            }
            ExprKind::Register { user, index } => {
                self.out.push_str(if *user { "@uregister" } else { "@kregister" });
                self.args(&[index]);
            }
            ExprKind::Deref { user, size, addr } => {
                self.out.push_str(if *user { "@uderef" } else { "@kderef" });
                self.args(&[size, addr]);
            }
            ExprKind::Perf(s) => {
                let _ = write!(self.out, "@perf({})", quote(s));
            }
            ExprKind::Const(s) => {
                let _ = write!(self.out, "@const({})", quote(s));
            }
            ExprKind::Positional { index, as_string } => {
                let _ = write!(self.out, "{}{}", if *as_string { '@' } else { '$' }, index);
            }
            ExprKind::ArgCount => self.out.push_str("$#"),
            ExprKind::Embedded(c) => self.embedded(c),
        }
    }

    fn target(&mut self, t: &TargetExpr) {
        if t.addr_of {
            self.out.push('&');
        }
        match &t.base {
            TargetBase::Var(v) => {
                self.out.push('$');
                self.out.push_str(&v.name);
            }
            TargetBase::Cast { operand, type_name, module } => {
                self.out.push_str("@cast(");
                self.expr(operand, ASSIGN);
                let _ = write!(self.out, ", {}", quote(type_name));
                if let Some(m) = module {
                    let _ = write!(self.out, ", {}", quote(m));
                }
                self.out.push(')');
            }
            TargetBase::AtVar { name, module } => {
                let _ = write!(self.out, "@var({}", quote(name));
                if let Some(m) = module {
                    let _ = write!(self.out, ", {}", quote(m));
                }
                self.out.push(')');
            }
            TargetBase::Autocast(e) => {
                // A call, name or index prints bare; anything else in parens.
                // (`(arr)[0]` keeps its parentheses: `arr[0]` is an index.)
                let starts_with_index = matches!(t.chain.first(), Some(TargetComponent::Index(_)));
                let bare = match e.kind {
                    ExprKind::Call { .. } | ExprKind::Entry(_) => true,
                    ExprKind::Var(_) | ExprKind::Index { .. } => !starts_with_index,
                    _ => false,
                };
                if bare {
                    self.expr(e, PRIMARY);
                } else {
                    self.out.push('(');
                    self.expr(e, ASSIGN);
                    self.out.push(')');
                }
            }
        }
        for c in &t.chain {
            match c {
                TargetComponent::Field(f) => {
                    self.out.push_str("->");
                    self.out.push_str(&f.name);
                }
                TargetComponent::Index(e) => {
                    self.out.push('[');
                    self.expr(e, ASSIGN);
                    self.out.push(']');
                }
            }
        }
        for _ in 0..t.pretty {
            self.out.push('$');
        }
    }
}
