//! `stap -l` / `-L` of the syscall aliases (tapsets/syscalls): SystemTap
//! lists probe aliases by name, with `-L` the variables each one sets.
//! No kernel is needed: the aliases' kprobes are checked at run time when
//! the kernel's symbol table is unknown (`-r 0.0.0-semtest`).

use std::process::Command;

fn stap(args: &[&str]) -> (String, String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_stap")).args(["-r", "0.0.0-semtest"]).args(args).output().expect("run stap");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
fn l_lists_alias_names() {
    let (out, err, status) = stap(&["-l", "syscall.open*"]);
    assert_eq!((out.as_str(), err.as_str(), status), ("syscall.open\nsyscall.openat\n", "", 0));
    let (out, _, _) = stap(&["-l", "nd_syscall.*.return"]);
    assert!(out.lines().any(|l| l == "nd_syscall.read.return"), "{out}");
    assert!(out.lines().all(|l| l.starts_with("nd_syscall.") && l.ends_with(".return")), "{out}");
}

#[test]
fn big_l_lists_alias_variables() {
    let (out, _, status) = stap(&["-L", "syscall.openat"]);
    assert_eq!(status, 0);
    assert_eq!(
        out,
        "syscall.openat name:string dfd:long dfd_str:string filename:string flags:long mode:long flags_str:string argstr:string\n"
    );
    let (out, _, _) = stap(&["-L", "syscall.read.return"]);
    assert_eq!(out, "syscall.read.return name:string retval:long retstr:string\n");
}

#[test]
fn unknown_syscall_names_close_matches() {
    let (out, err, status) = stap(&["-p2", "-e", "probe syscall.opnat { println(argstr) }"]);
    assert_eq!((out.as_str(), status), ("", 1));
    assert!(err.contains("error: no match for probe point `syscall.opnat`"), "{err}");
    assert!(err.contains("= close matches: syscall.openat, "), "{err}");
}

#[test]
fn syscall_star_expands_to_every_alias() {
    let (list, _, _) = stap(&["-l", "syscall.*"]);
    let n = list.lines().count();
    let (out, err, status) = stap(&["-p2", "-e", "probe syscall.* { printf(\"%s %s\\n\", name, argstr) }"]);
    assert_eq!(status, 0, "{err}");
    let probes = out.lines().filter(|l| l.starts_with("kprobe.function(\"__x64_sys_")).count();
    assert!(n >= 80 && probes == n, "{n} aliases, {probes} probes");
}
