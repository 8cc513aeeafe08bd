//! Pass 2.4, lower to IR: AST bodies to IR with every name bound.
//!
//! Input: a [`LowerInput`]: the files, the `SymbolTable`, the alias
//! expansions of every user probe and the DWARF their sites read. Output:
//! [`Lowered`]: an `ir::Program` whose variables are `Var::Local` or
//! `Var::Global` and whose calls name a function index, plus the user's
//! globals (for the dump) and the kernel DWARF sites (for the line table).
//! Functions and globals of the tapset library are pulled into the program
//! only when used. Target variables are resolved while lowering, per DWARF
//! site: `target` lowers an access's operands and `resolve_targets` (pass
//! 2.5) resolves it. Types are left `Unknown` for `types::infer`.
//! Invariants: one error per unresolvable construct, with its span;
//! lowering never stops at the first.

use std::collections::HashMap;

use super::aliases::PointExpansion;
use super::format::parse_format;
use super::resolve::{Def, Files, SymbolTable};
use super::target::{Dwarf, TargetState};
use super::ElabOptions;
use crate::diag::{Diagnostic, Diagnostics, SourceMap, Span};
use crate::ir::{self, Expr, ExprKind, FormatPiece, Local, Program, Stmt, StmtKind, Type, Var};
use crate::syntax::ast::{self, AssignOp, UnaryOp};

/// What lowering reads.
pub struct LowerInput<'a> {
    pub files: Files<'a>,
    pub table: &'a SymbolTable<'a>,
    pub expansions: &'a [PointExpansion<'a>],
    pub dwarf: &'a Dwarf<'a>,
    pub sources: &'a SourceMap,
}

/// What lowering produces.
pub struct Lowered {
    pub prog: Program,
    /// The user's own globals (they always exist, used or not).
    pub user_globals: Vec<usize>,
    /// The pcs of the kernel DWARF probes, for `symfileline`'s table.
    pub line_sites: Vec<u64>,
}

/// The state of lowering: the program built so far, which definitions it
/// already holds, and the context of the code being lowered.
pub struct Lowerer<'a> {
    pub opts: &'a ElabOptions,
    pub diags: &'a mut Diagnostics,
    pub sources: &'a SourceMap,
    pub(super) table: &'a SymbolTable<'a>,
    pub prog: Program,
    /// Program names (see `visibility`) of the functions and globals
    /// already in `prog`, and the functions whose bodies are still to be
    /// lowered.
    pub(super) function_ids: HashMap<String, usize>,
    pub(super) global_ids: HashMap<String, usize>,
    pub(super) pending: Vec<(usize, Def<'a, ast::Function>)>,
    /// Lowering tapset code: embedded C is allowed without -g.
    pub in_tapset: bool,
    /// Lowering a tapset function: its names see the library's globals
    /// only, never the user's (a library function's `n` is its own local
    /// even when the script declares `global n`; SystemTap PR13721).
    pub(super) in_tapset_function: bool,
    /// The file whose code is being lowered: it sees its own privates.
    pub(super) current_file: u32,
    /// The DWARF of the kernel and the named modules (`kernel.function`,
    /// `$var`, `@cast`), or why there is none.
    pub dwarf: &'a Dwarf<'a>,
    /// Target-variable state of the body being lowered (pass 2.5).
    pub target: TargetState,
    /// The pcs of the kernel DWARF probes, for `symfileline`'s table.
    pub line_sites: Vec<u64>,
    /// Lowering the body of a kretprobe without DWARF (`@entry` is
    /// computed by its entry handler).
    pub(super) kprobe_return: bool,
    /// Typed values flowing through variables (see `autocast`).
    pub(super) autocast: super::autocast::AutocastState,
    /// The next overload of each function that has one (`next` in it
    /// calls that one).
    pub(super) next_overload: super::overload::NextOverloads,
    /// While an alias prologue or epilogue is lowered: the probe handler
    /// body it wraps (for `@probewrite`).
    pub(super) handler: Option<&'a ast::Block>,
}

