//! Where embedded C came from, told to the C compiler with `#line`.
//!
//! Input: the source map, an embedded-C function (its span and its code)
//! or a top-level `%{ %}` block (its "FILE:LINE" origin). Output: the
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
    let at = span.lo as usize + text.get(span.lo as usize..)?.find(&format!("%{{{code}%}}"))? + 2;
    let (line, _) = sources.line_col(span.file, at as u32);
    Some(directive(sources.name(span.file), line))
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
    fn block_origins() {
        assert_eq!(block_line("a:b.stp:7").as_deref(), Some("#line 7 \"a:b.stp\""));
        assert_eq!(block_line("x.stp:\n#define A 1"), None);
        assert_eq!(block_line("the line table of the probed functions"), None);
        assert_eq!(block_line("nl\n.stp:3").as_deref(), Some("#line 3 \"nl\\n.stp\""));
    }
}
