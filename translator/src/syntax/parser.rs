//! The parser: preprocessed tokens to `ast::File`; top-level items and
//! probe points here, statements in `stmt.rs`, expressions in `expr.rs`.
//!
//! Input: the token stream out of `preprocess.rs`, ending with one
//! `Tok::Eof`. Output: the items of the file, or the first syntax error as
//! a `PError` (message, primary span, secondary labels). Invariants: the
//! engine is nom (`IResult` over `&[Token]`, nom combinators); a
//! `nom::Err::Error` means "not this construct, try another" and never
//! escapes `parse_items`, a `nom::Err::Failure` is a committed syntax error;
//! nesting of statements and expressions is capped at `MAX_DEPTH`, so no
//! input overflows the stack; nothing indexes past the end of the input.

use super::ast::*;
use super::lexer::{Tok, Token};
use super::SpanJoin;
use crate::diag::Span;
use nom::combinator::opt;
use nom::multi::separated_list1;
use nom::IResult;
use std::cell::Cell;

/// Most probe points one brace-expanded point may turn into.
pub const MAX_EXPANDED_POINTS: usize = 10_000;

/// One expansion of a brace group: its components and `?`/`!` marks.
#[derive(Debug, Clone, Default)]
pub(super) struct PointAlternative {
    components: Vec<Component>,
    optional: bool,
    sufficient: bool,
}

/// Most syntax errors reported for one file.
pub const MAX_ERRORS: usize = 20;

/// Deepest nesting of blocks, statements and expressions accepted.
pub const MAX_DEPTH: usize = 1000;

/// Binary operators in one statement (or probe point condition): with
/// `MAX_DEPTH`, this bounds how deep an expression tree can get, since
/// the operator loop builds left-nested trees without recursing.
pub const MAX_FOLDS: usize = 2000;

pub type Input<'a> = &'a [Token];
pub type PResult<'a, T> = IResult<Input<'a>, T, PError>;

/// A syntax error: what was wrong and where.
#[derive(Debug, Clone, PartialEq)]
pub struct PError {
    pub msg: String,
    pub span: Span,
    pub labels: Vec<(Span, String)>,
}

impl PError {
    pub fn label(mut self, span: Span, text: impl Into<String>) -> PError {
        self.labels.push((span, text.into()));
        self
    }
}

impl<'a> nom::error::ParseError<Input<'a>> for PError {
    fn from_error_kind(input: Input<'a>, _kind: nom::error::ErrorKind) -> Self {
        let (msg, span) = match input.first() {
            Some(t) => (format!("unexpected {}", t.describe()), t.span),
            None => ("unexpected end of file".to_string(), Span::default()),
        };
        PError {
            msg,
            span,
            labels: Vec::new(),
        }
    }

    fn append(_input: Input<'a>, _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }

    fn or(self, other: Self) -> Self {
        // Keep the error that got further into the input.
        if other.span.lo >= self.span.lo {
            other
        } else {
            self
        }
    }
}

/// Words that cannot name a variable or function.
pub const KEYWORDS: &[&str] = &[
    "probe", "global", "function", "private", "if", "else", "while", "for", "foreach", "in",
    "limit", "delete", "next", "break", "continue", "return", "try", "catch", "string", "long",
];

pub fn is_keyword(name: &str) -> bool {
    KEYWORDS.contains(&name)
}

/// The parser's state: only the nesting depth (the input is threaded
/// through the nom functions).
pub struct Parser {
    pub(super) depth: Cell<usize>,
    /// Binary operators folded so far in the current statement.
    pub(super) folds: Cell<usize>,
    pub(super) eof: Token,
    stack: super::StackProbe,
    /// Set when the stack budget ran out: the result is to be discarded.
    stack_exceeded: Cell<bool>,
}

/// Decrements the depth when a nested construct is done.
pub(super) struct DepthGuard<'p>(&'p Cell<usize>);

impl Drop for DepthGuard<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get().saturating_sub(1));
    }
}

impl Parser {
    pub fn new(eof: Token, stack: super::StackProbe) -> Parser {
        Parser {
            depth: Cell::new(0),
            folds: Cell::new(0),
            eof,
            stack,
            stack_exceeded: Cell::new(false),
        }
    }

