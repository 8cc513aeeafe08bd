//! Pass 2 of target variables and kernel.function probes on an in-memory
//! `FakeDebugInfo` (no kernel, no DWARF files): which probes are derived,
//! what each `$var` lowers to, and the exact errors.

use rstap::debuginfo::fake::FakeDebugInfo;
use rstap::debuginfo::{AccessOp, BaseEncoding, LocOp, Location, Reg, Variable, VarKind, VarLocation};
use rstap::diag::{render, Diagnostics, SourceMap};
use rstap::elaborate::{self, target::Dwarf, ElabOptions};
use rstap::ir::{Expr, ExprKind, ProbeKind, Program, Stmt, StmtKind};
use rstap::ir_target::{TargetAccess, TargetBase, TargetFinal, TargetRead, TargetStep};
use rstap::probes::NoSymbols;
use rstap::syntax::{parse_text, Macros, ParseOptions};

fn fake() -> FakeDebugInfo {
    let mut di = FakeDebugInfo::new();
    let long = di.base("long long int", 8, BaseEncoding::Signed);
    let int = di.base("int", 4, BaseEncoding::Signed);
    let ulong = di.base("long unsigned int", 8, BaseEncoding::Unsigned);
    let size_t = di.typedef("size_t", ulong);
    let ch = di.base("char", 1, BaseEncoding::Signed);
    let name = di.array(ch, &[32]);
    let dentry = di.structure("dentry", 64, &[("d_flags", int, 0), ("d_iname", name, 16)]);
    let pdentry = di.pointer(Some(dentry));
    let path = di.structure("path", 16, &[("mnt", ulong, 0), ("dentry", pdentry, 8)]);
    let file = di.structure("file", 232, &[("f_path", path, 16), ("f_pos", long, 104)]);
    let pfile = di.pointer(Some(file));
    let plong = di.pointer(Some(long));
    di.function(
        "vfs_read",
        "fs/read_write.c",
        450,
        0xffffffff81000000,
        &[
            ("file", pfile, Location::Register(Reg(5))),
            ("count", size_t, Location::Register(Reg(1))),
            ("pos", plong, Location::Memory(vec![LocOp::RegOffset(Reg(7), 16)])),
        ],
    );
    let die = di.function("vfs_write", "fs/read_write.c", 560, 0xffffffff81001000, &[]);
    di.set_variables(
        die,
        vec![Variable {
            name: "file".into(),
            kind: VarKind::Param,
            type_id: Some(pfile),
            type_name: "struct file*".into(),
            location: VarLocation::OptimizedOut,
        }, Variable {
            name: "ret".into(),
            kind: VarKind::Local,
            type_id: Some(long),
            type_name: "long long int".into(),
            location: VarLocation::Available(Location::Register(Reg(3))),
        }],
    );
    di
}

fn elab(text: &str) -> Result<Program, String> {
    let di = fake();
    let mut sources = SourceMap::new();
    let mut diags = Diagnostics::new();
    let mut macros = Macros::default();
    let popts = ParseOptions::default();
    // The tapset behind @entry, from the repository.
    let entry_stp = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../tapsets/entry.stp")).unwrap();
    let entry_id = sources.add_library("entry.stp", entry_stp);
    let entry = rstap::syntax::parse_file(&popts, &mut macros, &mut sources, entry_id, &mut diags).ok_or_else(|| render(&sources, &diags))?;
    let file = parse_text(&popts, &mut macros, &mut sources, "t.stp", text, &mut diags).ok_or_else(|| render(&sources, &diags))?;
    let eopts = ElabOptions::default();
    let dwarf = Dwarf { debuginfo: Some(&di), ..Default::default() };
    let prog = elaborate::elaborate_with(&eopts, std::slice::from_ref(&file), std::slice::from_ref(&entry), &NoSymbols, &dwarf, &sources, &mut diags);
    match prog {
        Some(p) if !diags.has_errors() => Ok(p),
        _ => Err(render(&sources, &diags)),
    }
}

