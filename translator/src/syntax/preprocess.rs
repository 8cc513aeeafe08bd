//! The preprocessor: `%( cond %? a %: b %)` conditionals, `@define` macros
//! and script arguments (`$1`, `@1`, `$#`, `@#`).
//!
//! Input: the tokens of one file, `ParseOptions` (the facts conditions test,
//! the script arguments) and the `Macros` visible to the file. Output: the
//! token stream the parser sees, with every conditional resolved, every
//! macro invocation replaced by its body, and every argument reference
//! replaced by its value. Macros the file defines are added to `Macros`.
//! Invariants: only the chosen branch of a conditional is expanded (the
//! other needs only balanced `%(`/`%)`); tokens that came out of a macro
//! body carry a `Span::ctx` naming that expansion (registered with
//! `SourceMap::add_expansion`), argument tokens keep their own spans; macro
//! recursion is capped (`MAX_EXPANSION_DEPTH`), so a self-invoking macro is
//! an error, not a stack overflow.

use crate::glob::glob_match;
use super::lexer::{lex, number_value, Tok, Token};
use super::{MacroDef, Macros, ParseOptions};
use super::SpanJoin;
use crate::diag::{Diagnostic, SourceMap, Span};
use std::cmp::Ordering;
use std::collections::HashMap;

/// Nested macro expansions (and nested conditionals) deeper than this are
/// reported as errors.
pub const MAX_EXPANSION_DEPTH: usize = 200;

/// `@name` operators built into the language: never macros.
pub const BUILTIN_OPERATORS: &[&str] = &[
    "cast", "defined", "entry", "var", "perf", "const", "probewrite", "count", "sum", "min", "max",
    "avg", "variance", "hist_log", "hist_linear", "kregister", "uregister", "kderef", "uderef", "define",
];

/// A macro's parameters bound to their (expanded) argument tokens.
type Params = Vec<(String, Vec<Token>)>;

pub struct Preprocessor<'a> {
    opts: &'a ParseOptions,
    macros: &'a mut Macros,
    sources: &'a mut SourceMap,
    /// The file being preprocessed (for "redefined in the same file").
    file: u32,
    /// Lexed macro bodies, keyed by the body span.
    bodies: HashMap<(u32, u32, u32), Vec<Token>>,
    /// The macros being expanded right now (`@name` tokens), innermost last.
    active: Vec<std::rc::Rc<str>>,
    stack: Option<super::StackProbe>,
    stack_exceeded: bool,
    /// Definitions this file made, with what they replaced, so that
    /// `forget_local_macros` can undo them (a `.stp` file's macros are its
    /// own; only `.stpm` files publish theirs).
    defined_here: Vec<(String, Option<MacroDef>)>,
}

type PpResult<T> = Result<T, Diagnostic>;

fn err(msg: impl Into<String>, span: Span) -> Diagnostic {
    Diagnostic::error(msg, Some(span))
}

impl<'a> Preprocessor<'a> {
    pub fn new(
        opts: &'a ParseOptions,
        macros: &'a mut Macros,
        sources: &'a mut SourceMap,
        file: u32,
    ) -> Self {
        Preprocessor {
            opts,
            macros,
            sources,
            file,
            bodies: HashMap::new(),
            active: Vec::new(),
            stack: None,
            stack_exceeded: false,
            defined_here: Vec::new(),
        }
    }

    /// Undoes the file's own `@define`s (for a `.stp` file: SystemTap's
    /// macros are local to the file that defines them unless it is a
    /// `.stpm` library file).
    pub fn forget_local_macros(&mut self) {
        while let Some((name, old)) = self.defined_here.pop() {
            match old {
                Some(def) => {
                    self.macros.defs.insert(name, def);
                }
                None => {
                    self.macros.defs.remove(&name);
                }
            }
        }
    }

    /// Stop (with an error) when the stack use passes the probe's budget.
    pub(crate) fn set_stack_probe(&mut self, probe: super::StackProbe) {
        self.stack = Some(probe);
    }

    /// Whether expansion stopped because the stack budget ran out.
    pub fn stack_exceeded(&self) -> bool {
        self.stack_exceeded
    }

