//! Comparing a run's output with its expected file, for the guest suites.
//!
//! In expected text, `{N}` stands for one or more decimal digits (a count
//! that depends on timing) and `{X}` for one or more lowercase hex digits (an
//! address); with [`matches_lines`], a line that is exactly `{ANY}` stands
//! for any number of lines (output whose amount depends on timing, such as
//! a drop report that appears only when something was dropped); everything
//! else must match exactly.

// Each suite uses the matchers it needs.
#![allow(dead_code)]

/// Exact comparison with the `{N}` and `{X}` wildcards.
pub fn matches_with_numbers(pattern: &str, text: &str) -> bool {
    let mut rest_pat = pattern;
    let mut rest = text;
    loop {
        let next = [("{N}", 0usize), ("{X}", 1)]
            .iter()
            .filter_map(|&(tok, kind)| rest_pat.find(tok).map(|i| (i, kind)))
            .min();
        let Some((i, kind)) = next else {
            return rest == rest_pat;
        };
        let Some(r) = rest.strip_prefix(&rest_pat[..i]) else {
            return false;
        };
        let n = r
            .chars()
            .take_while(|c| if kind == 0 { c.is_ascii_digit() } else { c.is_ascii_digit() || ('a'..='f').contains(c) })
            .count();
        if n == 0 {
            return false;
        }
        rest = &r[n..];
        rest_pat = &rest_pat[i + 3..];
    }
}

/// A line diff (`-` expected, `+` actual) that honours the wildcards.
pub fn diff(expected: &str, actual: &str) -> String {
    let mut out = String::new();
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    for i in 0..e.len().max(a.len()) {
        match (e.get(i), a.get(i)) {
            (Some(x), Some(y)) if matches_with_numbers(x, y) => out.push_str(&format!("   {y}\n")),
            (x, y) => {
                if let Some(x) = x {
                    out.push_str(&format!(" - {x}\n"));
                }
                if let Some(y) = y {
                    out.push_str(&format!(" + {y}\n"));
                }
            }
        }
    }
    out
}

/// [`matches_with_numbers`] line by line, where an expected line `{ANY}`
/// matches zero or more lines.
pub fn matches_lines(pattern: &str, text: &str) -> bool {
    if !pattern.contains("{ANY}") {
        return matches_with_numbers(pattern, text);
    }
    fn go(p: &[&str], t: &[&str]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some((&"{ANY}", rest)) => (0..=t.len()).any(|k| go(rest, &t[k..])),
            Some((first, rest)) => !t.is_empty() && matches_with_numbers(first, t[0]) && go(rest, &t[1..]),
        }
    }
    let p: Vec<&str> = pattern.split_inclusive('\n').map(|l| if l == "{ANY}\n" { "{ANY}" } else { l }).collect();
    let t: Vec<&str> = text.split_inclusive('\n').collect();
    go(&p, &t)
}
