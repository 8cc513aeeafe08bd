//! The stap command line as a user meets it: -p stops after a pass and
//! prints that pass's result, -v times the passes, -k keeps the build
//! directory and says where, -m names the module, arguments reach $1/@1.

use std::process::{Command, Output};

fn stap(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stap")).current_dir(dir).args(args).output().expect("run stap")
}

fn headers_release() -> Option<String> {
    // Any installed kernel headers will do for pass 4 (CI installs the testbed's).
    let mut rels: Vec<String> = std::fs::read_dir("/usr/src")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("linux-headers-") && !n.ends_with("-common"))
        .map(|n| n.trim_start_matches("linux-headers-").to_string())
        .filter(|r| std::path::Path::new(&format!("/usr/src/linux-headers-{r}/Makefile")).is_file())
        .collect();
    rels.sort();
    rels.pop()
}

#[test]
fn p1_prints_the_script_back() {
    let d = tempfile::tempdir().unwrap();
    let o = stap(d.path(), &["-p1", "-e", "global n;probe begin{n=1+2*3;printf(\"%d\\n\",n)}"]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("global n"), "{out}");
    assert!(out.contains("n = 1 + 2 * 3"), "{out}");
    assert!(out.contains("printf(\"%d\\n\", n)"), "{out}");
}

#[test]
fn arguments_fill_positionals() {
    let d = tempfile::tempdir().unwrap();
    let o = stap(d.path(), &["-p1", "-e", "probe begin { printf(\"%d %s\\n\", $1, @2) }", "42", "word"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("printf(\"%d %s\\n\", 42, \"word\")"));
}

#[test]
fn p3_prints_kernel_c() {
    let d = tempfile::tempdir().unwrap();
    let o = stap(d.path(), &["-p3", "-m", "cli_p3", "-e", "probe begin { println(\"hi\") }"]);
    assert_eq!(o.status.code(), Some(0));
    let c = String::from_utf8_lossy(&o.stdout);
    assert!(c.contains("#include \"rstap_runtime.h\""));
    assert!(c.contains("MODULE_LICENSE(\"GPL\");"));
    assert!(c.contains("proc_create(\"rstap_cli_p3\""));
}

#[test]
fn v_times_each_pass() {
    let d = tempfile::tempdir().unwrap();
    let o = stap(d.path(), &["-v", "-p3", "-e", "probe begin { exit() }"]);
    let e = String::from_utf8_lossy(&o.stderr);
    for pass in ["Pass 1: parsed user script", "Pass 2: analyzed script", "Pass 3: translated to C"] {
        assert!(e.contains(pass), "{e}");
    }
    assert!(!e.contains("Pass 4"), "{e}");
}

#[test]
fn bad_module_name_is_rejected() {
    let d = tempfile::tempdir().unwrap();
    let o = stap(d.path(), &["-p3", "-m", "bad-name", "-e", "probe begin { }"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("invalid module name `bad-name`"));
}

#[test]
fn p4_with_m_leaves_the_module_here_and_k_keeps_the_build() {
    let Some(rel) = headers_release() else {
        panic!("no kernel headers under /usr/src: run scripts/test, which installs the testbed's");
    };
    let d = tempfile::tempdir().unwrap();
    let o = stap(d.path(), &["-p4", "-k", "-r", &rel, "-m", "cli_hello", "-e", "probe begin { println(\"hi\") }"]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{e}");
    assert_eq!(String::from_utf8_lossy(&o.stdout), "cli_hello.ko\n");
    assert!(d.path().join("cli_hello.ko").is_file());
    let kept = e
        .lines()
        .find_map(|l| l.strip_prefix("Keeping temporary directory \"").and_then(|r| r.strip_suffix('"')))
        .unwrap_or_else(|| panic!("no kept directory in: {e}"));
    assert!(std::path::Path::new(kept).join("cli_hello.c").is_file());
    assert!(!e.contains("warning:"), "{e}");
    std::fs::remove_dir_all(kept).unwrap();
}