    /// Whether `toks` holds anything for the preprocessor to do; if not,
    /// the caller can use them as they are.
    pub fn needed(toks: &[Token]) -> bool {
        toks.iter().any(|t| match &t.tok {
            Tok::Punct(p) => p.len() == 2 && p.starts_with('%') && *p != "%=",
            Tok::Ident(n) => match n.as_bytes() {
                [b'@', ..] => &n[1..] == "define" || !BUILTIN_OPERATORS.contains(&&n[1..]),
                [b'$', b'#', ..] => true,
                [b'$', d, ..] => d.is_ascii_digit(),
                _ => false,
            },
            _ => false,
        })
    }

    /// Expands a whole file's tokens.
    pub fn run(&mut self, toks: &[Token]) -> PpResult<Vec<Token>> {
        let mut out = super::lexer::take_buffer(toks.len() + 1);
        self.expand(toks, None, &mut out, 0)?;
        Ok(out)
    }

    fn expand(
        &mut self,
        toks: &[Token],
        params: Option<&Params>,
        out: &mut Vec<Token>,
        depth: usize,
    ) -> PpResult<()> {
        if self.stack.is_some_and(|s| s.exceeded()) {
            self.stack_exceeded = true;
            return Err(Diagnostic::error("stack budget exceeded", None));
        }
        let mut i = 0;
        while i < toks.len() {
            let t = &toks[i];
            match &t.tok {
                Tok::Punct("%(") => {
                    if depth >= MAX_EXPANSION_DEPTH {
                        return Err(err("preprocessor conditionals nested too deeply", t.span));
                    }
                    i = self.conditional(toks, i, params, out, depth)?;
                }
                Tok::Punct(p @ ("%?" | "%:" | "%)")) => {
                    return Err(err(
                        format!("`{}` outside a preprocessor conditional `%( ... %)`", p),
                        t.span,
                    ));
                }
                Tok::Ident(name) if &**name == "@define" => {
                    // SystemTap's macro pass reads `@define` anywhere in the
                    // token stream (probe and function bodies too), except
                    // in the body of a macro being expanded.
                    if !self.active.is_empty() {
                        return Err(err("`@define` is forbidden inside a macro body", t.span));
                    }
                    i = self.define(toks, i)?;
                }
                Tok::Ident(name) if name.len() > 1 && (name.starts_with('@') || name.starts_with('$')) => {
                    let name = name.clone();
                    i = self.at_or_dollar(toks, i, &name, params, out, depth)?;
                }
                _ => {
                    out.push(t.clone());
                    i += 1;
                }
            }
        }
        Ok(())
    }

