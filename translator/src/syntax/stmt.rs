//! Statements: blocks, control flow, `foreach`, `delete`, `try`/`catch`.
//!
//! Input: tokens positioned at a statement (or a `{`). Output: `ast::Stmt`
//! / `ast::Block`. Invariants: statements need no separator; one `;` right
//! after an expression, `return`, `next`, `break`, `continue` or `delete`
//! statement is its terminator and is consumed with it, any other `;` is an
//! `Empty` statement; every statement entry counts against the parser's
//! nesting cap.

use super::ast::*;
use super::lexer::Tok;
use super::parser::{PResult, Parser};
use super::SpanJoin;
use crate::diag::Span;
use nom::combinator::opt;

impl Parser {
    /// `{ stmt* }`
    pub(super) fn block<'a>(&'a self, i: &'a [super::lexer::Token]) -> PResult<'a, Block> {
        let (mut i, open) = self.expect(i, "{", "to start a block")?;
        // (Nesting is counted per statement, not again per block.)
        let mut stmts = Vec::new();
        loop {
            let t = self.peek(i);
            if t.is_punct("}") {
                // Statements are large: give back the growth slack.
                stmts.shrink_to_fit();
                return Ok((
                    self.advance(i),
                    Block {
                        stmts,
                        span: open.join(t.span),
                    },
                ));
            }
            if matches!(t.tok, Tok::Eof) {
                return self.expect_close(i, "}", open, "block").map(|(r, _)| {
                    (
                        r,
                        Block {
                            stmts: Vec::new(),
                            span: open,
                        },
                    )
                });
            }
            let (rest, s) = self.stmt(i)?;
            stmts.push(s);
            i = rest;
        }
    }

    pub(super) fn stmt<'a>(&'a self, i: &'a [super::lexer::Token]) -> PResult<'a, Stmt> {
        let t = self.peek(i);
        let _guard = self.enter(t)?;
        let start = t.span;
        let stmt = |kind, end: Span| Stmt {
            kind,
            span: start.join(end),
        };
        match &t.tok {
            Tok::Punct("{") => {
                let (i, b) = self.block(i)?;
                let span = b.span;
                Ok((i, Stmt { kind: StmtKind::Block(b), span }))
            }
            Tok::Punct(";") => Ok((self.advance(i), stmt(StmtKind::Empty, start))),
            Tok::Embedded(code) => Ok((
                self.advance(i),
                stmt(
                    StmtKind::Embedded(EmbeddedC {
                        code: code.to_string(),
                        span: t.span,
                    }),
                    start,
                ),
            )),
            Tok::Ident(word) => match &**word {
                "if" => self.if_stmt(i),
                "while" => {
                    let (i, open) = self.expect(self.advance(i), "(", "after `while`")?;
                    let (i, cond) = self.expr(i)?;
                    let (i, _) = self.expect_close(i, ")", open, "`while` condition")?;
                    let (i, body) = self.stmt(i)?;
                    let end = body.span;
                    Ok((
                        i,
                        stmt(
                            StmtKind::While {
                                cond,
                                body: Box::new(body),
                            },
                            end,
                        ),
                    ))
                }
                "for" => self.for_stmt(i),
                "foreach" => self.foreach_stmt(i),
                "delete" => {
                    let (i, target) = self.unary(self.advance(i))?;
                    let end = target.span;
                    let (i, _) = self.terminator(i)?;
                    Ok((i, stmt(StmtKind::Delete(target), end)))
                }
                "next" | "break" | "continue" => {
                    let kind = match &**word {
                        "next" => StmtKind::Next,
                        "break" => StmtKind::Break,
                        _ => StmtKind::Continue,
                    };
                    let (i, _) = self.terminator(self.advance(i))?;
                    Ok((i, stmt(kind, start)))
                }
                "return" => {
                    let i = self.advance(i);
                    let n = self.peek(i);
                    if n.is_punct(";") || n.is_punct("}") || matches!(n.tok, Tok::Eof) {
                        let (i, _) = self.terminator(i)?;
                        return Ok((i, stmt(StmtKind::Return(None), start)));
                    }
                    let (i, value) = self.expr(i)?;
                    let end = value.span;
                    let (i, _) = self.terminator(i)?;
                    Ok((i, stmt(StmtKind::Return(Some(value)), end)))
                }
                "try" => self.try_stmt(i),
                "else" => self.error(t, "`else` without a matching `if`"),
                "catch" => self.error(t, "`catch` without a matching `try`"),
                "probe" | "global" | "function" | "private" => self.error(
                    t,
                    format!("`{}` is only allowed at the top level; is a `}}` missing before it?", word),
                ),
                "in" | "limit" => self.error(t, format!("unexpected keyword `{}`", word)),
                _ => self.expr_stmt(i),
            },
            Tok::Eof => self.error(t, "unexpected end of file: expected a statement"),
            _ => self.expr_stmt(i),
        }
    }

