//! C for IR statements and expressions.
//!
//! Input: a typed IR body (probe or function) and the program around it.
//! Output: kernel-style C statements that use the frame pointer `l`, the
//! context `c` (`CB` for its base) and the runtime's `rstap_*` helpers, plus
//! the list of frame fields the code needs (locals and temporaries).
//! Invariants: every statement charges the action budget and stops on a
//! pending error (one check before it; the loop and try templates check
//! once more where a body ends, so an error never runs on); every string lives in a MAXSTRINGLEN buffer of the frame
//! or of the globals; no semantics are decided here, only spelled out.

use crate::diag::{SourceMap, Span};
use super::templates::{ctx, render_stmt};
use crate::ir::{BinaryOp, Expr, ExprKind, FormatPiece, Program, Stmt, StmtKind, Type, UnaryOp, Var};

/// Emits C for one body. `fields` collects the frame's C declarations.
pub struct Emitter<'p> {
    pub prog: &'p Program,
    pub sources: &'p SourceMap,
    /// The locals of the body being emitted.
    pub locals: &'p [crate::ir::Local],
    /// Number of leading locals that are function parameters.
    pub params: usize,
    pub fields: Vec<String>,
    /// The current function's return type (None in a probe body).
    pub ret: Option<Type>,
    pub(super) temps: usize,
    /// The snapshot-base variables of the foreach loops around the
    /// statement being emitted, outermost first.
    pub(super) foreach_bases: Vec<String>,
    /// Where a pending error jumps: `out`, or the catch label of the
    /// enclosing `try` (see `try_catch`).
    pub(super) error_label: String,
    /// (name, C) of the regex tables the body's `=~` use (codegen/regex.rs).
    pub regex_tables: Vec<(String, String)>,
}

pub use super::c_text::c_string;

pub fn c_type_decl(ty: Type, name: &str) -> String {
    match ty {
        Type::String => format!("char {name}[MAXSTRINGLEN]"),
        _ => format!("int64_t {name}"),
    }
}

/// The frame field of local `i` (parameters keep their own names so that
/// embedded C can use STAP_ARG_name and THIS->name).
pub fn local_field(locals: &[crate::ir::Local], params: usize, i: usize) -> String {
    if i < params {
        locals[i].name.clone()
    } else {
        format!("l_{}", locals[i].name)
    }
}


