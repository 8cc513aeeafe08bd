//! Comparing a run's output with its expected file, for the guest suites.
//!
//! In expected text, `{N}` stands for one or more decimal digits (a count
//! that depends on timing) and `{X}` for one or more lowercase hex digits (an
//! address); everything else must match exactly.

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
