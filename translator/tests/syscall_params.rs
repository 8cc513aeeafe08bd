//! Pass 2 of `$param` in system-call probes (kprobes on `__x64_sys_NAME`,
//! as the `syscall.NAME` aliases are) on an in-memory `FakeDebugInfo`:
//! the parameter's value from the user's registers, `$param->field` and
//! `$param[i]` through its DWARF type reading user memory, `$$parms`, and
//! in `.return` probes the values the entry handler saved (`@entry`).

use rstap::debuginfo::fake::FakeDebugInfo;
use rstap::debuginfo::{AccessOp, BaseEncoding, FunctionInfo, LocOp, Reg, Variable, VarKind, VarLocation};
use rstap::diag::{render, Diagnostics, SourceMap};
use rstap::elaborate::{self, target::Dwarf, ElabOptions};
use rstap::ir::{Expr, ExprKind, Program};
use rstap::ir_target::{TargetAccess, TargetBase, TargetFinal, TargetStep};
use rstap::probes::NoSymbols;
use rstap::syntax::{parse_text, Macros, ParseOptions};

/// `long __do_sys_nap(int clock, struct ts *rqtp, char *name)`, inlined
/// into its entry point as SYSCALL_DEFINE makes it (no locations).
fn fake() -> FakeDebugInfo {
    let mut di = FakeDebugInfo::new();
    let long = di.base("long long int", 8, BaseEncoding::Signed);
    let int = di.base("int", 4, BaseEncoding::Signed);
    let ch = di.base("char", 1, BaseEncoding::Signed);
    let pch = di.pointer(Some(ch));
    let ts = di.structure("ts", 16, &[("tv_sec", long, 0), ("tv_nsec", long, 8)]);
    let pts = di.pointer(Some(ts));
    let param = |name: &str, ty| Variable {
        name: name.into(),
        kind: VarKind::Param,
        type_id: Some(ty),
        type_name: String::new(),
        location: VarLocation::OptimizedOut,
    };
    di.add_function(
        FunctionInfo {
            name: "__do_sys_nap".into(),
            cu_name: "kernel/nap.c".into(),
            decl_file: Some("kernel/nap.c".into()),
            decl_line: 3,
            external: false,
            die: 0x7000_0100,
            entry_pc: None,
            prologue_end: None,
            optimized: true,
            inline_instances: Vec::new(),
            clones: Vec::new(),
            return_type: Some(long),
        },
        vec![param("clock", int), param("rqtp", pts), param("name", pch)],
    );
    di
}

