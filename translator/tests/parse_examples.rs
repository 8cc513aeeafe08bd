//! Parses every example script of Debian's systemtap-doc
//! (/usr/share/systemtap/examples/**/*.stp), with the tapset `.stpm`
//! macros loaded, as user scripts: the language people actually write.
//! Each script gets the arguments of its `.meta` file's `test_check:`
//! line; failing that, nine "1"s; failing that, nine
//! `kernel.function("vfs_read")` (for `probe $1 { }`).
//! Skipped with a note if the directory is missing.

mod parse_common;
use parse_common::without_spans;

use rstap::diag::{render, Diagnostics, SourceMap};
use rstap::syntax::{parse_file, print_file, Macros, ParseOptions};
use std::path::{Path, PathBuf};

fn collect(dir: &Path, ext: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, ext, out);
        } else if ext.contains(&p.extension().and_then(|x| x.to_str()).unwrap_or("")) {
            out.push(p);
        }
    }
}

/// Examples that are not valid scripts on purpose.
const KNOWN_BAD: &[&str] = &[
    // A template with `{...}` placeholders.
    "security-band-aids/security-bandaid-template.stp",
];

/// The script arguments of the example's `.meta` `test_check:` line.
fn meta_args(script: &Path) -> Option<Vec<String>> {
    let meta = std::fs::read_to_string(script.with_extension("meta")).ok()?;
    let line = meta.lines().find_map(|l| l.strip_prefix("test_check:"))?;
    let words = shell_words(line);
    let at = words.iter().position(|w| w.ends_with(".stp"))?;
    Some(words[at + 1..].iter().take_while(|w| !w.starts_with('-')).cloned().collect())
}

/// Splits a command line like a POSIX shell (quotes only, no escapes).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        words.push(cur);
    }
    words
}

#[test]
fn every_example_parses() {
    let examples = Path::new("/usr/share/systemtap/examples");
    let tapsets = Path::new("/usr/share/systemtap/tapset");
    if !examples.is_dir() || !tapsets.is_dir() {
        eprintln!("note: systemtap examples or tapsets missing; skipping");
        return;
    }
    let mut opts = ParseOptions { args: vec!["1".to_string(); 9], ..parse_common::x86_64_6_1_options() };
    opts.kconfig.insert("CONFIG_64BIT".into(), "y".into());
    let mut sources = SourceMap::new();
    let mut macros = Macros::default();
    let mut stpm = Vec::new();
    collect(tapsets, &["stpm"], &mut stpm);
    stpm.sort();
    for p in &stpm {
        let id = sources.add(p.display().to_string(), std::fs::read_to_string(p).unwrap_or_default());
        let mut diags = Diagnostics::new();
        parse_file(&opts, &mut macros, &mut sources, id, &mut diags);
    }
    let mut scripts = Vec::new();
    collect(examples, &["stp"], &mut scripts);
    scripts.sort();
    let mut failed = Vec::new();
    let mut round_trip_failed = Vec::new();
    for p in &scripts {
        let Ok(text) = std::fs::read_to_string(p) else { continue };
        let id = sources.add(p.display().to_string(), text);
        let mut diags = Diagnostics::new();
        // The arguments the example's .meta runs it with, else "1"s, else
        // probe points (for `probe $1 { }`).
        let mut candidates = Vec::new();
        if let Some(mut args) = meta_args(p) {
            args.resize(9, "1".to_string());
            candidates.push(args);
        }
        candidates.push(vec!["1".to_string(); 9]);
        candidates.push(vec!["kernel.function(\"vfs_read\")".to_string(); 9]);
        let mut ok = false;
        for args in candidates {
            let mut o = opts.clone();
            o.args = args;
            // Each script sees the library macros, not the other scripts' ones.
            let mut m = macros.clone();
            let mut d = Diagnostics::new();
            if let Some(tree) = parse_file(&o, &mut m, &mut sources, id, &mut d) {
                if !d.has_errors() {
                    ok = true;
                    // The printed form parses back to the same tree.
                    let printed = print_file(&tree);
                    let again_id = sources.add(format!("{} (printed)", p.display()), printed.clone());
                    let mut m = macros.clone();
                    let again = parse_file(&o, &mut m, &mut sources, again_id, &mut d);
                    if again.as_ref().map(without_spans) != Some(without_spans(&tree)) {
                        eprintln!("ROUND TRIP FAILED {}\n{}\n{}", p.display(), render(&sources, &d), printed);
                        round_trip_failed.push(p.display().to_string());
                    }
                    break;
                }
            }
            diags.list.extend(d.list);
        }
        if !ok && KNOWN_BAD.iter().any(|k| p.ends_with(k)) {
            continue;
        }
        if !ok {
            let name = p.display().to_string();
            eprintln!("FAILED {}\n{}", name, render(&sources, &diags));
            failed.push(name);
        }
    }
    eprintln!("parsed {} example scripts, {} failed", scripts.len(), failed.len());
    assert!(failed.is_empty(), "failed: {:?}", failed);
    assert!(round_trip_failed.is_empty(), "round trip failed: {:?}", round_trip_failed);
}

