//! `private` functions and globals: visible only inside the file that
//! declares them (SystemTap's rule, meant for tapset internals).
//!
//! Input: a name used while lowering code of `Elab::current_file`. Output:
//! the definition it means and the name it takes in the program (its key in
//! `function_ids`/`global_ids`, also its IR name, so the C names of two
//! files' same-named privates differ). Invariants: a file's own private
//! definition wins over a public one of the same name; a private
//! definition of another file is reported where it is used ("is private
//! to FILE") and then resolved anyway, so one misuse makes one error.

use super::{Def, Elab};
use crate::diag::{Diagnostic, Span};
use crate::syntax::ast;

impl<'a> Elab<'a> {
    pub(super) fn find_function(&mut self, name: &str, at: Option<Span>) -> Option<(String, Def<'a, ast::Function>)> {
        let file = self.current_file;
        if let Some(&def) = self.private_functions.get(&(file, name)) {
            let clash = self.functions.contains_key(name) || self.private_functions.keys().any(|&(f, n)| n == name && f != file);
            return Some((self.private_key(name, file, clash), def));
        }
        if let Some(&def) = self.functions.get(name) {
            return Some((name.to_string(), def));
        }
        let (&(owner, _), &def) = self.private_functions.iter().filter(|((_, n), _)| *n == name).min_by_key(|((f, _), _)| *f)?;
        self.report_private("function", name, owner, def.item.name.span, at);
        let clash = self.private_functions.keys().filter(|&&(_, n)| n == name).count() > 1;
        Some((self.private_key(name, owner, clash), def))
    }

    pub(super) fn find_global(&mut self, name: &str, at: Option<Span>) -> Option<(String, Def<'a, ast::Global>)> {
        let file = self.current_file;
        if let Some(&def) = self.private_globals.get(&(file, name)) {
            let clash = self.globals.contains_key(name) || self.private_globals.keys().any(|&(f, n)| n == name && f != file);
            return Some((self.private_key(name, file, clash), def));
        }
        if let Some(&def) = self.globals.get(name) {
            return Some((name.to_string(), def));
        }
        // A private global of another file is not visible at all: the name
        // is then an ordinary (new) local, as SystemTap treats it, but the
        // likely mistake is worth an error.
        let (&(owner, _), &def) = self.private_globals.iter().filter(|((_, n), _)| *n == name).min_by_key(|((f, _), _)| *f)?;
        self.report_private("global", name, owner, def.item.name.span, at);
        let clash = self.private_globals.keys().filter(|&&(_, n)| n == name).count() > 1;
        Some((self.private_key(name, owner, clash), def))
    }

    fn report_private(&mut self, what: &str, name: &str, owner: u32, declared: Span, at: Option<Span>) {
        let Some(at) = at else { return };
        let owner_name = self.sources.files.get(owner as usize).map(|f| f.name.as_str()).unwrap_or("?");
        let d = Diagnostic::error(
            format!("{what} `{name}` is private to {owner_name} and cannot be used from another file"),
            Some(at),
        )
        .with_label(declared, "declared `private` here");
        self.diags.push(d);
    }

    /// The program name of a private symbol: its own name unless another
    /// definition shares it, then one qualified by the declaring file's
    /// name (`__private_counter_count` for `count` of `lib/counter.stp`).
    fn private_key(&self, name: &str, file: u32, clash: bool) -> String {
        if !clash {
            return name.to_string();
        }
        let path = self.sources.files.get(file as usize).map(|f| f.name.as_str()).unwrap_or("");
        let base = path.rsplit('/').next().unwrap_or(path);
        let stem = base.split('.').next().unwrap_or(base);
        let stem: String = stem.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        format!("__private_{stem}_{name}")
    }
}
