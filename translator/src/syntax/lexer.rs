//! The lexer: source text to tokens.
//!
//! Input: the text of one file (or a piece of it, e.g. a macro body), the
//! file id and the byte offset the piece starts at. Output: a `Vec<Token>`
//! whose spans are byte ranges in that file, or one `Diagnostic` for the
//! first bad character, unterminated comment, string or `%{ %}` block.
//! Invariants: comments and whitespace produce no tokens; the vector never
//! holds `Tok::Eof` (the parser appends it); string literals are decoded (C
//! escapes applied, adjacent literals are NOT glued here, the parser does);
//! identifiers keep their `$`/`@` sigils (`$var$`, `$$parms`, `@1`, `$#`).
//! The recognisers are nom combinators over `&str`.

use crate::diag::{Diagnostic, Span};
use nom::branch::alt;
use nom::bytes::complete::{tag, take_until, take_while, take_while1};
use nom::character::complete::{char as ch, satisfy};
use nom::combinator::recognize;
use nom::sequence::pair;
use nom::IResult;
use std::rc::Rc;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// An identifier or keyword, with its sigils: `foo`, `$var`, `$$parms`,
    /// `$var$`, `@cast`, `@1`, `$#`, `@#`.
    Ident(Rc<str>),
    /// A number literal; values above i64::MAX wrap (the parser checks).
    Number(u64),
    /// A string literal, escapes decoded.
    Str(Rc<str>),
    /// An operator or punctuation, including `%(`, `%?`, `%:`, `%)`.
    Punct(&'static str),
    /// `%{ ... %}`: the text between the markers, verbatim.
    Embedded(Rc<str>),
    /// End of input (appended by the parser, never produced here).
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub span: Span,
    /// No whitespace or comment between this token and the previous one
    /// in the text it was lexed from (`open*` in a probe point name).
    pub joined: bool,
    /// The first token on its line (where error recovery may resume).
    pub line_start: bool,
}

impl Token {
    pub fn is_punct(&self, p: &str) -> bool {
        // Compare lengths and first bytes before the bytes: this runs for
        // almost every token, and most comparisons fail at once.
        match &self.tok {
            Tok::Punct(q) => q.len() == p.len() && q.as_bytes().first() == p.as_bytes().first() && *q == p,
            _ => false,
        }
    }

    pub fn is_ident(&self, name: &str) -> bool {
        matches!(&self.tok, Tok::Ident(n) if &**n == name)
    }

    pub fn ident(&self) -> Option<&str> {
        match &self.tok {
            Tok::Ident(n) => Some(n),
            _ => None,
        }
    }

    /// How the token reads in an error message: "`foo`", "end of file".
    pub fn describe(&self) -> String {
        match &self.tok {
            Tok::Ident(n) => format!("`{}`", n),
            Tok::Number(n) => format!("number `{}`", n),
            Tok::Str(s) => format!("string {}", quote(s)),
            Tok::Punct(p) => format!("`{}`", p),
            Tok::Embedded(_) => "embedded C `%{ ... %}`".to_string(),
            Tok::Eof => "end of file".to_string(),
        }
    }
}

/// Why lexing stopped.
enum LexError {
    /// A message and the byte range (relative to the piece) it is about.
    At(String, usize, usize),
}

type LResult<'a, T> = IResult<&'a str, T, ()>;

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$'
}

/// Whitespace and the three comment forms. Fails (with the offset) on an
/// unterminated `/*`.
fn skip_trivia(mut s: &str) -> Result<&str, usize> {
    loop {
        // Fast path: most tokens follow a space or nothing.
        match s.as_bytes().first() {
            Some(b' ' | b'\t' | b'\n' | b'\r' | b'#' | b'/') => {}
            Some(b) if *b >= 0x80 || b.is_ascii_whitespace() => {}
            _ => return Ok(s),
        }
        let before = s.len();
        s = s.trim_start_matches(|c: char| c.is_whitespace());
        let line_comment: LResult<&str> = alt((tag("#"), tag("//")))(s);
        if let Ok((rest, _)) = line_comment {
            // To the end of the line (memchr-fast `find`).
            s = rest.find('\n').map_or("", |k| &rest[k..]);
        } else if let Some(body) = s.strip_prefix("/*") {
            let end: LResult<&str> = take_until("*/")(body);
            match end {
                Ok((rest, _)) => s = &rest[2..],
                Err(_) => return Err(s.len()),
            }
        }
        if s.len() == before {
            return Ok(s);
        }
    }
}

