//! Pass 2 of guru-mode stores on an in-memory `FakeDebugInfo`: what each
//! `$var = v`, `$p->f op= v`, `$x++`, `$return = v`, `@cast(...)->f = v`
//! and `$p->name = "text"` lowers to, the exact errors for destinations
//! that cannot be written, and the -g discipline.

use rstap::debuginfo::fake::FakeDebugInfo;
use rstap::debuginfo::{AccessOp, BaseEncoding, Bitfield, FunctionInfo, LocOp, Location, Reg, Variable, VarKind, VarLocation};
use rstap::diag::{render, Diagnostics, SourceMap};
use rstap::elaborate::{self, target::Dwarf, ElabOptions};
use rstap::ir::store::{StoreKind, TargetStore};
use rstap::ir::{BinaryOp, ExprKind, Program};
use rstap::ir_target::{TargetBase, TargetFinal, TargetStep};
use rstap::probes::NoSymbols;
use rstap::syntax::{parse_text, Macros, ParseOptions};

const DIE: u64 = 0x7000_0000;

fn fake() -> FakeDebugInfo {
    let mut di = FakeDebugInfo::new();
    let long = di.base("long int", 8, BaseEncoding::Signed);
    let int = di.base("int", 4, BaseEncoding::Signed);
    let uint = di.base("unsigned int", 4, BaseEncoding::Unsigned);
    let ch = di.base("char", 1, BaseEncoding::Signed);
    let pch = di.pointer(Some(ch));
    let name = di.array(ch, &[16]);
    let task = di.structure("task", 64, &[("pid", int, 0), ("comm", name, 8), ("label", pch, 24), ("utime", long, 32)]);
    di.bitfield(task, "frozen", uint, 40, 3, 2);
    let ptask = di.pointer(Some(task));
    let holder = di.structure("holder", 16, &[("t", ptask, 0), ("tasks", ptask, 8)]);
    let pholder = di.pointer(Some(holder));
    let vars = vec![
        var("h", pholder, VarKind::Param, Location::Register(Reg(5))),
        var("n", int, VarKind::Param, Location::Register(Reg(4))),
        var("t", ptask, VarKind::Param, Location::Memory(vec![LocOp::RegOffset(Reg(7), 8)])),
        var("sum", long, VarKind::Param, Location::Value(vec![LocOp::Reg(Reg(3)), LocOp::Plus(1)])),
    ];
    di.add_function(
        FunctionInfo {
            name: "do_work".into(),
            cu_name: "kernel/work.c".into(),
            decl_file: Some("kernel/work.c".into()),
            decl_line: 10,
            external: true,
            die: DIE,
            entry_pc: Some(0xffffffff81002000),
            prologue_end: Some(0xffffffff81002000),
            optimized: true,
            inline_instances: Vec::new(),
            clones: Vec::new(),
            return_type: Some(long),
        },
        vars,
    );
    // A system call's inlined body, as SYSCALL_DEFINE makes it: the
    // parameters have no location at the entry point __x64_sys_fake.
    let sys = vec![
        Variable { name: "fd".into(), kind: VarKind::Param, type_id: Some(uint), type_name: String::new(), location: VarLocation::OptimizedOut },
        Variable { name: "cmd".into(), kind: VarKind::Param, type_id: Some(int), type_name: String::new(), location: VarLocation::OptimizedOut },
    ];
    di.add_function(
        FunctionInfo {
            name: "__do_sys_fake".into(),
            cu_name: "kernel/fake.c".into(),
            decl_file: Some("kernel/fake.c".into()),
            decl_line: 3,
            external: false,
            die: DIE + 0x100,
            entry_pc: None,
            prologue_end: None,
            optimized: true,
            inline_instances: Vec::new(),
            clones: Vec::new(),
            return_type: Some(long),
        },
        sys,
    );
    di
}

fn var(name: &str, ty: rstap::debuginfo::TypeId, kind: VarKind, loc: Location) -> Variable {
    Variable { name: name.into(), kind, type_id: Some(ty), type_name: String::new(), location: VarLocation::Available(loc) }
}

fn elab_with(text: &str, guru: bool) -> Result<Program, String> {
    let di = fake();
    let mut sources = SourceMap::new();
    let mut diags = Diagnostics::new();
    let mut macros = Macros::default();
    let popts = ParseOptions { guru, ..ParseOptions::default() };
    let file = parse_text(&popts, &mut macros, &mut sources, "t.stp", text, &mut diags).ok_or_else(|| render(&sources, &diags))?;
    let eopts = ElabOptions { guru, ..ElabOptions::default() };
    let dwarf = Dwarf { debuginfo: Some(&di), ..Default::default() };
    let prog = elaborate::elaborate_with(&eopts, std::slice::from_ref(&file), &[], &NoSymbols, &dwarf, &sources, &mut diags);
    match prog {
        Some(p) if !diags.has_errors() => Ok(p),
        _ => Err(render(&sources, &diags)),
    }
}

fn elab(text: &str) -> Result<Program, String> {
    elab_with(text, true)
}