    /// `$1`, `@1`, `$#`, `@#`, `@param`, `@macro(args)`; other `$`/`@`
    /// names pass through. Returns the index after what was consumed.
    fn at_or_dollar(
        &mut self,
        toks: &[Token],
        i: usize,
        name: &std::rc::Rc<str>,
        params: Option<&Params>,
        out: &mut Vec<Token>,
        depth: usize,
    ) -> PpResult<usize> {
        let t = &toks[i];
        let sigil = &name[..1];
        let rest = &name[1..];
        if rest == "#" {
            let n = self.opts.args.len();
            let tok = if sigil == "$" {
                Tok::Number(n as u64)
            } else {
                Tok::Str(n.to_string().into())
            };
            out.push(Token {
                tok,
                span: t.span,
                joined: t.joined,
                line_start: t.line_start,
            });
            return Ok(i + 1);
        }
        if rest.bytes().all(|b| b.is_ascii_digit()) {
            self.positional(sigil == "@", rest, t.span, out)?;
            return Ok(i + 1);
        }
        if sigil == "$" {
            out.push(t.clone());
            return Ok(i + 1);
        }
        if let Some((_, value)) = params.and_then(|p| p.iter().find(|(n, _)| n == rest)) {
            out.extend(value.iter().cloned());
            return Ok(i + 1);
        }
        if BUILTIN_OPERATORS.contains(&rest) {
            out.push(t.clone());
            return Ok(i + 1);
        }
        let Some(def) = self.macros.defs.get(rest) else {
            return Err(err(format!("unknown macro or operator `@{}`", rest), t.span));
        };
        let body_span = def.body;
        let param_names = if def.params.is_empty() { Vec::new() } else { def.params.clone() };
        if self.active.iter().any(|a| a == name) {
            return Err(err(format!("macro `@{}` invokes itself", rest), t.span));
        }
        if depth >= MAX_EXPANSION_DEPTH {
            return Err(err(format!("macro `@{}` expands too deeply", rest), t.span));
        }
        let mut next = i + 1;
        let mut site = t.span;
        let mut bound = Params::with_capacity(param_names.len());
        if !param_names.is_empty() {
            let Some(open) = toks.get(next).filter(|o| o.is_punct("(")) else {
                return Err(err(
                    format!(
                        "macro `@{}` takes {} argument{}: expected `(` after its name",
                        rest,
                        param_names.len(),
                        if param_names.len() == 1 { "" } else { "s" }
                    ),
                    t.span,
                ));
            };
            let (args, close) = split_args(toks, next + 1).ok_or_else(|| {
                err(format!("unclosed `(` in invocation of macro `@{}`", rest), open.span)
            })?;
            next = close + 1;
            site = t.span.join(toks[close].span);
            if args.len() != param_names.len() {
                return Err(err(
                    format!(
                        "macro `@{}` takes {} argument{}, but {} {} given",
                        rest,
                        param_names.len(),
                        if param_names.len() == 1 { "" } else { "s" },
                        args.len(),
                        if args.len() == 1 { "was" } else { "were" }
                    ),
                    site,
                ));
            }
            for (p, (lo, hi)) in param_names.into_iter().zip(args) {
                let mut value = Vec::with_capacity(hi - lo);
                self.expand(&toks[lo..hi], params, &mut value, depth + 1)?;
                bound.push((p, value));
            }
        }
        let ctx = self.sources.add_expansion(format!("macro `@{}`", rest), site);
        let mut body = self.body_tokens(body_span)?;
        for b in &mut body {
            b.span.ctx = ctx;
        }
        self.active.push(name.clone());
        let result = self.expand(&body, Some(&bound), out, depth + 1);
        self.active.pop();
        result?;
        Ok(next)
    }

    /// The tokens of a macro body, lexed once per parse.
    fn body_tokens(&mut self, body: Span) -> PpResult<Vec<Token>> {
        let key = (body.file, body.lo, body.hi);
        if let Some(t) = self.bodies.get(&key) {
            return Ok(t.clone());
        }
        let text = match self.sources.files.get(body.file as usize) {
            Some(f) => f.text.get(body.lo as usize..body.hi as usize).unwrap_or(""),
            None => "",
        };
        let toks = lex(body.file, text, body.lo as usize, 0)?;
        self.bodies.insert(key, toks.clone());
        Ok(toks)
    }