/// `foo`, `$foo$$`, `$$parms`, `$1`, `$#`, `@cast`, `@1`, `@#`.
fn ident(s: &str) -> LResult<'_, &str> {
    if s.as_bytes().first().is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_') {
        return recognize(pair(satisfy(is_ident_start), take_while(is_ident_char)))(s);
    }
    alt((
        recognize(pair(alt((ch('$'), ch('@'))), ch('#'))),
        recognize(pair(
            alt((ch('$'), ch('@'))),
            take_while1(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$'),
        )),
        // A lone `$` (the pretty-print suffix after `@cast(...)`).
        take_while1(|c: char| c == '$'),
    ))(s)
}

/// `123`, `0x1f`, `017`: the digits and letters of one number.
fn number_text(s: &str) -> LResult<'_, &str> {
    recognize(pair(
        satisfy(|c| c.is_ascii_digit()),
        take_while(|c: char| c.is_ascii_alphanumeric()),
    ))(s)
}

/// The value of a number's text; `None` if malformed or above u64::MAX.
pub fn number_value(text: &str) -> Option<u64> {
    let (digits, radix) = if let Some(h) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        (h, 16)
    } else if text.len() > 1 && text.starts_with('0') {
        (&text[1..], 8)
    } else {
        (text, 10)
    };
    if digits.is_empty() {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// The operator at the start of `s`, longest match first.
fn punct(s: &str) -> Option<&'static str> {
    let b = s.as_bytes();
    let c0 = *b.first()?;
    let c1 = b.get(1).copied().unwrap_or(0);
    let c2 = b.get(2).copied().unwrap_or(0);
    Some(match (c0, c1, c2) {
        (b'<', b'<', b'<') => "<<<",
        (b'<', b'<', b'=') => "<<=",
        (b'>', b'>', b'=') => ">>=",
        (b'%', b'(', _) => "%(",
        (b'%', b'?', _) => "%?",
        (b'%', b':', _) => "%:",
        (b'%', b')', _) => "%)",
        (b'%', b'=', _) => "%=",
        (b'=', b'=', _) => "==",
        (b'=', b'~', _) => "=~",
        (b'!', b'=', _) => "!=",
        (b'!', b'~', _) => "!~",
        (b'<', b'=', _) => "<=",
        (b'<', b'<', _) => "<<",
        (b'>', b'=', _) => ">=",
        (b'>', b'>', _) => ">>",
        (b'&', b'&', _) => "&&",
        (b'&', b'=', _) => "&=",
        (b'|', b'|', _) => "||",
        (b'|', b'=', _) => "|=",
        (b'+', b'+', _) => "++",
        (b'+', b'=', _) => "+=",
        (b'-', b'-', _) => "--",
        (b'-', b'=', _) => "-=",
        (b'-', b'>', _) => "->",
        (b'*', b'=', _) => "*=",
        (b'/', b'=', _) => "/=",
        (b'^', b'=', _) => "^=",
        (b'.', b'=', _) => ".=",
        (b'+', _, _) => "+",
        (b'-', _, _) => "-",
        (b'*', _, _) => "*",
        (b'/', _, _) => "/",
        (b'%', _, _) => "%",
        (b'<', _, _) => "<",
        (b'>', _, _) => ">",
        (b'=', _, _) => "=",
        (b'!', _, _) => "!",
        (b'~', _, _) => "~",
        (b'&', _, _) => "&",
        (b'|', _, _) => "|",
        (b'^', _, _) => "^",
        (b'.', _, _) => ".",
        (b',', _, _) => ",",
        (b';', _, _) => ";",
        (b':', _, _) => ":",
        (b'?', _, _) => "?",
        (b'(', _, _) => "(",
        (b')', _, _) => ")",
        (b'[', _, _) => "[",
        (b']', _, _) => "]",
        (b'{', _, _) => "{",
        (b'}', _, _) => "}",
        _ => return None,
    })
}

