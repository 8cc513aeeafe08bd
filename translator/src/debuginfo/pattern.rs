//! SystemTap's function pattern `"func[@file[:line]]"` and glob matching.
//!
//! Input: the string argument of `kernel.function("...")`.
//! Output: a [`FunctionPattern`] that tests names, files and lines.
//! Invariants: parsing never panics; an empty function part is an error;
//! globs support `*`, `?` and `[...]` (with `!`/`^` negation and ranges) as
//! fnmatch(3) does without flags.

use super::{DebugInfoError, Result};

/// The line part of a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineSpec {
    /// `:N`
    Exact(u32),
    /// `:N-M`, inclusive.
    Range(u32, u32),
    /// `:+N`, relative to the function's declaration line.
    Relative(u32),
    /// `:*`
    Any,
}

/// `func[@file[:line]]`, e.g. `vfs_*`, `*@fs/read_write.c`,
/// `vfs_read@fs/read_write.c:450`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionPattern {
    pub function: String,
    pub file: Option<String>,
    pub line: Option<LineSpec>,
}

impl FunctionPattern {
    /// Parses `func[@file[:line]]`.
    pub fn parse(s: &str) -> Result<FunctionPattern> {
        let bad = |why: &str| DebugInfoError::Lookup(format!("bad function pattern \"{s}\": {why}"));
        let (func, rest) = match s.find('@') {
            Some(i) => (&s[..i], Some(&s[i + 1..])),
            None => (s, None),
        };
        if func.is_empty() {
            return Err(bad("empty function name"));
        }
        let mut pat = FunctionPattern { function: func.to_string(), file: None, line: None };
        if let Some(rest) = rest {
            let (file, line) = match rest.rfind(':') {
                Some(i) => (&rest[..i], Some(&rest[i + 1..])),
                None => (rest, None),
            };
            if file.is_empty() {
                return Err(bad("empty file name after '@'"));
            }
            pat.file = Some(file.to_string());
            if let Some(line) = line {
                pat.line = Some(parse_line(line).ok_or_else(|| bad("bad line number"))?);
            }
        }
        Ok(pat)
    }

    /// Whether the function part has glob characters.
    pub fn is_wildcard(&self) -> bool {
        has_glob(&self.function)
    }

    pub fn matches_name(&self, name: &str) -> bool {
        glob_match(self.function.as_bytes(), name.as_bytes())
    }

    /// Matches `path` (relative to the compilation directory or absolute)
    /// against the file part: the glob must match the whole path or a tail
    /// of it starting after a `/`. No file part matches everything.
    pub fn matches_file(&self, path: &str) -> bool {
        match &self.file {
            None => true,
            Some(f) => file_match(f, path),
        }
    }

    /// Matches a declaration line against the line part.
    pub fn matches_line(&self, decl_line: u32) -> bool {
        match &self.line {
            None | Some(LineSpec::Any) | Some(LineSpec::Relative(_)) => true,
            Some(LineSpec::Exact(n)) => decl_line == *n,
            Some(LineSpec::Range(a, b)) => (*a..=*b).contains(&decl_line),
        }
    }
}

fn parse_line(s: &str) -> Option<LineSpec> {
    if s == "*" {
        return Some(LineSpec::Any);
    }
    if let Some(r) = s.strip_prefix('+') {
        return r.parse().ok().map(LineSpec::Relative);
    }
    if let Some((a, b)) = s.split_once('-') {
        let (a, b) = (a.parse().ok()?, b.parse().ok()?);
        return if a <= b { Some(LineSpec::Range(a, b)) } else { None };
    }
    s.parse().ok().map(LineSpec::Exact)
}

/// Whether `s` contains `*`, `?` or `[`.
pub fn has_glob(s: &str) -> bool {
    s.bytes().any(|b| matches!(b, b'*' | b'?' | b'['))
}

/// Glob match of a file pattern against a path (whole path or a tail after
/// a `/`).
pub fn file_match(pattern: &str, path: &str) -> bool {
    let p = pattern.as_bytes();
    let s = path.as_bytes();
    if glob_match(p, s) {
        return true;
    }
    s.iter().enumerate().any(|(i, &c)| c == b'/' && glob_match(p, &s[i + 1..]))
}

/// fnmatch(3)-style glob match without flags (`*` also matches `/`).
pub fn glob_match(p: &[u8], s: &[u8]) -> bool {
    // Iterative matcher with one backtrack point for the last '*'.
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() {
            match p[pi] {
                b'*' => {
                    star = Some((pi, si));
                    pi += 1;
                    continue;
                }
                b'?' => {
                    pi += 1;
                    si += 1;
                    continue;
                }
                b'[' => {
                    if let Some((ok, next)) = match_class(&p[pi..], s[si]) {
                        if ok {
                            pi += next;
                            si += 1;
                            continue;
                        }
                    } else if s[si] == b'[' {
                        pi += 1;
                        si += 1;
                        continue;
                    }
                }
                c => {
                    if c == s[si] {
                        pi += 1;
                        si += 1;
                        continue;
                    }
                }
            }
        }
        match star {
            Some((sp, ss)) => {
                pi = sp + 1;
                si = ss + 1;
                star = Some((sp, ss + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Matches `c` against the class at the start of `p` (`[...]`); returns
/// (matched, length of the class) or `None` if the class is unterminated.
fn match_class(p: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(i), Some(b'!') | Some(b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        let lo = p[i];
        if lo == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == b'-' && p[i + 2] != b']' {
            if lo <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if lo == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_forms() {
        let p = FunctionPattern::parse("vfs_read@fs/read_write.c:450").unwrap();
        assert_eq!(p.function, "vfs_read");
        assert_eq!(p.file.as_deref(), Some("fs/read_write.c"));
        assert_eq!(p.line, Some(LineSpec::Exact(450)));
        let p = FunctionPattern::parse("*@fs/*.c:10-20").unwrap();
        assert_eq!(p.line, Some(LineSpec::Range(10, 20)));
        assert!(FunctionPattern::parse("@x.c").is_err());
        assert!(FunctionPattern::parse("f@x.c:zz").is_err());
        assert_eq!(FunctionPattern::parse("f").unwrap().file, None);
    }

    #[test]
    fn globs() {
        assert!(glob_match(b"vfs_*", b"vfs_read"));
        assert!(!glob_match(b"vfs_*", b"do_vfs_read"));
        assert!(glob_match(b"*read*", b"vfs_readv"));
        assert!(glob_match(b"sys_[rw]*", b"sys_write"));
        assert!(!glob_match(b"sys_[!rw]*", b"sys_write"));
        assert!(glob_match(b"a?c", b"abc"));
        assert!(file_match("read_write.c", "fs/read_write.c"));
        assert!(file_match("fs/read_write.c", "fs/read_write.c"));
        assert!(!file_match("write.c", "fs/read_write.c"));
        assert!(file_match("fs/*.c", "fs/read_write.c"));
    }
}