    /// `$N` (the argument as tokens, a number when it reads as one) or `@N`
    /// (the argument as a string).
    fn positional(&mut self, as_string: bool, digits: &str, span: Span, out: &mut Vec<Token>) -> PpResult<()> {
        let n: usize = digits.parse().unwrap_or(0);
        let count = self.opts.args.len();
        let sigil = if as_string { '@' } else { '$' };
        let Some(arg) = n.checked_sub(1).and_then(|k| self.opts.args.get(k)) else {
            let range = if count == 0 {
                "no arguments were given".to_string()
            } else {
                format!("the script was given {} argument{}", count, if count == 1 { "" } else { "s" })
            };
            return Err(err(
                format!("script argument `{}{}` is out of range: {}", sigil, digits, range),
                span,
            ));
        };
        if as_string {
            out.push(Token {
                tok: Tok::Str(arg.as_str().into()),
                span,
                joined: false,
                line_start: false,
            });
            return Ok(());
        }
        let trimmed = arg.trim();
        let (neg, digits) = match trimmed.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, trimmed),
        };
        if let Some(v) = number_value(digits) {
            if neg {
                out.push(Token {
                    tok: Tok::Punct("-"),
                    span,
                    joined: false,
                    line_start: false,
                });
            }
            out.push(Token {
                tok: Tok::Number(v),
                span,
                joined: neg,
                line_start: false,
            });
            return Ok(());
        }
        // Not a number: the argument is inserted as source tokens.
        let toks = lex(span.file, arg, 0, 0).map_err(|d| {
            err(format!("cannot read script argument `${}` as tokens: {}", digits, d.message), span)
        })?;
        out.extend(toks.into_iter().map(|t| Token {
            tok: t.tok,
            span,
            joined: t.joined,
            line_start: false,
        }));
        Ok(())
    }

    /// `@define name(a, b) %( body %)` at `toks[i]`.
    fn define(&mut self, toks: &[Token], i: usize) -> PpResult<usize> {
        let at = toks[i].span;
        let Some(name_tok) = toks.get(i + 1) else {
            return Err(err("expected a macro name after `@define`", at));
        };
        let name = match name_tok.ident() {
            Some(n) if !n.starts_with('$') && !n.starts_with('@') => n.to_string(),
            _ => {
                return Err(err(
                    format!("expected a macro name after `@define`, found {}", name_tok.describe()),
                    name_tok.span,
                ))
            }
        };
        if BUILTIN_OPERATORS.contains(&name.as_str()) {
            return Err(err(
                format!("cannot define a macro named `@{}`: it is a built-in operator", name),
                name_tok.span,
            ));
        }
        let mut j = i + 2;
        let mut params = Vec::new();
        if toks.get(j).is_some_and(|t| t.is_punct("(")) {
            j += 1;
            loop {
                let t = toks.get(j).ok_or_else(|| err("unexpected end of file in macro parameters", at))?;
                if t.is_punct(")") && params.is_empty() {
                    j += 1;
                    break;
                }
                match t.ident() {
                    Some(p) if !p.starts_with('$') && !p.starts_with('@') => {
                        if params.iter().any(|q| q == p) {
                            return Err(err(format!("duplicate macro parameter `{}`", p), t.span));
                        }
                        params.push(p.to_string());
                    }
                    _ => {
                        return Err(err(
                            format!("expected a macro parameter name, found {}", t.describe()),
                            t.span,
                        ))
                    }
                }
                j += 1;
                match toks.get(j) {
                    Some(t) if t.is_punct(",") => j += 1,
                    Some(t) if t.is_punct(")") => {
                        j += 1;
                        break;
                    }
                    Some(t) => {
                        return Err(err(
                            format!("expected `,` or `)` in macro parameters, found {}", t.describe()),
                            t.span,
                        ))
                    }
                    None => return Err(err("unexpected end of file in macro parameters", at)),
                }
            }
        }
        let open = match toks.get(j) {
            Some(t) if t.is_punct("%(") => t,
            Some(t) => {
                return Err(err(
                    format!("expected `%(` to start the body of macro `@{}`, found {}", name, t.describe()),
                    t.span,
                ))
            }
            None => {
                return Err(err(
                    format!("unexpected end of file: expected `%(` to start the body of macro `@{}`", name),
                    name_tok.span,
                ))
            }
        };
        let close = match_close(toks, j + 1).ok_or_else(|| {
            err(format!("unterminated body of macro `@{}`: no matching `%)` for this `%(`", name), open.span)
        })?;
        let body_toks = &toks[j + 1..close.0];
        let body = match (body_toks.first(), body_toks.last()) {
            (Some(f), Some(l)) => Span::new(f.span.file, f.span.lo as usize, l.span.hi as usize),
            _ => Span::new(open.span.file, open.span.hi as usize, open.span.hi as usize),
        };
        if let Some(old) = self.macros.defs.get(&name) {
            if old.body.file == self.file && body.file == self.file && old.body != body {
                return Err(err(format!("macro `@{}` is defined twice in this file", name), name_tok.span)
                    .with_label(old.body, "first defined here"));
            }
        }
        // Cache the tokens as lexed here, so bodies inside macros work too.
        if body_toks.iter().all(|t| t.span.ctx == 0 && t.span.file == body.file) {
            let plain: Vec<Token> = body_toks.to_vec();
            self.bodies.insert((body.file, body.lo, body.hi), plain);
        }
        let old = self.macros.defs.insert(name.clone(), MacroDef { params, body });
        self.defined_here.push((name, old));
        Ok(close.0 + 1)
    }

    /// `%( cond %? then %: else %)` starting at `toks[i]`.
    fn conditional(
        &mut self,
        toks: &[Token],
        i: usize,
        params: Option<&Params>,
        out: &mut Vec<Token>,
        depth: usize,
    ) -> PpResult<usize> {
        let open = toks[i].span;
        let mut j = i + 1;
        while j < toks.len() && !toks[j].is_punct("%?") {
            if toks[j].is_punct("%(") || toks[j].is_punct("%)") || toks[j].is_punct("%:") {
                return Err(err(
                    format!("expected `%?` after the preprocessor condition, found {}", toks[j].describe()),
                    toks[j].span,
                )
                .with_label(open, "conditional started here"));
            }
            j += 1;
        }
        if j >= toks.len() {
            return Err(err(
                "unexpected end of file: expected `%?` after the condition of this `%(`",
                open,
            ));
        }
        let mut cond = Vec::new();
        self.expand(&toks[i + 1..j], params, &mut cond, depth + 1)?;
        let then_lo = j + 1;
        let (then_hi, kind) = match_close(toks, then_lo).ok_or_else(|| {
            err("unterminated preprocessor conditional: no matching `%)` for this `%(`", open)
        })?;
        let (else_range, end) = if kind == "%:" {
            let (else_hi, kind2) = match_close(toks, then_hi + 1).ok_or_else(|| {
                err("unterminated preprocessor conditional: no matching `%)` for this `%(`", open)
            })?;
            if kind2 == "%:" {
                return Err(err("a second `%:` in one preprocessor conditional", toks[else_hi].span)
                    .with_label(open, "conditional started here"));
            }
            (Some((then_hi + 1, else_hi)), else_hi)
        } else {
            (None, then_hi)
        };
        let branches = [(then_lo, then_hi), else_range.unwrap_or((then_hi, then_hi))];
        if let Some(k) = branches.iter().find_map(|&(lo, hi)| top_level_query(toks, lo, hi)) {
            return Err(err("a second `%?` in one preprocessor conditional", toks[k].span)
                .with_label(toks[j].span, "the condition ends here")
                .with_label(open, "conditional started here"));
        }
        let cond_span = open.join(toks[j].span);
        let value = self.eval_condition(&cond, cond_span)?;
        if value {
            self.expand(&toks[then_lo..then_hi], params, out, depth + 1)?;
        } else if let Some((lo, hi)) = else_range {
            self.expand(&toks[lo..hi], params, out, depth + 1)?;
        }
        Ok(end + 1)
    }

    /// `a op b && c op d || ...` (no parentheses, `&&` binds tighter).
    fn eval_condition(&self, cond: &[Token], whole: Span) -> PpResult<bool> {
        if cond.is_empty() {
            return Err(err("empty preprocessor condition", whole));
        }
        let mut any = false;
        for alternative in cond.split(|t| t.is_punct("||")) {
            let mut all = true;
            for conj in alternative.split(|t| t.is_punct("&&")) {
                if !self.eval_comparison(conj, whole)? {
                    all = false;
                }
            }
            any |= all;
        }
        Ok(any)
    }

    fn eval_comparison(&self, toks: &[Token], whole: Span) -> PpResult<bool> {
        let Some(first) = toks.first() else {
            return Err(err("missing comparison in preprocessor condition", whole));
        };
        let op_tok = toks.get(1).ok_or_else(|| {
            err(
                "expected a comparison operator (`==`, `!=`, `<`, `<=`, `>`, `>=`) in preprocessor condition",
                first.span,
            )
        })?;
        let op = match &op_tok.tok {
            Tok::Punct(p @ ("==" | "!=" | "<" | "<=" | ">" | ">=")) => *p,
            _ => {
                return Err(err(
                    format!(
                        "expected a comparison operator (`==`, `!=`, `<`, `<=`, `>`, `>=`), found {}",
                        op_tok.describe()
                    ),
                    op_tok.span,
                ))
            }
        };
        let rhs_toks = &toks[2..];
        // `CONFIG_A >= CONFIG_B`: both sides read from the kernel config,
        // compared as numbers when both are numbers.
        if let (Some(l), Some(r)) = (first.ident(), rhs_toks.first().and_then(|t| t.ident())) {
            if l.starts_with("CONFIG_") && r.starts_with("CONFIG_") && rhs_toks.len() == 1 {
                let get = |n: &str| self.opts.kconfig.get(n).cloned().unwrap_or_default();
                let (a, b) = (get(l), get(r));
                return Ok(match (parse_signed(&a), parse_signed(&b)) {
                    (Some(x), Some(y)) => holds(op, x.cmp(&y)),
                    _ => holds(op, a.cmp(&b)),
                });
            }
        }
        let rhs = operand(rhs_toks).ok_or_else(|| {
            let span = rhs_toks.first().map(|t| t.span).unwrap_or(op_tok.span);
            err("expected a string or number after the comparison operator", span)
        })?;
        if rhs_toks.len() > rhs.1 {
            let t = &rhs_toks[rhs.1];
            return Err(err(
                format!("expected `%?`, `&&` or `||` after the comparison, found {}", t.describe()),
                t.span,
            ));
        }
        let rhs = rhs.0;
        let lhs_span = first.span;
        let want_string = |what: &str| -> PpResult<&str> {
            match &rhs {
                Operand::Str(s) => Ok(s.as_str()),
                Operand::Num(_) => Err(err(format!("`{}` must be compared with a string", what), rhs_toks[0].span)),
            }
        };
        let name = first.ident().unwrap_or("");
        match name {
            "kernel_v" | "kernel_vr" | "systemtap_v" => {
                let have = match name {
                    "kernel_v" => self.opts.kernel_version.as_str(),
                    "kernel_vr" => self.opts.kernel_release.as_str(),
                    _ => or_default(&self.opts.systemtap_version, DEFAULT_SYSTEMTAP_VERSION),
                };
                let want = want_string(name)?;
                if (op == "==" || op == "!=") && want.contains(['*', '?', '[']) {
                    Ok(glob_match(want, have) == (op == "=="))
                } else {
                    Ok(holds(op, version_cmp(have, want)))
                }
            }
            "arch" | "runtime" | "systemtap_privilege" => {
                let have = match name {
                    "arch" => self.opts.arch.as_str(),
                    "runtime" => or_default(&self.opts.runtime, DEFAULT_RUNTIME),
                    _ => self.opts.privilege.as_str(),
                };
                let want = want_string(name)?;
                match op {
                    "==" => Ok(glob_match(want, have)),
                    "!=" => Ok(!glob_match(want, have)),
                    _ => Err(err(format!("`{}` can only be compared with `==` or `!=`", name), op_tok.span)),
                }
            }
            "guru_mode" => match rhs {
                _ if op != "==" && op != "!=" => {
                    Err(err("`guru_mode` can only be compared with `==` or `!=`", op_tok.span))
                }
                Operand::Num(n @ (0 | 1)) => Ok(holds(op, i64::from(self.opts.guru).cmp(&n))),
                Operand::Num(n) => Err(err(
                    format!("`guru_mode` is 0 or 1, never {n}"),
                    rhs_toks[0].span,
                )),
                Operand::Str(_) => Err(err("`guru_mode` must be compared with a number", rhs_toks[0].span)),
            },
            _ if name.starts_with("CONFIG_") => {
                let have = self.opts.kconfig.get(name).map(String::as_str).unwrap_or("");
                match rhs {
                    Operand::Str(want) => match op {
                        "==" => Ok(glob_match(&want, have)),
                        "!=" => Ok(!glob_match(&want, have)),
                        _ => Ok(holds(op, have.cmp(want.as_str()))),
                    },
                    Operand::Num(n) => {
                        let v = parse_signed(have);
                        Ok(v.is_some_and(|v| holds(op, v.cmp(&n))))
                    }
                }
            }
            _ => {
                let (lhs, _) = operand(toks).ok_or_else(|| {
                    err(
                        format!(
                            "unknown preprocessor condition {}: expected kernel_v, kernel_vr, arch, runtime, \
                             systemtap_v, systemtap_privilege, guru_mode, CONFIG_..., $#, a string or a number",
                            first.describe()
                        ),
                        lhs_span,
                    )
                })?;
                match (lhs, rhs) {
                    (Operand::Num(a), Operand::Num(b)) => Ok(holds(op, a.cmp(&b))),
                    (Operand::Str(a), Operand::Str(b)) => Ok(holds(op, a.cmp(&b))),
                    _ => Err(err("cannot compare a string with a number", op_tok.span)),
                }
            }
        }
    }
}