    /// An optional `;` ending a simple statement.
    fn terminator<'a>(&'a self, i: &'a [super::lexer::Token]) -> PResult<'a, Option<Span>> {
        opt(self.punct(";"))(i)
    }

    fn expr_stmt<'a>(&'a self, i: &'a [super::lexer::Token]) -> PResult<'a, Stmt> {
        let (i, e) = self.expr(i)?;
        let span = e.span;
        let (i, _) = self.terminator(i)?;
        Ok((
            i,
            Stmt {
                kind: StmtKind::Expr(e),
                span,
            },
        ))
    }

    fn if_stmt<'a>(&'a self, i: &'a [super::lexer::Token]) -> PResult<'a, Stmt> {
        let start = self.peek(i).span;
        let (i, open) = self.expect(self.advance(i), "(", "after `if`")?;
        let (i, cond) = self.expr(i)?;
        let (i, _) = self.expect_close(i, ")", open, "`if` condition")?;
        let (mut i, then) = self.stmt(i)?;
        let mut end = then.span;
        let mut els = None;
        if self.peek(i).is_ident("else") {
            let (rest, e) = self.stmt(self.advance(i))?;
            end = e.span;
            els = Some(Box::new(e));
            i = rest;
        }
        Ok((
            i,
            Stmt {
                kind: StmtKind::If {
                    cond,
                    then: Box::new(then),
                    els,
                },
                span: start.join(end),
            },
        ))
    }

    fn for_stmt<'a>(&'a self, i: &'a [super::lexer::Token]) -> PResult<'a, Stmt> {
        let start = self.peek(i).span;
        let (i, open) = self.expect(self.advance(i), "(", "after `for`")?;
        let (i, init) = self.expr_unless(i, ";")?;
        let (i, _) = self.expect(i, ";", "after the initialiser of `for`")?;
        let (i, cond) = self.expr_unless(i, ";")?;
        let (i, _) = self.expect(i, ";", "after the condition of `for`")?;
        let (i, step) = self.expr_unless(i, ")")?;
        let (i, _) = self.expect_close(i, ")", open, "`for` header")?;
        let (i, body) = self.stmt(i)?;
        let span = start.join(body.span);
        Ok((
            i,
            Stmt {
                kind: StmtKind::For {
                    init: init.map(Box::new),
                    cond: cond.map(Box::new),
                    step: step.map(Box::new),
                    body: Box::new(body),
                },
                span,
            },
        ))
    }

    /// An expression, or nothing if `end` comes next.
    fn expr_unless<'a>(&'a self, i: &'a [super::lexer::Token], end: &str) -> PResult<'a, Option<Expr>> {
        if self.peek(i).is_punct(end) {
            return Ok((i, None));
        }
        let (i, e) = self.expr(i)?;
        Ok((i, Some(e)))
    }

    /// `+` or `-` sort mark: Some(ascending).
    fn sort_mark(&self, i: &[super::lexer::Token]) -> Option<bool> {
        let t = self.peek(i);
        if t.is_punct("+") {
            Some(true)
        } else if t.is_punct("-") {
            Some(false)
        } else {
            None
        }
    }

