//! Autocast (SystemTap 2.6+) on an in-memory `FakeDebugInfo`: a typed
//! value keeps its DWARF type through locals, globals, array values,
//! function arguments and returns, and `->` on it resolves in that type;
//! an untyped value or one that two types reach is an exact error.

use rstap::debuginfo::fake::FakeDebugInfo;
use rstap::debuginfo::{AccessOp, BaseEncoding, Location, Reg};
use rstap::diag::{render, Diagnostics, SourceMap};
use rstap::elaborate::{self, target::Dwarf, ElabOptions};
use rstap::ir::{Expr, ExprKind, FunctionBody, Program, Stmt, StmtKind};
use rstap::ir_target::{TargetAccess, TargetBase, TargetFinal, TargetRead, TargetStep};
use rstap::probes::NoSymbols;
use rstap::syntax::{parse_text, Macros, ParseOptions};

fn fake() -> FakeDebugInfo {
    let mut di = FakeDebugInfo::new();
    let long = di.base("long long int", 8, BaseEncoding::Signed);
    let int = di.base("int", 4, BaseEncoding::Signed);
    let ulong = di.base("long unsigned int", 8, BaseEncoding::Unsigned);
    let dentry = di.structure("dentry", 64, &[("d_flags", int, 0)]);
    let pdentry = di.pointer(Some(dentry));
    let path = di.structure("path", 16, &[("mnt", ulong, 0), ("dentry", pdentry, 8)]);
    let file = di.structure("file", 232, &[("f_path", path, 16), ("f_pos", long, 104)]);
    let pfile = di.pointer(Some(file));
    di.function(
        "vfs_read",
        "fs/read_write.c",
        450,
        0xffffffff81000000,
        &[("file", pfile, Location::Register(Reg(5))), ("d", pdentry, Location::Register(Reg(4)))],
    );
    di
}

fn elab(text: &str) -> Result<Program, String> {
    let di = fake();
    let mut sources = SourceMap::new();
    let mut diags = Diagnostics::new();
    let mut macros = Macros::default();
    let popts = ParseOptions::default();
    let file = parse_text(&popts, &mut macros, &mut sources, "t.stp", text, &mut diags).ok_or_else(|| render(&sources, &diags))?;
    let eopts = ElabOptions::default();
    let dwarf = Dwarf { debuginfo: Some(&di), ..Default::default() };
    let prog = elaborate::elaborate_with(&eopts, std::slice::from_ref(&file), &[], &NoSymbols, &dwarf, &sources, &mut diags);
    match prog {
        Some(p) if !diags.has_errors() => Ok(p),
        _ => Err(render(&sources, &diags)),
    }
}

fn targets(s: &Stmt, out: &mut Vec<TargetAccess>) {
    fn expr(e: &Expr, out: &mut Vec<TargetAccess>) {
        match &e.kind {
            ExprKind::Target(t) => {
                out.push((**t).clone());
                if let TargetBase::Expr(b) = &t.base {
                    expr(b, out);
                }
            }
            ExprKind::Format { args, .. } | ExprKind::Call { args, .. } => args.iter().for_each(|a| expr(a, out)),
            ExprKind::Assign { value, .. } | ExprKind::IndexAssign { value, .. } => expr(value, out),
            _ => {}
        }
    }
    match &s.kind {
        StmtKind::Block(v) => v.iter().for_each(|s| targets(s, out)),
        StmtKind::Expr(e) | StmtKind::Return(Some(e)) => expr(e, out),
        _ => {}
    }
}

/// The target accesses of every probe body and function, in order.
fn all_targets(p: &Program) -> Vec<TargetAccess> {
    let mut v = Vec::new();
    for b in &p.bodies {
        targets(&b.body, &mut v);
    }
    for f in &p.functions {
        if let FunctionBody::Script(s) = &f.body {
            targets(s, &mut v);
        }
    }
    v
}

