//! Pass 1: text to `ast::File`.
//!
//! Input: a file registered in the `SourceMap`, `ParseOptions` (script
//! arguments and the facts `%( %)` conditionals test) and the `@define`
//! macros visible to it. Output: an `ast::File` with spans, or `None` with
//! errors pushed to `Diagnostics`. Invariants: reads no files itself; never
//! panics on any input; recursion is bounded by depth caps, not by the
//! caller's stack (see `parse_file`).
//!
//! The stages, one module each:
//! - `lexer`: text to tokens (nom over `&str`), comments dropped, strings
//!   decoded;
//! - `preprocess`: `%( %? %: %)` conditionals, `@define` macros, `$1`/`@1`;
//! - `parser` (items, probe points), `stmt`, `expr`: tokens to the tree
//!   (nom over `&[Token]`);
//! - `checks`: the rules beyond the grammar (duplicate parameters and
//!   globals, literal regex / format / delimiter, `return` outside a
//!   function, embedded C without `-g` outside the library, an empty
//!   script);
//! - `print`: the tree back to source (`-p1`), round-trip exact;
//!
//! Errors: lexer and preprocessor errors stop the file at the first one;
//! syntax errors resume at the next line-starting `probe`, `global`,
//! `function` or `private`, up to `parser::MAX_ERRORS` per file.
//!
//! Not produced by this pass (the preprocessor substitutes them):
//! `ExprKind::Positional` and `ExprKind::ArgCount`; a `$N` beyond the
//! given arguments is an error, as in SystemTap.

pub mod ast;
mod checks;
mod expr;
pub mod lexer;
mod parser;
pub mod preprocess;
pub mod print;
mod stmt;

pub use print::{print_expr, print_file, print_probe_point};

use crate::diag::{Diagnostic, Diagnostics, SourceMap, Span};
use std::collections::HashMap;

/// Joining two spans into one that covers both, when that makes sense.
pub(crate) trait SpanJoin {
    /// `self.to(other)` if both lie in the same file and expansion;
    /// otherwise `self` (a node built from a macro body and the macro's
    /// arguments points at where it starts, not at a range spanning two
    /// places).
    fn join(self, other: Span) -> Span;
}

impl SpanJoin for Span {
    fn join(self, other: Span) -> Span {
        if self.file == other.file && self.ctx == other.ctx {
            self.to(other)
        } else {
            self
        }
    }
}

/// What the preprocessor's `%( cond %? a %: b %)` conditions can test.
#[derive(Debug, Clone, Default)]
pub struct ParseOptions {
    /// Script arguments: `$1`, `@1`, `$#`.
    pub args: Vec<String>,
    /// `kernel_vr`: the full release, e.g. "6.1.0-56-cloud-amd64".
    pub kernel_release: String,
    /// `kernel_v`: the version without the local suffix, e.g. "6.1.0".
    pub kernel_version: String,
    /// `arch`: "x86_64".
    pub arch: String,
    /// `runtime`: "kernel" (also when left empty).
    pub runtime: String,
    /// `systemtap_v`: the SystemTap version rstap claims to be compatible
    /// with; empty means `preprocess::DEFAULT_SYSTEMTAP_VERSION` ("5.0").
    pub systemtap_version: String,
    /// `systemtap_privilege`: "stapdev" (guru or root), "stapusr", ...
    pub privilege: String,
    /// `guru_mode`: -g given.
    pub guru: bool,
    /// `CONFIG_*` values from the kernel's .config ("y", "m", or a value).
    pub kconfig: HashMap<String, String>,
}

/// `@define` macros visible to a file: those of the tapset `.stpm` files plus
/// the file's own.
#[derive(Debug, Clone, Default)]
pub struct Macros {
    pub defs: HashMap<String, MacroDef>,
}

#[derive(Debug, Clone)]
pub struct MacroDef {
    pub params: Vec<String>,
    /// The body's source location (file and byte range in the SourceMap).
    pub body: crate::diag::Span,
}

/// The stack a deeply nested file is parsed on: deep enough for
/// `parser::MAX_DEPTH` nesting levels and `preprocess::MAX_EXPANSION_DEPTH`
/// macro expansions even in a debug build (only the pages touched are ever
/// allocated).
const PARSER_STACK: usize = 64 << 20;

/// How much of the caller's stack a parse may use before it is restarted on
/// a `PARSER_STACK` thread. Every Rust thread has at least 2 MiB.
const INLINE_STACK_BUDGET: usize = 256 << 10;

/// Where the parse stands on the stack: `exceeded()` once it has used more
/// than its budget (never, on the big-stack thread).
#[derive(Debug, Clone, Copy)]
pub(crate) struct StackProbe {
    base: usize,
    budget: Option<usize>,
}

impl StackProbe {
    fn here() -> usize {
        let marker = 0u8;
        std::hint::black_box(&marker) as *const u8 as usize
    }

    fn new(budget: Option<usize>) -> StackProbe {
        StackProbe {
            base: StackProbe::here(),
            budget,
        }
    }

    pub(crate) fn exceeded(&self) -> bool {
        match self.budget {
            Some(b) => self.base.abs_diff(StackProbe::here()) > b,
            None => false,
        }
    }
}

