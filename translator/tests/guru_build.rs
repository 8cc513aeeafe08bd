//! Guru mode's build side: a C compiler error inside embedded C (a
//! function, a top-level block, a `%{ %}` statement or expression in a
//! body) is reported against the script (or tapset) file and line it came from,
//! with gcc's message; the generated file's own line numbers are restored
//! after each embedded block; `-D` and `-B` reach the build; and
//! `--suppress-time-limits` lifts the statement budget only under `-g`.
//! The `-p4` tests build against the newest installed kernel headers
//! (tests/headers_common; scripts/test installs the testbed's).

mod headers_common;
use headers_common::headers_release;
use std::path::Path;
use std::process::{Command, Output};

fn stap(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stap")).current_dir(dir).args(args).output().expect("run stap")
}

fn release() -> String {
    headers_release().expect("no kernel headers under /usr/src: run scripts/test, which installs the testbed's")
}

/// stderr with gcc's typographic quotes (it follows the locale) as `'`.
fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).replace(['\u{2018}', '\u{2019}'], "'")
}

/// `stap -p4 --disable-cache -r REL -m NAME ARGS...` in `dir`.
fn p4(dir: &Path, name: &str, args: &[&str]) -> Output {
    let rel = release();
    let mut all = vec!["-p4", "--disable-cache", "-r", &rel, "-m", name];
    all.extend_from_slice(args);
    stap(dir, &all)
}

/// The lines of `err` that are gcc's located messages (FILE:LINE:COL: ...).
fn located(err: &str) -> Vec<&str> {
    err.lines().filter(|l| l.contains(": error: ") || l.contains(": warning: ") || l.contains(": note: ")).collect()
}

const BROKEN: &str = "\
# embedded C with a mistake on line 8
function ok:long () %{
\tSTAP_RETVALUE = 1;
%}

function broken:long (x:long) %{ /* pure */
\tint y = STAP_ARG_x;
\tSTAP_RETVALUE = y + undeclared_thing;
%}

probe begin { println(ok() + broken(2)) exit() }
";

#[test]
fn an_error_in_an_embedded_function_names_the_script_line() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("broken.stp"), BROKEN).unwrap();
    let o = p4(d.path(), "broken", &["-g", "broken.stp"]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    let first = e.lines().next().unwrap();
    assert!(first.starts_with("ERROR: module build failed (kernel "), "{e}");
    assert!(e.lines().any(|l| l == "broken.stp: In function 'broken':"), "{e}");
    assert_eq!(
        located(&e),
        vec![
            "broken.stp:8:22: error: 'undeclared_thing' undeclared (first use in this function)",
            "broken.stp:8:22: note: each undeclared identifier is reported only once for each function it appears in",
        ],
        "{e}"
    );
    assert!(!e.contains("make"), "make's own lines are dropped:\n{e}");
}

#[test]
fn an_error_in_a_top_level_block_and_in_a_tapset_names_their_files() {
    let d = tempfile::tempdir().unwrap();
    let lib = d.path().join("lib");
    std::fs::create_dir(&lib).unwrap();
    // A tapset's embedded C needs no -g; its error names the tapset file.
    std::fs::write(lib.join("mine.stp"), "// a team tapset\n\nfunction team_value:long () %{\n\tSTAP_RETVALUE = 7\n%}\n").unwrap();
    std::fs::write(d.path().join("user.stp"), "probe begin { println(team_value()) exit() }\n").unwrap();
    let o = p4(d.path(), "tapset_err", &["-I", "lib", "user.stp"]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    // The tapset is named as its -I directory was given.
    assert!(e.lines().any(|l| l == "lib/mine.stp: In function 'team_value':"), "{e}");
    assert_eq!(located(&e), vec!["lib/mine.stp:4:19: error: expected ';' before '}' token"], "{e}");

    // A top-level %{ %} block of the script: its #error is on line 3.
    std::fs::write(d.path().join("block.stp"), "# top-level C\n%{\n#error \"rstap block error\"\n%}\nprobe begin { exit() }\n").unwrap();
    let o = p4(d.path(), "block_err", &["-g", "block.stp"]);
    let e = stderr(&o);
    assert_eq!(located(&e), vec!["block.stp:3:2: error: #error \"rstap block error\""], "{e}");
}

#[test]
fn the_generated_file_numbers_its_own_lines_after_embedded_c() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("broken.stp"), BROKEN).unwrap();
    let o = stap(d.path(), &["-p3", "-g", "-m", "numbered", "broken.stp"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let c = String::from_utf8(o.stdout).unwrap();
    let mut to_script = 0;
    let mut restored = 0;
    for (i, l) in c.lines().enumerate() {
        if let Some(rest) = l.strip_prefix("#line ") {
            let (n, file) = rest.split_once(' ').unwrap();
            let n: usize = n.parse().unwrap();
            if file == "\"numbered.c\"" {
                // The next line (number i + 2) is numbered as itself.
                assert_eq!(n, i + 2, "line {}: {l}", i + 1);
                restored += 1;
            } else if file == "\"broken.stp\"" {
                to_script += 1;
                assert!([2, 6].contains(&n), "{l}");
            }
        }
    }
    assert_eq!(to_script, 2, "{c}");
    // Every directive to a script or tapset line has its restore.
    let directives = c.lines().filter(|l| l.starts_with("#line ")).count();
    assert_eq!(directives, 2 * restored, "{c}");
    assert!(!c.contains("RSTAP_RESTORE_LINE"), "every marker is replaced");
}

const STMT_AND_VALUE: &str = "\
# embedded C statement and expression with mistakes
probe begin {
\tx = 1
\t%{ int z = undeclared_stmt; (void)z; %}
\ty = %{ undeclared_value %}
\tprintln(x + y)
\texit()
}
";

#[test]
fn an_error_in_an_embedded_statement_or_expression_names_the_script_line() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("stmt.stp"), STMT_AND_VALUE).unwrap();
    let o = p4(d.path(), "stmt", &["-g", "stmt.stp"]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.lines().any(|l| l == "stmt.stp: In a probe's body:"), "{e}");
    assert!(e.lines().any(|l| l == "stmt.stp: In an embedded-C expression:"), "{e}");
    // (gcc's note comes once, after the first of the two errors it emits.)
    let mut got = located(&e);
    got.sort();
    assert_eq!(
        got,
        vec![
            "stmt.stp:4:10: error: 'undeclared_stmt' undeclared (first use in this function)",
            "stmt.stp:5:28: error: 'undeclared_value' undeclared (first use in this function)",
            "stmt.stp:5:28: note: each undeclared identifier is reported only once for each function it appears in",
        ],
        "{e}"
    );
}

