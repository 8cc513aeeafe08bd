//! What debuginfo pass 2 will need, decided from the parsed program before
//! it runs (so the driver opens, or downloads, only that).
//!
//! Input: the parsed user files and tapset library ([`Files`]). Output:
//! [`DebuginfoNeeds`]: whether the kernel's DWARF is needed and the
//! arguments of the modules whose DWARF is (`module("ARG")` points, the
//! module of `@cast(p, "T", "MODULE")` and `@var("x", "MODULE")`), in the
//! order they are met, each once. Invariants: conservative: it follows
//! every user probe through the aliases its points may expand to, the
//! point conditions, the alias prologues and epilogues, and every function
//! those bodies may call (by name, transitively), and counts any target
//! expression there (`$var`, `@cast`, `@var`, autocast `p->f`, `@entry`)
//! as a need for the kernel's DWARF; comments, `%( %)` and macros are
//! already gone, so none of them can mislead it. No IO.

use std::collections::HashSet;

use super::aliases::alias_matches;
use super::resolve::Files;
use crate::syntax::ast::{self, Expr, ExprKind, Literal, ProbePoint, Stmt, StmtKind, TargetBase};

/// What the script's DWARF use requires.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DebuginfoNeeds {
    /// The kernel's DWARF (`kernel.function`, `kernel.statement`, target
    /// variables anywhere).
    pub kernel: bool,
    /// Module arguments as written (names, globs or paths).
    pub modules: Vec<String>,
    /// `kernel.trace` points: the kernel's BTF and trace events (see
    /// `debuginfo::trace_events`), which also type the target expressions
    /// when no other point needs DWARF.
    pub tracepoints: bool,
}

impl DebuginfoNeeds {
    fn module(&mut self, arg: &str) {
        if !arg.is_empty() && !self.modules.iter().any(|m| m == arg) {
            self.modules.push(arg.to_string());
        }
    }
}

struct Scan<'a> {
    files: Files<'a>,
    needs: DebuginfoNeeds,
    /// Modules named by `@cast`/`@var`, added after the points' ones.
    cast_modules: Vec<String>,
    seen_aliases: HashSet<*const ast::ProbeAlias>,
    seen_functions: HashSet<&'a str>,
    /// Functions called but not yet scanned.
    calls: Vec<&'a str>,
    /// A target expression was met (DWARF unless BTF serves it).
    targets: bool,
}

/// Decides what debuginfo the program needs.
pub fn debuginfo_needs(files: &Files<'_>) -> DebuginfoNeeds {
    let mut s = Scan {
        files: *files,
        needs: DebuginfoNeeds::default(),
        cast_modules: Vec::new(),
        seen_aliases: HashSet::new(),
        seen_functions: HashSet::new(),
        calls: Vec::new(),
        targets: false,
    };
    for file in files.user {
        for item in &file.items {
            if let ast::Item::Probe(p) = item {
                for point in &p.points {
                    s.point(point, 0);
                }
                s.block(&p.body);
            }
        }
    }
    while let Some(name) = s.calls.pop() {
        s.function(name);
    }
    let Scan { mut needs, cast_modules, targets, .. } = s;
    needs.kernel |= targets && !needs.tracepoints;
    for m in &cast_modules {
        needs.module(m);
    }
    needs
}

fn string_arg(c: &ast::Component) -> Option<&str> {
    match &c.arg {
        Some(Literal::String(s)) => Some(s),
        _ => None,
    }
}

