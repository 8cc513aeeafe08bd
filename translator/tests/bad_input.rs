//! Bad input ends with one clear message and a non-zero exit, and nothing
//! is left loaded: unknown probe points, missing symbols, missing kernel
//! headers, a module the kernel refuses, a probe the kernel refuses.

use std::path::PathBuf;
use std::process::{Command, Output};

use rstap::vm::{self, GuestJob, RunOptions};

fn stap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stap")).args(args).output().expect("run stap")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn unknown_probe_point_is_a_located_error() {
    let o = stap(&["-p2", "-e", "probe begin { }\nprobe nosuch.point { }"]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("error: no match for probe point `nosuch.point`"), "{e}");
    assert!(e.contains("<input>:2:7"), "{e}");
    assert!(e.contains("`nosuch` is neither a probe family"), "{e}");
}

#[test]
fn malformed_timer_is_a_located_error() {
    let o = stap(&["-p2", "-e", "probe timer.ms(0) { }"]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("timer interval must be positive, got 0"), "{e}");
    assert!(e.contains("<input>:1:13"), "{e}");
}

#[test]
fn missing_kernel_headers_say_what_to_install() {
    let o = stap(&["-p4", "-r", "0.0.0-nosuch", "-e", "probe begin { exit() }"]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("kernel headers for 0.0.0-nosuch not found"), "{e}");
    assert!(e.contains("apt-get install linux-headers-0.0.0-nosuch"), "{e}");
    assert!(e.contains("--vm"), "{e}");
}

#[test]
fn missing_symbol_is_caught_at_translation_time_in_the_testbed() {
    let o = stap(&["--vm", "-p2", "-e", "probe kprobe.function(\"no_such_function_xyz\") { }"]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("no kernel function matches \"no_such_function_xyz\""), "{e}");
    assert!(e.contains("<input>:1:14"), "{e}");
}

/// A statement probe on a line without code names the lines nearby that
/// have some (against the testbed kernel's debuginfo).
#[test]
fn statement_on_a_line_without_code_names_the_lines_that_have_some() {
    let o = stap(&["--vm", "-p2", "-e", "probe kernel.statement(\"vfs_read@fs/read_write.c:460\") { println($count) }"]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("no kernel statement matches \"vfs_read@fs/read_write.c:460\""), "{e}");
    assert!(e.contains("lines with code nearby: 456 458 461 462 464"), "{e}");
    assert!(e.contains("<input>:1:14"), "{e}");
    let o = stap(&["--vm", "-p2", "-e", "probe kernel.statement(\"vfs_read@fs/read_write.c:461\") { println($count) }"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("kernel.statement(\"vfs_read@fs/read_write.c:461\")"));
}

#[test]
fn wildcards_expand_against_the_testbed_kernel() {
    let o = stap(&["--vm", "-p2", "-e", "probe kprobe.function(\"ksys_rea*\") { }"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("kprobe.function(\"ksys_read\")"), "{out}");
}

/// One guest: a file that is no module, and a probe on a function the
/// kernel does not let kprobes touch; after each, no rstap module remains.
#[test]
fn the_kernel_refusing_a_module_or_a_probe_is_reported_and_cleaned_up() {
    let tb = vm::setup(false).expect("testbed");
    let work = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_stap"))
        .current_dir(work.path())
        .args(["-p4", "-r", &tb.release, "-m", "refused_probe", "-e"])
        // oops_end is on the kernel's kprobe blacklist (NOKPROBE_SYMBOL) but not on
        // rstap's own list, so the refusal comes at registration.
        .arg("probe kprobe.function(\"oops_end\") { } probe begin { println(\"begin ran\") }")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let garbage = work.path().join("garbage.ko");
    std::fs::write(&garbage, b"this is not an ELF module").unwrap();
    let staprun = PathBuf::from(env!("CARGO_BIN_EXE_staprun"));
    let run = |ko: &str| GuestJob {
        files: vec![(staprun.clone(), "staprun".into()), (work.path().join(ko), ko.into())],
        argv: vec!["./staprun".into(), ko.into()],
    };
    let jobs = vec![
        run("garbage.ko"),
        GuestJob::cmd(&["cat", "/proc/modules"]),
        run("refused_probe.ko"),
        GuestJob::cmd(&["cat", "/proc/modules"]),
    ];
    let r = vm::run_jobs(&tb, &jobs, &RunOptions { verbose: false, timeout: std::time::Duration::from_secs(300), live: false })
        .expect("guest run");
    let e0 = String::from_utf8_lossy(&r[0].stderr);
    assert_eq!(r[0].status, 1, "{e0}");
    assert_eq!(
        e0,
        "ERROR: Couldn't insert module 'garbage.ko': invalid module format: the module was built for another kernel (check `uname -r` against -r)\n"
    );
    assert!(!String::from_utf8_lossy(&r[1].stdout).contains("garbage"));
    let e2 = String::from_utf8_lossy(&r[2].stderr);
    assert_eq!(r[2].status, 1, "{e2}");
    assert!(e2.starts_with("ERROR: cannot register probe kprobe.function(\"oops_end\"):"), "{e2}");
    // The probes never armed, so begin did not run.
    assert_eq!(String::from_utf8_lossy(&r[2].stdout), "");
    assert!(!String::from_utf8_lossy(&r[3].stdout).contains("refused_probe"));
}
