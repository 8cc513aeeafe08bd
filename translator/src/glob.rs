//! Shell-style wildcards, as SystemTap uses them in probe points
//! (`syscall.*`, `kernel.function("vfs_*")`) and `%( arch == "i?86" %)`.
//!
//! Input: a pattern and a text. Output: whether the whole text matches.
//! Invariants: fnmatch(3) without flags — `*` (any run, `/` included), `?`
//! (one character), `[abc]`, `[a-z]`, `[!x]`; an unterminated `[` is a
//! literal; linear backtracking on the last `*`, so no input is slow.

/// Whether `text` matches `pattern` as a whole.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    glob_bytes(pattern.as_bytes(), text.as_bytes())
}

/// fnmatch(3)-style glob match without flags (`*` also matches `/`).
pub fn glob_bytes(p: &[u8], s: &[u8]) -> bool {
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
    use super::glob_match;

    #[test]
    fn stars_and_questions() {
        assert!(glob_match("*", "open"));
        assert!(glob_match("op*", "open"));
        assert!(glob_match("*en", "open"));
        assert!(glob_match("o?en", "open"));
        assert!(!glob_match("o?en", "oopen"));
        assert!(!glob_match("read*", "open"));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(glob_match("fs/*.c", "fs/read_write.c"));
    }

    #[test]
    fn classes() {
        assert!(glob_match("i[3-6]86", "i586"));
        assert!(!glob_match("i[!3-6]86", "i586"));
        assert!(glob_match("a[", "a["));
    }
}
