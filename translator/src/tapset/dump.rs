//! `stap --dump-functions` and `stap --dump-probe-aliases`: the tapset
//! library's public functions and probe aliases.
//!
//! Input: the tapset directories (`-I DIR` first, then the default
//! library), parsed as for a script run. Output: on stdout, one line per
//! function in SystemTap's format, `name:type (arg:type, arg:type)` (a
//! function that returns no value, or a type that is not written, is
//! `unknown`), or one line per alias name, `name = point, point`; sorted
//! and without duplicates. Invariants: functions and aliases marked
//! `private`, and functions whose names start with `_` (the library's own
//! helpers), are not listed; a tapset that does not parse is reported on
//! stderr as in a script run, and the exit status is then 1.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::diag::{self, Diagnostics, SourceMap};
use crate::syntax::ast::{Item, TypeName};
use crate::syntax::print::print_probe_point;
use crate::syntax::ParseOptions;

/// What to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpKind {
    Functions,
    ProbeAliases,
}

fn type_name(t: &Option<TypeName>) -> &'static str {
    match t {
        Some(TypeName::Long) => "long",
        Some(TypeName::String) => "string",
        None => "unknown",
    }
}

/// The lines of the listing for the library in `dirs`, or the rendered
/// parse errors.
pub fn listing(dirs: &[PathBuf], kind: DumpKind) -> Result<Vec<String>, String> {
    let mut sources = SourceMap::new();
    let mut diags = Diagnostics::new();
    let popts = ParseOptions {
        arch: "x86_64".into(),
        runtime: "kernel".into(),
        privilege: "stapdev".into(),
        ..Default::default()
    };
    let library = super::load(dirs, &popts, &mut sources, &mut diags);
    if diags.has_errors() {
        return Err(diag::render(&sources, &diags));
    }
    let mut lines = BTreeSet::new();
    for file in &library.files {
        for item in &file.items {
            match (item, kind) {
                (Item::Function(f), DumpKind::Functions) if !f.private && !f.name.name.starts_with('_') => {
                    let params: Vec<String> =
                        f.params.iter().map(|p| format!("{}:{}", p.name.name, type_name(&p.ty))).collect();
                    lines.insert(format!("{}:{} ({})", f.name.name, type_name(&f.ret), params.join(", ")));
                }
                (Item::Alias(a), DumpKind::ProbeAliases) if !a.private => {
                    let points: Vec<String> = a.points.iter().map(print_probe_point).collect();
                    for n in &a.names {
                        lines.insert(format!("{} = {}", print_probe_point(n), points.join(", ")));
                    }
                }
                _ => {}
            }
        }
    }
    Ok(lines.into_iter().collect())
}

/// Prints the listing; returns the exit status.
pub fn run(includes: &[PathBuf], kind: DumpKind) -> i32 {
    let mut dirs = includes.to_vec();
    match super::default_dir() {
        Some(d) => dirs.push(d),
        None => {
            eprintln!("ERROR: the rstap tapset library was not found; set RSTAP_TAPSET_DIR");
            return 1;
        }
    }
    match listing(&dirs, kind) {
        Ok(lines) => {
            crate::stdout::print_lines(lines);
            0
        }
        Err(rendered) => {
            eprint!("{rendered}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn library(text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rstap-dump-{}-{}", std::process::id(), text.len()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("t.stp"), text).unwrap();
        dir
    }

    #[test]
    fn functions_in_systemtap_format() {
        let dir = library(
            "function b:string (x:long, s:string) { return s }\n\
             function a () { }\n\
             function c:long (u) { return 1 }\n\
             function __helper:long () { return 1 }\n\
             private function hidden:long () { return 1 }\n\
             probe my.alias = begin { v = 1 }\n",
        );
        let lines = listing(&[dir.clone()], DumpKind::Functions).unwrap();
        assert_eq!(lines, ["a:unknown ()", "b:string (x:long, s:string)", "c:long (u:unknown)"]);
        let aliases = listing(&[dir], DumpKind::ProbeAliases).unwrap();
        assert_eq!(aliases, ["my.alias = begin"]);
    }

    #[test]
    fn parse_errors_are_reported() {
        let dir = library("function broken( {\n");
        let err = listing(&[dir], DumpKind::Functions).unwrap_err();
        assert!(err.contains("error"), "{err}");
    }
}
