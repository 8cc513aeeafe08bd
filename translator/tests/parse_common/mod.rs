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

/// The facts a Debian 6.1 x86_64 kernel gives the preprocessor, in guru
/// mode, with no script arguments and no CONFIG_ values.
pub fn x86_64_6_1_options() -> rstap::syntax::ParseOptions {
    rstap::syntax::ParseOptions {
        kernel_release: "6.1.0-28-cloud-amd64".into(),
        kernel_version: "6.1.0".into(),
        arch: "x86_64".into(),
        runtime: "kernel".into(),
        systemtap_version: "5.0".into(),
        privilege: "stapdev".into(),
        guru: true,
        ..rstap::syntax::ParseOptions::default()
    }
}
