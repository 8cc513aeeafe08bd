//! Names while lowering: a use of a function or global pulls its
//! definition into the program (`function_index`, `global_index`), and
//! `private` ones are visible only inside the file that declares them
//! (SystemTap's rule, meant for tapset internals).
//!
//! Input: a name used while lowering code of `Lowerer::current_file`. Output:
//! the definition it means and the name it takes in the program (its key in
//! `function_ids`/`global_ids`, also its IR name, so the C names of two
//! files' same-named privates differ). Invariants: a file's own private
//! definition wins over a public one of the same name; a private
//! definition of another file is reported where it is used ("is private
//! to FILE") and then resolved anyway, so one misuse makes one error.

use super::lower::Lowerer;
use super::resolve::Def;
use crate::diag::{Diagnostic, Span};
use crate::ir::{self, Type};
use crate::syntax::ast;

impl<'a> Lowerer<'a> {
    /// The index of a global, pulling a tapset global into the program.
    pub fn global_index(&mut self, name: &str) -> Option<usize> {
        self.global_index_at(name, None)
    }

    /// `global_index` for a use at `at` (private globals of other files
    /// are reported there).
    pub fn global_index_at(&mut self, name: &str, at: Option<crate::diag::Span>) -> Option<usize> {
        let (key, def) = self.find_global(name, at)?;
        if let Some(&i) = self.global_ids.get(&key) {
            return Some(i);
        }
        let name = key.as_str();
        let g = def.item;
        let init = g.init.as_ref().map(|l| match l {
            ast::Literal::Number(n) => ir::Init::Long(*n),
            ast::Literal::String(s) => ir::Init::String(s.clone()),
        });
        let ty = match &init {
            Some(ir::Init::Long(_)) => Type::Long,
            Some(ir::Init::String(_)) => Type::String,
            None => Type::Unknown,
        };
        let idx = self.prog.globals.len();
        let mut global = ir::Global::scalar(name, ty, init, g.name.span);
        if g.is_array || g.size.is_some() || g.wrap {
            if global.init.is_some() {
                self.diags.error(format!("array `{name}` cannot have an initial value"), g.span);
            }
            // The arity is settled by the first use (`arrays::use_array`).
            global.keys = Some(Vec::new());
            global.max_entries = g.size;
            global.wrap = g.wrap;
            if g.size == Some(0) {
                self.diags.error(format!("array `{name}` must have room for at least one entry"), g.span);
            }
            if let Some(Err(e)) = g.size.map(|n| crate::limits::check_array_size(name, n)) {
                self.diags.error(e, g.span);
            }
        }
        self.prog.globals.push(global);
        self.global_ids.insert(key, idx);
        Some(idx)
    }

    /// The index of a function, queueing its body for lowering.
    pub fn function_index(&mut self, name: &str) -> Option<usize> {
        self.function_index_at(name, None)
    }

    /// `function_index` for a call at `at`.
    pub fn function_index_at(&mut self, name: &str, at: Option<crate::diag::Span>) -> Option<usize> {
        let (key, def) = self.find_function(name, at)?;
        Some(self.add_function(key, def))
    }

    /// The index of the function `def` under program name `key`, adding
    /// it (and queueing its body) if it is new.
    pub(super) fn add_function(&mut self, key: String, def: Def<'a, ast::Function>) -> usize {
        if let Some(&i) = self.function_ids.get(&key) {
            return i;
        }
        let name = key.as_str();
        let f = def.item;
        let idx = self.prog.functions.len();
        let mut locals = Vec::new();
        for p in &f.params {
            locals.push(ir::Local {
                name: p.name.name.clone(),
                ty: p.ty.map(super::lower::type_of).unwrap_or(Type::Unknown),
                span: p.name.span,
            });
        }
        self.prog.functions.push(ir::Function {
            name: name.to_string(),
            params: f.params.len(),
            locals,
            ret: f.ret.map(super::lower::type_of).unwrap_or(Type::Unknown),
            body: ir::FunctionBody::Embedded(String::new()),
            span: f.span,
        });
        self.function_ids.insert(key, idx);
        self.pending.push((idx, def));
        idx
    }

    pub(super) fn lower_pending_functions(&mut self) {
        while let Some((idx, def)) = self.pending.pop() {
            self.current_file = def.item.span.file;
            self.lower_function(idx, def.item, def.from_tapset);
        }
    }
}


impl<'a> Lowerer<'a> {
    pub(super) fn find_function(&mut self, name: &str, at: Option<Span>) -> Option<(String, Def<'a, ast::Function>)> {
        let file = self.current_file;
        if let Some(&def) = self.table.private_functions.get(&(file, name)) {
            let clash = self.table.functions.contains_key(name) || self.table.private_functions.keys().any(|&(f, n)| n == name && f != file);
            return Some((self.private_key(name, file, clash), def));
        }
        if let Some(&def) = self.table.functions.get(name) {
            return Some((name.to_string(), def));
        }
        let (&(owner, _), &def) = self.table.private_functions.iter().filter(|((_, n), _)| *n == name).min_by_key(|((f, _), _)| *f)?;
        self.report_private("function", name, owner, def.item.name.span, at);
        let clash = self.table.private_functions.keys().filter(|&&(_, n)| n == name).count() > 1;
        Some((self.private_key(name, owner, clash), def))
    }

    pub(super) fn find_global(&mut self, name: &str, at: Option<Span>) -> Option<(String, Def<'a, ast::Global>)> {
        let file = self.current_file;
        if let Some(&def) = self.table.private_globals.get(&(file, name)) {
            let clash = self.table.globals.contains_key(name) || self.table.private_globals.keys().any(|&(f, n)| n == name && f != file);
            return Some((self.private_key(name, file, clash), def));
        }
        if self.in_tapset_function {
            if let Some(&def) = self.table.tapset_globals.get(name) {
                // The user's global of the same name is another variable.
                let shadowed = self.table.globals.get(name).is_some_and(|d| !d.from_tapset);
                return Some((if shadowed { format!("__tapset_{name}") } else { name.to_string() }, def));
            }
        } else if let Some(&def) = self.table.globals.get(name) {
            return Some((name.to_string(), def));
        }
        // A private global of another file is not visible at all: the name
        // is then an ordinary (new) local, as SystemTap treats it, but the
        // likely mistake is worth an error.
        let (&(owner, _), &def) = self.table.private_globals.iter().filter(|((_, n), _)| *n == name).min_by_key(|((f, _), _)| *f)?;
        self.report_private("global", name, owner, def.item.name.span, at);
        let clash = self.table.private_globals.keys().filter(|&&(_, n)| n == name).count() > 1;
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