impl<'p> Emitter<'p> {
    pub fn new(prog: &'p Program, sources: &'p SourceMap, locals: &'p [crate::ir::Local], params: usize, ret: Option<Type>) -> Emitter<'p> {
        let fields = (0..locals.len())
            .map(|i| c_type_decl(locals[i].ty, &local_field(locals, params, i)))
            .collect();
        Emitter {
            prog,
            sources,
            locals,
            params,
            fields,
            ret,
            temps: 0,
            foreach_bases: Vec::new(),
            error_label: "out".to_string(),
            regex_tables: Vec::new(),
        }
    }

    pub(crate) fn temp(&mut self, ty: Type) -> String {
        self.temps += 1;
        let name = format!("__t{}", self.temps);
        self.fields.push(c_type_decl(ty, &name));
        format!("l->{name}")
    }

    /// "operator '/' at <input>:1:30", as a C string literal.
    pub(crate) fn location(&self, span: Span) -> String {
        if (span.file as usize) >= self.sources.files.len() {
            return c_string("unknown location");
        }
        let (line, col) = self.sources.line_col(span.file, span.lo);
        let snippet = self.sources.snippet(span);
        let token: String = snippet
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '$' || *c == '@')
            .collect();
        let what = if token.is_empty() {
            "statement".to_string()
        } else if token.starts_with('@') {
            format!("operator '{token}'")
        } else if ["if", "else", "while", "for", "foreach", "return", "next", "break", "continue", "delete", "try"]
            .contains(&token.as_str())
        {
            "keyword".to_string()
        } else if token.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            format!("number '{token}'")
        } else {
            format!("identifier '{token}'")
        };
        c_string(&format!("{} at {}:{}:{}", what, self.sources.name(span.file), line, col))
    }

    /// Where operator `op` stands inside `span` (an expression that uses it,
    /// starting at `after`): the first occurrence of its text there.
    pub(super) fn op_location(&self, op: BinaryOp, span: Span, after: u32) -> String {
        let (line, col) = if (span.file as usize) < self.sources.files.len() {
            let text = self.sources.text(span.file);
            let from = (after.max(span.lo) as usize).min(text.len());
            let to = (span.hi as usize).clamp(from, text.len());
            let at = text
                .get(from..to)
                .and_then(|t| t.find(op.symbol()))
                .map(|i| (from + i) as u32)
                .unwrap_or(span.lo);
            self.sources.line_col(span.file, at)
        } else {
            (0, 0)
        };
        let name = if (span.file as usize) < self.sources.files.len() { self.sources.name(span.file) } else { "?" };
        c_string(&format!("operator '{}' at {}:{}:{}", op.symbol(), name, line, col))
    }

    pub(super) fn var(&self, v: Var) -> String {
        match v {
            Var::Local(i) => format!("l->{}", local_field(self.locals, self.params, i)),
            Var::Global(g) => format!("rstap_globals.g_{}", self.prog.globals[g].name),
        }
    }

    fn var_type(&self, v: Var) -> Type {
        match v {
            Var::Local(i) => self.locals[i].ty,
            Var::Global(g) => self.prog.globals[g].ty,
        }
    }

    /// C for an expression: an int64_t for longs, a char pointer for strings.
    pub fn expr(&mut self, e: &Expr) -> String {
        match &e.kind {
            ExprKind::Long(n) => {
                if *n == i64::MIN {
                    "((int64_t)(-9223372036854775807LL - 1))".into()
                } else {
                    format!("((int64_t){n}LL)")
                }
            }
            ExprKind::Str(s) => c_string(s),
            ExprKind::Var(v) => self.var(*v),
            ExprKind::Unary { op, operand } => {
                let o = self.expr(operand);
                match op {
                    UnaryOp::Neg => format!("(-{o})"),
                    UnaryOp::Plus => o,
                    UnaryOp::Not => format!("((int64_t)!{o})"),
                    UnaryOp::BitNot => format!("(~{o})"),
                    _ => o,
                }
            }
            ExprKind::IncDec { var, increment, prefix } => {
                let v = self.var(*var);
                let op = if *increment { "++" } else { "--" };
                if *prefix {
                    format!("({op}{v})")
                } else {
                    format!("({v}{op})")
                }
            }
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, e.span),
            ExprKind::Assign { var, op, value } => self.assign(*var, *op, value, e.span),
            ExprKind::Ternary { cond, then, els } => {
                let c = self.expr(cond);
                let t = self.expr(then);
                let f = self.expr(els);
                format!("({c} ? {t} : {f})")
            }
            ExprKind::Call { func, args } => self.call(*func, args, e.span),
            ExprKind::Format { pieces, args, to_string } => self.format(pieces, args, *to_string, e.span),
            ExprKind::Index { global, keys } => self.index(*global, keys),
            ExprKind::IndexAssign { global, keys, op, value } => self.index_assign(*global, keys, *op, value, e.span),
            ExprKind::IndexIncDec { global, keys, increment, prefix } => {
                self.index_incdec(*global, keys, *increment, *prefix, e.span)
            }
            ExprKind::In { global, keys } => self.exists(*global, keys),
            ExprKind::InSlice { global, keys } => self.exists_slice(*global, keys),
            ExprKind::Accumulate { global, keys, value } => self.accumulate(*global, keys, value, e.span),
            ExprKind::Stat { op, global, keys } => self.stat(*op, *global, keys, e.span),
            ExprKind::PrintHist { global, keys, newline, to_string: false } => self.print_hist(*global, keys, *newline),
            ExprKind::PrintHist { global, keys, newline, to_string: true } => self.sprint_hist(*global, keys, *newline),
            ExprKind::HistBucket { global, keys, index } => self.hist_bucket(*global, keys, index),
            ExprKind::Target(t) => self.target(t, e.span),
            ExprKind::TargetStore(t) => self.target_store(t, e.span),
        }
    }

    fn binary(&mut self, op: BinaryOp, lhs: &Expr, rhs: &Expr, span: Span) -> String {
        let l = self.expr(lhs);
        if matches!(op, BinaryOp::RegexMatch | BinaryOp::RegexNoMatch) {
            return self.regex(op, l, rhs);
        }
        let r = self.expr(rhs);
        match op {
            BinaryOp::Concat => {
                let t = self.temp(Type::String);
                format!("rstap_concat({t}, {l}, {r})")
            }
            BinaryOp::Div => format!("rstap_div(CB, {l}, {r}, {})", self.op_location(op, span, lhs.span.hi)),
            BinaryOp::Mod => format!("rstap_mod(CB, {l}, {r}, {})", self.op_location(op, span, lhs.span.hi)),
            BinaryOp::Shl => format!("rstap_shl({l}, {r})"),
            BinaryOp::Shr => format!("rstap_shr({l}, {r})"),
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge | BinaryOp::Eq | BinaryOp::Ne
                if lhs.ty == Type::String =>
            {
                format!("((int64_t)(rstap_strcmp({l}, {r}) {} 0))", op.symbol())
            }
            BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge
            | BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::LogAnd
            | BinaryOp::LogOr => format!("((int64_t)({l} {} {r}))", op.symbol()),
            _ => format!("({l} {} {r})", op.symbol()),
        }
    }

    fn assign(&mut self, var: Var, op: Option<BinaryOp>, value: &Expr, span: Span) -> String {
        let v = self.var(var);
        let x = self.expr(value);
        let string = self.var_type(var) == Type::String;
        match op {
            None if string => format!("rstap_strcpy({v}, {x})"),
            None => format!("({v} = {x})"),
            Some(BinaryOp::Concat) => {
                let t = self.temp(Type::String);
                format!("rstap_concat({v}, {v}, rstap_strcpy({t}, {x}))")
            }
            Some(BinaryOp::Div) => format!("({v} = rstap_div(CB, {v}, {x}, {}))", self.op_location(BinaryOp::Div, span, span.lo)),
            Some(BinaryOp::Mod) => format!("({v} = rstap_mod(CB, {v}, {x}, {}))", self.op_location(BinaryOp::Mod, span, span.lo)),
            Some(BinaryOp::Shl) => format!("({v} = rstap_shl({v}, {x}))"),
            Some(BinaryOp::Shr) => format!("({v} = rstap_shr({v}, {x}))"),
            Some(o) => format!("({v} {}= {x})", o.symbol()),
        }
    }

    /// A call: arguments into temporaries, then the callee's frame one
    /// nesting level up, then the result copied back into a temporary
    /// (`templates/expr/call.c.tera`).
    fn call(&mut self, func: usize, args: &[Expr], span: Span) -> String {
        let f = &self.prog.functions[func];
        let mut arg_stores = Vec::new();
        let mut param_stores = Vec::new();
        for (i, a) in args.iter().enumerate() {
            let x = self.expr(a);
            let t = self.temp(a.ty);
            arg_stores.push(if a.ty == Type::String { format!("rstap_strcpy({t}, {x})") } else { format!("{t} = {x}") });
            let field = &f.locals[i].name;
            param_stores.push(if f.locals[i].ty == Type::String { format!("rstap_strcpy(f_->{field}, {t})") } else { format!("f_->{field} = {t}") });
        }
        let result = self.temp(f.ret);
        let result_store = if f.ret == Type::String { format!("rstap_strcpy({result}, f_->__retvalue)") } else { format!("{result} = f_->__retvalue") };
        let mut c = tera::Context::new();
        c.insert("name", &f.name);
        c.insert("loc", &self.location(span));
        c.insert("arg_stores", &arg_stores);
        c.insert("param_stores", &param_stores);
        c.insert("result_store", &result_store);
        c.insert("result", &result);
        c.insert("ret_string", &(f.ret == Type::String));
        c.insert("zero_locals", &(f.locals.len() > f.params));
        render_stmt("expr/call.c", &c)
    }

    fn format(&mut self, pieces: &[FormatPiece], args: &[Expr], to_string: bool, span: Span) -> String {
        // The arguments are evaluated left to right before anything is
        // printed (the runtime prints nothing once one has failed): when
        // two or more are not literals (C leaves the order of initialisers
        // open), each goes into a frame temporary first (strings as
        // pointers into their buffers), in order.
        let ordered = args.iter().filter(|a| !super::map::is_pure(a)).count() > 1;
        let mut stores = Vec::new();
        let mut values = Vec::new();
        for a in args {
            let x = self.expr(a);
            if !ordered {
                values.push(x);
                continue;
            }
            self.temps += 1;
            let t = format!("__a{}", self.temps);
            self.fields.push(if a.ty == Type::String { format!("const char *{t}") } else { format!("int64_t {t}") });
            stores.push(format!("l->{t} = {x}"));
            values.push(format!("l->{t}"));
        }
        // The runtime formats (runtime-c/rstap_format.h): the format as
        // pass 2 parsed it, and the arguments in the order it takes them.
        let fmt = c_string(&crate::elaborate::format::format_string(pieces));
        let mut c_args = Vec::new();
        for p in pieces {
            if let FormatPiece::Conv { arg, width, precision, conv, .. } = p {
                let stars = crate::elaborate::format::star_count(*width, *precision);
                for k in (1..=stars).rev() {
                    if let Some(t) = arg.checked_sub(k).and_then(|i| values.get(i)) {
                        c_args.push(format!("{{ .n = {t} }}"));
                    }
                }
                let t = &values[*arg];
                c_args.push(if matches!(conv, 's') { format!("{{ .s = {t} }}") } else { format!("{{ .n = {t} }}") });
            }
        }
        self.temps += 1;
        let arr = format!("__f{}", self.temps);
        let dst = if to_string { self.temp(Type::String) } else { String::new() };
        let mut c = tera::Context::new();
        c.insert("slots", &c_args);
        c.insert("arr", &arr);
        c.insert("dst", &dst);
        c.insert("fmt", &fmt);
        c.insert("loc", &self.location(span));
        let call = render_stmt("expr/format.c", &c);
        if stores.is_empty() {
            call
        } else {
            format!("({}, {call})", stores.join(", "))
        }
    }

    /// C for a statement, indented by `depth` tabs. Compound statements
    /// come from `templates/stmt/`; their nested statements are rendered
    /// first, one level deeper.
    pub fn stmt(&mut self, s: &Stmt, depth: usize, out: &mut String) {
        let ind = "\t".repeat(depth);
        if !matches!(s.kind, StmtKind::Block(_) | StmtKind::Empty) {
            // The one check of a statement: no pending error, budget left.
            out.push_str(&format!(
                "{ind}if (unlikely(CB->last_error) || !rstap_action(CB, {}))\n{ind}\tgoto {};\n",
                self.location(s.span),
                self.error_label
            ));
        }
        match &s.kind {
            StmtKind::Block(list) => {
                for st in list {
                    self.stmt(st, depth, out);
                }
            }
            StmtKind::Expr(e) => {
                let x = self.expr(e);
                out.push_str(&format!("{ind}(void){x};\n"));
            }
            StmtKind::If { cond, then, els } => {
                let c = self.expr(cond);
                let t = self.nested(then, depth + 1);
                let e = els.as_ref().map(|e| self.nested(e, depth + 1)).unwrap_or_default();
                out.push_str(&render_stmt("stmt/if.c", &ctx(&[("ind", &ind), ("cond", &c), ("then", &t), ("els", &e)])));
            }
            StmtKind::While { cond, body } => {
                let c = self.expr(cond);
                let b = self.nested(body, depth + 1);
                let label = self.error_label.clone();
                let loc = self.location(s.span);
                out.push_str(&render_stmt("stmt/while.c", &ctx(&[("ind", &ind), ("cond", &c), ("body", &b), ("error_label", &label), ("loc", &loc)])));
            }
            StmtKind::For { init, cond, step, body } => {
                let i = init.as_ref().map(|e| format!("(void){}", self.expr(e))).unwrap_or_default();
                let c = cond.as_ref().map(|e| self.expr(e)).unwrap_or_default();
                let st = step.as_ref().map(|e| format!("(void){}", self.expr(e))).unwrap_or_default();
                let b = self.nested(body, depth + 1);
                let label = self.error_label.clone();
                let loc = self.location(s.span);
                let pairs = [("ind", ind.as_str()), ("init", &i), ("cond", &c), ("step", &st), ("body", &b), ("error_label", &label), ("loc", &loc)];
                out.push_str(&render_stmt("stmt/for.c", &ctx(&pairs)));
            }
            StmtKind::Break => out.push_str(&format!("{ind}break;\n")),
            StmtKind::Continue => out.push_str(&format!("{ind}continue;\n")),
            StmtKind::Next => out.push_str(&format!("{ind}goto out;\n")),
            StmtKind::Foreach { global, slice, keys, value, sort, limit, body } => {
                let spec = super::map::ForeachSpec { global: *global, slice, keys, value: *value, sort: *sort, limit: limit.as_deref() };
                self.foreach(&spec, body, s.span, depth, out)
            }
            StmtKind::DeleteSlice { global, keys } => {
                let code = self.delete_slice(*global, keys);
                out.push_str(&format!("{ind}{code};\n"));
            }
            StmtKind::Delete { global, keys } => {
                let code = self.delete(*global, keys.as_deref());
                out.push_str(&format!("{ind}{code};\n"));
            }
            StmtKind::Return(value) => {
                // The value (inside a try, an error in it reaches the catch),
                // the outermost foreach snapshot popped, out.
                let x = value.as_ref().map(|v| self.expr(v)).unwrap_or_default();
                let string = if self.ret == Some(Type::String) { "1" } else { "" };
                let base = self.foreach_bases.first().cloned().unwrap_or_default();
                let catch = if self.error_label != "out" { self.error_label.clone() } else { String::new() };
                out.push_str(&render_stmt("stmt/return.c", &ctx(&[("ind", &ind), ("value", &x), ("string", string), ("base", &base), ("catch", &catch)])));
            }
            StmtKind::Embedded(code) => {
                let code = super::embedded::statement(self.sources, s.span, code);
                out.push_str(&render_stmt("stmt/embedded.c", &ctx(&[("ind", &ind), ("code", &code)])))
            }
            StmtKind::Empty => {}
            StmtKind::Try { body, catch_var, catch_body } => self.try_catch(s, body, *catch_var, catch_body, depth, out),
        }
    }

    /// The C of a nested statement, `depth` tabs deep.
    pub(super) fn nested(&mut self, s: &Stmt, depth: usize) -> String {
        let mut out = String::new();
        self.stmt(s, depth, &mut out);
        out
    }
}
