//! dump: the tapset library's public names, for `--dump-functions` and
//! `--dump-probe-aliases`.
//!
//! Input: the parsed library files (pass 1 only: no types are inferred).
//! Output: one line per public function, `name:type (param:type, ...)`
//! with `unknown` where no type is declared (SystemTap's notation), and
//! one line per public probe alias name. Invariants: sorted and without
//! duplicates; `private` items and names starting with `_` (internal
//! helpers) are left out.

use super::ast::{File, Item, TypeName};
use super::print::print_probe_point;

fn type_name(t: Option<TypeName>) -> &'static str {
    match t {
        Some(TypeName::Long) => "long",
        Some(TypeName::String) => "string",
        None => "unknown",
    }
}

/// `--dump-functions`.
pub fn dump_functions(files: &[File]) -> String {
    let mut lines: Vec<String> = files
        .iter()
        .flat_map(|f| &f.items)
        .filter_map(|item| match item {
            Item::Function(f) if !f.private && !f.name.name.starts_with('_') => {
                let params: Vec<String> =
                    f.params.iter().map(|p| format!("{}:{}", p.name.name, type_name(p.ty))).collect();
                Some(format!("{}:{} ({})", f.name.name, type_name(f.ret), params.join(", ")))
            }
            _ => None,
        })
        .collect();
    lines.sort();
    lines.dedup();
    lines.into_iter().map(|l| l + "\n").collect()
}

/// `--dump-probe-aliases`.
pub fn dump_aliases(files: &[File]) -> String {
    let mut lines: Vec<String> = files
        .iter()
        .flat_map(|f| &f.items)
        .filter_map(|item| match item {
            Item::Alias(a) if !a.private => Some(a.names.iter().map(print_probe_point).collect::<Vec<_>>()),
            _ => None,
        })
        .flatten()
        .filter(|n| !n.starts_with('_'))
        .collect();
    lines.sort();
    lines.dedup();
    lines.into_iter().map(|l| l + "\n").collect()
}
