//! testsuite/transok: the C that pass 3 writes, held as insta snapshots,
//! so that every change to the emitted module is a reviewed diff.
//!
//! Each `testsuite/transok/NAME.stp` is translated with `stap -p3` for a
//! kernel without a symbol table (`-r 0.0.0-transok`, so kprobe points
//! are taken as written), module name `NAME`, plus the flags of an
//! optional `NAME.flags`; its C must equal `snapshots/NAME.snap`.
//! Scripts named `dwarf_*.stp` need DWARF (kernel.function, target
//! variables, `@entry`, `@var`): they are elaborated in-process against
//! the `FakeDebugInfo` below (no kernel, no vmlinux) and generated with
//! `codegen::generate`, as `stap -p3` would. `RSTAP_BLESS=1` rewrites the
//! snapshots (tests/bless_common); read the diff before committing.

mod bless_common;

mod headers_common;
use headers_common::headers_release;
use std::path::{Path, PathBuf};
use std::process::Command;

use rstap::codegen::{self, CodegenOptions};
use rstap::debuginfo::fake::FakeDebugInfo;
use rstap::debuginfo::{types, BaseEncoding, FunctionInfo, LocOp, Location, Reg, VarKind, VarLocation, Variable};
use rstap::diag::{render, Diagnostics, SourceMap};
use rstap::elaborate::{self, target::Dwarf, ElabOptions};
use rstap::probes::NoSymbols;
use rstap::syntax::ParseOptions;

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testsuite/transok")
}

/// The repository's tapset library, canonical (snapshots name it `tapsets/`).
fn tapset_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tapsets").canonicalize().unwrap()
}

/// The C with the checkout's own path taken out, so snapshots hold on any machine.
fn portable(c: String) -> String {
    c.replace(&format!("{}/", tapset_dir().display()), "tapsets/")
}

fn flags(dir: &Path, name: &str) -> Vec<String> {
    std::fs::read_to_string(dir.join(format!("{name}.flags")))
        .map(|f| f.split_whitespace().map(String::from).collect())
        .unwrap_or_default()
}

/// The -p3 C of a script without DWARF, through the stap binary.
fn p3_binary(dir: &Path, name: &str) -> Result<String, String> {
    let o = Command::new(env!("CARGO_BIN_EXE_stap"))
        .current_dir(dir)
        .env("RSTAP_TAPSET_DIR", tapset_dir())
        .args(["-p3", "-r", "0.0.0-transok", "-m", name])
        .args(flags(dir, name))
        .arg(format!("{name}.stp"))
        .output()
        .expect("run stap");
    if o.status.code() != Some(0) {
        return Err(String::from_utf8_lossy(&o.stderr).into_owned());
    }
    Ok(portable(String::from_utf8(o.stdout).expect("C is UTF-8")))
}

/// A small kernel: vfs_read(file, count, pos) with nested structs, an
/// array, a bitfield and a file-scope global.
fn fake() -> FakeDebugInfo {
    let mut di = FakeDebugInfo::new();
    let long = di.base("long long int", 8, BaseEncoding::Signed);
    let int = di.base("int", 4, BaseEncoding::Signed);
    let uint = di.base("unsigned int", 4, BaseEncoding::Unsigned);
    let ulong = di.base("long unsigned int", 8, BaseEncoding::Unsigned);
    let size_t = di.typedef("size_t", ulong);
    let ch = di.base("char", 1, BaseEncoding::Signed);
    let name = di.array(ch, &[32]);
    let dentry = di.structure("dentry", 64, &[("d_flags", int, 0), ("d_iname", name, 16)]);
    di.bitfield(dentry, "d_lowbits", uint, 4, 3, 5);
    let pdentry = di.pointer(Some(dentry));
    let path = di.structure("path", 16, &[("mnt", ulong, 0), ("dentry", pdentry, 8)]);
    let slots = di.array(long, &[4]);
    let file = di.structure("file", 232, &[("f_path", path, 16), ("f_pos", long, 104), ("f_slots", slots, 112)]);
    let pfile = di.pointer(Some(file));
    let plong = di.pointer(Some(long));
    let ssize_t = di.typedef("ssize_t", long);
    let param = |di: &FakeDebugInfo, name: &str, ty, loc| Variable {
        name: name.into(),
        kind: VarKind::Param,
        type_id: Some(ty),
        type_name: types::type_name(di, ty),
        location: VarLocation::Available(loc),
    };
    let vars = vec![
        param(&di, "file", pfile, Location::Register(Reg(5))),
        param(&di, "count", size_t, Location::Register(Reg(4))),
        param(&di, "pos", plong, Location::Memory(vec![LocOp::RegOffset(Reg(7), 16)])),
    ];
    di.add_function(
        FunctionInfo {
            name: "vfs_read".into(),
            cu_name: "fs/read_write.c".into(),
            decl_file: Some("fs/read_write.c".into()),
            decl_line: 450,
            external: true,
            die: 0x7000,
            entry_pc: Some(0xffffffff81000000),
            prologue_end: Some(0xffffffff81000000),
            optimized: true,
            inline_instances: Vec::new(),
            clones: Vec::new(),
            return_type: Some(ssize_t),
        },
        vars,
    );
    // A tracepoint: kernel.trace("sched:sched_wakeup") has $p (the
    // iterator's parameters after __data, in rsi, rdx, ... at its entry).
    let pid_t = di.typedef("pid_t", int);
    let comm = di.array(ch, &[16]);
    let task = di.structure("task_struct", 2048, &[("pid", pid_t, 1200), ("comm", comm, 1800)]);
    let ptask = di.pointer(Some(task));
    let pvoid = di.pointer(None);
    di.function(
        "__traceiter_sched_wakeup",
        "include/trace/events/sched.h",
        150,
        0xffffffff81300000,
        &[("__data", pvoid, Location::Register(Reg(5))), ("p", ptask, Location::Register(Reg(4)))],
    );
    // kfree anchors file-scope globals against KASLR.
    di.function("kfree", "mm/slub.c", 4300, 0xffffffff81200000, &[]);
    di.global("jiffies_like", Some("kernel/time/timer.c"), ulong, 0xffffffff82000000);
    di
}