/// Decodes the body of a string literal starting after the opening quote.
/// Returns the value and the number of bytes consumed, closing quote
/// included; `Err(offset)` if the string is not closed before the end of
/// the line.
fn string_body(s: &str) -> Result<(String, usize), usize> {
    let bytes = s.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'"' => return Ok((out, i + 1)),
            b'\n' => return Err(i),
            b'\\' => {
                let Some(&e) = bytes.get(i + 1) else {
                    return Err(i);
                };
                i += 2;
                let simple = match e {
                    b'n' => Some('\n'),
                    b't' => Some('\t'),
                    b'r' => Some('\r'),
                    b'a' => Some('\x07'),
                    b'b' => Some('\x08'),
                    b'f' => Some('\x0c'),
                    b'v' => Some('\x0b'),
                    b'\\' => Some('\\'),
                    b'"' => Some('"'),
                    b'\'' => Some('\''),
                    b'?' => Some('?'),
                    // A backslash-newline continues the string.
                    b'\n' => None,
                    _ => None,
                };
                if let Some(c) = simple {
                    out.push(c);
                } else if e == b'\n' {
                } else if (b'0'..=b'7').contains(&e) {
                    let mut v = u32::from(e - b'0');
                    let mut n = 1;
                    while n < 3 && i < bytes.len() && (b'0'..=b'7').contains(&bytes[i]) {
                        v = v * 8 + u32::from(bytes[i] - b'0');
                        i += 1;
                        n += 1;
                    }
                    out.push(escaped_byte(v & 0xff));
                } else if e == b'x' && i < bytes.len() && bytes[i].is_ascii_hexdigit() {
                    let mut v = 0u32;
                    let mut n = 0;
                    while n < 2 && i < bytes.len() && bytes[i].is_ascii_hexdigit() {
                        v = v * 16 + (bytes[i] as char).to_digit(16).unwrap_or(0);
                        i += 1;
                        n += 1;
                    }
                    out.push(escaped_byte(v));
                } else {
                    // Unknown escapes (`\.` in a regex) keep their backslash,
                    // as SystemTap passes them through.
                    out.push('\\');
                    i -= 1;
                }
            }
            _ => {
                // Copy one whole UTF-8 character.
                let len = utf8_len(c);
                let end = (i + len).min(bytes.len());
                out.push_str(s.get(i..end).unwrap_or("?"));
                i = end;
            }
        }
    }
    Err(bytes.len())
}

fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

