//! Script-syntax text of elaborated (IR) bodies, for the `-p2` listing.
//!
//! Input: an IR statement and the names it refers to (the body's locals,
//! the program's globals and functions). Output: source text in the
//! language's own syntax, one statement per line, indented by tabs, with
//! every nested operator expression parenthesised so precedence is
//! explicit. Prints (`print`, `println`, `printf`...) all come out as
//! `printf`/`sprintf` with their resolved formats, as pass 2 sees them.

use std::fmt::Write;

use crate::ir::{self, Expr, ExprKind, Program, Stmt, StmtKind, Var};
use crate::syntax::lexer::quote as escape_string;

pub struct BodyPrinter<'p> {
    pub prog: &'p Program,
    pub locals: &'p [ir::Local],
    pub out: String,
}

impl<'p> BodyPrinter<'p> {
    fn var(&self, v: Var) -> &str {
        match v {
            Var::Local(i) => self.locals.get(i).map(|l| l.name.as_str()).unwrap_or("?"),
            Var::Global(g) => self.prog.globals.get(g).map(|g| g.name.as_str()).unwrap_or("?"),
        }
    }

    /// `e` in parentheses unless it is atomic.
    fn operand(&mut self, e: &Expr) {
        let atomic = matches!(
            e.kind,
            ExprKind::Long(_) | ExprKind::Str(_) | ExprKind::Var(_) | ExprKind::Call { .. } | ExprKind::Format { .. }
        );
        if atomic {
            self.expr(e);
        } else {
            self.out.push('(');
            self.expr(e);
            self.out.push(')');
        }
    }

