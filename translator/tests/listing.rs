//! `stap -l` / `stap -L` as a user reads them: probe points in SystemTap's
//! `name@file:line` form and, with -L, each point's target variables and
//! their C types — for kernel functions, `.return` points (with
//! `$return`), statements, and functions of a module (the test module of
//! testsuite/kmod, built here with the kernel's headers).

use std::path::Path;
use std::process::{Command, Output};

mod testmod_common;

fn stap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stap")).args(args).output().expect("run stap")
}

fn lines(o: &Output) -> Vec<String> {
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).lines().map(String::from).collect()
}

#[test]
fn kernel_function_return_and_statement_in_the_testbed_kernel() {
    let o = stap(&["--vm", "-L", "kernel.function(\"vfs_read\")"]);
    assert_eq!(
        lines(&o),
        ["kernel.function(\"vfs_read@fs/read_write.c:450\") $file:struct file* $buf:char* $count:size_t $pos:loff_t* $ret:ssize_t"]
    );
    let o = stap(&["--vm", "-L", "kernel.function(\"vfs_read\").return"]);
    assert_eq!(
        lines(&o),
        ["kernel.function(\"vfs_read@fs/read_write.c:450\").return $return:ssize_t $file:struct file* $buf:char* $count:size_t $pos:loff_t*"]
    );
    let o = stap(&["--vm", "-l", "kernel.statement(\"vfs_read@fs/read_write.c:461-464\")"]);
    assert_eq!(
        lines(&o),
        [
            "kernel.statement(\"vfs_read@fs/read_write.c:461\")",
            "kernel.statement(\"vfs_read@fs/read_write.c:462\")",
            "kernel.statement(\"vfs_read@fs/read_write.c:464\")"
        ]
    );
}

/// `.exported`: only functions the kernel exports with EXPORT_SYMBOL.
#[test]
fn exported_functions_only() {
    let got = lines(&stap(&["--vm", "-l", "kernel.function(\"*_read\").exported"]));
    assert!(got.contains(&"kernel.function(\"kernel_read@fs/read_write.c:439\").exported".to_string()), "{got:?}");
    assert!(!got.iter().any(|l| l.contains("\"vfs_read@")), "{got:?}");
    let o = stap(&["--vm", "-p2", "-e", "probe kernel.function(\"vfs_read\").exported { }"]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("vfs_read is not exported"), "{e}");
}

/// The headers of the testbed's default kernel (scripts/test installs them).
fn testbed_release() -> Option<String> {
    let rels: Vec<String> = std::fs::read_dir("/usr/src")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_prefix("linux-headers-").map(String::from))
        .filter(|r| r.starts_with("6.1.") && !r.ends_with("-common") && Path::new(&format!("/usr/src/linux-headers-{r}/Makefile")).is_file())
        .collect();
    rels.into_iter().next()
}

#[test]
fn module_functions_by_path_with_their_variables() {
    let Some(rel) = testbed_release() else { panic!("no 6.1 kernel headers in /usr/src (scripts/test installs them)") };
    let dir = tempfile::tempdir().unwrap();
    let ko = testmod_common::build(&rel, dir.path());
    let point = format!("module(\"{}\").function(\"tm_[nu]*\").return", ko.display());
    let got = lines(&stap(&["-r", &rel, "-L", &point]));
    let c = dir.path().join("rstap_testmod.c");
    let decl = |name: &str| {
        let text = std::fs::read_to_string(&c).unwrap();
        let n = text.lines().position(|l| l.starts_with("noinline") && l.contains(&format!(" {name}(")) && !l.ends_with(';')).unwrap();
        format!("module(\"rstap_testmod\").function(\"{name}@{}:{}\").return", c.display(), n + 1)
    };
    assert_eq!(
        got,
        [
            format!("{} $return:long int $o:struct tm_outer* $depth:int", decl("tm_nested")),
            format!("{} $return:long int $v:union tm_value* $c:enum tm_colour", decl("tm_union")),
        ]
    );
    // A module that does not exist is a located error naming it.
    let o = stap(&["-r", &rel, "-p2", "-e", "probe module(\"no_such_mod\").function(\"f\") { }"]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("module no_such_mod") && e.contains("<input>:1:7"), "{e}");
}