/// `systemtap_v` when `ParseOptions::systemtap_version` is empty: the
/// SystemTap release whose language and tapsets rstap follows.
pub const DEFAULT_SYSTEMTAP_VERSION: &str = "5.0";

/// `runtime` when `ParseOptions::runtime` is empty.
pub const DEFAULT_RUNTIME: &str = "kernel";

fn or_default<'a>(value: &'a str, default: &'a str) -> &'a str {
    if value.is_empty() {
        default
    } else {
        value
    }
}

enum Operand {
    Str(String),
    Num(i64),
}

/// A literal operand at the start of `toks`, and how many tokens it took.
fn operand(toks: &[Token]) -> Option<(Operand, usize)> {
    match toks.first().map(|t| &t.tok) {
        Some(Tok::Str(s)) => Some((Operand::Str(s.to_string()), 1)),
        Some(Tok::Number(n)) => Some((Operand::Num(*n as i64), 1)),
        Some(Tok::Punct("-")) => match toks.get(1).map(|t| &t.tok) {
            Some(Tok::Number(n)) => Some((Operand::Num((*n as i64).wrapping_neg()), 2)),
            _ => None,
        },
        _ => None,
    }
}

fn parse_signed(s: &str) -> Option<i64> {
    let s = s.trim();
    match s.strip_prefix('-') {
        Some(d) => number_value(d).map(|v| (v as i64).wrapping_neg()),
        None => number_value(s).map(|v| v as i64),
    }
}