fn elab_with(text: &str, guru: bool) -> Result<Program, String> {
    let di = fake();
    let mut sources = SourceMap::new();
    let mut diags = Diagnostics::new();
    let mut macros = Macros::default();
    let popts = ParseOptions { guru, ..ParseOptions::default() };
    let mut library = Vec::new();
    // The tapsets behind @entry and pretty-printing, from the repository.
    for name in ["entry.stp", "pretty.stp"] {
        let text = std::fs::read_to_string(format!("{}/../tapsets/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let id = sources.add_library(name, text);
        library.push(rstap::syntax::parse_file(&popts, &mut macros, &mut sources, id, &mut diags).ok_or_else(|| render(&sources, &diags))?);
    }
    let file = parse_text(&popts, &mut macros, &mut sources, "t.stp", text, &mut diags).ok_or_else(|| render(&sources, &diags))?;
    let eopts = ElabOptions { guru, ..ElabOptions::default() };
    let dwarf = Dwarf { debuginfo: Some(&di), ..Default::default() };
    let prog = elaborate::elaborate_with(&eopts, std::slice::from_ref(&file), &library, &NoSymbols, &dwarf, &sources, &mut diags);
    match prog {
        Some(p) if !diags.has_errors() => Ok(p),
        _ => Err(render(&sources, &diags)),
    }
}

fn elab(text: &str) -> Result<Program, String> {
    elab_with(text, false)
}

fn err(text: &str) -> String {
    elab_with(text, true).expect_err("must fail")
}

/// The outermost target reads of an expression tree, in order.
fn reads(p: &Program, body: usize) -> Vec<TargetAccess> {
    let mut out = Vec::new();
    rstap::ir::visit::each_expr(&p.bodies[body].body, |e: &Expr| {
        if let ExprKind::Target(t) = &e.kind {
            out.push((**t).clone());
        }
    });
    out
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

/// The read of `$rqtp` (argument 2: the user's rsi, pt_regs offset 104
/// from the pointer the entry point gets in rdi), a kernel load.
fn is_rqtp(t: &TargetAccess) -> bool {
    matches!(&t.base, TargetBase::Program(p) if p == &[LocOp::RegOffset(Reg(5), 104)])
        && matches!(t.fin, TargetFinal::Load(r) if r.size == 8 && !r.signed)
        && !t.user
}

#[test]
fn fields_through_a_pointer_parameter_read_user_memory() {
    let p = elab(r#"probe kprobe.function("__x64_sys_nap") { println($rqtp->tv_nsec) }"#).unwrap();
    let r = reads(&p, 0);
    let outer = &r[0];
    assert!(outer.user, "{outer:?}");
    let TargetBase::Expr(base) = &outer.base else { panic!("{:?}", outer.base) };
    let ExprKind::Target(inner) = &base.kind else { panic!("{base:?}") };
    assert!(is_rqtp(inner), "{inner:?}");
    assert_eq!(ops(outer), [AccessOp::Add(8)]);
    assert!(matches!(outer.fin, TargetFinal::Load(r) if r.size == 8 && r.signed));
    // `[i]` strides by the struct; `&` gives the user address.
    let p = elab(r#"probe kprobe.function("__x64_sys_nap") { println($rqtp[1]->tv_sec, &$rqtp->tv_nsec) }"#).unwrap();
    let r: Vec<TargetAccess> = reads(&p, 0).into_iter().filter(|t| t.user).collect();
    assert_eq!(ops(&r[0]), [AccessOp::Add(16)]);
    assert_eq!(r[1].fin, TargetFinal::Address);
    // The parameter alone stays the saved register (writable in guru mode).
    let p = elab(r#"probe kprobe.function("__x64_sys_nap") { println($rqtp) }"#).unwrap();
    assert!(is_rqtp(&reads(&p, 0)[0]));
}

#[test]
fn var_lists_and_pretty_printing_of_parameters() {
    let p = elab(r#"probe kprobe.function("__x64_sys_nap") { println($$parms) }"#).unwrap();
    let mut text = String::new();
    rstap::ir::visit::each_expr(&p.bodies[0].body, |e: &Expr| {
        if let ExprKind::Format { pieces, .. } = &e.kind {
            for piece in pieces {
                if let rstap::ir::FormatPiece::Text(t) = piece {
                    text.push_str(t);
                }
            }
        }
    });
    assert_eq!(text, "\nclock= rqtp= name=", "println's newline, then the list");
    // `$rqtp$` shows the user's struct, `$name$` the user's string.
    let p = elab(r#"probe kprobe.function("__x64_sys_nap") { println($rqtp$, $name$) }"#).unwrap();
    let listing = rstap::elaborate::print::print_program(&p);
    assert!(listing.contains(r#"sprintf("{.tv_sec=%d, .tv_nsec=%d}", $rqtp$, $rqtp$)"#), "{listing}");
    assert!(listing.contains(r#"__pretty_string($name$, -1, 1)"#), "{listing}");
    assert!(reads(&p, 0).iter().filter(|t| !is_rqtp(t)).all(|t| t.user || t.steps.is_empty()));
}

#[test]
fn return_probes_see_the_values_at_entry() {
    let p = elab(r#"probe kprobe.function("__x64_sys_nap").return { printf("%d %d %s\n", $clock, $rqtp->tv_sec, $$parms) }"#).unwrap();
    let probe = &p.probes[0];
    let (entry, n) = probe.entry.expect("an entry body");
    assert_eq!(n, 5);
    // The return body reads the slots; the entry body computes them.
    assert!(reads(&p, probe.body).is_empty());
    let stored = reads(&p, entry);
    assert!(matches!(&stored[0].base, TargetBase::Program(o) if o == &[LocOp::RegOffset(Reg(5), 112)]));
    assert!(stored[1].user && matches!(stored[1].fin, TargetFinal::Load(r) if r.size == 8), "{:?}", stored[1]);
    // @entry($param) is the same.
    elab(r#"probe kprobe.function("__x64_sys_nap").return { println(@entry($rqtp->tv_nsec)) }"#).unwrap();
}

#[test]
fn what_stays_refused_is_a_located_error() {
    let e = err(r#"probe kprobe.function("__x64_sys_nap") { $rqtp->tv_sec = 1 }"#);
    assert!(e.starts_with("error: cannot write `$rqtp->tv_sec`: it is in user memory (where a system call's pointer parameter points); rstap writes only kernel memory and the call's arguments\n  ┌─ t.stp:1:42\n"), "{e}");
    let e = err(r#"probe kprobe.function("__x64_sys_nap").return { $clock = 1 }"#);
    assert!(e.starts_with("error: cannot write `$clock` in a .return probe: a system call's parameter there is its value at entry (write it in the entry probe)\n"), "{e}");
    let e = err(r#"probe kprobe.function("__x64_sys_nap").return { println($rqtp$) }"#);
    assert!(e.starts_with("error: `$rqtp$`: a system call's parameter cannot be pretty-printed in a .return probe"), "{e}");
    let e = err(r#"probe kprobe.function("__x64_sys_nap") { println($rqtp->nope) }"#);
    assert!(e.starts_with("error: struct ts has no member nope\n"), "{e}");
    let e = err(r#"probe kprobe.function("__x64_sys_nap").return { println($count) }"#);
    assert!(e.starts_with("error: unable to find target variable `$count` in system call nap (its parameters: $clock $rqtp $name)\n"), "{e}");
    // A user pointer does not autocast into kernel reads.
    let e = err(r#"probe kprobe.function("__x64_sys_nap") { p = $rqtp; println(p->tv_sec) }"#);
    assert!(e.contains("`p` holds no typed value"), "{e}");
}