/// The -p3 C of a `dwarf_*` script, in-process against `fake()`.
fn p3_fake(dir: &Path, name: &str) -> Result<String, String> {
    let di = fake();
    let mut sources = SourceMap::new();
    let mut diags = Diagnostics::new();
    let popts = ParseOptions { guru: false, ..ParseOptions::default() };
    let library = rstap::tapset::load(&[tapset_dir()], &popts, &mut sources, &mut diags);
    let mut macros = library.macros.clone();
    let file_name = format!("{name}.stp");
    let text = std::fs::read_to_string(dir.join(&file_name)).unwrap();
    let user = rstap::syntax::parse_text(&popts, &mut macros, &mut sources, &file_name, &text, &mut diags)
        .ok_or_else(|| render(&sources, &diags))?;
    let eopts = ElabOptions::default();
    let dwarf = Dwarf { debuginfo: Some(&di), ..Default::default() };
    let prog = elaborate::elaborate_with(&eopts, std::slice::from_ref(&user), &library.files, &NoSymbols, &dwarf, &sources, &mut diags);
    let prog = match prog {
        Some(p) if !diags.has_errors() => p,
        _ => return Err(render(&sources, &diags)),
    };
    let copts = CodegenOptions { module_name: name.to_string(), script_name: file_name, defines: Vec::new() };
    let module = codegen::generate(&copts, &prog, &sources)?;
    Ok(portable(module.files.into_iter().find(|(f, _)| f.ends_with(".c")).expect("a .c file").1))
}

#[test]
fn transok_snapshots() {
    let dir = suite_dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".stp")).map(String::from))
        .collect();
    names.sort();
    assert!(names.len() >= 30, "expected at least 30 transok scripts, found {}", names.len());
    bless_common::insta_follow_bless();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir.join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    let mut failures = Vec::new();
    settings.bind(|| {
        for name in &names {
            let c = if name.starts_with("dwarf_") { p3_fake(&dir, name) } else { p3_binary(&dir, name) };
            let c = match c {
                Ok(c) => c,
                Err(e) => {
                    failures.push(format!("{name}.stp does not translate:\n{e}"));
                    continue;
                }
            };
            let mut s = insta::Settings::clone_current();
            s.set_input_file(dir.join(format!("{name}.stp")));
            s.set_description(format!("stap -p3 {name}.stp"));
            s.bind(|| {
                if let Err(p) = std::panic::catch_unwind(|| insta::assert_snapshot!(name.as_str(), c)) {
                    let msg = p.downcast_ref::<String>().cloned().unwrap_or_else(|| "snapshot differs".into());
                    failures.push(format!("{name}: {msg}"));
                }
            });
        }
    });
    assert!(failures.is_empty(), "{} transok case(s) failed (RSTAP_BLESS=1 rewrites snapshots):\n{}", failures.len(), failures.join("\n"));
}

/// The statement templates (try, loops, foreach, the line table, calls)
/// build into a module without a compiler warning.
#[test]
fn statement_templates_build_without_a_warning() {
    let Some(rel) = headers_release() else {
        panic!("no kernel headers under /usr/src: run scripts/test, which installs the testbed's");
    };
    let dir = suite_dir();
    let out = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for name in ["try_catch", "foreach_nested_return", "for_loop", "symfileline", "foreach_slice"] {
        let o = Command::new(env!("CARGO_BIN_EXE_stap"))
            .current_dir(out.path())
            .args(["-p4", "--disable-cache", "-r", &rel, "-m", name])
            .arg(dir.join(format!("{name}.stp")))
            .output()
            .expect("run stap");
        let err = String::from_utf8_lossy(&o.stderr);
        if o.status.code() != Some(0) || err.contains("warning:") {
            failures.push(format!("{name}: status {:?}\n{err}", o.status.code()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
