//! POSIX extended regular expressions (the right side of `=~` / `!~`,
//! man stap "Regular expression matching") parsed into a small syntax tree.
//!
//! Input: the regex text, as bytes (the script's string literal after its
//! escapes). Output: `Node`, or a `RegexError` with the byte offset in the
//! regex where it went wrong. Supported: literals, `.`, bracket
//! expressions (ranges, `^` negation, `]` and `-` as literals where POSIX
//! puts them, the classes `[:alpha:]` ...), anchors `^` and `$`,
//! alternation `|`, groups `( )`, `*`, `+`, `?` and bounds `{m}`, `{m,}`,
//! `{m,n}` (m, n at most 255, RE_DUP_MAX), `\c` for a literal c.
//! Invariants: no recursion deeper than the group nesting, which is capped
//! at `MAX_DEPTH`; every error names its offset; collating elements
//! (`[. .]`, `[= =]`) and back-references are rejected, not misread.

use std::fmt;

/// The largest repetition bound (POSIX RE_DUP_MAX).
pub const DUP_MAX: u32 = 255;
/// Group nesting limit (keeps the parser's recursion small).
pub const MAX_DEPTH: usize = 64;

/// A set of bytes, one bit per byte value.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ByteSet(pub [u32; 8]);

impl ByteSet {
    pub fn empty() -> ByteSet {
        ByteSet([0; 8])
    }
    pub fn insert(&mut self, b: u8) {
        self.0[(b >> 5) as usize] |= 1 << (b & 31);
    }
    pub fn contains(&self, b: u8) -> bool {
        self.0[(b >> 5) as usize] & (1 << (b & 31)) != 0
    }
    pub fn negate(&mut self) {
        for w in &mut self.0 {
            *w = !*w;
        }
        // A string never holds NUL: a negated set does not match it.
        self.0[0] &= !1;
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Empty,
    Byte(u8),
    Any,
    Set(ByteSet),
    Bol,
    Eol,
    /// A capture group and its number (1-based, by its `(`).
    Group(Box<Node>, u32),
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat { node: Box<Node>, min: u32, max: Option<u32> },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegexError {
    /// Byte offset in the regex.
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for RegexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at offset {} of the regular expression", self.message, self.offset)
    }
}

/// The parsed regex: its tree and how many groups it has.
#[derive(Debug)]
pub struct Parsed {
    pub node: Node,
    pub groups: u32,
}

pub fn parse(re: &[u8]) -> Result<Parsed, RegexError> {
    let mut p = Parser { re, pos: 0, groups: 0 };
    let node = p.alternation(0)?;
    if p.pos < re.len() {
        // Only an unmatched `)` stops the top level early.
        return Err(p.err(p.pos, "unmatched `)`"));
    }
    Ok(Parsed { node, groups: p.groups })
}

struct Parser<'a> {
    re: &'a [u8],
    pos: usize,
    groups: u32,
}

/// A POSIX character class: its name and its members.
type Class = (&'static str, fn(u8) -> bool);

const CLASSES: &[Class] = &[
    ("alpha", |b| b.is_ascii_alphabetic()),
    ("digit", |b| b.is_ascii_digit()),
    ("alnum", |b| b.is_ascii_alphanumeric()),
    ("upper", |b| b.is_ascii_uppercase()),
    ("lower", |b| b.is_ascii_lowercase()),
    ("space", |b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)),
    ("blank", |b| matches!(b, b' ' | b'\t')),
    ("punct", |b| b.is_ascii_punctuation()),
    ("print", |b| (0x20..0x7f).contains(&b)),
    ("graph", |b| b.is_ascii_graphic()),
    ("cntrl", |b| b.is_ascii_control()),
    ("xdigit", |b| b.is_ascii_hexdigit()),
];

impl<'a> Parser<'a> {
    fn err(&self, offset: usize, msg: &str) -> RegexError {
        RegexError { offset, message: msg.to_string() }
    }

    fn peek(&self) -> Option<u8> {
        self.re.get(self.pos).copied()
    }

    fn alternation(&mut self, depth: usize) -> Result<Node, RegexError> {
        let mut alts = vec![self.concat(depth)?];
        while self.peek() == Some(b'|') {
            self.pos += 1;
            alts.push(self.concat(depth)?);
        }
        Ok(if alts.len() == 1 { alts.pop().unwrap_or(Node::Empty) } else { Node::Alt(alts) })
    }

    fn concat(&mut self, depth: usize) -> Result<Node, RegexError> {
        let mut items = Vec::new();
        while let Some(b) = self.peek() {
            if b == b'|' || b == b')' {
                break;
            }
            let atom = self.atom(depth)?;
            let atom = self.repeats(atom)?;
            items.push(atom);
        }
        Ok(match items.len() {
            0 => Node::Empty,
            1 => items.pop().unwrap_or(Node::Empty),
            _ => Node::Concat(items),
        })
    }

    fn repeats(&mut self, mut atom: Node) -> Result<Node, RegexError> {
        loop {
            let at = self.pos;
            let (min, max) = match self.peek() {
                Some(b'*') => (0, None),
                Some(b'+') => (1, None),
                Some(b'?') => (0, Some(1)),
                Some(b'{') => {
                    self.pos += 1;
                    let b = self.bound(at)?;
                    self.pos -= 1;
                    b
                }
                _ => return Ok(atom),
            };
            self.pos += 1;
            if matches!(atom, Node::Bol | Node::Eol) {
                return Err(self.err(at, "an anchor cannot be repeated"));
            }
            if let Some(m) = max {
                if m < min {
                    return Err(self.err(at, "the bound's maximum is less than its minimum"));
                }
            }
            atom = Node::Repeat { node: Box::new(atom), min, max };
        }
    }