impl<'a> Scan<'a> {
    fn all_items(&self) -> impl Iterator<Item = &'a ast::Item> {
        self.files.user.iter().chain(self.files.tapsets).flat_map(|f| f.items.iter())
    }

    fn point(&mut self, point: &'a ProbePoint, depth: usize) {
        if let Some(c) = &point.condition {
            self.expr(c);
        }
        let Some(first) = point.components.first() else { return };
        match first.name.as_str() {
            "kernel" if first.arg.is_none() && point.components.get(1).is_some_and(|c| c.name == "trace") => {
                self.needs.tracepoints = true;
                return;
            }
            // kernel.data(...) watchpoints need the symbol table, not DWARF.
            "kernel" if first.arg.is_none() && point.components.get(1).is_some_and(|c| c.name == "data") => return,
            "kernel" if first.arg.is_none() => {
                self.needs.kernel = true;
                return;
            }
            "module" => {
                if let Some(arg) = string_arg(first) {
                    self.needs.module(arg);
                }
                return;
            }
            _ => {}
        }
        if depth > 32 {
            return;
        }
        // A point of another family may still name aliases: follow every
        // alias it could expand to (privacy aside: over-approximating).
        let aliases: Vec<&'a ast::ProbeAlias> = self
            .all_items()
            .filter_map(|i| match i {
                ast::Item::Alias(a) if a.names.iter().any(|n| alias_matches(n, point)) => Some(a),
                _ => None,
            })
            .collect();
        for a in aliases {
            if !self.seen_aliases.insert(a as *const _) {
                continue;
            }
            self.block(&a.body);
            if let Some(e) = &a.epilogue {
                self.block(e);
            }
            for p in &a.points {
                self.point(p, depth + 1);
            }
        }
    }

    fn function(&mut self, name: &'a str) {
        let found: Vec<&'a ast::Function> = self
            .all_items()
            .filter_map(|i| match i {
                ast::Item::Function(f) if f.name.name == name => Some(f),
                _ => None,
            })
            .collect();
        for f in found {
            if let ast::FunctionBody::Script(b) = &f.body {
                self.block(b);
            }
        }
    }

    fn call(&mut self, name: &'a str) {
        if self.seen_functions.insert(name) {
            self.calls.push(name);
        }
    }

    fn block(&mut self, b: &'a ast::Block) {
        b.stmts.iter().for_each(|s| self.stmt(s));
    }

    fn stmt(&mut self, s: &'a Stmt) {
        match &s.kind {
            StmtKind::Block(b) => self.block(b),
            StmtKind::Expr(e) | StmtKind::Delete(e) => self.expr(e),
            StmtKind::If { cond, then, els } => {
                self.expr(cond);
                self.stmt(then);
                if let Some(e) = els {
                    self.stmt(e);
                }
            }
            StmtKind::While { cond, body } => {
                self.expr(cond);
                self.stmt(body);
            }
            StmtKind::For { init, cond, step, body } => {
                for e in [init, cond, step].into_iter().flatten() {
                    self.expr(e);
                }
                self.stmt(body);
            }
            StmtKind::Foreach(f) => {
                self.expr(&f.array);
                if let Some(l) = &f.limit {
                    self.expr(l);
                }
                self.stmt(&f.body);
            }
            StmtKind::Return(e) => {
                if let Some(e) = e {
                    self.expr(e);
                }
            }
            StmtKind::Try { body, catch_body, .. } => {
                self.block(body);
                self.block(catch_body);
            }
            StmtKind::Next | StmtKind::Break | StmtKind::Continue | StmtKind::Embedded(_) | StmtKind::Empty => {}
        }
    }

    fn expr(&mut self, e: &'a Expr) {
        match &e.kind {
            ExprKind::Number(_)
            | ExprKind::String(_)
            | ExprKind::Var(_)
            | ExprKind::Star
            | ExprKind::Perf(_)
            | ExprKind::Positional { .. }
            | ExprKind::ArgCount
            | ExprKind::Const(_)
            | ExprKind::Embedded(_) => {}
            ExprKind::Index { keys, .. } => keys.iter().for_each(|k| self.expr(k)),
            ExprKind::Call { name, args } => {
                self.call(&name.name);
                args.iter().for_each(|a| self.expr(a));
            }
            ExprKind::Unary { operand: x, .. }
            | ExprKind::Stat { operand: x, .. }
            | ExprKind::Defined(x)
            | ExprKind::ProbeWrite(x)
            | ExprKind::Register { index: x, .. } => self.expr(x),
            ExprKind::Deref { size, addr, .. } => {
                self.expr(size);
                self.expr(addr);
            }
            ExprKind::Entry(x) => {
                self.targets = true;
                self.expr(x);
            }
            ExprKind::Binary { lhs: a, rhs: b, .. }
            | ExprKind::Assign { target: a, value: b, .. }
            | ExprKind::Accumulate { target: a, value: b }
            | ExprKind::Variance { operand: a, shift: b }
            | ExprKind::HistBucket { hist: a, bucket: b } => {
                self.expr(a);
                self.expr(b);
            }
            ExprKind::Ternary { cond, then, els } => {
                self.expr(cond);
                self.expr(then);
                self.expr(els);
            }
            ExprKind::In { keys, array } => {
                keys.iter().for_each(|k| self.expr(k));
                self.expr(array);
            }
            ExprKind::Hist { kind, operand } => {
                self.expr(operand);
                if let ast::HistKind::Linear { start, stop, interval } = kind {
                    self.expr(start);
                    self.expr(stop);
                    self.expr(interval);
                }
            }
            ExprKind::Target(t) => {
                self.targets = true;
                match &t.base {
                    TargetBase::Var(_) => {}
                    TargetBase::Cast { operand, module, .. } => {
                        self.expr(operand);
                        if let Some(m) = module.as_deref().and_then(crate::probes::dwarf::module_arg) {
                            self.cast_modules.push(m.to_string());
                        }
                    }
                    TargetBase::AtVar { module, .. } => {
                        if let Some(m) = module.as_deref().and_then(crate::probes::dwarf::module_arg) {
                            self.cast_modules.push(m.to_string());
                        }
                    }
                    TargetBase::Autocast(x) => self.expr(x),
                }
                for c in &t.chain {
                    if let ast::TargetComponent::Index(i) = c {
                        self.expr(i);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::{Diagnostics, SourceMap};
    use crate::syntax::{self, Macros, ParseOptions};

    fn needs(user: &str, tapset: &str) -> DebuginfoNeeds {
        let mut sources = SourceMap::new();
        let mut diags = Diagnostics::new();
        let popts = ParseOptions::default();
        let mut parse = |name: &str, text: &str| {
            let id = if name == "<input>" {
                sources.add(name.to_string(), text.to_string())
            } else {
                sources.add_library(name.to_string(), text.to_string())
            };
            syntax::parse_file(&popts, &mut Macros::default(), &mut sources, id, &mut diags).expect("parses")
        };
        let t = parse("lib.stp", tapset);
        let u = parse("<input>", user);
        assert!(!diags.has_errors(), "{:?}", diags.list);
        debuginfo_needs(&Files { user: std::slice::from_ref(&u), tapsets: std::slice::from_ref(&t) })
    }

    #[test]
    fn kernel_dwarf_comes_from_points_targets_aliases_and_calls() {
        let none = DebuginfoNeeds::default();
        let kernel = DebuginfoNeeds { kernel: true, ..Default::default() };
        assert_eq!(needs("probe begin { println(\"$x @cast kernel.function\") } # $y", ""), none);
        assert_eq!(needs("probe kernel.function(\"vfs_read\") { }", ""), kernel);
        assert_eq!(needs("probe kprobe.function(\"f\") { println($x) }", ""), kernel);
        assert_eq!(needs("probe begin { p = 0; println(p->f) }", ""), kernel);
        let lib = "probe vfs.read = kernel.function(\"vfs_read\") { }\n\
                   probe other.thing = begin { }\n\
                   function uses_cast(p) { return @cast(p, \"struct file\")->f_pos }\n\
                   function plain() { return 1 }\n\
                   function outer(p) { return uses_cast(p) }";
        assert_eq!(needs("probe vfs.read { }", lib), kernel);
        assert_eq!(needs("probe vfs.* { }", lib), kernel);
        assert_eq!(needs("probe other.thing { println(plain()) }", lib), none);
        assert_eq!(needs("probe begin { println(outer(0)) }", lib), kernel);
    }

    #[test]
    fn tracepoints_need_btf_and_type_targets_with_it() {
        let trace = DebuginfoNeeds { tracepoints: true, ..Default::default() };
        assert_eq!(needs("probe kernel.trace(\"sched:*\") { println(pp()) }", ""), trace);
        assert_eq!(needs("probe kernel.trace(\"sched_switch\") { println($prev->pid) }", ""), trace);
        let both = DebuginfoNeeds { kernel: true, tracepoints: true, ..Default::default() };
        assert_eq!(needs("probe kernel.trace(\"a\") { } probe kernel.function(\"f\") { }", ""), both);
        let lib = "probe sc.any = kernel.trace(\"raw_syscalls:sys_enter\") { nr = $id }";
        assert_eq!(needs("probe sc.any { }", lib), trace);
    }

    #[test]
    fn modules_come_from_points_then_casts_and_vars() {
        let n = needs(
            r#"probe module("ext4").function("*"), kprobe.module("xfs").function("f") {
                println(@cast(p, "struct a", "kernel<linux/fs.h>")->b, @cast(f(1, "x"), "struct t", "nfs<nfs.h>")->c)
                println(@var("jiffies"), @var("count@x.c", "btrfs"), @cast(q, "struct u", "zfs")->d)
            }
            probe module("ext4").statement("g@a.c:3") { }"#,
            "function f(a, b) { return 0 }",
        );
        assert_eq!(n.modules, ["ext4", "nfs", "btrfs", "zfs"]);
        assert!(n.kernel);
    }
}