    /// `foreach ([v =] (k | [k1, k2]) in arr[slice] [@stat] [+|-] [limit e]) stmt`
    fn foreach_stmt<'a>(&'a self, i: &'a [super::lexer::Token]) -> PResult<'a, Stmt> {
        let start = self.peek(i).span;
        let (mut i, open) = self.expect(self.advance(i), "(", "after `foreach`")?;
        let mut sort: Option<(ForeachSort, Span)> = None;
        let mut set_sort = |s: ForeachSort, at: Span, p: &Parser| -> Result<(), nom::Err<super::parser::PError>> {
            if let Some((_, first)) = sort {
                let t = super::lexer::Token {
                    tok: Tok::Punct("+"),
                    span: at,
                    joined: false,
                    line_start: false,
                };
                return p
                    .error(&t, "only one sort mark (`+` or `-`) is allowed in a foreach")
                    .map_err(|e| e.map(|e| e.label(first, "first sort mark here")));
            }
            sort = Some((s, at));
            Ok(())
        };
        // `v =` or `v+ =` before the keys.
        let mut value = None;
        if let Ok((rest, v)) = self.name(i) {
            let mark = self.sort_mark(rest);
            let after = if mark.is_some() { self.advance(rest) } else { rest };
            if self.peek(after).is_punct("=") {
                if let Some(asc) = mark {
                    set_sort(
                        ForeachSort {
                            column: 0,
                            ascending: asc,
                            aggregate: None,
                        },
                        self.peek(rest).span,
                        self,
                    )?;
                }
                value = Some(v);
                i = self.advance(after);
            }
        }
        // The keys.
        let mut keys = Vec::new();
        let bracketed = self.peek(i).is_punct("[");
        if bracketed {
            i = self.advance(i);
        }
        loop {
            let (rest, k) = self.expect_name(i, "a loop variable name")?;
            i = rest;
            keys.push(k);
            if let Some(asc) = self.sort_mark(i) {
                set_sort(
                    ForeachSort {
                        column: keys.len(),
                        ascending: asc,
                        aggregate: None,
                    },
                    self.peek(i).span,
                    self,
                )?;
                i = self.advance(i);
            }
            if !bracketed {
                break;
            }
            let t = self.peek(i);
            if t.is_punct(",") {
                i = self.advance(i);
            } else if t.is_punct("]") {
                i = self.advance(i);
                break;
            } else {
                return self.error(t, format!("expected `,` or `]` after a foreach key, found {}", t.describe()));
            }
        }
        let t = self.peek(i);
        if !t.is_ident("in") {
            return self.error(t, format!("expected `in` after the foreach keys, found {}", t.describe()));
        }
        i = self.advance(i);
        // The array, maybe sliced, or a histogram.
        let (rest, array) = self.foreach_array(i)?;
        i = rest;
        // `@sum+`: aggregate used for a value sort.
        let mut aggregate = None;
        if let Some(op) = self.peek(i).ident().and_then(stat_op) {
            if self.sort_mark(self.advance(i)).is_none() {
                let t = self.peek(self.advance(i));
                return self.error(
                    t,
                    format!("expected `+` or `-` after the sort statistic, found {}", t.describe()),
                );
            }
            aggregate = Some(op);
            i = self.advance(i);
        }
        if let Some(asc) = self.sort_mark(i) {
            set_sort(
                ForeachSort {
                    column: 0,
                    ascending: asc,
                    aggregate,
                },
                self.peek(i).span,
                self,
            )?;
            i = self.advance(i);
        }
        let mut limit = None;
        if self.peek(i).is_ident("limit") {
            let (rest, e) = self.expr(self.advance(i))?;
            limit = Some(e);
            i = rest;
        }
        let (i, _) = self.expect_close(i, ")", open, "foreach header")?;
        let (i, body) = self.stmt(i)?;
        let span = start.join(body.span);
        Ok((
            i,
            Stmt {
                kind: StmtKind::Foreach(Box::new(Foreach {
                    value,
                    keys,
                    array,
                    sort: sort.map(|(s, _)| s),
                    limit,
                    body,
                })),
                span,
            },
        ))
    }

    /// The array of a foreach: `arr`, `arr[*, 5]` or `@hist_log(s)`.
    fn foreach_array<'a>(&'a self, i: &'a [super::lexer::Token]) -> PResult<'a, Expr> {
        let t = self.peek(i);
        if let Some(n) = t.ident() {
            if n == "@hist_log" || n == "@hist_linear" {
                return self.primary(i);
            }
        }
        let (i, name) = match self.name(i) {
            Ok(r) => r,
            Err(_) => {
                return self.error(t, format!("expected an array name after `in`, found {}", t.describe()));
            }
        };
        if self.peek(i).is_punct("[") {
            let (i, (keys, close)) = self.index_keys(i)?;
            let span = name.span.join(close);
            return Ok((
                i,
                Expr {
                    kind: ExprKind::Index { array: name, keys },
                    span,
                },
            ));
        }
        let span = name.span;
        Ok((
            i,
            Expr {
                kind: ExprKind::Var(name),
                span,
            },
        ))
    }

    fn try_stmt<'a>(&'a self, i: &'a [super::lexer::Token]) -> PResult<'a, Stmt> {
        let start = self.peek(i).span;
        let i = self.advance(i);
        if !self.peek(i).is_punct("{") {
            let t = self.peek(i);
            return self.error(t, format!("expected `{{` after `try`, found {}", t.describe()));
        }
        let (i, body) = self.block(i)?;
        let t = self.peek(i);
        if !t.is_ident("catch") {
            return self
                .error(t, format!("expected `catch` after the `try` block, found {}", t.describe()))
                .map_err(|e| e.map(|e| e.label(start, "`try` here")));
        }
        let mut i = self.advance(i);
        let mut catch_var = None;
        if let Ok((rest, open)) = self.punct("(")(i) {
            let (rest, v) = self.expect_name(rest, "a variable name for the error message")?;
            let (rest, _) = self.expect_close(rest, ")", open, "`catch` variable")?;
            catch_var = Some(v);
            i = rest;
        }
        if !self.peek(i).is_punct("{") {
            let t = self.peek(i);
            return self.error(t, format!("expected `{{` after `catch`, found {}", t.describe()));
        }
        let (i, catch_body) = self.block(i)?;
        let span = start.join(catch_body.span);
        Ok((
            i,
            Stmt {
                kind: StmtKind::Try {
                    body: Box::new(body),
                    catch_var,
                    catch_body: Box::new(catch_body),
                },
                span,
            },
        ))
    }
}

/// `@count` ... `@variance` to their `StatOp`.
pub(super) fn stat_op(name: &str) -> Option<StatOp> {
    Some(match name {
        "@count" => StatOp::Count,
        "@sum" => StatOp::Sum,
        "@min" => StatOp::Min,
        "@max" => StatOp::Max,
        "@avg" => StatOp::Avg,
        "@variance" => StatOp::Variance,
        _ => return None,
    })
}