fn origin(sources: &SourceMap, c: &ast::EmbeddedC) -> ir::Embedded {
    let (line, _) = sources.line_col(c.span.file, c.span.lo);
    ir::Embedded { code: c.code.clone(), origin: format!("{}:{}", sources.name(c.span.file), line) }
}

/// The top-level embedded C blocks of the tapset files in `used`, in file
/// order, plus those of the files that define a C name (`rstap_...`) the
/// used blocks or the embedded function bodies `bodies` refer to (one
/// file's C helpers may serve another file's functions).
fn tapset_blocks<'f>(tapsets: &'f [ast::File], mut used: std::collections::HashSet<u32>, bodies: &[&str]) -> Vec<&'f ast::EmbeddedC> {
    let blocks: Vec<&ast::EmbeddedC> = tapsets
        .iter()
        .flat_map(|f| f.items.iter())
        .filter_map(|i| match i {
            ast::Item::Embedded(c) => Some(c),
            _ => None,
        })
        .collect();
    // Which file declares each C name.
    let mut owner: HashMap<&str, u32> = HashMap::new();
    for c in &blocks {
        for name in c.code.lines().filter_map(declared_name) {
            owner.entry(name).or_insert(c.span.file);
        }
    }
    let mut todo: Vec<&str> = bodies.to_vec();
    todo.extend(blocks.iter().filter(|c| used.contains(&c.span.file)).map(|c| c.code.as_str()));
    while let Some(code) = todo.pop() {
        for name in c_names(code) {
            if let Some(&file) = owner.get(name) {
                if used.insert(file) {
                    todo.extend(blocks.iter().filter(|c| c.span.file == file).map(|c| c.code.as_str()));
                }
            }
        }
    }
    blocks.into_iter().filter(|c| used.contains(&c.span.file)).collect()
}

/// The `rstap_` identifiers of a piece of C.
fn c_names(code: &str) -> impl Iterator<Item = &str> {
    code.split(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_')).filter(|w| w.starts_with("rstap_"))
}

/// The name a top-level C line declares: `#define rstap_x`, `struct
/// rstap_x {`, or the last `rstap_` name before the first `(`, `[` or `=`
/// of a `static` line.
fn declared_name(line: &str) -> Option<&str> {
    let head = if let Some(rest) = line.strip_prefix("#define ") {
        rest
    } else if line.starts_with("static ") || (line.starts_with("struct ") && line.trim_end().ends_with('{')) {
        let end = line.find(['(', '[', '=', '{']).unwrap_or(line.len());
        return c_names(&line[..end]).last();
    } else {
        return None;
    };
    c_names(head).next().filter(|n| head.starts_with(n))
}
/// How many times lowering may rerun for autocast flows (each rerun
/// follows typed values one more step; real scripts need one or two).
const AUTOCAST_RUNS: usize = 8;

/// Lowers the user's globals, every derived probe's body and every
/// function they call. When a run finds a typed value reaching a new slot
/// (autocast), the run is repeated with what it found, its diagnostics
/// dropped, until a run finds nothing new.
pub fn lower_program<'a>(opts: &'a ElabOptions, input: &'a LowerInput<'a>, diags: &'a mut Diagnostics) -> Option<Lowered> {
    let before = diags.list.len();
    let mut flows = super::autocast::AutocastState::default();
    for run in 0.. {
        let (lowered, next) = lower_once(opts, input, &mut *diags, flows);
        if !next.changed || run + 1 == AUTOCAST_RUNS {
            return lowered;
        }
        diags.list.truncate(before);
        flows = next.next_run();
    }
    None
}