    /// `{m}`, `{m,}`, `{m,n}` after the `{` (self.pos is past it); leaves
    /// self.pos just past the `}`.
    fn bound(&mut self, at: usize) -> Result<(u32, Option<u32>), RegexError> {
        let min = self.number().ok_or_else(|| self.err(at, "`{` must start a bound such as {2,5} (write `\\{` for a literal brace)"))?;
        let max = if self.peek() == Some(b',') {
            self.pos += 1;
            if self.peek() == Some(b'}') {
                None
            } else {
                Some(self.number().ok_or_else(|| self.err(self.pos, "expected a number or `}` in the bound"))?)
            }
        } else {
            Some(min)
        };
        if self.peek() != Some(b'}') {
            return Err(self.err(self.pos, "expected `}` to end the bound"));
        }
        self.pos += 1;
        if min > DUP_MAX || max.is_some_and(|m| m > DUP_MAX) {
            return Err(self.err(at, "a repetition bound is larger than 255"));
        }
        Ok((min, max))
    }

    fn number(&mut self) -> Option<u32> {
        let start = self.pos;
        let mut n: u32 = 0;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            n = n.saturating_mul(10).saturating_add((d - b'0') as u32);
            self.pos += 1;
        }
        (self.pos > start).then_some(n)
    }

    fn atom(&mut self, depth: usize) -> Result<Node, RegexError> {
        let at = self.pos;
        let b = self.re[at];
        self.pos += 1;
        Ok(match b {
            b'.' => Node::Any,
            b'^' => Node::Bol,
            b'$' => Node::Eol,
            b'*' | b'+' | b'?' => return Err(self.err(at, &format!("`{}` has nothing before it to repeat", b as char))),
            b'{' => return Err(self.err(at, "`{` has nothing before it to repeat (write `\\{` for a literal brace)")),
            b'(' => {
                if depth + 1 > MAX_DEPTH {
                    return Err(self.err(at, "groups are nested too deeply"));
                }
                self.groups += 1;
                let n = self.groups;
                let inner = self.alternation(depth + 1)?;
                if self.peek() != Some(b')') {
                    return Err(self.err(at, "unmatched `(`"));
                }
                self.pos += 1;
                Node::Group(Box::new(inner), n)
            }
            b'[' => self.bracket(at)?,
            b'\\' => match self.peek() {
                None => return Err(self.err(at, "trailing `\\`")),
                Some(b'1'..=b'9') => return Err(self.err(at, "back-references are not supported")),
                Some(c) => {
                    self.pos += 1;
                    Node::Byte(c)
                }
            },
            c => Node::Byte(c),
        })
    }

    /// A bracket expression; `at` is its `[`, self.pos just past it.
    fn bracket(&mut self, at: usize) -> Result<Node, RegexError> {
        let mut set = ByteSet::empty();
        let negate = self.peek() == Some(b'^');
        if negate {
            self.pos += 1;
        }
        let mut first = true;
        loop {
            let item_at = self.pos;
            let Some(b) = self.peek() else {
                return Err(self.err(at, "unmatched `[`"));
            };
            if b == b']' && !first {
                self.pos += 1;
                break;
            }
            first = false;
            let lo = if b == b'[' && matches!(self.re.get(self.pos + 1), Some(b':' | b'.' | b'=')) {
                let kind = self.re[self.pos + 1];
                let name_start = self.pos + 2;
                let end = (name_start..self.re.len().saturating_sub(1))
                    .find(|&i| self.re[i] == kind && self.re[i + 1] == b']')
                    .ok_or_else(|| self.err(item_at, "unterminated `[:`, `[.` or `[=` in a bracket expression"))?;
                let name = &self.re[name_start..end];
                self.pos = end + 2;
                if kind != b':' {
                    if name.len() == 1 {
                        name[0]
                    } else {
                        return Err(self.err(item_at, "collating elements other than a single character are not supported"));
                    }
                } else {
                    let name = String::from_utf8_lossy(name);
                    let f = CLASSES
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, f)| *f)
                        .ok_or_else(|| self.err(item_at, &format!("unknown character class `[:{name}:]`")))?;
                    for c in 1..=255u8 {
                        if f(c) {
                            set.insert(c);
                        }
                    }
                    continue;
                }
            } else {
                self.pos += 1;
                b
            };
            // A range lo-hi, unless the `-` ends the bracket.
            if self.peek() == Some(b'-') && self.re.get(self.pos + 1).is_some_and(|&c| c != b']') {
                self.pos += 1;
                let hi_at = self.pos;
                let hi = if self.re[hi_at] == b'[' && self.re.get(hi_at + 1).is_some_and(|&c| c == b'.' || c == b'=') {
                    let kind = self.re[hi_at + 1];
                    if self.re.get(hi_at + 3) == Some(&kind) && self.re.get(hi_at + 4) == Some(&b']') {
                        self.pos = hi_at + 5;
                        self.re[hi_at + 2]
                    } else {
                        return Err(self.err(hi_at, "collating elements other than a single character are not supported"));
                    }
                } else {
                    self.pos += 1;
                    self.re[hi_at]
                };
                if hi < lo {
                    return Err(self.err(item_at, "a range's end comes before its start"));
                }
                for c in lo..=hi {
                    if c != 0 {
                        set.insert(c);
                    }
                }
            } else if lo != 0 {
                set.insert(lo);
            }
        }
        if negate {
            set.negate();
        }
        Ok(Node::Set(set))
    }
}
