//! Expressions, with SystemTap's precedence (lowest first):
//! assignment and `<<<` (right-assoc) < `?:` < `||` < `&&` < `|` < `^` <
//! `&` < `in` < comparisons and `=~`/`!~` (one level) < `<<`/`>>` < `.` <
//! `+`/`-` < `*`/`/`/`%` < unary (`+ - ! ~ ++ -- &`) < postfix `++`/`--` <
//! primary (literals, calls, indexing, `$targets`, `@operators`).
//!
//! Input: tokens positioned at an expression. Output: `ast::Expr`.
//! Invariants: binary operators are parsed by precedence climbing, so one
//! nesting level costs a bounded number of stack frames, each counted by
//! the parser's depth cap; `-` directly before a number literal folds into
//! a negative literal; `[a, b] in arr` may only start an operand of the
//! `in` level, as in SystemTap's grammar.

use super::ast::*;
use super::lexer::{Tok, Token};
use super::parser::{is_keyword, PResult, Parser};
use super::stmt::stat_op;
use super::SpanJoin;
use crate::diag::Span;

/// Binary precedence levels; `in` sits at IN_LEVEL.
const IN_LEVEL: u8 = 6;

fn binary_op(t: &Token) -> Option<(u8, BinaryOp)> {
    let Tok::Punct(p) = &t.tok else { return None };
    Some(match p.as_bytes() {
        b"||" => (1, BinaryOp::LogOr),
        b"&&" => (2, BinaryOp::LogAnd),
        b"|" => (3, BinaryOp::BitOr),
        b"^" => (4, BinaryOp::BitXor),
        b"&" => (5, BinaryOp::BitAnd),
        b"<" => (7, BinaryOp::Lt),
        b"<=" => (7, BinaryOp::Le),
        b">" => (7, BinaryOp::Gt),
        b">=" => (7, BinaryOp::Ge),
        b"==" => (7, BinaryOp::Eq),
        b"!=" => (7, BinaryOp::Ne),
        b"=~" => (7, BinaryOp::RegexMatch),
        b"!~" => (7, BinaryOp::RegexNoMatch),
        b"<<" => (8, BinaryOp::Shl),
        b">>" => (8, BinaryOp::Shr),
        b"." => (9, BinaryOp::Concat),
        b"+" => (10, BinaryOp::Add),
        b"-" => (10, BinaryOp::Sub),
        b"*" => (11, BinaryOp::Mul),
        b"/" => (11, BinaryOp::Div),
        b"%" => (11, BinaryOp::Mod),
        _ => return None,
    })
}

/// The precedence level of a binary operator (for the printer).
pub fn binary_level(op: BinaryOp) -> u8 {
    match op {
        BinaryOp::LogOr => 1,
        BinaryOp::LogAnd => 2,
        BinaryOp::BitOr => 3,
        BinaryOp::BitXor => 4,
        BinaryOp::BitAnd => 5,
        BinaryOp::Lt
        | BinaryOp::Le
        | BinaryOp::Gt
        | BinaryOp::Ge
        | BinaryOp::Eq
        | BinaryOp::Ne
        | BinaryOp::RegexMatch
        | BinaryOp::RegexNoMatch => 7,
        BinaryOp::Shl | BinaryOp::Shr => 8,
        BinaryOp::Concat => 9,
        BinaryOp::Add | BinaryOp::Sub => 10,
        BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod => 11,
    }
}

pub const IN_PRECEDENCE: u8 = IN_LEVEL;