fn lower_once<'a>(
    opts: &'a ElabOptions,
    input: &'a LowerInput<'a>,
    diags: &'a mut Diagnostics,
    autocast: super::autocast::AutocastState,
) -> (Option<Lowered>, super::autocast::AutocastState) {
    let mut e = Lowerer {
        opts,
        diags,
        sources: input.sources,
        table: input.table,
        prog: Program::default(),
        function_ids: HashMap::new(),
        global_ids: HashMap::new(),
        pending: Vec::new(),
        in_tapset: false,
        in_tapset_function: false,
        current_file: 0,
        dwarf: input.dwarf,
        target: TargetState::default(),
        line_sites: Vec::new(),
        kprobe_return: false,
        autocast,
        next_overload: Default::default(),
        handler: None,
    };
    // The user's globals always exist, used or not (SystemTap warns on
    // unused ones; they still print at exit).
    let mut user_globals = Vec::new();
    for file in input.files.user {
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
                e.prog.embedded.push(origin(e.sources, c));
            }
        }
    }
    for x in input.expansions {
        e.derive_probes(x);
    }
    if e.prog.probes.is_empty() && !e.diags.has_errors() {
        e.diags.push(Diagnostic::error("no probes found", None));
    }
    e.add_session_options();
    e.lower_pending_functions();
    e.check_entry_globals();
    // A tapset file's top-level embedded C supports its own functions and
    // probe aliases: it goes in (before the user's, in file order) only
    // when the program uses one of them.
    let mut used: std::collections::HashSet<u32> = e.prog.functions.iter().map(|f| f.span.file).collect();
    for x in input.expansions {
        for d in &x.derived {
            used.extend(d.prologue.iter().chain(&d.epilogue).map(|(b, _)| b.span.file));
        }
    }
    let bodies: Vec<&str> = e
        .prog
        .functions
        .iter()
        .filter_map(|f| match &f.body {
            ir::FunctionBody::Embedded(c) => Some(c.as_str()),
            ir::FunctionBody::Script(_) => None,
        })
        .collect();
    let tapset_c: Vec<ir::Embedded> = tapset_blocks(input.files.tapsets, used, &bodies).into_iter().map(|c| origin(e.sources, c)).collect();
    e.prog.embedded.splice(0..0, tapset_c);
    (Some(Lowered { prog: e.prog, user_globals, line_sites: e.line_sites }), e.autocast)
}

/// The locals of one probe body or function while it is being lowered.
pub struct Scope {
    pub locals: Vec<Local>,
    names: HashMap<String, usize>,
    in_function: bool,
    pub(super) loop_depth: usize,
    /// The body these locals belong to (autocast keeps flows per body).
    pub(super) body: super::autocast::BodyKey,
    /// A function's first `params` locals are its parameters.
    params: usize,
}

impl Scope {
    pub fn new(in_function: bool) -> Scope {
        Scope {
            locals: Vec::new(),
            names: HashMap::new(),
            in_function,
            loop_depth: 0,
            body: super::autocast::BodyKey::Other,
            params: 0,
        }
    }

    /// The position of parameter `name`, if it is one.
    pub fn param_index(&self, name: &str) -> Option<usize> {
        self.names.get(name).copied().filter(|&i| i < self.params)
    }

    pub fn declare(&mut self, name: &str, ty: Type, span: Span) -> usize {
        let idx = self.locals.len();
        self.locals.push(Local {
            name: name.to_string(),
            ty,
            span,
        });
        self.names.insert(name.to_string(), idx);
        idx
    }

    pub fn is_local(&self, name: &str) -> bool {
        self.names.contains_key(name)
    }

    /// The local called `name`, declared if new (foreach variables).
    pub fn local_for(&mut self, name: &str, span: Span) -> usize {
        match self.names.get(name) {
            Some(&i) => i,
            None => self.declare(name, Type::Unknown, span),
        }
    }
}

fn expr(kind: ExprKind, span: Span) -> Expr {
    Expr {
        kind,
        ty: Type::Unknown,
        span,
    }
}

/// The printing builtins: name, output to a string?, newline?, delimited?
fn print_builtin(name: &str) -> Option<(bool, bool, bool)> {
    Some(match name {
        "print" => (false, false, false),
        "println" => (false, true, false),
        "printd" => (false, false, true),
        "printdln" => (false, true, true),
        "sprint" => (true, false, false),
        "sprintln" => (true, true, false),
        "sprintd" => (true, false, true),
        "sprintdln" => (true, true, true),
        _ => return None,
    })
}