/// The one store of the first probe body.
fn only_store(text: &str) -> TargetStore {
    let p = elab(text).unwrap_or_else(|e| panic!("{e}"));
    let mut out: Vec<TargetStore> = Vec::new();
    rstap::ir::visit::each_expr(&p.bodies[0].body, |e| {
        if let ExprKind::TargetStore(s) = &e.kind {
            out.push((**s).clone());
        }
    });
    assert_eq!(out.len(), 1, "{out:?}");
    out.remove(0)
}

fn ops(s: &TargetStore) -> Vec<AccessOp> {
    s.dest
        .steps
        .iter()
        .filter_map(|s| match s {
            TargetStep::Op(o) => Some(*o),
            _ => None,
        })
        .collect()
}

#[test]
fn parameter_in_a_register_is_written_in_pt_regs() {
    let s = only_store(r#"probe kernel.function("do_work") { $n = 5 }"#);
    assert_eq!(s.kind, StoreKind::Register { field: "si", size: 4, signed: true });
    assert!(s.op.is_none() && !s.post);
    assert!(matches!(s.value.kind, ExprKind::Long(5)));
}

#[test]
fn fields_through_pointers_and_compound_operators() {
    let s = only_store(r#"probe kernel.function("do_work") { $h->t->utime += 3 }"#);
    assert_eq!(s.kind, StoreKind::Memory { size: 8, signed: true, bitfield: None });
    assert_eq!(s.op, Some(BinaryOp::Add));
    assert_eq!(s.dest.fin, TargetFinal::Address);
    assert!(matches!(&s.dest.base, TargetBase::Program(p) if p == &vec![LocOp::Reg(Reg(5))]));
    assert_eq!(ops(&s), [AccessOp::Load { size: 8 }, AccessOp::Add(32)]);
    // `x++` stores x + 1 and is the old value.
    let s = only_store(r#"probe kernel.function("do_work") { x = $h->t->pid++ }"#);
    assert_eq!(s.kind, StoreKind::Memory { size: 4, signed: true, bitfield: None });
    assert_eq!((s.op, s.post), (Some(BinaryOp::Add), true));
    let s = only_store(r#"probe kernel.function("do_work") { --$h->t->pid }"#);
    assert_eq!((s.op, s.post), (Some(BinaryOp::Sub), false));
}

#[test]
fn run_time_indices_and_stack_slots() {
    let s = only_store(r#"probe kernel.function("do_work") { i = 2; $h->tasks[i]->pid = 0 }"#);
    assert!(s.dest.steps.iter().any(|st| matches!(st, TargetStep::Index { stride: 64, .. })), "{:?}", s.dest.steps);
    assert_eq!(s.kind, StoreKind::Memory { size: 4, signed: true, bitfield: None });
    // A parameter in a stack slot is memory.
    let s = only_store(r#"probe kernel.function("do_work") { $t = 0 }"#);
    assert_eq!(s.kind, StoreKind::Memory { size: 8, signed: false, bitfield: None });
}

#[test]
fn bitfields_and_char_arrays() {
    let s = only_store(r#"probe kernel.function("do_work") { $h->t->frozen = 1 }"#);
    assert_eq!(s.kind, StoreKind::Memory { size: 4, signed: false, bitfield: Some(Bitfield { bit_offset: 3, bit_size: 2 }) });
    let p = elab(r#"probe kernel.function("do_work") { println($h->t->comm = "swapper") }"#).unwrap();
    let mut kinds = Vec::new();
    rstap::ir::visit::each_expr(&p.bodies[0].body, |e| {
        if let ExprKind::TargetStore(s) = &e.kind {
            kinds.push((s.kind, e.ty));
        }
    });
    assert_eq!(kinds, [(StoreKind::CharArray { len: 16 }, rstap::ir::Type::String)]);
}

#[test]
fn return_value_in_return_probes() {
    let s = only_store(r#"probe kernel.function("do_work").return { $return = -2 }"#);
    assert_eq!(s.kind, StoreKind::Register { field: "ax", size: 8, signed: true });
    let s = only_store(r#"probe kprobe.function("do_work").return { $return = -12 }"#);
    assert_eq!(s.kind, StoreKind::Register { field: "ax", size: 8, signed: true });
    // Memory through a parameter saved at entry is still memory.
    let s = only_store(r#"probe kernel.function("do_work").return { $h->t->pid = 1 }"#);
    assert!(s.dest.entry_regs);
    assert_eq!(s.kind, StoreKind::Memory { size: 4, signed: true, bitfield: None });
}

#[test]
fn cast_writes() {
    let s = only_store(r#"probe begin { @cast(1000, "struct task")->utime = 9 }"#);
    assert!(matches!(&s.dest.base, TargetBase::Expr(_)));
    assert_eq!(ops(&s), [AccessOp::Add(32)]);
    assert_eq!(s.kind, StoreKind::Memory { size: 8, signed: true, bitfield: None });
}

fn err(text: &str) -> String {
    elab(text).map(|_| ()).expect_err("must fail")
}

#[test]
fn destinations_that_cannot_be_written() {
    assert_eq!(
        err(r#"probe kernel.function("do_work") { $sum = 1 }"#),
        "error: cannot write `$sum`: at this probe point its value is computed (DWARF gives no register or memory that holds it)\n  ┌─ t.stp:1:36\n  │\n1 │ probe kernel.function(\"do_work\") { $sum = 1 }\n  │                                    ^^^^\n\n"
    );
    let e = err(r#"probe kernel.function("do_work").return { $n = 1 }"#);
    assert!(e.starts_with("error: cannot write `$n` in a .return probe: it is the value its function was called with, saved at entry (write it in a .call probe)\n"), "{e}");
    let e = err(r#"probe kernel.function("do_work") { $h->t->label = "x" }"#);
    assert!(e.starts_with("error: cannot store a string into `$h->t->label` (a char*): only a char array holds one; set_kernel_string() writes where a char * points\n"), "{e}");
    let e = err(r#"probe kernel.function("do_work") { $h->t = 0; @cast(0, "struct holder") = 1 }"#);
    assert!(e.contains("error: cannot write `@cast(0, \"struct holder\")`: it is a struct holder (write its members one by one)"), "{e}");
    let e = err(r#"probe kernel.function("do_work") { $h->t->comm .= "x" }"#);
    assert!(e.starts_with("error: `$h->t->comm` is a char array: only `=` stores a string into it\n"), "{e}");
    let e = err(r#"probe kernel.function("do_work") { &$h->t = 0 }"#);
    assert!(e.starts_with("error: cannot assign to `&$h->t`: an address is not a variable\n"), "{e}");
    let e = err(r#"probe kernel.function("do_work") { $h->t->pid = "one" }"#);
    assert!(e.contains("error: cannot store a string into `$h->t->pid` (a int)"), "{e}");
    let e = err(r#"probe kernel.function("do_work") { $h->t->utime = execname_like() } function execname_like:string() { return "x" }"#);
    assert!(e.contains("the value stored to a target variable must be a long but is a string"), "{e}");
    let e = err(r#"probe kprobe.function("do_work").return { $return->x = 1 }"#);
    assert!(e.contains("$return of a kprobe.function probe has no type (no debuginfo)"), "{e}");
}

#[test]
fn without_guru_mode_every_store_is_refused_first() {
    let e = elab_with(r#"probe kernel.function("do_work") { $sum = 1; $h->t->pid++ }"#, false).unwrap_err();
    assert_eq!(e.matches("error: write to target variable not permitted; need stap -g").count(), 2, "{e}");
    let e = elab_with(r#"probe begin { @cast(0, "struct task")->pid = 1 }"#, false).unwrap_err();
    assert!(e.starts_with("error: write to @cast context variable not permitted; need stap -g\n  ┌─ t.stp:1:15\n"), "{e}");
    // Reads stay allowed.
    elab_with(r#"probe kernel.function("do_work") { println($h->t->pid) }"#, false).unwrap();
}

#[test]
fn syscall_parameters_are_the_user_registers_of_the_entry_point() {
    // $cmd, the second argument, is the user's rsi: pt_regs offset 104
    // from the pointer the entry point gets in rdi.
    let s = only_store(r#"probe kprobe.function("__x64_sys_fake") { $cmd = 0 }"#);
    assert!(matches!(&s.dest.base, TargetBase::Program(p) if p == &[LocOp::RegOffset(Reg(5), 104)]), "{:?}", s.dest.base);
    assert_eq!(s.kind, StoreKind::Memory { size: 4, signed: true, bitfield: None });
    // A read of $fd (argument 1, rdi at 112) is an unsigned int load there.
    let p = elab(r#"probe kprobe.function("__x64_sys_fake") { println($fd) }"#).unwrap();
    let mut reads = Vec::new();
    rstap::ir::visit::each_expr(&p.bodies[0].body, |e| {
        if let ExprKind::Target(t) = &e.kind {
            reads.push((**t).clone());
        }
    });
    assert_eq!(reads.len(), 1);
    assert!(matches!(&reads[0].base, TargetBase::Program(p) if p == &[LocOp::RegOffset(Reg(5), 112)]));
    assert!(matches!(reads[0].fin, TargetFinal::Load(r) if r.size == 4 && !r.signed));
    let e = err(r#"probe kprobe.function("__x64_sys_fake") { $count = 1 }"#);
    assert!(e.starts_with("error: unable to find target variable `$count` in system call fake (its parameters: $fd $cmd)\n"), "{e}");
    let e = err(r#"probe kprobe.function("__x64_sys_fake") { $fd->x = 1 }"#);
    // `->` walks the parameter's type (tests/syscall_params.rs): an int has no members.
    assert!(e.starts_with("error: cannot access member 'x' of non-struct type unsigned int\n"), "{e}");
    // Not a system call's entry point: the usual error.
    let e = err(r#"probe kprobe.function("do_work") { $n = 1 }"#);
    assert!(e.contains("target variable `$n` is only available in kernel.function probes"), "{e}");
}
