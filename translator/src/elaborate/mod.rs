//! Pass 2: the parsed script plus the tapset library become an `ir::Program`.
//!
//! Input: the user's `ast::File`s, the tapset library's files, and what is
//! known of the target kernel (`KernelSymbols`). Output: a program whose
//! probes are concrete, whose names are resolved and whose types are known,
//! or `None` with errors in `Diagnostics`. Sub-passes, one per file:
//! `lower` (symbols), `aliases` (probe alias expansion), `types` (inference),
//! `locks` (which globals each probe touches). Invariants: no IO; tapset
//! functions and globals enter the program only when the script uses them.

pub mod aliases;
pub mod arrays;
mod conditions;
pub mod dump;
mod entry;
pub mod format;
mod lines;
pub mod locks;
pub mod print;
mod pretty;
mod print_body;
pub mod lower;
pub mod target;
pub mod types;
mod try_catch;
mod visibility;

use std::collections::HashMap;

use crate::diag::{Diagnostics, SourceMap};
use crate::ir::{self, Program, Type};
use crate::probes::KernelSymbols;
use crate::syntax::ast;

#[derive(Debug, Clone, Default)]
pub struct ElabOptions {
    /// -g: embedded C allowed in the user's script.
    pub guru: bool,
    /// Script arguments ($1...), for `$#`.
    pub args: Vec<String>,
}

/// Where a definition came from: the user's script or the tapset library.
struct Def<'a, T> {
    item: &'a T,
    from_tapset: bool,
}

impl<T> Clone for Def<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Def<'_, T> {}

