//! Pass 2.1, resolve symbols: the definitions of the script and the tapset
//! library, indexed by name.
//!
//! Input: the user's `ast::File`s and the tapset library's. Output: a
//! [`SymbolTable`]: every function, global and probe alias by name (the
//! user's own override the library's), and the `private` ones by
//! (declaring file, name), and every definition of an overloaded function
//! name. Invariants: a global declared twice in the user's script is one
//! error at the second definition, labelled at the first; overloads that
//! disagree on declared types are an error (`overload`); embedded C at the top of a user
//! script without -g is an error here; nothing is lowered yet (the table
//! only borrows the AST), so the library costs nothing until it is used.

use std::collections::HashMap;

use super::ElabOptions;
use crate::diag::{Diagnostic, Diagnostics};
use crate::syntax::ast;

/// Where a definition came from: the user's script or the tapset library.
pub struct Def<'a, T> {
    pub item: &'a T,
    pub from_tapset: bool,
}

impl<T> Clone for Def<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Def<'_, T> {}

/// The files pass 2 reads.
#[derive(Clone, Copy)]
pub struct Files<'a> {
    pub user: &'a [ast::File],
    pub tapsets: &'a [ast::File],
}

/// Every definition visible to the script, by name.
#[derive(Default)]
pub struct SymbolTable<'a> {
    /// The last definition of each name (the user's over the library's).
    pub functions: HashMap<&'a str, Def<'a, ast::Function>>,
    /// Every public definition of each name, in definition order (tapsets
    /// first): the overloads of the name.
    pub overloads: HashMap<&'a str, Vec<Def<'a, ast::Function>>>,
    pub globals: HashMap<&'a str, Def<'a, ast::Global>>,
    /// The library's own public globals, which its functions see even
    /// where the user's script declares a global of the same name.
    pub tapset_globals: HashMap<&'a str, Def<'a, ast::Global>>,
    /// In definition order: tapset aliases first, then the user's.
    pub aliases: Vec<Def<'a, ast::ProbeAlias>>,
    /// `private` functions and globals, by (declaring file, name).
    pub private_functions: HashMap<(u32, &'a str), Def<'a, ast::Function>>,
    pub private_globals: HashMap<(u32, &'a str), Def<'a, ast::Global>>,
}

/// Builds the symbol table. Always returns one: a duplicate definition is
/// reported and the later one wins, so later passes still check the rest.
pub fn resolve_symbols<'a>(opts: &ElabOptions, files: &Files<'a>, diags: &mut Diagnostics) -> Option<SymbolTable<'a>> {
    let mut t = SymbolTable::default();
    // Tapset definitions first, so that the user's own override them.
    for (files, from_tapset) in [(files.tapsets, true), (files.user, false)] {
        for file in files {
            for item in &file.items {
                match item {
                    ast::Item::Function(f) if f.private => {
                        t.private_functions.insert((f.span.file, &f.name.name), Def { item: f, from_tapset });
                    }
                    ast::Item::Global(g) if g.private => {
                        t.private_globals.insert((g.span.file, &g.name.name), Def { item: g, from_tapset });
                    }
                    // A second definition of a name is an overload (by
                    // arity, or run-time with `next`): see `overload`.
                    ast::Item::Function(f) if super::overload::check_overload(&t, f, diags) => {
                        t.overloads.entry(&f.name.name).or_default().push(Def { item: f, from_tapset });
                        t.functions.insert(&f.name.name, Def { item: f, from_tapset });
                    }
                    ast::Item::Function(_) => {}
                    ast::Item::Global(g) => {
                        if let Some(prev) = t.globals.get(g.name.name.as_str()).filter(|p| !from_tapset && !p.from_tapset) {
                            diags.push(
                                Diagnostic::error(format!("global `{}` is declared twice", g.name.name), Some(g.name.span))
                                    .with_label(prev.item.name.span, "first declared here"),
                            );
                        }
                        t.globals.insert(&g.name.name, Def { item: g, from_tapset });
                        if from_tapset {
                            t.tapset_globals.insert(&g.name.name, Def { item: g, from_tapset });
                        }
                    }
                    ast::Item::Alias(a) => t.aliases.push(Def { item: a, from_tapset }),
                    ast::Item::Embedded(c) if !from_tapset && !opts.guru => {
                        diags.error("embedded C code needs guru mode (-g)", c.span);
                    }
                    _ => {}
                }
            }
        }
    }
    Some(t)
}