/// How one attempt at parsing a file ended.
enum Attempt {
    Done(Result<ast::File, Vec<Diagnostic>>),
    /// The inline attempt ran out of its stack budget.
    NeedsBigStack,
}

/// Parses one file. The macros a `.stpm` file defines are added to
/// `macros` for the files parsed after it; a `.stp` file's own macros are
/// local to it, as in SystemTap.
///
/// The parse runs on the caller's stack within `INLINE_STACK_BUDGET`; a
/// file nested deeper than that is parsed again on a scoped thread with a
/// `PARSER_STACK` stack, so the depth caps, not the caller's stack size,
/// bound the recursion. (Redoing it is harmless: redefining a macro with
/// the same body is allowed, extra expansion records are never shown.)
pub fn parse_file(
    opts: &ParseOptions,
    macros: &mut Macros,
    sources: &mut SourceMap,
    file: u32,
    diags: &mut Diagnostics,
) -> Option<ast::File> {
    let probe = StackProbe::new(Some(INLINE_STACK_BUDGET));
    let result = match parse_file_here(opts, macros, sources, file, probe) {
        Attempt::Done(r) => Ok(r),
        Attempt::NeedsBigStack => std::thread::scope(|scope| {
            let worker = std::thread::Builder::new()
                .name("rstap-parse".into())
                .stack_size(PARSER_STACK)
                .spawn_scoped(scope, || {
                    match parse_file_here(opts, macros, sources, file, StackProbe::new(None)) {
                        Attempt::Done(r) => r,
                        Attempt::NeedsBigStack => {
                            Err(vec![Diagnostic::error("internal error: parser stack", None)])
                        }
                    }
                });
            match worker {
                Ok(handle) => handle.join().map_err(|_| "the parser panicked (a bug in rstap)"),
                Err(_) => Err("could not start the parser thread"),
            }
        }),
    };
    match result {
        Ok(Ok(f)) => Some(f),
        Ok(Err(list)) => {
            for d in list {
                diags.push(d);
            }
            None
        }
        Err(why) => {
            diags.push(Diagnostic::error(format!("internal error: {}", why), None));
            None
        }
    }
}

fn parse_file_here(
    opts: &ParseOptions,
    macros: &mut Macros,
    sources: &mut SourceMap,
    file: u32,
    probe: StackProbe,
) -> Attempt {
    let Some(source) = sources.files.get(file as usize) else {
        return Attempt::Done(Err(vec![Diagnostic::error(
            format!("internal error: no source file {}", file),
            None,
        )]));
    };
    let text_len = source.text.len();
    let raw = match lexer::lex(file, &source.text, 0, 0) {
        Ok(t) => t,
        Err(d) => return Attempt::Done(Err(vec![d])),
    };
    let mut toks = if preprocess::Preprocessor::needed(&raw) {
        let library = sources.name(file).ends_with(".stpm");
        let mut pre = preprocess::Preprocessor::new(opts, macros, sources, file);
        pre.set_stack_probe(probe);
        let expanded = pre.run(&raw);
        if !library {
            pre.forget_local_macros();
        }
        lexer::give_buffer(raw);
        if pre.stack_exceeded() {
            return Attempt::NeedsBigStack;
        }
        match expanded {
            Ok(t) => t,
            Err(d) => return Attempt::Done(Err(vec![d])),
        }
    } else {
        raw
    };
    let eof = lexer::Token {
        tok: lexer::Tok::Eof,
        span: Span::new(file, text_len, text_len),
        joined: false,
        line_start: true,
    };
    toks.push(eof.clone());
    let parser = parser::Parser::new(eof, probe);
    let parsed = parser.parse_items(&toks);
    lexer::give_buffer(toks);
    if parser.stack_exceeded() {
        return Attempt::NeedsBigStack;
    }
    let (items, mut errors) = parsed;
    if errors.is_empty() {
        let source = &sources.files[file as usize];
        let macro_file = source.name.ends_with(".stpm");
        errors = checks::check(&items, opts, source.library || macro_file, file);
        if macro_file {
            if let Some(first) = items.first() {
                errors.push(parser::PError {
                    msg: "a macro file (.stpm) may only contain `@define`s".into(),
                    span: checks::item_span(first),
                    labels: Vec::new(),
                });
            }
        }
    }
    if errors.is_empty() {
        return Attempt::Done(Ok(ast::File { items }));
    }
    let diagnostics = errors
        .into_iter()
        .map(|e| {
            let mut d = Diagnostic::error(e.msg, Some(e.span));
            for (span, text) in e.labels {
                d = d.with_label(span, text);
            }
            d
        })
        .collect();
    Attempt::Done(Err(diagnostics))
}

/// Parses `text` as a file named `name` (registering it in `sources`):
/// a convenience for `-e` scripts and tests.
pub fn parse_text(
    opts: &ParseOptions,
    macros: &mut Macros,
    sources: &mut SourceMap,
    name: &str,
    text: &str,
    diags: &mut Diagnostics,
) -> Option<ast::File> {
    let file = sources.add(name, text);
    parse_file(opts, macros, sources, file, diags)
}
