//! The one bless mechanism of the data-driven suites (parse_suite,
//! sem_suite, runok, transok).
//!
//! Input: `RSTAP_BLESS=1` in the environment, and for each case the
//! output a test got plus the file that holds what it must be. Output:
//! with `RSTAP_BLESS=1` the file is (re)written from the output and the
//! case passes; without it the file is compared and a mismatch or a
//! missing file is a failure message that says how to bless. Insta
//! snapshots (transok) follow the same switch: `RSTAP_BLESS=1` makes
//! insta write them (`INSTA_UPDATE=always`), otherwise insta compares
//! and never writes in place. Invariant: nothing but `RSTAP_BLESS=1`
//! writes an expected file, and a blessed run always says what it wrote.

#![allow(dead_code)]

use std::path::Path;

/// True when the run was asked to write the expected files
/// (`RSTAP_BLESS=1`; any other value, or none, compares).
pub fn blessing() -> bool {
    std::env::var("RSTAP_BLESS").is_ok_and(|v| v == "1")
}

/// Compares `got` with the file `want`, with `same` deciding equality
/// (exact, or with placeholders such as runok's `{N}`). Blessing writes
/// `got` to `want` instead. Returns the failure, if any.
pub fn check_file(want: &Path, got: &str, same: impl Fn(&str, &str) -> bool) -> Option<String> {
    if blessing() {
        bless_write(want, got);
        return None;
    }
    match std::fs::read_to_string(want) {
        Ok(w) if same(&w, got) => None,
        Ok(w) => Some(format!("{} differs\n--- expected\n{w}--- actual\n{got}", want.display())),
        Err(_) => Some(format!("{} is missing (RSTAP_BLESS=1 writes it from this output)\n--- actual\n{got}", want.display())),
    }
}

/// Writes the expected file `want` from `got` (only while blessing; says
/// so when it changes a file).
pub fn bless_write(want: &Path, got: &str) {
    assert!(blessing(), "an expected file is written only with RSTAP_BLESS=1");
    if std::fs::read_to_string(want).ok().as_deref() != Some(got) {
        std::fs::write(want, got).unwrap_or_else(|e| panic!("cannot bless {}: {e}", want.display()));
        eprintln!("blessed {}", want.display());
    }
}

/// `check_file` with exact comparison.
pub fn check_exact(want: &Path, got: &str) -> Option<String> {
    check_file(want, got, |a, b| a == b)
}

/// Like `check_exact`, but a case without the file is not compared (and
/// blessing does not create one): for snapshots a suite holds only for
/// some cases.
pub fn check_if_present(want: &Path, got: &str) -> Option<String> {
    if !want.exists() {
        return None;
    }
    check_exact(want, got)
}

/// Makes insta follow `RSTAP_BLESS`: call once before the first snapshot
/// assertion, from a test that runs its cases in one thread.
pub fn insta_follow_bless() {
    // SAFETY (edition 2021: set_var is safe): one test thread sets it
    // before any assertion reads it.
    if blessing() {
        std::env::set_var("INSTA_UPDATE", "always");
    } else if std::env::var_os("INSTA_UPDATE").is_none() {
        std::env::set_var("INSTA_UPDATE", "no");
    }
}