fn assign_op(t: &Token) -> Option<Option<AssignOp>> {
    let Tok::Punct(p) = &t.tok else { return None };
    let op = match p.as_bytes() {
        b"=" => AssignOp::Assign,
        b"+=" => AssignOp::Compound(BinaryOp::Add),
        b"-=" => AssignOp::Compound(BinaryOp::Sub),
        b"*=" => AssignOp::Compound(BinaryOp::Mul),
        b"/=" => AssignOp::Compound(BinaryOp::Div),
        b"%=" => AssignOp::Compound(BinaryOp::Mod),
        b"<<=" => AssignOp::Compound(BinaryOp::Shl),
        b">>=" => AssignOp::Compound(BinaryOp::Shr),
        b"&=" => AssignOp::Compound(BinaryOp::BitAnd),
        b"|=" => AssignOp::Compound(BinaryOp::BitOr),
        b"^=" => AssignOp::Compound(BinaryOp::BitXor),
        b".=" => AssignOp::Compound(BinaryOp::Concat),
        // `<<<` is parsed at the assignment level; None marks it.
        b"<<<" => return Some(None),
        _ => return None,
    };
    Some(Some(op))
}

fn mk(kind: ExprKind, span: Span) -> Expr {
    Expr { kind, span }
}

impl Parser {
    /// A full expression (assignment level).
    pub(super) fn expr<'a>(&'a self, i: &'a [Token]) -> PResult<'a, Expr> {
        let t = self.peek(i);
        let _guard = self.enter(t)?;
        let (i, lhs) = self.ternary(i)?;
        let op_tok = self.peek(i);
        let Some(op) = assign_op(op_tok) else {
            return Ok((i, lhs));
        };
        let (i, rhs) = self.expr(self.advance(i))?;
        let span = lhs.span.join(rhs.span);
        let kind = match op {
            Some(op) => ExprKind::Assign {
                op,
                target: Box::new(lhs),
                value: Box::new(rhs),
            },
            None => ExprKind::Accumulate {
                target: Box::new(lhs),
                value: Box::new(rhs),
            },
        };
        Ok((i, mk(kind, span)))
    }

    fn ternary<'a>(&'a self, i: &'a [Token]) -> PResult<'a, Expr> {
        let (i, cond) = self.binary(i, 1)?;
        let q = self.peek(i);
        if !q.is_punct("?") {
            return Ok((i, cond));
        }
        let (i, then) = self.expr(self.advance(i))?;
        let (i, _) = self.expect(i, ":", "in the `?:` conditional expression")
            .map_err(|e| e.map(|e| e.label(q.span, "`?` here")))?;
        let (i, els) = self.expr(i)?;
        let span = cond.span.join(els.span);
        Ok((
            i,
            mk(
                ExprKind::Ternary {
                    cond: Box::new(cond),
                    then: Box::new(then),
                    els: Box::new(els),
                },
                span,
            ),
        ))
    }