    /// Whether parsing stopped because the stack budget ran out.
    pub fn stack_exceeded(&self) -> bool {
        self.stack_exceeded.get()
    }

    // ----- small helpers shared by stmt.rs and expr.rs -----

    pub(super) fn peek<'a>(&'a self, i: Input<'a>) -> &'a Token {
        i.first().unwrap_or(&self.eof)
    }

    pub(super) fn peek2<'a>(&'a self, i: Input<'a>) -> &'a Token {
        i.get(1).unwrap_or(&self.eof)
    }

    /// `i` without its first token (never past the `Eof`).
    pub(super) fn advance<'a>(&self, i: Input<'a>) -> Input<'a> {
        if i.len() > 1 {
            &i[1..]
        } else {
            i
        }
    }

    pub(super) fn error<T>(&self, t: &Token, msg: impl Into<String>) -> Result<T, nom::Err<PError>> {
        Err(nom::Err::Failure(PError {
            msg: msg.into(),
            span: t.span,
            labels: Vec::new(),
        }))
    }

    /// Soft failure: "not this construct". The message is left empty (it
    /// is filled in by `parse_items` in the rare case one escapes), so
    /// trying alternatives allocates nothing.
    pub(super) fn backtrack<T>(&self, t: &Token) -> Result<T, nom::Err<PError>> {
        Err(nom::Err::Error(PError {
            msg: String::new(),
            span: t.span,
            labels: Vec::new(),
        }))
    }

    /// Counts one binary operator of the current statement.
    pub(super) fn count_fold(&self, t: &Token) -> Result<(), nom::Err<PError>> {
        let f = self.folds.get() + 1;
        if f > MAX_FOLDS {
            return self.error(t, format!("expression too long (more than {} operators in one statement)", MAX_FOLDS));
        }
        self.folds.set(f);
        Ok(())
    }

    /// Runs `f` with its own operator count (a statement or condition),
    /// restoring the enclosing one afterwards.
    pub(super) fn own_folds<T>(&self, f: impl FnOnce() -> T) -> T {
        let saved = self.folds.replace(0);
        let r = f();
        self.folds.set(saved);
        r
    }

    pub(super) fn enter(&self, t: &Token) -> Result<DepthGuard<'_>, nom::Err<PError>> {
        let d = self.depth.get() + 1;
        if d > MAX_DEPTH {
            return self.error(t, format!("nesting too deep (more than {} levels)", MAX_DEPTH));
        }
        if self.stack.exceeded() {
            self.stack_exceeded.set(true);
            return self.error(t, "stack budget exceeded");
        }
        self.depth.set(d);
        Ok(DepthGuard(&self.depth))
    }

    /// A nom parser for punctuation `p`; a soft error if it is not next.
    pub(super) fn punct<'a>(&'a self, p: &'static str) -> impl Fn(Input<'a>) -> PResult<'a, Span> + 'a {
        move |i| {
            let t = self.peek(i);
            if t.is_punct(p) {
                Ok((self.advance(i), t.span))
            } else {
                self.backtrack(t)
            }
        }
    }

    /// Punctuation `p` must come next: "expected `p` {after}, found X".
    pub(super) fn expect<'a>(&'a self, i: Input<'a>, p: &'static str, after: &str) -> PResult<'a, Span> {
        let t = self.peek(i);
        if t.is_punct(p) {
            Ok((self.advance(i), t.span))
        } else {
            self.error(t, format!("expected `{}` {}, found {}", p, after, t.describe()))
        }
    }

    /// Like `expect` for a closing delimiter, with a label on the opener.
    pub(super) fn expect_close<'a>(
        &'a self,
        i: Input<'a>,
        p: &'static str,
        open: Span,
        what: &str,
    ) -> PResult<'a, Span> {
        let t = self.peek(i);
        if t.is_punct(p) {
            return Ok((self.advance(i), t.span));
        }
        let msg = if matches!(t.tok, Tok::Eof) {
            format!("unexpected end of file in {} started here", what)
        } else {
            format!("expected `{}` to close {}, found {}", p, what, t.describe())
        };
        Err(nom::Err::Failure(PError {
            msg,
            span: t.span,
            labels: vec![(open, format!("{} started here", what))],
        }))
    }

    /// A plain (non-keyword, no sigil) identifier; soft error otherwise.
    pub(super) fn name<'a>(&'a self, i: Input<'a>) -> PResult<'a, Ident> {
        let t = self.peek(i);
        match t.ident() {
            Some(n) if !n.starts_with('$') && !n.starts_with('@') && !is_keyword(n) => Ok((
                self.advance(i),
                Ident {
                    name: n.to_string(),
                    span: t.span,
                },
            )),
            _ => self.backtrack(t),
        }
    }

    /// A name that must come next.
    pub(super) fn expect_name<'a>(&'a self, i: Input<'a>, what: &str) -> PResult<'a, Ident> {
        let t = self.peek(i);
        match self.name(i) {
            Ok(r) => Ok(r),
            Err(_) => {
                let found = match t.ident() {
                    Some(n) if is_keyword(n) => format!("keyword `{}`", n),
                    _ => t.describe(),
                };
                self.error(t, format!("expected {}, found {}", what, found))
            }
        }
    }

    /// One string literal, or several adjacent ones glued together (as C
    /// does). Soft error if no string is next.
    pub(super) fn string_lit<'a>(&'a self, i: Input<'a>) -> PResult<'a, (String, Span)> {
        let t = self.peek(i);
        let Tok::Str(first) = &t.tok else {
            return self.backtrack(t);
        };
        let mut value = first.to_string();
        let mut span = t.span;
        let mut rest = self.advance(i);
        while let Tok::Str(more) = &self.peek(rest).tok {
            value.push_str(more);
            span = span.join(self.peek(rest).span);
            rest = self.advance(rest);
        }
        Ok((rest, (value, span)))
    }

    /// A number or string literal (`-5` included). Soft error otherwise.
    pub(super) fn literal<'a>(&'a self, i: Input<'a>) -> PResult<'a, (Literal, Span)> {
        let t = self.peek(i);
        match &t.tok {
            Tok::Number(n) => Ok((self.advance(i), (Literal::Number(*n as i64), t.span))),
            Tok::Str(_) => {
                let (rest, (s, span)) = self.string_lit(i)?;
                Ok((rest, (Literal::String(s), span)))
            }
            Tok::Punct("-") => {
                let n = self.peek2(i);
                match n.tok {
                    Tok::Number(v) => Ok((
                        self.advance(self.advance(i)),
                        (Literal::Number((v as i64).wrapping_neg()), t.span.join(n.span)),
                    )),
                    _ => self.backtrack(t),
                }
            }
            _ => self.backtrack(t),
        }
    }

    // ----- top level -----

    /// The whole file: items until `Eof`, and the syntax errors found.
    ///
    /// After an error, parsing resumes at the next `probe`, `global`,
    /// `function` or `private` that starts a line, so one mistake does not
    /// hide the next; at most `MAX_ERRORS` are reported.
    pub fn parse_items<'a>(&'a self, mut i: Input<'a>) -> (Vec<Item>, Vec<PError>) {
        let mut items = Vec::new();
        let mut errors = Vec::new();
        loop {
            let t = self.peek(i);
            if matches!(t.tok, Tok::Eof) || errors.len() >= MAX_ERRORS || self.stack_exceeded() {
                items.shrink_to_fit();
                return (items, errors);
            }
            let mut e = match self.item(i, &mut items) {
                Ok((rest, ())) => {
                    i = rest;
                    continue;
                }
                Err(nom::Err::Error(e)) | Err(nom::Err::Failure(e)) => e,
                Err(nom::Err::Incomplete(_)) => PError {
                    msg: "unexpected end of file".into(),
                    span: t.span,
                    labels: Vec::new(),
                },
            };
            if e.msg.is_empty() {
                let found = i.iter().find(|t| t.span == e.span).unwrap_or(t);
                e.msg = format!("unexpected {}", found.describe());
            }
            // Resume after the error, at an item that starts a line.
            let at = i.iter().position(|t| t.span == e.span).unwrap_or(0);
            errors.push(e);
            i = &i[(at + 1).min(i.len().saturating_sub(1))..];
            while let Some(t) = i.first() {
                let resumes = t.line_start
                    && matches!(t.ident(), Some("probe" | "global" | "function" | "private"));
                if resumes || matches!(t.tok, Tok::Eof) {
                    break;
                }
                i = &i[1..];
            }
        }
    }

    fn item<'a>(&'a self, i: Input<'a>, out: &mut Vec<Item>) -> PResult<'a, ()> {
        let t = self.peek(i);
        match &t.tok {
            // A stray `;` (`global a, b;`) separates nothing and is skipped.
            Tok::Punct(";") => Ok((self.advance(i), ())),
            Tok::Embedded(code) => {
                out.push(Item::Embedded(EmbeddedC {
                    code: code.to_string(),
                    span: t.span,
                }));
                Ok((self.advance(i), ()))
            }
            Tok::Ident(word) => match &**word {
                "probe" => self.probe(self.advance(i), t.span, false, out),
                "global" => self.globals(self.advance(i), t.span, false, out),
                "function" => self.function(self.advance(i), t.span, false, out),
                "private" => {
                    let rest = self.advance(i);
                    let n = self.peek(rest);
                    match n.ident() {
                        Some("probe") => self.probe(self.advance(rest), t.span, true, out),
                        Some("global") => self.globals(self.advance(rest), t.span, true, out),
                        Some("function") => self.function(self.advance(rest), t.span, true, out),
                        Some(_) if self.name(rest).is_ok() => self.globals(rest, t.span, true, out),
                        _ => self.error(
                            n,
                            format!(
                                "expected `global`, `function`, `probe` or a variable name after `private`, found {}",
                                n.describe()
                            ),
                        ),
                    }
                }
                _ => self.top_level_error(t),
            },
            _ => self.top_level_error(t),
        }
    }

    fn top_level_error<T>(&self, t: &Token) -> Result<T, nom::Err<PError>> {
        self.error(
            t,
            format!(
                "expected `probe`, `global`, `function`, `private` or `%{{` at the top level, found {}",
                t.describe()
            ),
        )
    }

    /// `global a, b[10], c = 5, w%[100]` after the `global` keyword.
    fn globals<'a>(&'a self, i: Input<'a>, start: Span, private: bool, out: &mut Vec<Item>) -> PResult<'a, ()> {
        let (rest, decls) = separated_list1(self.punct(","), |i| self.global_decl(i, start, private))(i)?;
        out.extend(decls.into_iter().map(Item::Global));
        Ok((rest, ()))
    }

    fn global_decl<'a>(&'a self, i: Input<'a>, start: Span, private: bool) -> PResult<'a, Global> {
        let (mut i, name) = self.expect_name(i, "a global variable name")?;
        let mut g = Global {
            span: start.join(name.span),
            name,
            init: None,
            size: None,
            wrap: false,
            is_array: false,
            private,
        };
        if let Ok((rest, _)) = self.punct("%")(i) {
            g.wrap = true;
            i = rest;
        }
        if let Ok((rest, open)) = self.punct("[")(i) {
            g.is_array = true;
            i = rest;
            let t = self.peek(i);
            if let Tok::Number(n) = t.tok {
                if n == 0 {
                    return self.error(t, format!("the size of array `{}` must be at least 1", g.name.name));
                }
                g.size = Some(n);
                i = self.advance(i);
            } else if !t.is_punct("]") {
                return self.error(t, format!("expected the array size (a number) or `]`, found {}", t.describe()));
            }
            let (rest, close) = self.expect_close(i, "]", open, "array size")?;
            g.span = g.span.join(close);
            i = rest;
            if let Ok((rest, _)) = self.punct("%")(i) {
                g.wrap = true;
                i = rest;
            }
        }
        if g.wrap && !g.is_array {
            // `global w%` alone is a wrapping array without a size.
            g.is_array = true;
        }
        if let Ok((rest, _)) = self.punct("=")(i) {
            match self.literal(rest) {
                Ok((rest, (lit, span))) => {
                    if g.is_array {
                        let name = g.name.span;
                        return self
                            .error(self.peek(i), "an array global cannot have an initial value")
                            .map_err(|e| e.map(|e: PError| e.label(name, "declared as an array here")));
                    }
                    g.init = Some(lit);
                    g.span = g.span.join(span);
                    i = rest;
                }
                Err(_) => {
                    let t = self.peek(rest);
                    return self.error(
                        t,
                        format!(
                            "expected a number or string literal to initialise global `{}`, found {}",
                            g.name.name,
                            t.describe()
                        ),
                    );
                }
            }
        }
        Ok((i, g))
    }

    /// `function name:type (a:type, b) { ... }` or `%{ ... %}`.
    fn function<'a>(&'a self, i: Input<'a>, start: Span, private: bool, out: &mut Vec<Item>) -> PResult<'a, ()> {
        let (i, name) = self.expect_name(i, "a function name")?;
        let (i, ret) = self.type_suffix(i)?;
        let (mut i, open) = self.expect(i, "(", &format!("after the name of function `{}`", name.name))?;
        let mut params = Vec::new();
        if let Ok((rest, _)) = self.punct(")")(i) {
            i = rest;
        } else {
            loop {
                let (rest, pname) = self.expect_name(i, "a parameter name")?;
                let (rest, ty) = self.type_suffix(rest)?;
                params.push(Param { name: pname, ty });
                i = rest;
                let t = self.peek(i);
                if t.is_punct(",") {
                    i = self.advance(i);
                } else if t.is_punct(")") {
                    i = self.advance(i);
                    break;
                } else if matches!(t.tok, Tok::Eof) {
                    return self.expect_close(i, ")", open, "parameter list").map(|(r, _)| (r, ()));
                } else {
                    return self.error(t, format!("expected `,` or `)` in the parameter list, found {}", t.describe()));
                }
            }
        }
        // `function f():3 { }`: the overload priority.
        let mut priority = None;
        if self.peek(i).is_punct(":") {
            match self.literal(self.advance(i)) {
                Ok((rest, (Literal::Number(n), _))) => {
                    priority = Some(n);
                    i = rest;
                }
                _ => {
                    let t = self.peek2(i);
                    return self.error(t, format!("expected the function's priority (a number) after `:`, found {}", t.describe()));
                }
            }
        }
        let t = self.peek(i);
        let (i, body) = match &t.tok {
            Tok::Embedded(code) => (
                self.advance(i),
                FunctionBody::Embedded(EmbeddedC {
                    code: code.to_string(),
                    span: t.span,
                }),
            ),
            Tok::Punct("{") => {
                let (i, b) = self.block(i)?;
                (i, FunctionBody::Script(b))
            }
            _ => {
                return self.error(
                    t,
                    format!(
                        "expected `{{` or `%{{` to start the body of function `{}`, found {}",
                        name.name,
                        t.describe()
                    ),
                )
            }
        };
        let end = match &body {
            FunctionBody::Script(b) => b.span,
            FunctionBody::Embedded(e) => e.span,
        };
        out.push(Item::Function(Function {
            name,
            ret,
            params,
            body,
            priority,
            private,
            span: start.join(end),
        }));
        Ok((i, ()))
    }

    /// Optional `:long` / `:string`.
    fn type_suffix<'a>(&'a self, i: Input<'a>) -> PResult<'a, Option<TypeName>> {
        if !self.peek(i).is_punct(":") {
            return Ok((i, None));
        }
        let t = self.peek2(i);
        let ty = match t.ident() {
            Some("long") => TypeName::Long,
            Some("string") => TypeName::String,
            // A number after `:` is an overload priority, not a type.
            _ if matches!(t.tok, Tok::Number(_)) => return Ok((i, None)),
            _ => return self.error(t, format!("expected `long` or `string` after `:`, found {}", t.describe())),
        };
        Ok((self.advance(self.advance(i)), Some(ty)))
    }

    /// `probe P, Q? { }` or an alias `probe N = P { }` / `N += P { }`.
    fn probe<'a>(&'a self, i: Input<'a>, start: Span, private: bool, out: &mut Vec<Item>) -> PResult<'a, ()> {
        let (i, points) = self.probe_points(i)?;
        let t = self.peek(i);
        if t.is_punct("=") || t.is_punct("+=") {
            let kind = if t.is_punct("=") {
                AliasKind::Prologue
            } else {
                AliasKind::Epilogue
            };
            for p in &points {
                if p.optional || p.sufficient || p.condition.is_some() {
                    return self.error(
                        t,
                        "an alias name cannot have `?`, `!` or `if (...)`; put them on the points it expands to",
                    )
                    .map_err(|e| e.map(|e: PError| e.label(p.span, "this alias name")));
                }
            }
            let (i, targets) = self.probe_points(self.advance(i))?;
            let (i, body) = self.probe_body(i)?;
            let (i, epilogue) = opt(|i| {
                let (i, _) = self.punct(",")(i)?;
                if !self.peek(i).is_punct("{") {
                    return self.backtrack(self.peek(i));
                }
                self.block(i)
            })(i)?;
            let end = epilogue.as_ref().map(|b| b.span).unwrap_or(body.span);
            out.push(Item::Alias(ProbeAlias {
                names: points,
                kind,
                points: targets,
                body,
                epilogue,
                private,
                span: start.join(end),
            }));
            return Ok((i, ()));
        }
        if private {
            return self.error(t, "only probe aliases can be `private`, and this is a probe (no `=` or `+=`)");
        }
        let (i, body) = self.probe_body(i)?;
        out.push(Item::Probe(Probe {
            points,
            span: start.join(body.span),
            body,
        }));
        Ok((i, ()))
    }

    fn probe_body<'a>(&'a self, i: Input<'a>) -> PResult<'a, Block> {
        let t = self.peek(i);
        if !t.is_punct("{") {
            return self.error(
                t,
                format!("expected `,`, `=`, `+=` or `{{` after the probe point, found {}", t.describe()),
            );
        }
        self.block(i)
    }

    fn probe_points<'a>(&'a self, i: Input<'a>) -> PResult<'a, Vec<ProbePoint>> {
        let (i, groups) = separated_list1(self.punct(","), |i| self.probe_point(i))(i)?;
        let mut points: Vec<ProbePoint> = groups.into_iter().flatten().collect();
        points.shrink_to_fit();
        Ok((i, points))
    }

    /// `a.b("x").c(5)?` `!` `if (cond)`; brace groups (`syscall.{open,
    /// close}`, `{kernel,module("m")}.function("f")`) expand here into
    /// several points, in product order.
    pub(super) fn probe_point<'a>(&'a self, i: Input<'a>) -> PResult<'a, Vec<ProbePoint>> {
        let start = self.peek(i).span;
        let (mut i, (alts, end)) = self.point_alternatives(i)?;
        let mut optional = false;
        let mut sufficient = false;
        let mut span = start.join(end);
        loop {
            let t = self.peek(i);
            if t.is_punct("?") {
                optional = true;
            } else if t.is_punct("!") {
                sufficient = true;
            } else {
                break;
            }
            span = span.join(t.span);
            i = self.advance(i);
        }
        let mut condition = None;
        if self.peek(i).is_ident("if") {
            let (rest, open) = self.expect(self.advance(i), "(", "after `if` in a probe point")?;
            let (rest, cond) = self.own_folds(|| self.expr(rest))?;
            let (rest, _) = self.expect_close(rest, ")", open, "probe point condition")?;
            condition = Some(Box::new(cond));
            i = rest;
        }
        let points = alts
            .into_iter()
            .map(|a| ProbePoint {
                components: {
                    let mut c = a.components;
                    c.shrink_to_fit();
                    c
                },
                optional: optional || a.optional,
                sufficient: sufficient || a.sufficient,
                condition: condition.clone(),
                span,
            })
            .collect();
        Ok((i, points))
    }

    /// Dotted segments, each a component or a `{a, b.c}` group: every
    /// combination, in product order, and the span of the last segment.
    fn point_alternatives<'a>(&'a self, mut i: Input<'a>) -> PResult<'a, (Vec<PointAlternative>, Span)> {
        let mut result = vec![PointAlternative::default()];
        loop {
            let t = self.peek(i);
            let (rest, (segment, end)) = if t.is_punct("{") {
                let _guard = self.enter(t)?;
                self.brace_group(i)?
            } else {
                let (rest, c) = self.component(i)?;
                let end = c.span;
                (
                    rest,
                    (
                        vec![PointAlternative {
                            components: vec![c],
                            ..PointAlternative::default()
                        }],
                        end,
                    ),
                )
            };
            i = rest;
            if segment.len() == 1 {
                // The common case: one more component for every prefix.
                if let Some(alt) = segment.into_iter().next() {
                    for prefix in &mut result {
                        prefix.components.extend(alt.components.iter().cloned());
                        prefix.optional |= alt.optional;
                        prefix.sufficient |= alt.sufficient;
                    }
                }
                if self.peek(i).is_punct(".") {
                    i = self.advance(i);
                    continue;
                }
                return Ok((i, (result, end)));
            }
            if result.len().saturating_mul(segment.len()) > MAX_EXPANDED_POINTS {
                return self.error(
                    t,
                    format!("brace expansion yields more than {} probe points", MAX_EXPANDED_POINTS),
                );
            }
            let mut next = Vec::with_capacity(result.len() * segment.len());
            for prefix in &result {
                for alt in &segment {
                    let mut components = prefix.components.clone();
                    components.extend(alt.components.iter().cloned());
                    next.push(PointAlternative {
                        components,
                        optional: prefix.optional || alt.optional,
                        sufficient: prefix.sufficient || alt.sufficient,
                    });
                }
            }
            result = next;
            if self.peek(i).is_punct(".") {
                i = self.advance(i);
            } else {
                return Ok((i, (result, end)));
            }
        }
    }

    /// `{ alt, alt? , ... }` at `i`.
    fn brace_group<'a>(&'a self, i: Input<'a>) -> PResult<'a, (Vec<PointAlternative>, Span)> {
        let (mut i, open) = self.expect(i, "{", "to start a brace group")?;
        let mut all = Vec::new();
        loop {
            let (rest, (mut alts, _)) = self.point_alternatives(i)?;
            i = rest;
            loop {
                let t = self.peek(i);
                if t.is_punct("?") {
                    alts.iter_mut().for_each(|a| a.optional = true);
                } else if t.is_punct("!") {
                    alts.iter_mut().for_each(|a| a.sufficient = true);
                } else {
                    break;
                }
                i = self.advance(i);
            }
            all.extend(alts);
            if all.len() > MAX_EXPANDED_POINTS {
                return self.error(
                    self.peek(i),
                    format!("brace expansion yields more than {} probe points", MAX_EXPANDED_POINTS),
                );
            }
            let t = self.peek(i);
            if t.is_punct(",") {
                i = self.advance(i);
            } else if t.is_punct("}") {
                return Ok((self.advance(i), (all, t.span)));
            } else {
                return self
                    .expect_close(i, "}", open, "probe point brace group")
                    .map(|(r, s)| (r, (Vec::new(), s)));
            }
        }
    }

    /// One component: a name made of adjacent words and `*`s, then an
    /// optional `(literal)`.
    fn component<'a>(&'a self, i: Input<'a>) -> PResult<'a, Component> {
        let t = self.peek(i);
        let piece = |t: &Token| -> Option<String> {
            match &t.tok {
                Tok::Ident(n) if !n.starts_with('$') && !n.starts_with('@') => Some(n.to_string()),
                Tok::Punct("*") => Some("*".to_string()),
                _ => None,
            }
        };
        let Some(mut name) = piece(t) else {
            return self.error(t, format!("expected a probe point name, found {}", t.describe()));
        };
        let mut span = t.span;
        let mut i = self.advance(i);
        loop {
            let n = self.peek(i);
            if !n.joined {
                break;
            }
            match piece(n) {
                Some(more) => {
                    name.push_str(&more);
                    span = span.join(n.span);
                    i = self.advance(i);
                }
                None => break,
            }
        }
        let mut arg = None;
        if let Ok((rest, open)) = self.punct("(")(i) {
            let (rest, (lit, _)) = match self.literal(rest) {
                Ok(r) => r,
                Err(_) => {
                    let t = self.peek(rest);
                    return self.error(
                        t,
                        format!(
                            "expected a string or number as the argument of probe point component `{}`, found {}",
                            name,
                            t.describe()
                        ),
                    );
                }
            };
            let (rest, close) = self.expect_close(rest, ")", open, "probe point argument")?;
            span = span.join(close);
            arg = Some(lit);
            i = rest;
        }
        Ok((i, Component { name, arg, span }))
    }
}
