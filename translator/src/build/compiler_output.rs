//! What the C compiler said, as the user should read it.
//!
//! Input: the stderr of the Kbuild `make` run, the module's name and the
//! build directory. Output: the compiler's diagnostics with their
//! locations mapped back: code from a script or tapset (embedded C, which
//! codegen wraps in `#line` directives) is already named by its file and
//! line, and stays so; a location in the generated C (named by the path
//! Kbuild gave gcc, or by the bare `NAME.c` of the directives that restore
//! its numbering after embedded C) becomes the path of the generated file
//! in the build directory, which a failed build keeps; gcc's "In function
//! 'rstap_fn_NAME'" names the script function NAME.
//! Invariants: every line of gcc's own (message, source excerpt, caret) is
//! kept, in order; only make's bookkeeping lines ("make[1]: ***",
//! "Entering directory") are dropped.

use std::path::Path;

/// The compiler's lines from `stderr`, mapped back (see the module doc).
pub fn diagnostics(stderr: &str, module_name: &str, build_dir: &Path) -> Vec<String> {
    let generated = format!("{module_name}.c");
    let full = build_dir.join(&generated).display().to_string();
    stderr
        .lines()
        .filter(|l| !is_make_line(l))
        .map(|l| map_line(l, &generated, &full))
        .collect()
}

/// make's own lines: its errors about targets and its directory changes.
fn is_make_line(l: &str) -> bool {
    let Some(rest) = l.strip_prefix("make") else {
        return false;
    };
    let rest = rest.strip_prefix('[').map(|r| r.split_once("]:").map(|(_, r)| r).unwrap_or(r)).unwrap_or(rest);
    let rest = rest.strip_prefix(':').unwrap_or(rest).trim_start();
    rest.starts_with("***") || rest.starts_with("Entering directory") || rest.starts_with("Leaving directory")
}

/// One line with a location in the generated C named by its full path,
/// and `rstap_fn_NAME` named `NAME`; the function an embedded-C
/// expression became, and a probe's body, are named as what they are in
/// the script.
fn map_line(l: &str, generated: &str, full: &str) -> String {
    let mut l = l.to_string();
    if let Some(rest) = l.strip_prefix(&format!("{generated}:")) {
        l = format!("{full}:{rest}");
    }
    for (open, close) in [("'", "'"), ("\u{2018}", "\u{2019}")] {
        let head = format!(": In function {open}");
        let Some(at) = l.find(&head) else { continue };
        let name_at = at + head.len();
        let Some(len) = l[name_at..].find(&format!("{close}:")) else { continue };
        let name = &l[name_at..name_at + len];
        let what = if name.starts_with("rstap_fn___rstap_c_value_") {
            "In an embedded-C expression:".to_string()
        } else if name.strip_prefix("rstap_body_").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) {
            "In a probe's body:".to_string()
        } else if let Some(f) = name.strip_prefix("rstap_fn_") {
            format!("In function {open}{f}{close}:")
        } else {
            continue;
        };
        l = format!("{}: {what}", &l[..at]);
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_locations_stay_and_generated_ones_get_their_path() {
        let stderr = "\
make[2]: *** [/usr/src/h/scripts/Makefile.build:234: /tmp/b/m.o] Error 1
bad.stp: In function \u{2018}rstap_fn_broken\u{2019}:
bad.stp:8:22: error: \u{2018}x\u{2019} undeclared (first use in this function)
m.c:120:3: warning: unused variable 'y'
/tmp/b/m.c: In function 'rstap_probe_0':
    8 |  y = x;
      |      ^
make: *** [/usr/src/h/Makefile:236: __sub-make] Error 2
make[1]: Entering directory '/usr/src/h'
";
        assert_eq!(
            diagnostics(stderr, "m", Path::new("/tmp/b")),
            vec![
                "bad.stp: In function \u{2018}broken\u{2019}:",
                "bad.stp:8:22: error: \u{2018}x\u{2019} undeclared (first use in this function)",
                "/tmp/b/m.c:120:3: warning: unused variable 'y'",
                "/tmp/b/m.c: In function 'rstap_probe_0':",
                "    8 |  y = x;",
                "      |      ^",
            ]
        );
    }

    #[test]
    fn embedded_expressions_and_probe_bodies_are_named_as_in_the_script() {
        let stderr = "\
s.stp: In function \u{2018}rstap_fn___rstap_c_value_ff077dd3911fde10\u{2019}:
s.stp:5:28: error: \u{2018}v\u{2019} undeclared (first use in this function)
s.stp: In function 'rstap_body_12':
s.stp: In function 'rstap_body_x':
s.stp: In function 'other':
";
        assert_eq!(
            diagnostics(stderr, "m", Path::new("/tmp/b")),
            vec![
                "s.stp: In an embedded-C expression:",
                "s.stp:5:28: error: \u{2018}v\u{2019} undeclared (first use in this function)",
                "s.stp: In a probe's body:",
                "s.stp: In function 'rstap_body_x':",
                "s.stp: In function 'other':",
            ]
        );
    }

    #[test]
    fn only_makes_own_lines_are_dropped() {
        assert!(is_make_line("make: *** [Makefile:236: __sub-make] Error 2"));
        assert!(is_make_line("make[1]: Leaving directory '/x'"));
        assert!(!is_make_line("makefile.stp:3:1: error: expected ';'"));
        assert!(!is_make_line("make.stp:3:1: error: x"));
    }
}