    pub fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Long(n) => {
                let _ = write!(self.out, "{n}");
            }
            ExprKind::Str(s) => self.out.push_str(&escape_string(s)),
            ExprKind::Var(v) => {
                let name = self.var(*v).to_string();
                self.out.push_str(&name);
            }
            ExprKind::Call { func, args } => {
                let name = self.prog.functions.get(*func).map(|f| f.name.clone()).unwrap_or_default();
                self.out.push_str(&name);
                self.args(args);
            }
            ExprKind::Unary { op, operand } => {
                self.out.push_str(match op {
                    ir::UnaryOp::Neg => "-",
                    ir::UnaryOp::Plus => "+",
                    ir::UnaryOp::Not => "!",
                    ir::UnaryOp::BitNot => "~",
                    ir::UnaryOp::PreInc | ir::UnaryOp::PostInc => "++",
                    ir::UnaryOp::PreDec | ir::UnaryOp::PostDec => "--",
                });
                self.operand(operand);
            }
            ExprKind::IncDec { var, increment, prefix } => {
                let op = if *increment { "++" } else { "--" };
                let name = self.var(*var).to_string();
                if *prefix {
                    let _ = write!(self.out, "{op}{name}");
                } else {
                    let _ = write!(self.out, "{name}{op}");
                }
            }
            ExprKind::Binary { op, lhs, rhs } => {
                self.operand(lhs);
                let _ = write!(self.out, " {} ", op.symbol());
                self.operand(rhs);
            }
            ExprKind::Assign { var, op, value } => {
                let name = self.var(*var).to_string();
                let op = op.map(|o| o.symbol()).unwrap_or("");
                let _ = write!(self.out, "{name} {op}= ");
                self.operand(value);
            }
            ExprKind::Ternary { cond, then, els } => {
                self.operand(cond);
                self.out.push_str(" ? ");
                self.operand(then);
                self.out.push_str(" : ");
                self.operand(els);
            }
            ExprKind::Target(t) => self.out.push_str(&t.text),
            ExprKind::TargetStore(t) => {
                self.out.push_str(&t.dest.text);
                match (t.op, t.post) {
                    (Some(ir::BinaryOp::Add), true) if matches!(t.value.kind, ExprKind::Long(1)) => self.out.push_str("++"),
                    (Some(ir::BinaryOp::Sub), true) if matches!(t.value.kind, ExprKind::Long(1)) => self.out.push_str("--"),
                    (op, _) => {
                        let _ = write!(self.out, " {}= ", op.map(|o| o.symbol()).unwrap_or(""));
                        self.operand(&t.value);
                    }
                }
            }
            ExprKind::Index { global, keys } => self.element(*global, keys),
            ExprKind::IndexAssign { global, keys, op, value } => {
                self.element(*global, keys);
                let op = op.map(|o| o.symbol()).unwrap_or("");
                let _ = write!(self.out, " {op}= ");
                self.operand(value);
            }
            ExprKind::IndexIncDec { global, keys, increment, prefix } => {
                let op = if *increment { "++" } else { "--" };
                if *prefix {
                    self.out.push_str(op);
                }
                self.element(*global, keys);
                if !*prefix {
                    self.out.push_str(op);
                }
            }
            ExprKind::In { global, keys } => {
                self.key_list(keys.iter().map(Some));
                let name = self.var(Var::Global(*global)).to_string();
                let _ = write!(self.out, " in {name}");
            }
            ExprKind::InSlice { global, keys } => {
                self.key_list(keys.iter().map(|k| k.as_ref()));
                let name = self.var(Var::Global(*global)).to_string();
                let _ = write!(self.out, " in {name}");
            }
            ExprKind::Accumulate { global, keys, value } => {
                self.element(*global, keys);
                self.out.push_str(" <<< ");
                self.operand(value);
            }
            ExprKind::Stat { op, global, keys } => {
                let _ = write!(self.out, "{}(", op.symbol());
                self.element(*global, keys);
                self.out.push(')');
            }
            ExprKind::HistBucket { global, keys, index } => {
                self.out.push_str("@hist(");
                self.element(*global, keys);
                self.out.push_str(")[");
                self.expr(index);
                self.out.push(']');
            }
            ExprKind::PrintHist { global, keys, newline, to_string } => {
                self.out.push_str(match (*to_string, *newline) {
                    (false, false) => "print(@hist(",
                    (false, true) => "println(@hist(",
                    (true, false) => "sprint(@hist(",
                    (true, true) => "sprintln(@hist(",
                });
                self.element(*global, keys);
                self.out.push_str("))");
            }
            ExprKind::Format { pieces, args, to_string } => {
                self.out.push_str(if *to_string { "sprintf(" } else { "printf(" });
                let fmt = super::format::format_string(pieces);
                self.out.push_str(&escape_string(&fmt));
                for a in args {
                    self.out.push_str(", ");
                    self.expr(a);
                }
                self.out.push(')');
            }
        }
    }

    /// `name` or `name[k1, k2]`.
    fn element(&mut self, global: usize, keys: &[Expr]) {
        let name = self.var(Var::Global(global)).to_string();
        self.out.push_str(&name);
        if !keys.is_empty() {
            self.out.push('[');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    self.out.push_str(", ");
                }
                self.expr(k);
            }
            self.out.push(']');
        }
    }

    /// `[k1, *, k3]` (a `None` key is a slice's `*`).
    fn key_list<'e>(&mut self, keys: impl Iterator<Item = Option<&'e Expr>>) {
        self.out.push('[');
        for (i, k) in keys.enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            match k {
                Some(k) => self.expr(k),
                None => self.out.push('*'),
            }
        }
        self.out.push(']');
    }

    fn args(&mut self, args: &[Expr]) {
        self.out.push('(');
        for (i, a) in args.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.expr(a);
        }
        self.out.push(')');
    }

    fn line(&mut self, depth: usize, text: &str) {
        for _ in 0..depth {
            self.out.push('\t');
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn indent(&mut self, depth: usize) {
        for _ in 0..depth {
            self.out.push('\t');
        }
    }

    /// `s` as a braced block at `depth` (a block statement's own braces).
    pub fn block(&mut self, s: &Stmt, depth: usize) {
        self.line(depth, "{");
        match &s.kind {
            StmtKind::Block(list) => list.iter().for_each(|x| self.stmt(x, depth + 1)),
            _ => self.stmt(s, depth + 1),
        }
        self.line(depth, "}");
    }

    pub fn stmt(&mut self, s: &Stmt, depth: usize) {
        match &s.kind {
            StmtKind::Block(list) => self.block_of(list, depth),
            StmtKind::Expr(e) => {
                self.indent(depth);
                self.expr(e);
                self.out.push('\n');
            }
            StmtKind::If { cond, then, els } => {
                self.indent(depth);
                self.out.push_str("if (");
                self.expr(cond);
                self.out.push_str(")\n");
                self.block(then, depth);
                if let Some(e) = els {
                    self.line(depth, "else");
                    self.block(e, depth);
                }
            }
            StmtKind::While { cond, body } => {
                self.indent(depth);
                self.out.push_str("while (");
                self.expr(cond);
                self.out.push_str(")\n");
                self.block(body, depth);
            }
            StmtKind::For { init, cond, step, body } => {
                self.indent(depth);
                self.out.push_str("for (");
                if let Some(e) = init {
                    self.expr(e);
                }
                self.out.push_str("; ");
                if let Some(e) = cond {
                    self.expr(e);
                }
                self.out.push_str("; ");
                if let Some(e) = step {
                    self.expr(e);
                }
                self.out.push_str(")\n");
                self.block(body, depth);
            }
            StmtKind::Break => self.line(depth, "break"),
            StmtKind::Continue => self.line(depth, "continue"),
            StmtKind::Next => self.line(depth, "next"),
            StmtKind::Return(v) => {
                self.indent(depth);
                self.out.push_str("return");
                if let Some(e) = v {
                    self.out.push(' ');
                    self.expr(e);
                }
                self.out.push('\n');
            }
            StmtKind::Embedded(code) => {
                self.indent(depth);
                let _ = writeln!(self.out, "%{{{code}%}}");
            }
            StmtKind::Empty => {}
            StmtKind::Foreach { global, slice, keys, value, sort, limit, body } => {
                self.indent(depth);
                self.out.push_str("foreach (");
                if let Some(v) = value {
                    let name = self.var(Var::Local(*v)).to_string();
                    let _ = write!(self.out, "{name} = ");
                }
                let mark = |col: usize| match sort {
                    Some(s) if s.column == col => if s.ascending { "+" } else { "-" },
                    _ => "",
                };
                self.out.push('[');
                for (i, k) in keys.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    let name = self.var(Var::Local(*k)).to_string();
                    let _ = write!(self.out, "{name}{}", mark(i + 1));
                }
                let name = self.var(Var::Global(*global)).to_string();
                let _ = write!(self.out, "] in {name}{}", mark(0));
                if !slice.is_empty() {
                    self.key_list(slice.iter().map(|k| k.as_ref()));
                }
                if let Some(l) = limit {
                    self.out.push_str(" limit ");
                    self.expr(l);
                }
                self.out.push_str(")\n");
                self.block(body, depth);
            }
            StmtKind::Delete { global, keys } => {
                self.indent(depth);
                self.out.push_str("delete ");
                self.element(*global, keys.as_deref().unwrap_or(&[]));
                self.out.push('\n');
            }
            StmtKind::DeleteSlice { global, keys } => {
                self.indent(depth);
                let name = self.var(Var::Global(*global)).to_string();
                let _ = write!(self.out, "delete {name}");
                self.key_list(keys.iter().map(|k| k.as_ref()));
                self.out.push('\n');
            }
            StmtKind::Try { body, catch_var, catch_body } => {
                self.line(depth, "try");
                self.block(body, depth);
                self.indent(depth);
                self.out.push_str("catch");
                if let Some(v) = catch_var {
                    let name = self.var(Var::Local(*v)).to_string();
                    let _ = write!(self.out, " ({name})");
                }
                self.out.push('\n');
                self.block(catch_body, depth);
            }
        }
    }

    fn block_of(&mut self, list: &[Stmt], depth: usize) {
        self.line(depth, "{");
        for x in list {
            self.stmt(x, depth + 1);
        }
        self.line(depth, "}");
    }
}