impl<'a> Lowerer<'a> {
    /// A name bound by a construct (`catch (msg)`): a local of that name,
    /// declared with type `ty` if it is new.
    pub(super) fn bind_local(&mut self, scope: &mut Scope, id: &ast::Ident, ty: Type) -> usize {
        match scope.names.get(&id.name) {
            Some(&i) => i,
            None => scope.declare(&id.name, ty, id.span),
        }
    }

    pub fn lower_block(&mut self, scope: &mut Scope, block: &ast::Block) -> Stmt {
        let stmts = block.stmts.iter().map(|s| self.lower_stmt(scope, s)).collect();
        Stmt {
            kind: StmtKind::Block(stmts),
            span: block.span,
        }
    }

    pub(super) fn lower_stmt_in(&mut self, scope: &mut Scope, s: &ast::Stmt) -> Stmt {
        self.lower_stmt(scope, s)
    }

    fn lower_stmt(&mut self, scope: &mut Scope, s: &ast::Stmt) -> Stmt {
        let kind = match &s.kind {
            ast::StmtKind::Block(b) => return self.lower_block(scope, b),
            ast::StmtKind::Expr(e) => StmtKind::Expr(self.lower_expr(scope, e)),
            // `if (@defined(x))`: only the chosen branch is elaborated.
            ast::StmtKind::If { cond, then, els } if self.defined_test(scope, cond).is_some() => {
                match (self.defined_test(scope, cond) == Some(true), els) {
                    (true, _) => return self.lower_stmt(scope, then),
                    (false, Some(e)) => return self.lower_stmt(scope, e),
                    (false, None) => StmtKind::Block(Vec::new()),
                }
            }
            ast::StmtKind::If { cond, then, els } => StmtKind::If {
                cond: self.lower_expr(scope, cond),
                then: Box::new(self.lower_stmt(scope, then)),
                els: els.as_ref().map(|e| Box::new(self.lower_stmt(scope, e))),
            },
            ast::StmtKind::While { cond, body } => {
                let cond = self.lower_expr(scope, cond);
                scope.loop_depth += 1;
                let body = Box::new(self.lower_stmt(scope, body));
                scope.loop_depth -= 1;
                StmtKind::While { cond, body }
            }
            ast::StmtKind::For { init, cond, step, body } => {
                let init = init.as_ref().map(|e| self.lower_expr(scope, e));
                let cond = cond.as_ref().map(|e| self.lower_expr(scope, e));
                let step = step.as_ref().map(|e| self.lower_expr(scope, e));
                scope.loop_depth += 1;
                let body = Box::new(self.lower_stmt(scope, body));
                scope.loop_depth -= 1;
                StmtKind::For { init, cond, step, body }
            }
            ast::StmtKind::Break | ast::StmtKind::Continue => {
                let word = if matches!(s.kind, ast::StmtKind::Break) { "break" } else { "continue" };
                if scope.loop_depth == 0 {
                    self.diags.error(format!("`{word}` outside a loop"), s.span);
                }
                if word == "break" {
                    StmtKind::Break
                } else {
                    StmtKind::Continue
                }
            }
            ast::StmtKind::Next => {
                if let super::autocast::BodyKey::Function(f) = scope.body {
                    return self.lower_function_next(scope, f, s.span);
                }
                StmtKind::Next
            }
            ast::StmtKind::Return(value) => {
                if !scope.in_function {
                    self.diags.error("`return` outside a function; use `next` to leave a probe", s.span);
                }
                if let (Some(v), super::autocast::BodyKey::Function(f)) = (value, scope.body) {
                    let lowered = self.lower_expr(scope, v);
                    self.flow_into(scope, super::autocast::Slot::Return(f), v);
                    return Stmt { kind: StmtKind::Return(Some(lowered)), span: s.span };
                }
                StmtKind::Return(value.as_ref().map(|e| self.lower_expr(scope, e)))
            }
            ast::StmtKind::Embedded(code) => {
                if !self.in_tapset && !self.opts.guru {
                    self.diags.error("embedded C code needs guru mode (-g)", s.span);
                }
                StmtKind::Embedded(code.code.clone())
            }
            ast::StmtKind::Empty => StmtKind::Empty,
            ast::StmtKind::Foreach(f) => self.lower_foreach(scope, f, s.span),
            ast::StmtKind::Delete(target) => self.lower_delete(scope, target, s.span),
            ast::StmtKind::Try { body, catch_var, catch_body } => {
                self.lower_try(scope, body, catch_var.as_ref(), catch_body)
            }
        };
        Stmt { kind, span: s.span }
    }

