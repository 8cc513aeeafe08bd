//! `stap -w` (man stap: suppress warnings): a script with a translator
//! warning prints it without -w and nothing with it; errors still print.
//!
//! Input: scripts given with -e to the real `stap` binary, -p2. Output:
//! its exact stderr. Invariant: -w never hides an error.

use std::process::Command;

fn stap(args: &[&str]) -> (String, bool) {
    let out = Command::new(env!("CARGO_BIN_EXE_stap")).args(args).output().unwrap();
    (String::from_utf8_lossy(&out.stderr).into_owned(), out.status.success())
}

const UNUSED: &str = "global x\nprobe begin { exit() }";

#[test]
fn warnings_print_without_w() {
    let (err, ok) = stap(&["-p2", "-e", UNUSED]);
    assert!(ok);
    assert!(err.starts_with("warning: eliding unused variable `x`\n"), "{err}");
}

#[test]
fn w_suppresses_warnings() {
    let (err, ok) = stap(&["-w", "-p2", "-e", UNUSED]);
    assert!(ok);
    assert_eq!(err, "");
}

#[test]
fn w_keeps_errors() {
    let (err, ok) = stap(&["-w", "-p2", "-e", "global x\nprobe begin { y = nosuch() }"]);
    assert!(!ok);
    assert!(err.contains("error: unresolved function call to `nosuch`"), "{err}");
    assert!(!err.contains("warning:"), "{err}");
}
