//! Helpers shared by the parser's test files.

/// Debug output of a tree with every `Span { .. }` removed, so that two
/// parses of differently laid-out text compare equal.
pub fn without_spans(f: &rstap::syntax::ast::File) -> String {
    let d = format!("{:?}", f);
    let mut out = String::with_capacity(d.len());
    let mut rest = d.as_str();
    while let Some(k) = rest.find("Span {") {
        out.push_str(&rest[..k]);
        rest = &rest[k..];
        let end = rest.find('}').map(|e| e + 1).unwrap_or(rest.len());
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}