    /// Precedence climbing over the binary levels >= `min`. Its own
    /// recursion is bounded by the number of levels, but each operator it
    /// folds into the left operand makes the tree one level deeper, so
    /// the folds of one statement are counted against `MAX_FOLDS` (a
    /// chain `1 + 1 + ...` of thousands of terms would otherwise build a
    /// tree that later passes cannot walk recursively).
    fn binary<'a>(&'a self, i: &'a [Token], min: u8) -> PResult<'a, Expr> {
        let t = self.peek(i);
        let (mut i, mut lhs) = if t.is_punct("[") && min <= IN_LEVEL {
            self.bracket_in(i)?
        } else {
            self.unary(i)?
        };
        loop {
            let t = self.peek(i);
            if t.is_ident("in") && min <= IN_LEVEL {
                let (rest, array) = self.in_array(self.advance(i))?;
                self.count_fold(t)?;
                let span = lhs.span.join(array.span);
                lhs = mk(
                    ExprKind::In {
                        keys: vec![lhs],
                        array: Box::new(array),
                    },
                    span,
                );
                i = rest;
                continue;
            }
            let Some((level, op)) = binary_op(t) else { break };
            if level < min {
                break;
            }
            // Levels above `in` bind their right operand tighter; `in`'s
            // left operand is a comparison, so `a == b in c` is `(a == b) in c`.
            let (rest, rhs) = self.binary(self.advance(i), level + 1)?;
            self.count_fold(t)?;
            let span = lhs.span.join(rhs.span);
            lhs = mk(
                ExprKind::Binary {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
                span,
            );
            i = rest;
        }
        Ok((i, lhs))
    }

    /// `[k1, k2] in arr` (the `[` is next).
    fn bracket_in<'a>(&'a self, i: &'a [Token]) -> PResult<'a, Expr> {
        let (i, (keys, close)) = self.index_keys(i)?;
        let t = self.peek(i);
        if !t.is_ident("in") {
            return self
                .error(t, format!("expected `in` after a bracketed key list, found {}", t.describe()))
                .map_err(|e| e.map(|e| e.label(close, "key list ends here")));
        }
        let (i, array) = self.in_array(self.advance(i))?;
        let span = keys.first().map(|k| k.span).unwrap_or(close).join(array.span);
        Ok((
            i,
            mk(
                ExprKind::In {
                    keys,
                    array: Box::new(array),
                },
                span,
            ),
        ))
    }

    /// The array after `in`: a name or `@hist_*(...)`.
    fn in_array<'a>(&'a self, i: &'a [Token]) -> PResult<'a, Expr> {
        let t = self.peek(i);
        if let Some("@hist_log" | "@hist_linear") = t.ident() {
            return self.primary(i);
        }
        match self.name(i) {
            Ok((i, n)) => {
                let span = n.span;
                Ok((i, mk(ExprKind::Var(n), span)))
            }
            Err(_) => self.error(t, format!("expected an array name after `in`, found {}", t.describe())),
        }
    }

    /// `[e1, *, e3]` (the `[` is next): the keys and the `]` span.
    pub(super) fn index_keys<'a>(&'a self, i: &'a [Token]) -> PResult<'a, (Vec<Expr>, Span)> {
        let (mut i, open) = self.expect(i, "[", "to start an index")?;
        let mut keys = Vec::new();
        loop {
            let t = self.peek(i);
            if t.is_punct("*") && (self.peek2(i).is_punct(",") || self.peek2(i).is_punct("]")) {
                keys.push(mk(ExprKind::Star, t.span));
                i = self.advance(i);
            } else {
                let (rest, k) = self.expr(i)?;
                keys.push(k);
                i = rest;
            }
            let t = self.peek(i);
            if t.is_punct(",") {
                i = self.advance(i);
            } else if t.is_punct("]") {
                // Trees are kept for the whole run: no growth slack.
                keys.shrink_to_fit();
                return Ok((self.advance(i), (keys, t.span)));
            } else if matches!(t.tok, Tok::Eof) {
                return self.expect_close(i, "]", open, "index").map(|(r, s)| (r, (Vec::new(), s)));
            } else {
                return self
                    .error(t, format!("expected `,` or `]` in the index, found {}", t.describe()))
                    .map_err(|e| e.map(|e| e.label(open, "index started here")));
            }
        }
    }

    /// Prefix operators, then a postfix expression.
    pub(super) fn unary<'a>(&'a self, i: &'a [Token]) -> PResult<'a, Expr> {
        let t = self.peek(i);
        let op = match &t.tok {
            Tok::Punct("-") => {
                if let Tok::Number(n) = self.peek2(i).tok {
                    // A negative literal; wrapping makes -9223372036854775808 work.
                    let span = t.span.join(self.peek2(i).span);
                    let lit = mk(ExprKind::Number((n as i64).wrapping_neg()), span);
                    return self.postfix(self.advance(self.advance(i)), lit);
                }
                UnaryOp::Neg
            }
            Tok::Punct("+") => UnaryOp::Plus,
            Tok::Punct("!") => UnaryOp::Not,
            Tok::Punct("~") => UnaryOp::BitNot,
            Tok::Punct("++") => UnaryOp::PreInc,
            Tok::Punct("--") => UnaryOp::PreDec,
            Tok::Punct("&") => return self.address_of(i),
            _ => {
                let (i, e) = self.primary(i)?;
                return self.postfix(i, e);
            }
        };
        // Each prefix operator is one nesting level.
        let _guard = self.enter(t)?;
        let (i, operand) = self.unary(self.advance(i))?;
        let span = t.span.join(operand.span);
        Ok((
            i,
            mk(
                ExprKind::Unary {
                    op,
                    operand: Box::new(operand),
                },
                span,
            ),
        ))
    }

    /// `&$var->f`, `&@cast(...)->f`: the address of a target value.
    fn address_of<'a>(&'a self, i: &'a [Token]) -> PResult<'a, Expr> {
        let amp = self.peek(i);
        let (i, mut e) = self.primary(self.advance(i))?;
        match &mut e.kind {
            ExprKind::Target(t) if !t.addr_of => {
                t.addr_of = true;
                e.span = amp.span.join(e.span);
                Ok((i, e))
            }
            ExprKind::Target(_) => self.error(amp, "`&` cannot be applied twice"),
            _ => {
                // `&(expr)`: the address of an autocast value.
                let span = amp.span.join(e.span);
                let te = TargetExpr {
                    base: TargetBase::Autocast(e),
                    chain: Vec::new(),
                    addr_of: true,
                    pretty: 0,
                };
                Ok((i, mk(ExprKind::Target(Box::new(te)), span)))
            }
        }
    }

    /// Postfix `++` / `--`.
    fn postfix<'a>(&'a self, i: &'a [Token], e: Expr) -> PResult<'a, Expr> {
        let t = self.peek(i);
        let op = if t.is_punct("++") {
            UnaryOp::PostInc
        } else if t.is_punct("--") {
            UnaryOp::PostDec
        } else {
            return Ok((i, e));
        };
        let span = e.span.join(t.span);
        Ok((
            self.advance(i),
            mk(
                ExprKind::Unary {
                    op,
                    operand: Box::new(e),
                },
                span,
            ),
        ))
    }

    /// `( args )` after a call name or `@operator`: the args and the `)` span.
    /// `what` names the callee in messages; it is only called on errors.
    fn call_args<'a>(&'a self, i: &'a [Token], what: &dyn Fn() -> String) -> PResult<'a, (Vec<Expr>, Span)> {
        let (mut i, open) = match self.punct("(")(i) {
            Ok(r) => r,
            Err(_) => {
                let (rest, open) = self.expect(i, "(", &format!("after {}", what()))?;
                (rest, open)
            }
        };
        let mut args = Vec::new();
        if let Ok((rest, close)) = self.punct(")")(i) {
            return Ok((rest, (args, close)));
        }
        loop {
            let (rest, a) = self.expr(i)?;
            args.push(a);
            i = rest;
            let t = self.peek(i);
            if t.is_punct(",") {
                i = self.advance(i);
            } else if t.is_punct(")") {
                args.shrink_to_fit();
                return Ok((self.advance(i), (args, t.span)));
            } else if matches!(t.tok, Tok::Eof) {
                return self
                    .expect_close(i, ")", open, &format!("argument list of {}", what()))
                    .map(|(r, s)| (r, (Vec::new(), s)));
            } else {
                return self
                    .error(t, format!("expected `,` or `)` after an argument of {}, found {}", what(), t.describe()))
                    .map_err(|e| e.map(|e| e.label(open, "argument list started here")));
            }
        }
    }

    /// `@op(args)` with exactly `n` (or `n..=m`) arguments.
    fn at_args<'a>(
        &'a self,
        i: &'a [Token],
        name_tok: &Token,
        min: usize,
        max: usize,
    ) -> PResult<'a, (Vec<Expr>, Span)> {
        let name = name_tok.ident().unwrap_or("");
        let (i, (args, close)) = self.call_args(i, &|| format!("`{}`", name))?;
        if args.len() < min || args.len() > max {
            let want = if min == max {
                format!("{}", min)
            } else {
                format!("{} to {}", min, max)
            };
            return Err(nom::Err::Failure(super::parser::PError {
                msg: format!("`{}` takes {} argument{}, but {} {} given", name, want,
                    if max == 1 { "" } else { "s" }, args.len(), if args.len() == 1 { "was" } else { "were" }),
                span: name_tok.span.join(close),
                labels: Vec::new(),
            }));
        }
        Ok((i, (args, close)))
    }

    /// A string-literal argument of an `@operator`.
    fn string_arg(&self, e: &Expr, what: &str) -> Result<String, nom::Err<super::parser::PError>> {
        match &e.kind {
            ExprKind::String(s) => Ok(s.clone()),
            _ => Err(nom::Err::Failure(super::parser::PError {
                msg: format!("the {} must be a string literal", what),
                span: e.span,
                labels: Vec::new(),
            })),
        }
    }

    /// Literals, names, calls, indexing, parentheses, `$` and `@` forms,
    /// each optionally followed by `->field` / `[i]` components.
    pub(super) fn primary<'a>(&'a self, i: &'a [Token]) -> PResult<'a, Expr> {
        let t = self.peek(i);
        match &t.tok {
            Tok::Number(n) => Ok((self.advance(i), mk(ExprKind::Number(*n as i64), t.span))),
            Tok::Str(_) => {
                let (i, (s, span)) = self.string_lit(i)?;
                Ok((i, mk(ExprKind::String(s), span)))
            }
            Tok::Punct("(") => {
                let (i, mut e) = self.expr(self.advance(i))?;
                let (i, close) = self.expect_close(i, ")", t.span, "parenthesised expression")?;
                e.span = t.span.join(close);
                self.autocast_if(i, e, true)
            }
            Tok::Ident(name) if name.starts_with('$') => self.target_var(i),
            Tok::Ident(name) if name.starts_with('@') => self.at_operator(i),
            Tok::Ident(name) => {
                if is_keyword(name) {
                    return self.error(t, format!("expected an expression, found keyword `{}`", name));
                }
                let ident = Ident {
                    name: name.to_string(),
                    span: t.span,
                };
                let rest = self.advance(i);
                let n = self.peek(rest);
                if n.is_punct("(") && n.span.ctx == t.span.ctx || n.is_punct("(") {
                    let (rest, (args, close)) = self.call_args(rest, &|| format!("function `{}`", name))?;
                    let e = mk(ExprKind::Call { name: ident, args }, t.span.join(close));
                    return self.autocast(rest, e);
                }
                if n.is_punct("[") {
                    let (rest, (keys, close)) = self.index_keys(rest)?;
                    let e = mk(ExprKind::Index { array: ident, keys }, t.span.join(close));
                    return self.autocast(rest, e);
                }
                self.autocast(rest, mk(ExprKind::Var(ident), t.span))
            }
            Tok::Embedded(code) => Ok((
                self.advance(i),
                mk(
                    ExprKind::Embedded(EmbeddedC {
                        code: code.to_string(),
                        span: t.span,
                    }),
                    t.span,
                ),
            )),
            Tok::Eof => self.error(t, "unexpected end of file: expected an expression"),
            _ => self.error(t, format!("expected an expression, found {}", t.describe())),
        }
    }

    /// `expr->f...`: if a `->` follows (or a `[` after a parenthesised
    /// expression or a call), wrap `e` as an autocast target.
    fn autocast<'a>(&'a self, i: &'a [Token], e: Expr) -> PResult<'a, Expr> {
        self.autocast_if(i, e, false)
    }

    /// `autocast`; `parenthesised` lets `[` start the chain even after a
    /// name (`(arr)[0]`).
    fn autocast_if<'a>(&'a self, i: &'a [Token], e: Expr, parenthesised: bool) -> PResult<'a, Expr> {
        let t = self.peek(i);
        let indexable = parenthesised || !matches!(e.kind, ExprKind::Var(_) | ExprKind::Index { .. });
        if !(t.is_punct("->") || (indexable && t.is_punct("["))) {
            return Ok((i, e));
        }
        let span = e.span;
        self.target_chain(
            i,
            TargetExpr {
                base: TargetBase::Autocast(e),
                chain: Vec::new(),
                addr_of: false,
                pretty: 0,
            },
            span,
        )
    }

    /// `->name`, `[expr]`, ending with an optional `$`/`$$` on a name.
    fn target_chain<'a>(&'a self, mut i: &'a [Token], mut te: TargetExpr, mut span: Span) -> PResult<'a, Expr> {
        loop {
            let t = self.peek(i);
            if te.pretty != 0 {
                break;
            }
            if t.is_punct("->") {
                let n = self.peek2(i);
                let field = match n.ident() {
                    Some(f) if !f.starts_with('$') && !f.starts_with('@') => f,
                    _ => return self.error(n, format!("expected a field name after `->`, found {}", n.describe())),
                };
                let (base, pretty) = split_pretty(field);
                if base.is_empty() {
                    return self.error(n, "expected a field name after `->`");
                }
                te.chain.push(TargetComponent::Field(Ident {
                    name: base.to_string(),
                    span: n.span,
                }));
                te.pretty = pretty;
                span = span.join(n.span);
                i = self.advance(self.advance(i));
            } else if t.is_punct("[") {
                let (rest, open) = self.expect(i, "[", "to start an index")?;
                let (rest, idx) = self.expr(rest)?;
                let (rest, close) = self.expect_close(rest, "]", open, "index")?;
                te.chain.push(TargetComponent::Index(idx));
                span = span.join(close);
                i = rest;
            } else {
                break;
            }
        }
        Ok((i, mk(ExprKind::Target(Box::new(te)), span)))
    }

    /// `$var`, `$var$$`, `$$parms`, then components.
    fn target_var<'a>(&'a self, i: &'a [Token]) -> PResult<'a, Expr> {
        let t = self.peek(i);
        let full = t.ident().unwrap_or("$");
        let body = &full[1..];
        // `$$parms` keeps one `$`: the name is `$parms`.
        let (lead, rest) = match body.strip_prefix('$') {
            Some(r) => ("$", r),
            None => ("", body),
        };
        let (name, pretty) = split_pretty(rest);
        // `$$$$provider` and friends (SDT markers) keep their extra `$`s.
        let (lead, name) = if rest.starts_with('$') {
            let extra = rest.len() - rest.trim_start_matches('$').len();
            (&body[..extra + 1], name.trim_start_matches('$'))
        } else {
            (lead, name)
        };
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            return self.error(t, format!("`{}` is not a valid target variable name", full));
        }
        let te = TargetExpr {
            base: TargetBase::Var(Ident {
                name: format!("{}{}", lead, name),
                span: t.span,
            }),
            chain: Vec::new(),
            addr_of: false,
            pretty,
        };
        self.target_chain(self.advance(i), te, t.span)
    }

    /// Everything spelled `@name`.
    fn at_operator<'a>(&'a self, i: &'a [Token]) -> PResult<'a, Expr> {
        let t = self.peek(i);
        let name = t.ident().unwrap_or("@");
        let rest = self.advance(i);
        let one = |i| self.at_args(i, t, 1, 1);
        if let Some(op) = stat_op(name) {
            let max = if op == StatOp::Variance { 2 } else { 1 };
            let (i, (mut args, close)) = self.at_args(rest, t, 1, max)?;
            let span = t.span.join(close);
            let operand = Box::new(args.remove(0));
            let kind = match args.pop() {
                Some(shift) => ExprKind::Variance {
                    operand,
                    shift: Box::new(shift),
                },
                None => ExprKind::Stat { op, operand },
            };
            return Ok((i, mk(kind, span)));
        }
        match name {
            "@hist_log" | "@hist_linear" => {
                let linear = name == "@hist_linear";
                let n = if linear { 4 } else { 1 };
                let (i, (mut args, close)) = self.at_args(rest, t, n, n)?;
                let operand = Box::new(args.remove(0));
                let kind = if linear {
                    let mut it = args.into_iter().map(Box::new);
                    match (it.next(), it.next(), it.next()) {
                        (Some(start), Some(stop), Some(interval)) => HistKind::Linear { start, stop, interval },
                        _ => return self.error(t, "`@hist_linear` takes 4 arguments"),
                    }
                } else {
                    HistKind::Log
                };
                let hist = mk(ExprKind::Hist { kind, operand }, t.span.join(close));
                if self.peek(i).is_punct("[") {
                    let (i, open) = self.expect(i, "[", "to start an index")?;
                    let (i, bucket) = self.expr(i)?;
                    let (i, close) = self.expect_close(i, "]", open, "histogram bucket index")?;
                    let span = hist.span.join(close);
                    return Ok((
                        i,
                        mk(
                            ExprKind::HistBucket {
                                hist: Box::new(hist),
                                bucket: Box::new(bucket),
                            },
                            span,
                        ),
                    ));
                }
                Ok((i, hist))
            }
            "@cast" => {
                let (i, (mut args, close)) = self.at_args(rest, t, 2, 3)?;
                let module = match args.get(2) {
                    Some(m) => Some(self.string_arg(m, "module of `@cast`")?),
                    None => None,
                };
                let type_name = self.string_arg(&args[1], "type name of `@cast`")?;
                let operand = args.remove(0);
                let te = TargetExpr {
                    base: TargetBase::Cast {
                        operand,
                        type_name,
                        module,
                    },
                    chain: Vec::new(),
                    addr_of: false,
                    pretty: 0,
                };
                self.cast_suffix(i, te, t.span.join(close))
            }
            "@var" => {
                let (i, (args, close)) = self.at_args(rest, t, 1, 2)?;
                let name = self.string_arg(&args[0], "variable name of `@var`")?;
                let module = match args.get(1) {
                    Some(m) => Some(self.string_arg(m, "module of `@var`")?),
                    None => None,
                };
                let te = TargetExpr {
                    base: TargetBase::AtVar { name, module },
                    chain: Vec::new(),
                    addr_of: false,
                    pretty: 0,
                };
                self.cast_suffix(i, te, t.span.join(close))
            }
            "@kderef" | "@uderef" => {
                let (i, (mut args, close)) = self.at_args(rest, t, 2, 2)?;
                let addr = Box::new(args.remove(1));
                let size = Box::new(args.remove(0));
                let kind = ExprKind::Deref { user: name == "@uderef", size, addr };
                Ok((i, mk(kind, t.span.join(close))))
            }
            "@defined" | "@entry" | "@probewrite" | "@kregister" | "@uregister" => {
                let (i, (mut args, close)) = one(rest)?;
                let arg = Box::new(args.remove(0));
                let kind = match name {
                    "@defined" => ExprKind::Defined(arg),
                    "@entry" => ExprKind::Entry(arg),
                    "@probewrite" => ExprKind::ProbeWrite(arg),
                    "@kregister" => ExprKind::Register { user: false, index: arg },
                    _ => ExprKind::Register { user: true, index: arg },
                };
                let e = mk(kind, t.span.join(close));
                if name == "@entry" {
                    return self.autocast(i, e);
                }
                Ok((i, e))
            }
            "@perf" | "@const" => {
                let (i, (args, close)) = one(rest)?;
                let s = self.string_arg(&args[0], &format!("argument of `{}`", name))?;
                let kind = if name == "@perf" {
                    ExprKind::Perf(s)
                } else {
                    ExprKind::Const(s)
                };
                Ok((i, mk(kind, t.span.join(close))))
            }
            "@define" => self.error(t, "`@define` is only allowed at the top level, outside any block"),
            _ => self.error(t, format!("unknown macro or operator `{}`", name)),
        }
    }

    /// After `@cast(...)`/`@var(...)`: a `$`/`$$` suffix token or components.
    fn cast_suffix<'a>(&'a self, i: &'a [Token], mut te: TargetExpr, span: Span) -> PResult<'a, Expr> {
        let t = self.peek(i);
        if t.joined {
            if let Some(s) = t.ident() {
                if !s.is_empty() && s.chars().all(|c| c == '$') && s.len() <= 2 {
                    te.pretty = s.len() as u8;
                    return Ok((self.advance(i), mk(ExprKind::Target(Box::new(te)), span.join(t.span))));
                }
            }
        }
        self.target_chain(i, te, span)
    }
}

/// `name$$` -> ("name", 2).
fn split_pretty(s: &str) -> (&str, u8) {
    let base = s.trim_end_matches('$');
    let n = (s.len() - base.len()).min(2) as u8;
    (base, n)
}