fn ops(t: &TargetAccess) -> Vec<AccessOp> {
    t.steps.iter().filter_map(|s| if let TargetStep::Op(o) = s { Some(*o) } else { None }).collect()
}

/// The `->f_pos` read of an autocast value: an expression base, the
/// field's offset, an 8-byte signed load.
fn is_f_pos(t: &TargetAccess) -> bool {
    matches!(t.base, TargetBase::Expr(_))
        && ops(t) == vec![AccessOp::Add(104)]
        && t.fin == TargetFinal::Load(TargetRead { size: 8, signed: true, bitfield: None })
}

fn f_pos_reads(text: &str) -> usize {
    let p = elab(text).unwrap_or_else(|e| panic!("{e}"));
    all_targets(&p).iter().filter(|t| is_f_pos(t)).count()
}

#[test]
fn through_a_local() {
    assert_eq!(f_pos_reads(r#"probe kernel.function("vfs_read") { p = $file; println(p->f_pos) }"#), 1);
    // A chain keeps the type at each step.
    let p = elab(r#"probe kernel.function("vfs_read") { d = $file->f_path->dentry; println(d->d_flags) }"#).unwrap();
    let t = all_targets(&p);
    assert_eq!(t.len(), 2, "{t:?}");
    assert_eq!(t[1].fin, TargetFinal::Load(TargetRead { size: 4, signed: true, bitfield: None }));
    assert!(ops(&t[1]).is_empty());
}

#[test]
fn through_a_function_argument_and_return() {
    assert_eq!(
        f_pos_reads(r#"function pos(p) { return p->f_pos } probe kernel.function("vfs_read") { println(pos($file)) }"#),
        1
    );
    assert_eq!(
        f_pos_reads(r#"function file() { return @cast(0, "struct file") } probe begin { println(file()->f_pos) }"#)
            + f_pos_reads(r#"function id(x) { return x } probe kernel.function("vfs_read") { q = id($file); println(q->f_pos) }"#),
        2
    );
}

#[test]
fn through_array_values_and_globals() {
    assert_eq!(
        f_pos_reads(r#"global a probe kernel.function("vfs_read") { a[1] = $file; println(a[1]->f_pos) }"#),
        1
    );
    // The use comes before the assignment in the text: found on the rerun.
    assert_eq!(
        f_pos_reads(r#"global g probe end { println(g->f_pos) } probe kernel.function("vfs_read") { g = $file }"#),
        1
    );
    assert_eq!(
        f_pos_reads(r#"probe kernel.function("vfs_read") { println(($file ? $file : $file)->f_pos) }"#),
        1
    );
    assert_eq!(f_pos_reads(r#"probe begin { c = @cast(0, "struct file"); println(c->f_pos) }"#), 1);
}

#[test]
fn untyped_value_is_an_error() {
    let e = elab(r#"probe kernel.function("vfs_read") { p = 1; println(p->f_pos) }"#).unwrap_err();
    assert_eq!(
        e,
        "error: cannot resolve `p->f_pos`: `p` holds no typed value (autocast needs a value from a target variable, @cast or @var); use @cast(p, \"TYPE\")\n  ┌─ t.stp:1:52\n  │\n1 │ probe kernel.function(\"vfs_read\") { p = 1; println(p->f_pos) }\n  │                                                    ^^^^^^^^\n\n"
    );
}

#[test]
fn two_types_make_no_type() {
    let e = elab(r#"function f(p) { return p->f_pos } probe kernel.function("vfs_read") { println(f($file) + f($d)) }"#)
        .unwrap_err();
    assert!(
        e.starts_with("error: cannot resolve `p->f_pos`: values of two types reach `p` (struct file* and struct dentry*), so it has no type; use @cast to name one\n  ┌─ t.stp:1:24\n"),
        "{e}"
    );
    // Typed and untyped: the untyped value adds nothing.
    assert_eq!(f_pos_reads(r#"probe kernel.function("vfs_read") { p = 0; p = $file; println(p->f_pos) }"#), 1);
}
