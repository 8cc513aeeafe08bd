//! The one gate between script text and the generated C.
//!
//! Input: any string that came from the user (probe-point strings, symbol
//! and module names, `-D NAME=VALUE`, the script's file name, format
//! strings, embedded-C origins, file names of line tables). Output: the
//! same text as a C string literal, the inside of one, a printf format, a
//! comment body, or a validated identifier or `-D` definition.
//! Invariant: every byte that is not printable ASCII, and every quote and
//! backslash, leaves here as an escape; nothing returned can end a literal
//! or a comment, start a preprocessor line or continue one. Templates reach
//! the same function through the tera filters `cstr`, `cfmt` and
//! `ccomment` (registered by `register_filters`); Rust code calls
//! `c_string` and friends. Embedded C (`%{ %}`, guru mode) is the only C
//! that does not pass through here, by design.

use std::collections::HashMap;

/// `s` escaped for the inside of a C string literal (no quotes around it):
/// `"` and `\` escaped, `\n` `\t` `\r` as themselves, every other byte
/// outside printable ASCII as a three-digit octal escape. `?` is escaped
/// too, so that no trigraph can form.
pub fn c_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    // A `\377` escape of the script is one byte (syntax::lexer::escaped_byte).
    let bytes = s.chars().flat_map(|c| match crate::syntax::lexer::byte_of_escape(c) {
        Some(b) => vec![b],
        None => c.to_string().into_bytes(),
    });
    for b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            b'?' => out.push_str("\\?"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{b:03o}")),
        }
    }
    out
}

/// A C string literal for `s`, quotes included.
pub fn c_string(s: &str) -> String {
    format!("\"{}\"", c_escape(s))
}

/// `s` as the inside of a literal that is used as a printf format: also
/// every `%` doubled, so the text prints as itself.
pub fn c_format_text(s: &str) -> String {
    c_escape(s).replace('%', "%%")
}

/// `s` as text inside a `/* ... */` comment: escaped as for a literal (so
/// no newline or backslash-newline survives) and with `*/` broken up.
pub fn c_comment(s: &str) -> String {
    c_escape(s).replace("*/", "*\\/")
}

/// `s` if it is a C identifier (`[A-Za-z_][A-Za-z0-9_]*`), else an error
/// naming `what`.
pub fn c_identifier<'a>(what: &str, s: &'a str) -> Result<&'a str, String> {
    let mut chars = s.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(s)
    } else {
        Err(format!("invalid {what} `{}`: use letters, digits and `_`, not starting with a digit", c_escape(s)))
    }
}

/// A C integer constant: an optional sign, decimal, octal or hex digits,
/// and an optional `u`/`l` suffix (`10000`, `-1`, `0x4000`, `64ULL`).
fn is_c_number(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let digits_end = s.find(['u', 'U', 'l', 'L']).unwrap_or(s.len());
    let (digits, suffix) = s.split_at(digits_end);
    let digits_ok = match digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        Some(hex) => !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()),
        None => !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()),
    };
    let suffix_ok = suffix.len() <= 3 && suffix.chars().all(|c| matches!(c, 'u' | 'U' | 'l' | 'L'));
    digits_ok && suffix_ok
}

/// One `-D` definition, validated: `NAME` a C identifier, `VALUE` (after
/// the first `=`) empty, a C identifier or a C integer constant.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CDefine {
    pub name: String,
    pub value: String,
}

/// Parses `NAME[=VALUE]` (as `-D` takes it) into a `CDefine`, or a clear
/// error saying what a value may be.
pub fn c_define(d: &str) -> Result<CDefine, String> {
    let (name, value) = d.split_once('=').unwrap_or((d, ""));
    c_identifier("-D macro name", name).map_err(|e| format!("{e} (in `-D {}`)", c_escape(d)))?;
    if !value.is_empty() && c_identifier("", value).is_err() && !is_c_number(value) {
        return Err(format!(
            "invalid -D value `{}` for {name}: a value must be a number (such as 10000 or 0x4000) or a C identifier",
            c_escape(value)
        ));
    }
    Ok(CDefine { name: name.to_string(), value: value.to_string() })
}

fn string_filter(f: fn(&str) -> String) -> impl tera::Filter {
    move |v: &tera::Value, _: &HashMap<String, tera::Value>| -> tera::Result<tera::Value> {
        match v {
            tera::Value::String(s) => Ok(tera::Value::String(f(s))),
            other => Ok(tera::Value::String(f(&other.to_string()))),
        }
    }
}

/// Registers `cstr` (inside of a literal), `cfmt` (inside of a printf
/// format literal) and `ccomment` (inside of a comment).
pub fn register_filters(tera: &mut tera::Tera) {
    tera.register_filter("cstr", string_filter(c_escape));
    tera.register_filter("cfmt", string_filter(c_format_text));
    tera.register_filter("ccomment", string_filter(c_comment));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_cannot_be_left() {
        assert_eq!(c_string("a\"); #define x\n"), "\"a\\\"); #define x\\n\"");
        assert_eq!(c_escape("back\\slash\\\nnext"), "back\\\\slash\\\\\\nnext");
        assert_eq!(c_escape("é\0\x7f"), "\\303\\251\\000\\177");
        assert_eq!(c_escape("??="), "\\?\\?=");
        assert_eq!(c_format_text("100% \"x\""), "100%% \\\"x\\\"");
    }

    #[test]
    fn comments_cannot_be_left() {
        assert_eq!(c_comment("a */ b\n#define x"), "a *\\/ b\\n#define x");
        assert_eq!(c_comment("line\\\nnext"), "line\\\\\\nnext");
    }

    #[test]
    fn identifiers() {
        assert_eq!(c_identifier("name", "_ab9"), Ok("_ab9"));
        assert!(c_identifier("name", "9a").is_err());
        assert!(c_identifier("name", "").is_err());
        assert!(c_identifier("name", "a b").is_err());
        assert!(c_identifier("name", "a\n#x").unwrap_err().contains("a\\n#x"));
    }

    #[test]
    fn defines() {
        assert_eq!(c_define("MAXACTION=100"), Ok(CDefine { name: "MAXACTION".into(), value: "100".into() }));
        assert_eq!(c_define("STP_NO_OVERLOAD"), Ok(CDefine { name: "STP_NO_OVERLOAD".into(), value: String::new() }));
        assert_eq!(c_define("X=0x4000UL").unwrap().value, "0x4000UL");
        assert_eq!(c_define("X=-1").unwrap().value, "-1");
        assert_eq!(c_define("X=OTHER_NAME").unwrap().value, "OTHER_NAME");
        assert_eq!(
            c_define("FOO=1\n#define BAR").unwrap_err(),
            "invalid -D value `1\\n#define BAR` for FOO: a value must be a number (such as 10000 or 0x4000) or a C identifier"
        );
        assert!(c_define("X=1 2").is_err());
        assert!(c_define("X=\"s\"").is_err());
        assert!(c_define("X=0x").is_err());
        assert!(c_define("X=1LLLL").is_err());
        assert!(c_define("A\nB=1").unwrap_err().starts_with("invalid -D macro name `A\\nB`"));
    }
}
