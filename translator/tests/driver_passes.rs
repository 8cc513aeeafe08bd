//! The driver as a user meets it: which pass failed (`-v`'s "Pass N: ...
//! failed." line), and that `--vm` sets the testbed up only when a pass
//! needs it: a script that does not parse runs no apt, dpkg or qemu.

use std::path::Path;
use std::process::{Command, Output};

fn stap(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stap"));
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run stap")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The "Pass N: ... failed." lines of `-v` output.
fn failed_lines(o: &Output) -> Vec<String> {
    stderr(o).lines().filter(|l| l.starts_with("Pass ") && l.ends_with(" failed.")).map(String::from).collect()
}

#[test]
fn v_names_the_pass_that_failed() {
    let o = stap(&["-v", "-p2", "-e", "probe begin { x = }"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(failed_lines(&o), ["Pass 1: parse failed."], "{}", stderr(&o));

    let o = stap(&["-v", "-p2", "-e", "probe begin { x = \"a\" + 1 }"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("error: operand must be a long but is a string"), "{}", stderr(&o));
    assert_eq!(failed_lines(&o), ["Pass 2: analysis failed."], "{}", stderr(&o));

    let o = stap(&["-v", "-p3", "-m", "bad-name", "-e", "probe begin { }"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(failed_lines(&o), ["Pass 3: translation failed."], "{}", stderr(&o));

    // Without -v the failure line is not printed, as before.
    let o = stap(&["-p2", "-e", "probe begin { x = }"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(failed_lines(&o).is_empty(), "{}", stderr(&o));
}

/// Stand-ins for every program testbed setup runs: each records its name
/// and fails.
fn standins(dir: &Path, log: &Path) {
    for prog in ["apt-get", "apt-cache", "apt", "dpkg", "dpkg-query", "qemu-system-x86_64", "sudo"] {
        let p = dir.join(prog);
        std::fs::write(&p, format!("#!/bin/sh\necho {prog} >> '{}'\nexit 1\n", log.display())).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[test]
fn vm_with_a_syntax_error_sets_nothing_up() {
    let d = tempfile::tempdir().unwrap();
    let bin = d.path().join("bin");
    let cache = d.path().join("cache");
    std::fs::create_dir_all(&bin).unwrap();
    let log = d.path().join("ran");
    standins(&bin, &log);
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let env = [("PATH", path.as_str()), ("RSTAP_TESTBED_DIR", cache.to_str().unwrap())];
    let o = stap(&["-v", "--vm", "-e", "probe begin { println(\"hi\") "], &env);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(failed_lines(&o), ["Pass 1: parse failed."], "{}", stderr(&o));
    assert!(!stderr(&o).contains("testbed:"), "{}", stderr(&o));
    assert!(!log.exists(), "ran: {}", std::fs::read_to_string(&log).unwrap_or_default());
    assert!(!cache.join("dbg").exists());

    // A script that parses does need the testbed for pass 2: setup runs
    // (here into the stand-ins, which fail) and is reported as pass 2's.
    let o = stap(&["-v", "--vm", "-p2", "-e", "probe begin { }"], &env);
    assert_eq!(o.status.code(), Some(1));
    assert!(log.exists(), "{}", stderr(&o));
    assert_eq!(failed_lines(&o), ["Pass 2: analysis failed."], "{}", stderr(&o));
}
