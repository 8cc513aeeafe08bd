//! testsuite/semok and testsuite/semko: pass 2 (`stap -p2`) on scripts.
//!
//! `semok/NAME.stp` must elaborate (exit 0, no errors); if
//! `semok/NAME.stdout` exists, the `-p2` listing must equal it (with
//! RSTAP_BLESS=1, existing `.stdout` snapshots are rewritten). `semko/NAME.stp`
//! must fail with exit 1 and print exactly `semko/NAME.stderr`: the
//! rendered diagnostic is the specification of what the user sees. Optional
//! `NAME.flags` add stap flags (e.g. `-g`). Scripts run from their own
//! directory so locations read `NAME.stp:LINE:COL`. RSTAP_BLESS=1 writes the
//! `.stderr` snapshots from the current output (tests/bless_common; read
//! them before committing).

mod bless_common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn scripts(dir: &str) -> (PathBuf, Vec<String>) {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testsuite").join(dir);
    let mut names: Vec<String> = std::fs::read_dir(&d)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".stp"))
        .collect();
    names.sort();
    (d, names)
}

fn stap_p2(dir: &Path, name: &str) -> std::process::Output {
    let flags: Vec<String> = std::fs::read_to_string(dir.join(name.replace(".stp", ".flags")))
        .map(|f| f.split_whitespace().map(String::from).collect())
        .unwrap_or_default();
    Command::new(env!("CARGO_BIN_EXE_stap"))
        .current_dir(dir)
        // No kernel symbol table: these cases are about the language.
        .args(["-p2", "-r", "0.0.0-semtest"])
        .args(&flags)
        .arg(name)
        .output()
        .expect("run stap")
}

#[test]
fn semok_scripts_elaborate() {
    let (dir, names) = scripts("semok");
    assert!(names.len() >= 5);
    let mut failures = Vec::new();
    for n in &names {
        let o = stap_p2(&dir, n);
        let err = String::from_utf8_lossy(&o.stderr);
        if o.status.code() != Some(0) || err.contains("error") {
            failures.push(format!("{n}: status {:?}\n{err}", o.status.code()));
            continue;
        }
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        if let Some(f) = bless_common::check_if_present(&dir.join(n.replace(".stp", ".stdout")), &out) {
            failures.push(format!("{n}: -p2 listing: {f}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn semko_scripts_fail_with_their_exact_diagnostic() {
    let (dir, names) = scripts("semko");
    assert!(names.len() >= 15);
    let mut failures = Vec::new();
    for n in &names {
        let o = stap_p2(&dir, n);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        if o.status.code() != Some(1) && !bless_common::blessing() {
            failures.push(format!("{n}: expected exit 1, got {:?}\n{err}", o.status.code()));
            continue;
        }
        if let Some(f) = bless_common::check_exact(&dir.join(n.replace(".stp", ".stderr")), &err) {
            failures.push(format!("{n}: diagnostic: {f}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