/// The target accesses of a probe body, in order.
fn targets(s: &Stmt, out: &mut Vec<TargetAccess>) {
    fn expr(e: &Expr, out: &mut Vec<TargetAccess>) {
        match &e.kind {
            ExprKind::Target(t) => out.push((**t).clone()),
            ExprKind::Format { args, .. } => args.iter().for_each(|a| expr(a, out)),
            ExprKind::Binary { lhs, rhs, .. } => {
                expr(lhs, out);
                expr(rhs, out);
            }
            ExprKind::Assign { value, .. } => expr(value, out),
            ExprKind::Call { args, .. } => args.iter().for_each(|a| expr(a, out)),
            _ => {}
        }
    }
    match &s.kind {
        StmtKind::Block(l) => l.iter().for_each(|s| targets(s, out)),
        StmtKind::Expr(e) => expr(e, out),
        _ => {}
    }
}

fn only_target(text: &str) -> TargetAccess {
    let p = elab(text).unwrap_or_else(|e| panic!("{e}"));
    let mut v = Vec::new();
    targets(&p.bodies[0].body, &mut v);
    assert_eq!(v.len(), 1, "{v:?}");
    v.remove(0)
}

fn ops(t: &TargetAccess) -> Vec<AccessOp> {
    t.steps
        .iter()
        .filter_map(|s| match s {
            TargetStep::Op(o) => Some(*o),
            _ => None,
        })
        .collect()
}