/// Writes `s` as a string literal that `string_body` decodes back to `s`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\{:03o}", c as u32));
            }
            c if byte_of_escape(c).is_some() => {
                out.push_str(&format!("\\{:03o}", byte_of_escape(c).unwrap_or(0)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

thread_local! {
    /// Token vectors of earlier parses, kept for reuse: writing tokens into
    /// memory already touched is much cheaper than into fresh pages.
    static BUFFERS: std::cell::RefCell<Vec<Vec<Token>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// An empty token vector with room for at least `cap` tokens.
pub fn take_buffer(cap: usize) -> Vec<Token> {
    let mut v = BUFFERS
        .try_with(|b| b.borrow_mut().pop())
        .ok()
        .flatten()
        .unwrap_or_default();
    v.clear();
    v.reserve(cap);
    v
}

/// Returns a token vector for reuse by `take_buffer`.
pub fn give_buffer(mut v: Vec<Token>) {
    v.clear();
    let _ = BUFFERS.try_with(|b| {
        let mut b = b.borrow_mut();
        if b.len() < 4 {
            b.push(v);
        }
    });
}

/// Shares one allocation between the repeated identifiers of a file.
struct Interner {
    table: std::collections::HashSet<Rc<str>, BuildFnv>,
}

impl Interner {
    fn with_capacity(n: usize) -> Interner {
        Interner {
            table: std::collections::HashSet::with_capacity_and_hasher(n, BuildFnv),
        }
    }

    fn get(&mut self, name: &str) -> Rc<str> {
        if let Some(r) = self.table.get(name) {
            return r.clone();
        }
        let r: Rc<str> = name.into();
        self.table.insert(r.clone());
        r
    }
}

/// FNV-1a: identifiers are short, and SipHash's DoS resistance buys
/// nothing for a file the user wrote.
#[derive(Default, Clone, Copy)]
struct BuildFnv;

struct Fnv(u64);

impl std::hash::BuildHasher for BuildFnv {
    type Hasher = Fnv;
    fn build_hasher(&self) -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// Lexes `text`, which starts at byte `base` of `file`; every span gets
/// `ctx`.
pub fn lex(file: u32, text: &str, base: usize, ctx: u32) -> Result<Vec<Token>, Diagnostic> {
    lex_inner(file, text, base, ctx).map_err(|LexError::At(msg, lo, hi)| {
        let mut span = Span::new(file, base + lo, base + hi);
        span.ctx = ctx;
        Diagnostic::error(msg, Some(span))
    })
}

fn lex_inner(file: u32, text: &str, base: usize, ctx: u32) -> Result<Vec<Token>, LexError> {
    let mut toks = take_buffer(text.len() / 6 + 8);
    let mut names = Interner::with_capacity(text.len() / 64 + 16);
    let mut s = text;
    let off = |rest: &str| text.len() - rest.len();
    let mut prev_hi: Option<usize> = None;
    loop {
        s = match skip_trivia(s) {
            Ok(rest) => rest,
            Err(left) => {
                let at = text.len() - left;
                return Err(LexError::At("unterminated comment".into(), at, at + 2));
            }
        };
        let Some(c) = s.chars().next() else {
            return Ok(toks);
        };
        let lo = off(s);
        let tok;
        if s.starts_with("%{") {
            let body: LResult<&str> = take_until("%}")(&s[2..]);
            match body {
                Ok((rest, code)) => {
                    tok = Tok::Embedded(code.into());
                    s = &rest[2..];
                }
                Err(_) => {
                    return Err(LexError::At(
                        "unterminated embedded C: no `%}` after this `%{`".into(),
                        lo,
                        lo + 2,
                    ))
                }
            }
        } else if c == '"' {
            match string_body(&s[1..]) {
                Ok((value, used)) => {
                    tok = Tok::Str(value.into());
                    s = &s[1 + used..];
                }
                Err(_) => {
                    return Err(LexError::At(
                        "unterminated string literal".into(),
                        lo,
                        lo + 1,
                    ))
                }
            }
        } else if c.is_ascii_digit() {
            let (rest, digits) = number_text(s).map_err(|_| LexError::At("bad number".into(), lo, lo + 1))?;
            match number_value(digits) {
                Some(v) => tok = Tok::Number(v),
                None => {
                    return Err(LexError::At(
                        format!("invalid number `{}`", digits),
                        lo,
                        lo + digits.len(),
                    ))
                }
            }
            s = rest;
        } else if let Ok((rest, name)) = ident(s) {
            tok = Tok::Ident(names.get(name));
            s = rest;
        } else if let Some(p) = punct(s) {
            tok = Tok::Punct(p);
            s = &s[p.len()..];
        } else {
            let hi = lo + c.len_utf8();
            let what = if c == '$' || c == '@' {
                format!("`{}` must be followed by a name or number", c)
            } else {
                format!("unexpected character {:?}", c)
            };
            return Err(LexError::At(what, lo, hi));
        }
        let mut span = Span::new(file, base + lo, base + off(s));
        span.ctx = ctx;
        let joined = prev_hi == Some(lo);
        let line_start = match prev_hi {
            None => true,
            Some(p) => text.get(p..lo).is_some_and(|gap| gap.contains('\n')),
        };
        prev_hi = Some(off(s));
        toks.push(Token {
            tok,
            span,
            joined,
            line_start,
        });
    }
}

/// First of the private-use chars that stand for the bytes 0x80..=0xff of
/// `\ooo` / `\xhh` escapes (a Rust string holds chars, a script string
/// bytes): `\377` is the byte 0xff, not the char U+00FF that UTF-8 would
/// write as two bytes.
const ESCAPED_BYTE_BASE: u32 = 0xF700;

/// The char that holds the byte `v` (0..=0xff) of an escape in a literal.
pub fn escaped_byte(v: u32) -> char {
    let v = v & 0xff;
    if v < 0x80 {
        char::from(v as u8)
    } else {
        char::from_u32(ESCAPED_BYTE_BASE + v).unwrap_or('?')
    }
}

/// The byte a char from [`escaped_byte`] stands for (None for other chars).
pub fn byte_of_escape(c: char) -> Option<u8> {
    let v = c as u32;
    (ESCAPED_BYTE_BASE + 0x80..=ESCAPED_BYTE_BASE + 0xff).contains(&v).then(|| (v - ESCAPED_BYTE_BASE) as u8)
}