    fn unsupported_expr(&mut self, span: Span, what: &str) -> Expr {
        self.diags.error(format!("{what} is not supported by rstap yet"), span);
        expr(ExprKind::Long(0), span)
    }

    /// A variable name used in a body: a local, else a global, else a new
    /// local (SystemTap's implicit declaration).
    fn resolve_var(&mut self, scope: &mut Scope, id: &ast::Ident) -> Var {
        if let Some(&i) = scope.names.get(&id.name) {
            return Var::Local(i);
        }
        if let Some(g) = self.global_index_at(&id.name, Some(id.span)) {
            return Var::Global(g);
        }
        Var::Local(scope.declare(&id.name, Type::Unknown, id.span))
    }

    fn lower_var_target(&mut self, scope: &mut Scope, e: &ast::Expr, what: &str) -> Option<Var> {
        match &e.kind {
            ast::ExprKind::Var(id) => Some(self.resolve_var(scope, id)),
            ast::ExprKind::Index { .. } => {
                self.unsupported_expr(e.span, "arrays");
                None
            }
            _ => {
                self.diags.error(format!("{what} needs a variable on its left"), e.span);
                None
            }
        }
    }

    pub fn lower_expr(&mut self, scope: &mut Scope, e: &ast::Expr) -> Expr {
        let span = e.span;
        let kind = match &e.kind {
            ast::ExprKind::Number(n) => ExprKind::Long(*n),
            ast::ExprKind::String(s) => ExprKind::Str(s.clone()),
            ast::ExprKind::Var(id) => ExprKind::Var(self.resolve_var(scope, id)),
            ast::ExprKind::Call { name, args } => return self.lower_call(scope, name, args, span),
            ast::ExprKind::Unary { op, operand } => match op {
                UnaryOp::PreInc | UnaryOp::PreDec | UnaryOp::PostInc | UnaryOp::PostDec => {
                    if matches!(operand.kind, ast::ExprKind::Index { .. }) {
                        return self.lower_index_incdec(scope, operand, *op, span);
                    }
                    if let ast::ExprKind::Target(t) = &operand.kind {
                        let op = super::writes::StoreOp::IncDec { increment: matches!(op, UnaryOp::PreInc | UnaryOp::PostInc), prefix: matches!(op, UnaryOp::PreInc | UnaryOp::PreDec) };
                        return self.lower_target_store(scope, t, operand.span, op, None, span);
                    }
                    let Some(var) = self.lower_var_target(scope, operand, "`++`/`--`") else {
                        return expr(ExprKind::Long(0), span);
                    };
                    ExprKind::IncDec {
                        var,
                        increment: matches!(op, UnaryOp::PreInc | UnaryOp::PostInc),
                        prefix: matches!(op, UnaryOp::PreInc | UnaryOp::PreDec),
                    }
                }
                _ => ExprKind::Unary {
                    op: *op,
                    operand: Box::new(self.lower_expr(scope, operand)),
                },
            },
            ast::ExprKind::Binary { op, lhs, rhs } => ExprKind::Binary {
                op: *op,
                lhs: Box::new(self.lower_expr(scope, lhs)),
                rhs: Box::new(self.lower_expr(scope, rhs)),
            },
            ast::ExprKind::Assign { op, target, value } => {
                if let Some(e) = self.lower_hook_assign(scope, *op, target, value, span) {
                    return e;
                }
                // Evaluate the value first so `x = x + 1` on a new name sees
                // the same local.
                let lowered = Box::new(self.lower_expr(scope, value));
                if let ast::ExprKind::Index { array, .. } = &target.kind {
                    if *op == AssignOp::Assign {
                        self.flow_into_array(scope, &array.name, value);
                    }
                    return self.lower_index_assign(scope, target, *op, *lowered, span);
                }
                if let ast::ExprKind::Target(t) = &target.kind {
                    let op = super::writes::StoreOp::Assign(match op { AssignOp::Assign => None, AssignOp::Compound(b) => Some(*b) });
                    return self.lower_target_store(scope, t, target.span, op, Some(*lowered), span);
                }
                let Some(var) = self.lower_var_target(scope, target, "assignment") else {
                    return expr(ExprKind::Long(0), span);
                };
                if let (AssignOp::Assign, ast::ExprKind::Var(id)) = (op, &target.kind) {
                    self.flow_into_var(scope, &id.name, value);
                }
                let value = lowered;
                let op = match op {
                    AssignOp::Assign => None,
                    AssignOp::Compound(b) => Some(*b),
                };
                ExprKind::Assign { var, op, value }
            }
            ast::ExprKind::Ternary { cond, then, els } => {
                // `@defined(x) ? a : b`: only the chosen side is elaborated.
                if let Some(chosen) = self.defined_test(scope, cond) {
                    return self.lower_expr(scope, if chosen { then } else { els });
                }
                ExprKind::Ternary {
                    cond: Box::new(self.lower_expr(scope, cond)),
                    then: Box::new(self.lower_expr(scope, then)),
                    els: Box::new(self.lower_expr(scope, els)),
                }
            }
            ast::ExprKind::Positional { index, .. } => {
                self.diags.error(format!("no script argument ${index} was given"), span);
                ExprKind::Long(0)
            }
            ast::ExprKind::ArgCount => ExprKind::Long(self.opts.args.len() as i64),
            ast::ExprKind::Index { array, keys } => return self.lower_index(scope, array, keys, span),
            ast::ExprKind::In { keys, array } => return self.lower_in(scope, keys, array, span),
            ast::ExprKind::Star => {
                self.diags.error("`*` is only allowed as a key of an array slice", span);
                ExprKind::Long(0)
            }
            ast::ExprKind::Accumulate { target, value } => return self.lower_accumulate(scope, target, value, span),
            ast::ExprKind::Stat { op, operand } => return self.lower_stat(scope, *op, operand, span),
            ast::ExprKind::Hist { .. } => {
                self.diags.error("a histogram can only be printed: print(@hist_log(s)) or println(...)", span);
                ExprKind::Long(0)
            }
            ast::ExprKind::Target(t) => return self.lower_target(scope, t, span),
            ast::ExprKind::Defined(inner) => return self.lower_defined(scope, inner, span),
            ast::ExprKind::Entry(inner) => return self.lower_entry(scope, inner, span),
            ast::ExprKind::Perf(_) => return self.unsupported_expr(span, "@perf"),
            ast::ExprKind::Variance { operand, shift } => return self.lower_variance(scope, operand, shift, span),
            ast::ExprKind::HistBucket { hist, bucket } => return self.lower_hist_bucket(scope, hist, bucket, span),
            ast::ExprKind::Const(name) => return self.lower_c_value("@const", name, span),
            ast::ExprKind::ProbeWrite(var) => return self.lower_probewrite(var, span),
            ast::ExprKind::Embedded(c) => return self.lower_c_value("embedded C", &c.code, span),
            ast::ExprKind::Register { user, index } => return self.lower_register(scope, *user, index, span),
            ast::ExprKind::Deref { user, size, addr } => return self.lower_deref(scope, *user, size, addr, span),
        };
        expr(kind, span)
    }