#[test]
fn kernel_function_derives_kprobes() {
    let p = elab(r#"probe kernel.function("vfs_*") { }"#).unwrap();
    let pps: Vec<&str> = p.probes.iter().map(|p| p.pp.as_str()).collect();
    assert_eq!(pps, ["kernel.function(\"vfs_read@fs/read_write.c:450\")", "kernel.function(\"vfs_write@fs/read_write.c:560\")"]);
    assert_eq!(p.probes[0].kind, ProbeKind::Kprobe { symbol: "vfs_read".into(), offset: 0, ret: false, maxactive: 0 });
    let p = elab(r#"probe kernel.function("vfs_read@fs/read_write.c").return { }"#).unwrap();
    assert_eq!(p.probes[0].kind, ProbeKind::Kprobe { symbol: "vfs_read".into(), offset: 0, ret: true, maxactive: 0 });
    assert!(p.probes[0].pp.ends_with(".return"));
    let p = elab(r#"probe kernel.function("vfs_read").call { }"#).unwrap();
    assert!(p.probes[0].pp.ends_with(".call"));
}

#[test]
fn parameter_in_a_register() {
    let t = only_target(r#"probe kernel.function("vfs_read") { println($count) }"#);
    assert!(matches!(&t.base, TargetBase::Program(p) if p == &vec![LocOp::Reg(Reg(1))]));
    assert!(t.steps.is_empty());
    assert_eq!(t.fin, TargetFinal::Value { size: 8, signed: false });
}

#[test]
fn member_through_pointers() {
    let t = only_target(r#"probe kernel.function("vfs_read") { println($file->f_pos) }"#);
    assert_eq!(ops(&t), vec![AccessOp::Add(104)]);
    assert_eq!(t.fin, TargetFinal::Load(TargetRead { size: 8, signed: true, bitfield: None }));
    let t = only_target(r#"probe kernel.function("vfs_read") { println($file->f_path->dentry->d_flags) }"#);
    assert_eq!(ops(&t), vec![AccessOp::Add(24), AccessOp::Load { size: 8 }]);
    assert_eq!(t.fin, TargetFinal::Load(TargetRead { size: 4, signed: true, bitfield: None }));
}

#[test]
fn memory_location_pointer_then_index() {
    // $pos lives on the stack: load the pointer, then index it at run time.
    let t = only_target(r#"probe kernel.function("vfs_read") { i = 2; println($pos[i]) }"#);
    assert!(matches!(&t.base, TargetBase::Program(p) if p == &vec![LocOp::RegOffset(Reg(7), 16)]));
    assert!(matches!(t.steps[0], TargetStep::Op(AccessOp::Load { size: 8 })));
    assert!(matches!(t.steps[1], TargetStep::Index { stride: 8, .. }));
    assert_eq!(t.fin, TargetFinal::Load(TargetRead { size: 8, signed: true, bitfield: None }));
}

#[test]
fn char_arrays_are_addresses_and_index() {
    let t = only_target(r#"probe kernel.function("vfs_read") { println($file->f_path->dentry->d_iname) }"#);
    assert_eq!(t.fin, TargetFinal::Address);
    let t = only_target(r#"probe kernel.function("vfs_read") { println($file->f_path->dentry->d_iname[3]) }"#);
    assert_eq!(ops(&t), vec![AccessOp::Add(24), AccessOp::Load { size: 8 }, AccessOp::Add(19)]);
    assert_eq!(t.fin, TargetFinal::Load(TargetRead { size: 1, signed: true, bitfield: None }));
}

#[test]
fn address_of_and_cast() {
    let t = only_target(r#"probe kernel.function("vfs_read") { println(&$file->f_pos) }"#);
    assert_eq!(t.fin, TargetFinal::Address);
    let t = only_target(r#"probe begin { println(@cast(0, "struct file")->f_pos) }"#);
    assert!(matches!(t.base, TargetBase::Expr(_)));
    assert_eq!(ops(&t), vec![AccessOp::Add(104)]);
}

#[test]
fn defined_and_optimized_out() {
    let p = elab(r#"probe kernel.function("vfs_*") { if (@defined($file)) println($file->f_pos) }"#).unwrap();
    assert_eq!(p.probes.len(), 2);
    let e = elab(r#"probe kernel.function("vfs_write") { println($file) }"#).unwrap_err();
    assert!(e.contains("target variable `$file` is optimized out at this probe point"), "{e}");
    assert!(e.contains("t.stp:1:46"), "{e}");
}

#[test]
fn errors_name_what_is_wrong() {
    let e = elab(r#"probe kernel.function("vfs_read") { println($nope) }"#).unwrap_err();
    assert!(e.contains("unable to find target variable `$nope` in vfs_read (alternatives: $file $count $pos)"), "{e}");
    let e = elab(r#"probe kernel.function("vfs_read") { println($file->f_poz) }"#).unwrap_err();
    assert!(e.contains("struct file has no member f_poz; did you mean f_pos?"), "{e}");
    let e = elab(r#"probe kernel.function("vfs_read") { println($return) }"#).unwrap_err();
    assert!(e.contains("`$return` is only available in .return probes"), "{e}");
    let e = elab(r#"probe begin { println($file) }"#).unwrap_err();
    assert!(e.contains("only available in kernel.function probes"), "{e}");
    let e = elab(r#"probe kernel.function("nothing_like_it") { }"#).unwrap_err();
    assert!(e.contains("no kernel function matches \"nothing_like_it\""), "{e}");
}

#[test]
fn var_lists_are_sprintf() {
    let p = elab(r#"probe kernel.function("vfs_*") { println($$parms) }"#).unwrap();
    let StmtKind::Block(outer) = &p.bodies[1].body.kind else { panic!() };
    let mut found = None;
    fn find(s: &Stmt, found: &mut Option<Vec<rstap::ir::FormatPiece>>) {
        match &s.kind {
            StmtKind::Block(l) => l.iter().for_each(|s| find(s, found)),
            StmtKind::Expr(Expr { kind: ExprKind::Format { args, .. }, .. }) => {
                if let Some(Expr { kind: ExprKind::Format { pieces, .. }, .. }) = args.first() {
                    *found = Some(pieces.clone());
                }
            }
            _ => {}
        }
    }
    outer.iter().for_each(|s| find(s, &mut found));
    // vfs_write's $file is optimized out.
    assert_eq!(found.unwrap(), vec![rstap::ir::FormatPiece::Text("file=?".into())]);
}

#[test]
fn defined_is_per_probe_and_repeatable() {
    // Each derived probe answers @defined for itself, every time.
    let p = elab(r#"probe kernel.function("vfs_*") { println(@defined($nope), @defined($nope), @defined($count)) }"#).unwrap();
    let mut longs = Vec::new();
    fn walk(e: &Expr, out: &mut Vec<i64>) {
        match &e.kind {
            ExprKind::Long(n) => out.push(*n),
            ExprKind::Format { args, .. } => args.iter().for_each(|a| walk(a, out)),
            _ => {}
        }
    }
    fn stmts(s: &Stmt, out: &mut Vec<i64>) {
        match &s.kind {
            StmtKind::Block(l) => l.iter().for_each(|s| stmts(s, out)),
            StmtKind::Expr(e) => walk(e, out),
            _ => {}
        }
    }
    for b in &p.bodies {
        stmts(&b.body, &mut longs);
    }
    // vfs_read: $count defined; vfs_write: not.
    assert_eq!(longs, vec![0, 0, 1, 0, 0, 0]);
}

#[test]
fn pretty_printing_is_sprintf() {
    let p = elab(r#"probe kernel.function("vfs_read") { println($file->f_path$) }"#).unwrap();
    let text = format!("{:?}", p.bodies[0].body);
    assert!(text.contains(r#"Text("{")"#) && text.contains(r#"Text(".mnt=")"#) && text.contains(r#"Text(", .dentry=")"#), "{text}");
}

#[test]
fn return_probes_see_parameters_at_entry_and_entry_values() {
    let p = elab(r#"probe kernel.function("vfs_read").return { println(@entry($count), @entry($file->f_pos + 1), $count) }"#).unwrap();
    let (entry_body, slots) = p.probes[0].entry.expect("an entry body for @entry");
    assert_eq!(slots, 2);
    assert_ne!(entry_body, p.probes[0].body);
    // $count in the return body reads the registers saved at entry.
    let mut found = Vec::new();
    targets(&p.bodies[p.probes[0].body].body, &mut found);
    assert_eq!(found.len(), 1);
    assert!(found[0].entry_regs);
    // The entry body computes both values, reading the live registers.
    let mut at_entry = Vec::new();
    targets(&p.bodies[entry_body].body, &mut at_entry);
    assert_eq!(at_entry.len(), 2);
    assert!(at_entry.iter().all(|t| !t.entry_regs));

    let e = elab(r#"probe kernel.function("vfs_write").return { println($ret) }"#).unwrap_err();
    assert!(e.contains("`$ret` is a local variable of vfs_write"), "{e}");
    let e = elab(r#"probe kernel.function("vfs_read") { println(@entry($count)) }"#).unwrap_err();
    assert!(e.contains("@entry is only available in .return probes"), "{e}");
    let e = elab(r#"probe kernel.function("vfs_read").return { x = 1; println(@entry($count + x)) }"#).unwrap_err();
    assert!(e.contains("@entry needs an expression of target variables, constants and function calls"), "{e}");
}

#[test]
fn dollar_dollar_return_of_a_function_without_a_value_is_empty() {
    // man stapprobes: `$$return` is "return=%x" of the value, "or else an
    // empty string"; it exists in return probes only.
    let p = elab(r#"probe kernel.function("vfs_write").return { println($$return) }"#).unwrap();
    let listing = format!("{:?}", p.bodies[p.probes[0].body].body);
    assert!(listing.contains("Str(\"\")"), "{listing}");
    let e = elab(r#"probe kernel.function("vfs_write") { println($$return) }"#).unwrap_err();
    assert!(e.contains("`$$return` is only available in .return probes"), "{e}");
}