pub struct Elab<'a> {
    pub opts: &'a ElabOptions,
    pub diags: &'a mut Diagnostics,
    pub sources: &'a SourceMap,
    pub symbols: &'a dyn KernelSymbols,
    pub prog: Program,
    functions: HashMap<&'a str, Def<'a, ast::Function>>,
    globals: HashMap<&'a str, Def<'a, ast::Global>>,
    aliases: Vec<Def<'a, ast::ProbeAlias>>,
    function_ids: HashMap<String, usize>,
    global_ids: HashMap<String, usize>,
    pending: Vec<(usize, Def<'a, ast::Function>)>,
    /// Lowering tapset code: embedded C is allowed without -g.
    pub in_tapset: bool,
    /// `private` functions and globals, by (declaring file, name).
    private_functions: HashMap<(u32, &'a str), Def<'a, ast::Function>>,
    private_globals: HashMap<(u32, &'a str), Def<'a, ast::Global>>,
    /// The file whose code is being lowered: it sees its own privates.
    current_file: u32,
    /// The DWARF of the kernel and the named modules (`kernel.function`,
    /// `$var`, `@cast`), or why there is none.
    pub dwarf: &'a target::Dwarf<'a>,
    /// The DWARF probe whose body is being lowered (for `$var`).
    pub site: Option<crate::probes::dwarf::DwarfSite>,
    /// `@entry(expr)` values of the `.return` probe being lowered, by slot:
    /// evaluated at the function's entry (see `target::lower_entry`).
    pub entry_exprs: Vec<crate::ir::Expr>,
    /// The pcs of the kernel DWARF probes, for `symfileline`'s table.
    pub line_sites: Vec<u64>,
    /// Target expressions `@defined` found undefined: later uses are not
    /// errors (they sit in branches SystemTap elides).
    pub undefined_targets: std::collections::HashSet<String>,
    /// File-scope variables looked up by `$name` (a scan of every unit):
    /// each name once.
    pub global_vars: HashMap<String, Option<crate::debuginfo::Variable>>,
}

impl<'a> Elab<'a> {
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
        if let Some(&i) = self.function_ids.get(&key) {
            return Some(i);
        }
        let name = key.as_str();
        let f = def.item;
        let idx = self.prog.functions.len();
        let mut locals = Vec::new();
        for p in &f.params {
            locals.push(ir::Local {
                name: p.name.name.clone(),
                ty: p.ty.map(lower::type_of).unwrap_or(Type::Unknown),
                span: p.name.span,
            });
        }
        self.prog.functions.push(ir::Function {
            name: name.to_string(),
            params: f.params.len(),
            locals,
            ret: f.ret.map(lower::type_of).unwrap_or(Type::Unknown),
            body: ir::FunctionBody::Embedded(String::new()),
            span: f.span,
        });
        self.function_ids.insert(key, idx);
        self.pending.push((idx, def));
        Some(idx)
    }

    fn lower_pending_functions(&mut self) {
        while let Some((idx, def)) = self.pending.pop() {
            self.current_file = def.item.span.file;
            self.lower_function(idx, def.item, def.from_tapset);
        }
    }
}

/// Runs pass 2 without debuginfo.
pub fn elaborate(
    opts: &ElabOptions,
    user: &[ast::File],
    tapsets: &[ast::File],
    symbols: &dyn KernelSymbols,
    sources: &SourceMap,
    diags: &mut Diagnostics,
) -> Option<Program> {
    let dwarf = target::Dwarf { missing: "no kernel debuginfo was loaded".into(), ..Default::default() };
    elaborate_with(opts, user, tapsets, symbols, &dwarf, sources, diags)
}

/// Runs pass 2; `dwarf` is the kernel's debuginfo (or why it is missing).
pub fn elaborate_with<'a>(
    opts: &'a ElabOptions,
    user: &'a [ast::File],
    tapsets: &'a [ast::File],
    symbols: &'a dyn KernelSymbols,
    dwarf: &'a target::Dwarf<'a>,
    sources: &'a SourceMap,
    diags: &'a mut Diagnostics,
) -> Option<Program> {
    let errors_before = diags.error_count();
    let mut e = Elab {
        opts,
        diags,
        sources,
        symbols,
        prog: Program::default(),
        functions: HashMap::new(),
        globals: HashMap::new(),
        aliases: Vec::new(),
        function_ids: HashMap::new(),
        global_ids: HashMap::new(),
        pending: Vec::new(),
        in_tapset: false,
        private_functions: HashMap::new(),
        private_globals: HashMap::new(),
        current_file: 0,
        dwarf,
        site: None,
        entry_exprs: Vec::new(),
        line_sites: Vec::new(),
        undefined_targets: Default::default(),
        global_vars: HashMap::new(),
    };
    // Tapset definitions first, so that the user's own override them.
    for (files, from_tapset) in [(tapsets, true), (user, false)] {
        for file in files {
            for item in &file.items {
                match item {
                    ast::Item::Function(f) if f.private => {
                        e.private_functions.insert((f.span.file, &f.name.name), Def { item: f, from_tapset });
                    }
                    ast::Item::Global(g) if g.private => {
                        e.private_globals.insert((g.span.file, &g.name.name), Def { item: g, from_tapset });
                    }
                    ast::Item::Function(f) => {
                        if !from_tapset {
                            if let Some(prev) = e.functions.get(f.name.name.as_str()) {
                                if !prev.from_tapset {
                                    e.diags.push(
                                        crate::diag::Diagnostic::error(
                                            format!("function `{}` is defined twice", f.name.name),
                                            Some(f.name.span),
                                        )
                                        .with_label(prev.item.name.span, "first defined here"),
                                    );
                                }
                            }
                        }
                        e.functions.insert(&f.name.name, Def { item: f, from_tapset });
                    }
                    ast::Item::Global(g) => {
                        if let Some(prev) = e.globals.get(g.name.name.as_str()) {
                            if !prev.from_tapset && !from_tapset {
                                e.diags.push(
                                    crate::diag::Diagnostic::error(
                                        format!("global `{}` is declared twice", g.name.name),
                                        Some(g.name.span),
                                    )
                                    .with_label(prev.item.name.span, "first declared here"),
                                );
                            }
                        }
                        e.globals.insert(&g.name.name, Def { item: g, from_tapset });
                    }
                    ast::Item::Alias(a) => e.aliases.push(Def { item: a, from_tapset }),
                    ast::Item::Embedded(c) if !from_tapset && !opts.guru => {
                        e.diags.error("embedded C code needs guru mode (-g)", c.span);
                    }
                    _ => {}
                }
            }
        }
    }
    // The user's globals always exist, used or not (SystemTap warns on
    // unused ones; they still print at exit in later issues).
    let mut user_globals = Vec::new();
    for file in user {
        for item in &file.items {
            if let ast::Item::Global(g) = item {
                e.current_file = g.span.file;
                if let Some(i) = e.global_index(&g.name.name) {
                    if !user_globals.contains(&i) {
                        user_globals.push(i);
                    }
                }
            }
            if let ast::Item::Embedded(c) = item {
                let (line, _) = e.sources.line_col(c.span.file, c.span.lo);
                let origin = format!("{}:{}", e.sources.name(c.span.file), line);
                e.prog.embedded.push(ir::Embedded { code: c.code.clone(), origin });
            }
        }
    }
    for file in user {
        for item in &file.items {
            if let ast::Item::Probe(p) = item {
                e.expand_probe(p);
            }
        }
    }
    if e.prog.probes.is_empty() && !e.diags.has_errors() {
        e.diags.push(crate::diag::Diagnostic::error("no probes found", None));
    }
    e.lower_pending_functions();
    // Tapset top-level embedded C is needed by the functions it supports.
    if !e.prog.functions.is_empty() {
        for file in tapsets {
            for item in &file.items {
                if let ast::Item::Embedded(c) = item {
                    let (line, _) = e.sources.line_col(c.span.file, c.span.lo);
                    let origin = format!("{}:{}", e.sources.name(c.span.file), line);
                    e.prog.embedded.insert(0, ir::Embedded { code: c.code.clone(), origin });
                }
            }
        }
    }
    e.add_line_table();
    let mut prog = e.prog;
    let diags = e.diags;
    // Unused globals are elided with a warning in `types::infer`.
    types::infer(&mut prog, diags);
    // The end-of-script dump reads globals, so its locks come after it.
    dump::add_dump_probe(&mut prog, &user_globals);
    locks::compute(&mut prog);
    if diags.error_count() > errors_before {
        return None;
    }
    Some(prog)
}
