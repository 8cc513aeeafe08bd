//! Where embedded C came from, told to the C compiler with `#line`.
//!
//! Input: the source map, an embedded-C function (its span and its code;
//! also the function an embedded-C expression became), a `%{ %}`
//! statement of a body (its span and code) or a top-level `%{ %}` block
//! (its "FILE:LINE" origin). Output: the
//! `#line N "FILE"` directive to put before the code, so that gcc reports
//! an error in it against the script or tapset file and line it came from;
//! and, over the finished module C, [`restore_line_numbers`], which turns
//! each [`RESTORE`] marker after such code into the directive that gives
//! the generated file its own line numbers back.
//! Invariants: the file name reaches the C only through `c_text::c_string`
//! (the one gate for script text); a directive is emitted only when the
//! code's line is known exactly (the code is found verbatim in its file),
//! never a guess; after every block the following line of the generated
//! file is numbered as itself, under the file name [`generated_file`].

use super::c_text::c_string;
use crate::diag::{SourceMap, Span};

/// The line that ends embedded code: [`restore_line_numbers`] replaces it.
pub const RESTORE: &str = "#line RSTAP_RESTORE_LINE";

/// The name the generated C file has in its own `#line` directives.
pub fn generated_file(module_name: &str) -> String {
    format!("{module_name}.c")
}

/// `#line LINE "FILE"`: the next line is line `line` of `file`.
fn directive(file: &str, line: usize) -> String {
    format!("#line {line} {}", c_string(file))
}

/// The directive for the body `code` of an embedded-C function declared
/// at `span`: the body is the text between `%{` and `%}`, so it starts on
/// the line of its `%{`.
pub fn function_line(sources: &SourceMap, span: Span, code: &str) -> Option<String> {
    if code.is_empty() || (span.file as usize) >= sources.files.len() {
        return None;
    }
    let text = sources.text(span.file);
    // The body with its delimiters, so that no text of the function's
    // head can be taken for it.
    let Some(found) = text.get(span.lo as usize..)?.find(&format!("%{{{code}%}}")) else {
        return value_line(sources, span, code);
    };
    let at = span.lo as usize + found + 2;
    let (line, _) = sources.line_col(span.file, at as u32);
    Some(directive(sources.name(span.file), line))
}

/// The directive for the body of the function that an embedded-C
/// expression (`x = %{ S_DEAD %}`, at `span`) became: the body holds the
/// expression's code, trimmed, on one of its lines (`STAP_RETVALUE =
/// (int64_t)(CODE);`); the directive numbers that line as the script line
/// where the code starts. None when the body does not hold the code.
fn value_line(sources: &SourceMap, span: Span, body: &str) -> Option<String> {
    let text = sources.text(span.file);
    let inner = text.get(span.lo as usize..)?.strip_prefix("%{")?;
    let code = &inner[..inner.find("%}")?];
    let trimmed = code.trim();
    if trimmed.is_empty() || trimmed.contains('\n') {
        return None;
    }
    let k = body.lines().position(|l| l.contains(&format!("STAP_RETVALUE = (int64_t)({trimmed});")))?;
    let at = span.lo as usize + 2 + (code.len() - code.trim_start().len());
    let (line, _) = sources.line_col(span.file, at as u32);
    (line > k).then(|| directive(sources.name(span.file), line - k))
}

/// `%{ code %}` as a statement of a probe or function body (at `span`),
/// wrapped in the directives that name its script line and then restore
/// the generated file's numbering; unchanged when its line is not known.
pub fn statement(sources: &SourceMap, span: Span, code: &str) -> String {
    match function_line(sources, span, code) {
        Some(line) => format!("{line}\n{code}\n{RESTORE}"),
        None => code.to_string(),
    }
}

/// The directive for a top-level block whose origin is "FILE:LINE" (the
/// line of its `%{`, where its code starts).
pub fn block_line(origin: &str) -> Option<String> {
    let (file, line) = origin.rsplit_once(':')?;
    let line: usize = line.parse().ok()?;
    (line > 0 && !file.is_empty()).then(|| directive(file, line))
}

/// `c` with every [`RESTORE`] line replaced by `#line N "FILE"`, N being
/// the number of the line after it in `c`, FILE `file`.
pub fn restore_line_numbers(c: &str, file: &str) -> String {
    let mut out = String::with_capacity(c.len() + 64);
    for (i, line) in c.split_inclusive('\n').enumerate() {
        if line.trim_end_matches('\n') == RESTORE {
            out.push_str(&directive(file, i + 2));
            out.push('\n');
        } else {
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restored_numbers_name_the_next_line() {
        let c = format!("a\n{RESTORE}\nb\nc\n{RESTORE}\nd\n");
        assert_eq!(restore_line_numbers(&c, "m.c"), "a\n#line 3 \"m.c\"\nb\nc\n#line 6 \"m.c\"\nd\n");
    }

    #[test]
    fn function_bodies_start_on_their_open_marker_line() {
        let mut sources = SourceMap::new();
        let text = "# x\nfunction f() %{ /* pure */\n\tint a;\n%}\n";
        let file = sources.add("dir/x \"y\".stp", text);
        let code = " /* pure */\n\tint a;\n";
        let span = Span::new(file, 4, text.len());
        assert_eq!(function_line(&sources, span, code).as_deref(), Some("#line 2 \"dir/x \\\"y\\\".stp\""));
        assert_eq!(function_line(&sources, span, ""), None);
        assert_eq!(function_line(&sources, span, "not there"), None);
        // The head's text is never taken for the body.
        let text = "function g(x)\n%{x%}\n";
        let file = sources.add("g.stp", text);
        let at = function_line(&sources, Span::new(file, 0, text.len()), "x");
        assert_eq!(at.as_deref(), Some("#line 2 \"g.stp\""));
    }

    #[test]
    fn statements_and_values_name_their_script_line() {
        let mut sources = SourceMap::new();
        let text = "probe begin {\n\tx = 1\n\t%{\n\tbad;\n\t%}\n\ty = %{ S_DEAD %}\n}\n";
        let file = sources.add("s.stp", text);
        let at = text.find("%{").unwrap();
        let stmt = statement(&sources, Span::new(file, at, at + 14), "\n\tbad;\n\t");
        assert_eq!(stmt, format!("#line 3 \"s.stp\"\n\n\tbad;\n\t\n{RESTORE}"));
        // Not found verbatim: left alone.
        assert_eq!(statement(&sources, Span::new(file, at, at + 14), "other"), "other");
        // The body of an expression's function has the code on its line 2.
        let at = text.rfind("%{").unwrap();
        let body = " /* pure */\n\tSTAP_RETVALUE = (int64_t)(S_DEAD);\n";
        assert_eq!(function_line(&sources, Span::new(file, at, at + 12), body).as_deref(), Some("#line 5 \"s.stp\""));
        assert_eq!(function_line(&sources, Span::new(file, at, at + 12), " /* pure */\n\tSTAP_RETVALUE = 2;\n"), None);
    }

    #[test]
    fn block_origins() {
        assert_eq!(block_line("a:b.stp:7").as_deref(), Some("#line 7 \"a:b.stp\""));
        assert_eq!(block_line("x.stp:\n#define A 1"), None);
        assert_eq!(block_line("the line table of the probed functions"), None);
        assert_eq!(block_line("nl\n.stp:3").as_deref(), Some("#line 3 \"nl\\n.stp\""));
    }
}