/// A block that compiles only when the build defines RSTAP_GURU_PROBE=42.
const NEEDS_DEFINE: &str = "%{\n#if !defined(RSTAP_GURU_PROBE) || RSTAP_GURU_PROBE != 42\n#error \"RSTAP_GURU_PROBE is not 42\"\n#endif\n%}\nprobe begin { exit() }\n";

#[test]
fn minus_d_and_minus_b_reach_the_build() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("needs.stp"), NEEDS_DEFINE).unwrap();
    let o = p4(d.path(), "needs_none", &["-g", "needs.stp"]);
    assert_eq!(located(&stderr(&o)), vec!["needs.stp:3:2: error: #error \"RSTAP_GURU_PROBE is not 42\""]);
    let o = p4(d.path(), "needs_d", &["-g", "-D", "RSTAP_GURU_PROBE=42", "needs.stp"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(d.path().join("needs_d.ko").is_file());
    // -B NAME=VALUE is a make variable of the Kbuild run: KCFLAGS reaches gcc.
    let o = p4(d.path(), "needs_b", &["-g", "-B", "KCFLAGS=-DRSTAP_GURU_PROBE=42", "needs.stp"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(d.path().join("needs_b.ko").is_file());
}

#[test]
fn bad_minus_b_is_refused_before_anything_runs() {
    let d = tempfile::tempdir().unwrap();
    for (arg, want) in [
        ("KCFLAGS=$(shell touch x)", "ERROR: invalid -B value for KCFLAGS: `$` may not appear in it (a value is letters, digits and `_-+=.,:/@%`)\n"),
        ("A=b c", "ERROR: invalid -B value for A: ` ` may not appear in it (a value is letters, digits and `_-+=.,:/@%`)\n"),
        ("CONFIG_X", "ERROR: invalid -B `CONFIG_X`: expected NAME=VALUE, such as -B CONFIG_DEBUG_INFO=y\n"),
        (
            "1X=y",
            "ERROR: invalid -B variable name `1X`: use letters, digits and `_`, not starting with a digit (in `-B 1X=y`)\n",
        ),
    ] {
        let o = stap(d.path(), &["-p4", "-B", arg, "-e", "probe begin { exit() }"]);
        assert_eq!(o.status.code(), Some(1));
        assert_eq!(stderr(&o), want);
        assert!(o.stdout.is_empty());
    }
    assert!(!d.path().join("x").exists());
}

#[test]
fn suppress_time_limits_needs_g_and_lifts_the_budgets() {
    let d = tempfile::tempdir().unwrap();
    let o = stap(d.path(), &["-p3", "--suppress-time-limits", "-e", "probe begin { exit() }"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o), "ERROR: --suppress-time-limits requires guru mode (-g)\n");
    assert!(o.stdout.is_empty());

    let o = stap(d.path(), &["-p3", "-g", "--suppress-time-limits", "-e", "probe begin { exit() }"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let c = String::from_utf8(o.stdout).unwrap();
    for line in ["#define MAXACTION LONG_MAX", "#define MAXACTION_INTERRUPTIBLE LONG_MAX", "#define MAXTRYLOCK INT_MAX"] {
        assert!(c.lines().any(|l| l == line), "no `{line}`");
    }
    // A -D that sets one of them wins.
    let o = stap(d.path(), &["-p3", "-g", "--suppress-time-limits", "-DMAXACTION=5000", "-e", "probe begin { exit() }"]);
    let c = String::from_utf8(o.stdout).unwrap();
    assert!(c.lines().any(|l| l == "#define MAXACTION 5000"));
    assert!(!c.contains("#define MAXACTION LONG_MAX"));
    assert!(c.lines().any(|l| l == "#define MAXTRYLOCK INT_MAX"));
    // Without the option nothing is lifted.
    let o = stap(d.path(), &["-p3", "-g", "-e", "probe begin { exit() }"]);
    assert!(!String::from_utf8(o.stdout).unwrap().contains("LONG_MAX"));
}