    fn lower_call(&mut self, scope: &mut Scope, name: &ast::Ident, args: &[ast::Expr], span: Span) -> Expr {
        if matches!(name.name.as_str(), "print" | "println" | "sprint" | "sprintln") && args.len() == 1 {
            if let ast::ExprKind::Hist { .. } = args[0].kind {
                let to_string = name.name.starts_with('s');
                return self.lower_print_hist(scope, &args[0], name.name.ends_with("ln"), to_string, span);
            }
        }
        let lowered: Vec<Expr> = args.iter().map(|a| self.lower_expr(scope, a)).collect();
        match name.name.as_str() {
            "printf" | "sprintf" => return self.lower_printf(name, args, lowered, span),
            n => {
                if let Some((to_string, newline, delimited)) = print_builtin(n) {
                    return self.lower_print(lowered, to_string, newline, delimited, name, span);
                }
            }
        }
        self.check_guru_call(name);
        let func = match self.call_target(name, lowered.len()) {
            super::overload::CallTarget::Found(f) => f,
            super::overload::CallTarget::NotFound => {
                self.diags.error(format!("unresolved function call to `{}`", name.name), name.span);
                return expr(ExprKind::Long(0), span);
            }
            super::overload::CallTarget::Reported => return expr(ExprKind::Long(0), span),
        };
        for (i, a) in args.iter().enumerate() {
            self.flow_into(scope, super::autocast::Slot::Param(func, i), a);
        }
        let want = self.prog.functions[func].params;
        if want != lowered.len() {
            self.diags.error(
                format!(
                    "`{}` takes {} argument{}, but {} {} given",
                    name.name,
                    want,
                    if want == 1 { "" } else { "s" },
                    lowered.len(),
                    if lowered.len() == 1 { "was" } else { "were" }
                ),
                span,
            );
        }
        expr(ExprKind::Call { func, args: lowered }, span)
    }

