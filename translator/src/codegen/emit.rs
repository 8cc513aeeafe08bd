//! C for IR statements and expressions.
//!
//! Input: a typed IR body (probe or function) and the program around it.
//! Output: kernel-style C statements that use the frame pointer `l`, the
//! context `c` (`CB` for its base) and the runtime's `rstap_*` helpers, plus
//! the list of frame fields the code needs (locals and temporaries).
//! Invariants: every statement charges the action budget and stops on a
//! pending error; every string lives in a MAXSTRINGLEN buffer of the frame
//! or of the globals; no semantics are decided here, only spelled out.

use crate::diag::{SourceMap, Span};
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
}

/// A C string literal for `s`, escaped.
pub fn c_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for b in s.bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{:03o}", b)),
        }
    }
    out.push('"');
    out
}

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
            ExprKind::Format { pieces, args, to_string } => self.format(pieces, args, *to_string),
            ExprKind::Index { global, keys } => self.index(*global, keys),
            ExprKind::IndexAssign { global, keys, op, value } => self.index_assign(*global, keys, *op, value, e.span),
            ExprKind::IndexIncDec { global, keys, increment, prefix } => {
                self.index_incdec(*global, keys, *increment, *prefix, e.span)
            }
            ExprKind::In { global, keys } => self.exists(*global, keys),
            ExprKind::InSlice { global, keys } => self.exists_slice(*global, keys),
            ExprKind::Accumulate { global, keys, value } => self.accumulate(*global, keys, value, e.span),
            ExprKind::Stat { op, global, keys } => self.stat(*op, *global, keys, e.span),
            ExprKind::PrintHist { global, keys, newline } => self.print_hist(*global, keys, *newline),
            ExprKind::Target(t) => self.target(t, e.span),
        }
    }

    fn binary(&mut self, op: BinaryOp, lhs: &Expr, rhs: &Expr, span: Span) -> String {
        let l = self.expr(lhs);
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
    /// nesting level up, then the result copied back into a temporary.
    fn call(&mut self, func: usize, args: &[Expr], span: Span) -> String {
        let f = &self.prog.functions[func];
        let mut code = String::from("({ ");
        let mut arg_temps = Vec::new();
        for a in args {
            let x = self.expr(a);
            let t = self.temp(a.ty);
            if a.ty == Type::String {
                code.push_str(&format!("rstap_strcpy({t}, {x}); "));
            } else {
                code.push_str(&format!("{t} = {x}; "));
            }
            arg_temps.push(t);
        }
        let ret_ty = f.ret;
        let result = self.temp(ret_ty);
        let name = &f.name;
        code.push_str(&format!(
            "if (likely(!CB->last_error)) {{ if (unlikely(rstap_nesting_full(CB, {loc}))) {{ }} else {{ struct rstap_fn_{name}_frame *f_ = &c->frames[CB->nesting + 1].fn_{name}; memset(f_, 0, sizeof(*f_)); ",
            loc = self.location(span)
        ));
        for (i, t) in arg_temps.iter().enumerate() {
            let field = &f.locals[i].name;
            if f.locals[i].ty == Type::String {
                code.push_str(&format!("rstap_strcpy(f_->{field}, {t}); "));
            } else {
                code.push_str(&format!("f_->{field} = {t}; "));
            }
        }
        code.push_str(&format!("CB->nesting++; rstap_fn_{name}(c); CB->nesting--; "));
        if ret_ty == Type::String {
            code.push_str(&format!("rstap_strcpy({result}, f_->__retvalue); }} }} {result}; }})"));
        } else {
            code.push_str(&format!("{result} = f_->__retvalue; }} }} {result}; }})"));
        }
        code
    }

    fn format(&mut self, pieces: &[FormatPiece], args: &[Expr], to_string: bool) -> String {
        // Every argument is evaluated into a C local first (strings as
        // pointers into their buffers), so that nothing is printed when
        // evaluating one of them fails.
        let mut code = String::from("({ ");
        let mut temps = Vec::new();
        for a in args {
            let x = self.expr(a);
            self.temps += 1;
            let t = format!("__a{}", self.temps);
            if a.ty == Type::String {
                code.push_str(&format!("const char *{t} = {x}; "));
            } else {
                code.push_str(&format!("int64_t {t} = {x}; "));
            }
            temps.push(t);
        }
        let mut fmt = String::new();
        let mut c_args = Vec::new();
        for p in pieces {
            match p {
                FormatPiece::Text(t) => fmt.push_str(&t.replace('%', "%%")),
                FormatPiece::Conv { arg, flags, width, precision, conv } => {
                    fmt.push('%');
                    let mut flags = flags.clone();
                    let mut width = *width;
                    let conv = match conv {
                        'd' | 'i' => "lld",
                        'u' => "llu",
                        'x' => "llx",
                        'X' => "llX",
                        'o' => "llo",
                        'c' => "c",
                        's' => "s",
                        // %p: 0x and 16 hex digits, as SystemTap prints pointers.
                        _ => {
                            if !flags.contains('#') {
                                flags.push('#');
                            }
                            if width.is_none() {
                                flags.push('0');
                                width = Some(18);
                            }
                            "llx"
                        }
                    };
                    fmt.push_str(&flags);
                    if let Some(w) = width {
                        fmt.push_str(&w.to_string());
                    }
                    if let Some(pr) = precision {
                        fmt.push_str(&format!(".{pr}"));
                    }
                    fmt.push_str(conv);
                    let t = &temps[*arg];
                    c_args.push(match conv {
                        "s" => t.clone(),
                        "c" => format!("(int){t}"),
                        "llu" | "llx" | "llX" | "llo" => format!("(unsigned long long){t}"),
                        _ => format!("(long long){t}"),
                    });
                }
            }
        }
        let arglist: String = c_args.iter().map(|a| format!(", {a}")).collect();
        if to_string {
            let t = self.temp(Type::String);
            code.push_str(&format!(
                "if (likely(!CB->last_error)) rstap_sprintf({t}, {}{arglist}); else {t}[0] = '\\0'; {t}; }})",
                c_string(&fmt)
            ));
        } else {
            code.push_str(&format!("if (likely(!CB->last_error)) rstap_printf(CB, {}{arglist}); (int64_t)0; }})", c_string(&fmt)));
        }
        code
    }

    /// C for a statement, indented by `depth` tabs.
    pub fn stmt(&mut self, s: &Stmt, depth: usize, out: &mut String) {
        let ind = "\t".repeat(depth);
        if !matches!(s.kind, StmtKind::Block(_) | StmtKind::Empty) {
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
                out.push_str(&format!("{ind}if ({c}) {{\n"));
                self.stmt(then, depth + 1, out);
                if let Some(e) = els {
                    out.push_str(&format!("{ind}}} else {{\n"));
                    self.stmt(e, depth + 1, out);
                }
                out.push_str(&format!("{ind}}}\n"));
            }
            StmtKind::While { cond, body } => {
                let c = self.expr(cond);
                out.push_str(&format!("{ind}while ({c}) {{\n"));
                out.push_str(&format!("{ind}\tRSTAP_LOOP_ITER(CB, {}, {});\n", self.location(s.span), self.error_label));
                self.stmt(body, depth + 1, out);
                out.push_str(&format!("{ind}}}\n"));
            }
            StmtKind::For { init, cond, step, body } => {
                let i = init.as_ref().map(|e| format!("(void){}", self.expr(e))).unwrap_or_default();
                let c = cond.as_ref().map(|e| self.expr(e)).unwrap_or_default();
                let st = step.as_ref().map(|e| format!("(void){}", self.expr(e))).unwrap_or_default();
                out.push_str(&format!("{ind}for ({i}; {c}; {st}) {{\n"));
                out.push_str(&format!("{ind}\tRSTAP_LOOP_ITER(CB, {}, {});\n", self.location(s.span), self.error_label));
                self.stmt(body, depth + 1, out);
                out.push_str(&format!("{ind}}}\n"));
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
                if let Some(v) = value {
                    let x = self.expr(v);
                    if self.ret == Some(Type::String) {
                        out.push_str(&format!("{ind}rstap_strcpy(l->__retvalue, {x});\n"));
                    } else {
                        out.push_str(&format!("{ind}l->__retvalue = {x};\n"));
                    }
                }
                if let Some(base) = self.foreach_bases.first() {
                    out.push_str(&format!("{ind}rstap_iter_pop({base});\n"));
                }
                out.push_str(&format!("{ind}goto out;\n"));
            }
            StmtKind::Embedded(code) => {
                out.push_str(&format!("{ind}{{\n{code}\n{ind}}}\n"));
            }
            StmtKind::Empty => {}
            StmtKind::Try { body, catch_var, catch_body } => self.try_catch(s, body, *catch_var, catch_body, depth, out),
        }
        if matches!(s.kind, StmtKind::Expr(_)) {
            out.push_str(&format!("{ind}if (unlikely(CB->last_error))\n{ind}\tgoto {};\n", self.error_label));
        }
    }
}
