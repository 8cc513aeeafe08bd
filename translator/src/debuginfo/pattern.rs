//! SystemTap's function pattern `"func[@file[:line]]"` and glob matching.
//!
//! Input: the string argument of `kernel.function("...")`: `func`,
//! `func@file`, `func@file:N` (`:N-M`, `:*`), or `func@file+N` (N lines
//! after the function's declaration line, as `man stapprobes` documents).
//! Output: a [`FunctionPattern`] that tests names, files and lines.
//! Invariants: parsing never panics; an empty function part is an error;
//! globs support `*`, `?` and `[...]` (with `!`/`^` negation and ranges) as
//! fnmatch(3) does without flags.

use crate::glob::glob_bytes;
use super::{DebugInfoError, Result};

/// The line part of a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineSpec {
    /// `:N`
    Exact(u32),
    /// `:N-M`, inclusive.
    Range(u32, u32),
    /// `+N` (also spelled `:+N`), relative to the function's declaration
    /// line.
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
            // `:LINE`, or `+N` (relative to the declaration line) right
            // after the file.
            let plus = rest.rfind('+').filter(|&i| {
                let n = &rest[i + 1..];
                !rest.contains(':') && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
            });
            let (file, line) = match (rest.rfind(':'), plus) {
                (Some(i), _) => (&rest[..i], Some(&rest[i + 1..])),
                (None, Some(i)) => (&rest[..i], Some(&rest[i..])),
                (None, None) => (rest, None),
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
        glob_bytes(self.function.as_bytes(), name.as_bytes())
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
    if glob_bytes(p, s) {
        return true;
    }
    s.iter().enumerate().any(|(i, &c)| c == b'/' && glob_bytes(p, &s[i + 1..]))
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
        let p = FunctionPattern::parse("join_session_keyring@*+44").unwrap();
        assert_eq!((p.file.as_deref(), p.line), (Some("*"), Some(LineSpec::Relative(44))));
        let p = FunctionPattern::parse("f@x.c:+3").unwrap();
        assert_eq!((p.file.as_deref(), p.line), (Some("x.c"), Some(LineSpec::Relative(3))));
        // A `+` that is not followed by only digits belongs to the file name.
        assert_eq!(FunctionPattern::parse("f@g++.c").unwrap().file.as_deref(), Some("g++.c"));
        assert_eq!(FunctionPattern::parse("f@a+b.c").unwrap().line, None);
        assert!(FunctionPattern::parse("@x.c+4").is_err());
        assert!(FunctionPattern::parse("f@+4").is_err());
    }

    #[test]
    fn globs() {
        assert!(glob_bytes(b"vfs_*", b"vfs_read"));
        assert!(!glob_bytes(b"vfs_*", b"do_vfs_read"));
        assert!(glob_bytes(b"*read*", b"vfs_readv"));
        assert!(glob_bytes(b"sys_[rw]*", b"sys_write"));
        assert!(!glob_bytes(b"sys_[!rw]*", b"sys_write"));
        assert!(glob_bytes(b"a?c", b"abc"));
        assert!(file_match("read_write.c", "fs/read_write.c"));
        assert!(file_match("fs/read_write.c", "fs/read_write.c"));
        assert!(!file_match("write.c", "fs/read_write.c"));
        assert!(file_match("fs/*.c", "fs/read_write.c"));
    }
}