    fn lower_printf(&mut self, name: &ast::Ident, ast_args: &[ast::Expr], mut args: Vec<Expr>, span: Span) -> Expr {
        let to_string = name.name == "sprintf";
        let fmt = match ast_args.first().map(|a| &a.kind) {
            Some(ast::ExprKind::String(s)) => s.clone(),
            _ => {
                self.diags.error(format!("`{}` needs a literal format string first", name.name), span);
                return expr(ExprKind::Long(0), span);
            }
        };
        args.remove(0);
        let (pieces, types) = match parse_format(&fmt, 0) {
            Ok(p) => p,
            Err(msg) => {
                self.diags.error(msg, ast_args[0].span);
                return expr(ExprKind::Long(0), span);
            }
        };
        if types.len() != args.len() {
            self.diags.error(
                format!(
                    "format has {} conversion{} but {} argument{} {} it",
                    types.len(),
                    if types.len() == 1 { "" } else { "s" },
                    args.len(),
                    if args.len() == 1 { "" } else { "s" },
                    if args.len() == 1 { "follows" } else { "follow" }
                ),
                span,
            );
            return expr(ExprKind::Long(0), span);
        }
        // The conversions decide the argument types; `types::infer` checks
        // each argument against its conversion.
        expr(ExprKind::Format { pieces, args, to_string }, span)
    }

    fn lower_print(
        &mut self,
        mut args: Vec<Expr>,
        to_string: bool,
        newline: bool,
        delimited: bool,
        name: &ast::Ident,
        span: Span,
    ) -> Expr {
        let mut delim = None;
        if delimited {
            if args.is_empty() {
                self.diags.error(format!("`{}` needs a delimiter string first", name.name), span);
                return expr(ExprKind::Long(0), span);
            }
            match &args[0].kind {
                ExprKind::Str(s) => delim = Some(s.clone()),
                _ => {
                    self.diags.error(format!("`{}` needs a literal delimiter string", name.name), args[0].span);
                    return expr(ExprKind::Long(0), span);
                }
            }
            args.remove(0);
        }
        if args.is_empty() && !newline {
            self.diags.error(format!("`{}` needs at least one argument", name.name), span);
        }
        // Each argument is printed as its type says (%d or %s), which
        // `types::infer` settles; the conversion letter is fixed up there.
        let mut pieces = Vec::new();
        for i in 0..args.len() {
            if i > 0 {
                if let Some(d) = &delim {
                    pieces.push(FormatPiece::Text(d.clone()));
                }
            }
            pieces.push(FormatPiece::Conv {
                arg: i,
                flags: String::new(),
                width: None,
                precision: None,
                conv: '?',
            });
        }
        if newline {
            pieces.push(FormatPiece::Text("\n".into()));
        }
        expr(ExprKind::Format { pieces, args, to_string }, span)
    }

