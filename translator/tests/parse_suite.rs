//! Runs the data-driven parser tests of `testsuite/`:
//!
//! - `testsuite/parseok/*.stp` must parse without errors, and the printed
//!   form (`print_file`) must parse back to the same tree (spans aside).
//! - `testsuite/parseko/*.stp` must fail, and the rendered diagnostics must
//!   equal `testsuite/parseko/NAME.stderr` exactly.
//!
//! To (re)generate the `.stderr` files after an intended change in a
//! message, run `RSTAP_BLESS=1 cargo test -p rstap --test parse_suite` and
//! review the diff (tests/bless_common: one switch for every suite). Every script is parsed with the script arguments
//! `100 vfs_read`, for an x86_64 6.1.0 kernel, runtime "kernel", guru mode
//! (`-g`), except a script whose name starts with `noguru_`, parsed without
//! it. `.stpm` macro files are tested too (as `NAME.stpm` + `NAME.stderr`).

mod bless_common;
mod parse_common;
use parse_common::without_spans;

use rstap::diag::{render, Diagnostics, SourceMap};
use rstap::syntax::{ast, parse_file, print_file, Macros, ParseOptions};
use std::path::{Path, PathBuf};

fn suite_dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("testsuite").join(kind)
}

fn scripts(kind: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(suite_dir(kind))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| matches!(p.extension().and_then(|x| x.to_str()), Some("stp" | "stpm")));
    v.sort();
    v
}

fn options(name: &str) -> ParseOptions {
    let mut o = ParseOptions { args: vec!["100".into(), "vfs_read".into()], ..parse_common::x86_64_6_1_options() };
    o.kconfig.insert("CONFIG_64BIT".into(), "y".into());
    let base = name.rsplit('/').next().unwrap_or(name);
    o.guru = !base.starts_with("noguru_");
    o
}

/// Parses `text` registered as `name`: the tree, or the rendered errors.
fn parse(name: &str, text: &str) -> Result<ast::File, String> {
    let mut sources = SourceMap::new();
    let mut diags = Diagnostics::new();
    let mut macros = Macros::default();
    let id = sources.add(name, text);
    match parse_file(&options(name), &mut macros, &mut sources, id, &mut diags) {
        Some(f) if !diags.has_errors() => Ok(f),
        _ => Err(render(&sources, &diags)),
    }
}


#[test]
fn parseok() {
    let files = scripts("parseok");
    assert!(files.len() >= 25, "expected at least 25 parseok scripts, found {}", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let name = format!("parseok/{}", path.file_name().unwrap().to_string_lossy());
        let text = std::fs::read_to_string(path).unwrap();
        match parse(&name, &text) {
            Err(e) => failures.push(format!("{} failed to parse:\n{}", name, e)),
            Ok(first) => {
                let printed = print_file(&first);
                match parse(&format!("{} (printed)", name), &printed) {
                    Err(e) => failures.push(format!("{}: printed form does not parse:\n{}\n{}", name, e, printed)),
                    Ok(second) => {
                        if without_spans(&first) != without_spans(&second) {
                            failures.push(format!("{}: round trip changed the tree; printed:\n{}", name, printed));
                        }
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn parseko() {
    let files = scripts("parseko");
    assert!(files.len() >= 20, "expected at least 20 parseko scripts, found {}", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let name = format!("parseko/{}", path.file_name().unwrap().to_string_lossy());
        let text = std::fs::read_to_string(path).unwrap();
        let got = match parse(&name, &text) {
            Ok(_) => {
                failures.push(format!("{} parsed, but must fail", name));
                continue;
            }
            Err(e) => e,
        };
        if let Some(f) = bless_common::check_exact(&path.with_extension("stderr"), &got) {
            failures.push(format!("{name}: diagnostics: {f}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