fn holds(op: &str, ord: Ordering) -> bool {
    match op {
        "==" => ord == Ordering::Equal,
        "!=" => ord != Ordering::Equal,
        "<" => ord == Ordering::Less,
        "<=" => ord != Ordering::Greater,
        ">" => ord == Ordering::Greater,
        _ => ord != Ordering::Less,
    }
}

/// From `toks[from]`, the index of the `%:` or `%)` that ends the current
/// conditional level, and which one it is. Nested `%( ... %)` are skipped.
fn match_close(toks: &[Token], from: usize) -> Option<(usize, &'static str)> {
    let mut depth = 0usize;
    for (k, t) in toks.iter().enumerate().skip(from) {
        match &t.tok {
            Tok::Punct("%(") => depth += 1,
            Tok::Punct("%)") => {
                if depth == 0 {
                    return Some((k, "%)"));
                }
                depth -= 1;
            }
            Tok::Punct("%:") if depth == 0 => return Some((k, "%:")),
            _ => {}
        }
    }
    None
}

/// The first `%?` of `toks[lo..hi]` outside nested conditionals.
fn top_level_query(toks: &[Token], lo: usize, hi: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (k, t) in toks.iter().enumerate().take(hi).skip(lo) {
        match &t.tok {
            Tok::Punct("%(") => depth += 1,
            Tok::Punct("%)") => depth = depth.saturating_sub(1),
            Tok::Punct("%?") if depth == 0 => return Some(k),
            _ => {}
        }
    }
    None
}