    /// The value of a condition that is `@defined(x)` or `!@defined(x)`
    /// (SystemTap elaborates only the branch it chooses); None for others.
    fn defined_test(&mut self, scope: &mut Scope, cond: &ast::Expr) -> Option<bool> {
        match &cond.kind {
            ast::ExprKind::Defined(inner) => match self.lower_defined(scope, inner, cond.span).kind {
                ExprKind::Long(n) => Some(n != 0),
                _ => None,
            },
            ast::ExprKind::Unary { op: UnaryOp::Not, operand } => self.defined_test(scope, operand).map(|v| !v),
            _ => None,
        }
    }

    /// Lowers a function's body (script or embedded C) into the program.
    pub fn lower_function(&mut self, idx: usize, f: &ast::Function, from_tapset: bool) {
        let mut scope = Scope::new(true);
        scope.body = super::autocast::BodyKey::Function(idx);
        for p in &f.params {
            let ty = p.ty.map(type_of).unwrap_or(Type::Unknown);
            scope.declare(&p.name.name, ty, p.name.span);
        }
        scope.params = f.params.len();
        let saved = (self.in_tapset, self.in_tapset_function);
        (self.in_tapset, self.in_tapset_function) = (from_tapset, from_tapset);
        let body = match &f.body {
            ast::FunctionBody::Script(b) => ir::FunctionBody::Script(self.lower_block(&mut scope, b)),
            ast::FunctionBody::Embedded(c) => {
                if !from_tapset && !self.opts.guru {
                    self.diags.error("embedded C functions need guru mode (-g)", f.span);
                }
                if c.code.contains("STAP_NEXT") {
                    self.lower_embedded_next(idx, f, &mut scope, &c.code)
                } else {
                    ir::FunctionBody::Embedded(c.code.clone())
                }
            }
        };
        (self.in_tapset, self.in_tapset_function) = saved;
        let func = &mut self.prog.functions[idx];
        func.locals = scope.locals;
        func.body = body;
    }
}

pub fn type_of(t: ast::TypeName) -> Type {
    match t {
        ast::TypeName::Long => Type::Long,
        ast::TypeName::String => Type::String,
    }
}

impl Lowerer<'_> {
    /// `-T SECONDS` and `--suppress-handler-errors`, which change the
    /// program rather than the run.
    fn add_session_options(&mut self) {
        if self.opts.suppress_handler_errors {
            let span = Span::default();
            let key = "__rstap_suppressed_error".to_string();
            let func = self.prog.functions.len();
            self.prog.functions.push(ir::Function {
                name: key.clone(),
                params: 0,
                locals: Vec::new(),
                ret: Type::Long,
                body: ir::FunctionBody::Embedded("\n\tatomic_inc(&rstap_error_count);\n".into()),
                span,
            });
            self.function_ids.insert(key, func);
            for b in &mut self.prog.bodies {
                let span = b.body.span;
                let count = expr(ExprKind::Call { func, args: Vec::new() }, span);
                let body = std::mem::replace(&mut b.body, Stmt { kind: StmtKind::Empty, span });
                let catch_body = Stmt { kind: StmtKind::Expr(count), span };
                b.body = Stmt { kind: StmtKind::Try { body: Box::new(body), catch_var: None, catch_body: Box::new(catch_body) }, span };
            }
        }
        if let Some(secs) = self.opts.timeout_secs {
            let span = Span::default();
            let Some(exit) = self.function_index("exit") else {
                self.diags.push(Diagnostic::error("-T needs the library's exit()", None));
                return;
            };
            let call = expr(ExprKind::Call { func: exit, args: Vec::new() }, span);
            self.prog.bodies.push(ir::ProbeBody { locals: Vec::new(), body: Stmt { kind: StmtKind::Expr(call), span }, span });
            self.prog.probes.push(ir::DerivedProbe {
                kind: ir::ProbeKind::Timer { interval_ns: secs.saturating_mul(1_000_000_000) },
                pp: format!("timer.s({secs})"),
                body: self.prog.bodies.len() - 1,
                entry: None,
                locks: Vec::new(),
                span,
            });
        }
    }
}
