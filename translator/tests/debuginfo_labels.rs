//! `DebugInfo::labels` against a real vmlinux (6.1; SKIPS, passing with a
//! note, when no kernel debuginfo is found: set RSTAP_DBG_ROOT to an
//! extracted linux-image-*-dbg, e.g. the testbed's
//! ~/.cache/rstap/testbed/dbg/RELEASE).

mod debuginfo_common;

use rstap::debuginfo::dwarf::{DebugFile, DwarfDebugInfo};
use rstap::debuginfo::{DebugInfo, FunctionPattern};

#[test]
fn labels_of_out_of_line_and_inlined_copies() {
    let Some((rel, path)) = debuginfo_common::find_vmlinux() else {
        eprintln!("note: no kernel debuginfo found (install linux-image-<rel>-dbg or set RSTAP_DBG_ROOT); skipping");
        return;
    };
    if !rel.starts_with("6.1.") {
        eprintln!("note: {rel} is not a 6.1 kernel; skipping");
        return;
    }
    let file = DebugFile::open(&path).unwrap();
    let di = DwarfDebugInfo::new(&file).unwrap();

    // An out-of-line function: its labels in source order, each inside it.
    let fs = di.functions(&FunctionPattern::parse("join_session_keyring").unwrap()).unwrap();
    assert_eq!(fs.len(), 1, "{fs:?}");
    let f = &fs[0];
    let labels = di.labels(f.die).unwrap();
    let names: Vec<&str> = labels.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["error3", "error2", "error"]);
    for l in &labels {
        assert_eq!(l.decl_file.as_deref(), Some("security/keys/process_keys.c"), "{l:?}");
        assert!(l.decl_line > f.decl_line, "{l:?}");
        let (sym, off) = di.symbol_at(l.pc).unwrap();
        assert_eq!(sym, "join_session_keyring");
        assert!(off > 0);
    }
    assert!(labels.windows(2).all(|w| w[0].pc < w[1].pc && w[0].decl_line < w[1].decl_line));
    // The parameters and locals are in scope at a label.
    let vars = di.variables(f.die, labels[1].pc).unwrap();
    assert!(vars.iter().any(|v| v.name == "keyring"), "{vars:?}");

    // A function that exists only inlined (the syscall bodies): each
    // inlined copy has its own labels (names and lines from the abstract
    // function), inside the caller; the abstract DIE has none.
    let fs = di.functions(&FunctionPattern::parse("__do_sys_chdir").unwrap()).unwrap();
    let f = &fs[0];
    assert!(f.entry_pc.is_none() && f.inline_instances.len() >= 2, "{f:?}");
    assert!(di.labels(f.die).unwrap().is_empty());
    let mut callers = Vec::new();
    for i in &f.inline_instances {
        let labels = di.labels(i.die).unwrap();
        let names: Vec<&str> = labels.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["retry", "dput_and_out", "out"], "{labels:?}");
        assert!(labels.iter().all(|l| l.decl_file.as_deref() == Some("fs/open.c")));
        callers.push(di.symbol_at(labels[0].pc).unwrap().0);
    }
    callers.sort();
    assert_eq!(callers, ["__ia32_sys_chdir", "__x64_sys_chdir"]);
}