/// Macro arguments from `toks[from]` (just after the `(`): the token ranges
/// split at top-level commas, and the index of the closing `)`.
fn split_args(toks: &[Token], from: usize) -> Option<(Vec<(usize, usize)>, usize)> {
    let mut depth = 0usize;
    let mut args = Vec::new();
    let mut start = from;
    for (k, t) in toks.iter().enumerate().skip(from) {
        match &t.tok {
            Tok::Punct("(" | "[" | "{" | "%(") => depth += 1,
            Tok::Punct(")") if depth == 0 => {
                if k > start || !args.is_empty() {
                    args.push((start, k));
                }
                return Some((args, k));
            }
            Tok::Punct(")" | "]" | "}" | "%)") => depth = depth.saturating_sub(1),
            Tok::Punct(",") if depth == 0 => {
                args.push((start, k));
                start = k + 1;
            }
            _ => {}
        }
    }
    None
}

/// Compares versions like glibc's strverscmp: runs of digits numerically,
/// everything else bytewise ("2.6.32" < "6.1", "6.1" < "6.1.0").
pub fn version_cmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].is_ascii_digit() && b[j].is_ascii_digit() {
            let si = i;
            while i < a.len() && a[i].is_ascii_digit() {
                i += 1;
            }
            let sj = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let na = trim_zeros(&a[si..i]);
            let nb = trim_zeros(&b[sj..j]);
            let ord = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
            if ord != Ordering::Equal {
                return ord;
            }
        } else {
            if a[i] != b[j] {
                return a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
    }
    (a.len() - i).cmp(&(b.len() - j))
}

fn trim_zeros(d: &[u8]) -> &[u8] {
    let k = d.iter().position(|&c| c != b'0').unwrap_or(d.len());
    &d[k..]
}

