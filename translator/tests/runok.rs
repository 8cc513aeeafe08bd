//! testsuite/runok: scripts that must build and run in the qemu testbed
//! with exactly the expected output.
//!
//! Each `testsuite/runok/NAME.stp` has `NAME.out` (expected stdout, exact)
//! and optionally `NAME.err` (expected stderr, exact), `NAME.status`
//! (expected exit status, default 0), `NAME.cmd` (a `-c` command run in the
//! guest) and `NAME.flags` (extra stap flags, whitespace separated, e.g.
//! `-g` or `-DMAXACTION=10`). Every script is built with the real `stap`
//! binary (`-p4`, against the testbed kernel), then all of them run in ONE
//! guest boot with the real `staprun`. In `.err`, `{N}` stands for any
//! number (a count that depends on timing); a missing `.out` leaves stdout
//! unchecked (for scripts whose output is cut by design). Set RSTAP_BLESS=1 to write the
//! expected files from what the run printed (then read them before
//! committing: they are the specification).

use std::path::{Path, PathBuf};
use std::process::Command;

use rstap::vm::{self, GuestJob, RunOptions};

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testsuite/runok")
}

struct Case {
    name: String,
    ko: PathBuf,
    cmd: Option<String>,
}

fn read_opt(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn diff(expected: &str, actual: &str) -> String {
    let mut out = String::new();
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    for i in 0..e.len().max(a.len()) {
        match (e.get(i), a.get(i)) {
            (Some(x), Some(y)) if x == y => out.push_str(&format!("   {x}\n")),
            (x, y) => {
                if let Some(x) = x {
                    out.push_str(&format!(" - {x}\n"));
                }
                if let Some(y) = y {
                    out.push_str(&format!(" + {y}\n"));
                }
            }
        }
    }
    out
}

/// Exact comparison where `{N}` in `pattern` matches one or more digits.
fn matches_with_numbers(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split("{N}");
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    for part in parts {
        let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return false;
        }
        match rest[digits..].strip_prefix(part) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    rest.is_empty()
}

#[test]
fn runok_suite() {
    let tb = vm::setup(false).expect("testbed setup");
    let dir = suite_dir();
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("testsuite/runok")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "stp"))
        .collect();
    scripts.sort();
    // RSTAP_RUNOK_ONLY=a,b runs only the scripts whose names contain a or b.
    if let Ok(only) = std::env::var("RSTAP_RUNOK_ONLY") {
        let pats: Vec<&str> = only.split(',').filter(|p| !p.is_empty()).collect();
        scripts.retain(|s| pats.iter().any(|p| s.file_stem().is_some_and(|n| n.to_string_lossy().contains(p))));
    }
    assert!(!scripts.is_empty(), "no runok scripts");
    let work = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    let mut failures = Vec::new();
    for s in &scripts {
        let name = s.file_stem().unwrap().to_string_lossy().to_string();
        let module = format!("runok_{}", name.replace('-', "_"));
        let flags: Vec<String> = read_opt(&s.with_extension("flags"))
            .map(|f| f.split_whitespace().map(String::from).collect())
            .unwrap_or_default();
        // Scripts run from the work directory by file name, so that error
        // locations read `NAME.stp:LINE:COL` wherever the checkout is.
        let script_name = format!("{name}.stp");
        std::fs::copy(s, work.path().join(&script_name)).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_stap"))
            .current_dir(work.path())
            .args(["-p4", "-r", &tb.release, "-m", &module])
            .args(&flags)
            .arg(&script_name)
            .output()
            .expect("run stap");
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            failures.push(format!("{name}: stap -p4 failed:\n{stderr}"));
            continue;
        }
        if stderr.contains("warning:") {
            failures.push(format!("{name}: the generated C has compiler warnings:\n{stderr}"));
        }
        cases.push(Case {
            name,
            ko: work.path().join(format!("{module}.ko")),
            cmd: read_opt(&s.with_extension("cmd")).map(|c| c.trim().to_string()),
        });
    }
    let staprun = PathBuf::from(env!("CARGO_BIN_EXE_staprun"));
    let jobs: Vec<GuestJob> = cases
        .iter()
        .map(|c| {
            let ko = format!("{}.ko", c.name.replace('-', "_"));
            let mut argv = vec!["./staprun".to_string()];
            if let Some(cmd) = &c.cmd {
                argv.push("-c".into());
                argv.push(cmd.clone());
            }
            argv.push(format!("runok_{ko}"));
            GuestJob {
                files: vec![(staprun.clone(), "staprun".into()), (c.ko.clone(), format!("runok_{ko}"))],
                argv,
            }
        })
        .collect();
    let opts = RunOptions { verbose: false, timeout: std::time::Duration::from_secs(900), live: false };
    let results = vm::run_jobs(&tb, &jobs, &opts).expect("guest run");
    let bless = std::env::var_os("RSTAP_BLESS").is_some();
    for (c, r) in cases.iter().zip(&results) {
        let base = dir.join(&c.name);
        let stdout = String::from_utf8_lossy(&r.stdout).to_string();
        let stderr = String::from_utf8_lossy(&r.stderr).to_string();
        if bless {
            std::fs::write(base.with_extension("out"), &stdout).unwrap();
            if !stderr.is_empty() || base.with_extension("err").exists() {
                std::fs::write(base.with_extension("err"), &stderr).unwrap();
            }
            if r.status != 0 {
                std::fs::write(base.with_extension("status"), format!("{}\n", r.status)).unwrap();
            }
            continue;
        }
        let want_out = read_opt(&base.with_extension("out"));
        let want_err = read_opt(&base.with_extension("err")).unwrap_or_default();
        let want_status: i32 = read_opt(&base.with_extension("status"))
            .map(|s| s.trim().parse().expect("status file holds a number"))
            .unwrap_or(0);
        if let Some(want_out) = want_out {
            if stdout != want_out {
                failures.push(format!("{}: stdout differs (- expected, + actual):\n{}", c.name, diff(&want_out, &stdout)));
            }
        }
        if !matches_with_numbers(&want_err, &stderr) {
            failures.push(format!("{}: stderr differs (- expected, + actual):\n{}", c.name, diff(&want_err, &stderr)));
        }
        if r.status != want_status {
            failures.push(format!("{}: exit status {} (expected {})\nstderr: {stderr}", c.name, r.status, want_status));
        }
    }
    println!("runok: {} scripts, {} in one guest boot", scripts.len(), cases.len());
    assert!(failures.is_empty(), "{} runok failure(s):\n\n{}", failures.len(), failures.join("\n\n"));
}
