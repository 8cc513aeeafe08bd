//! testsuite/torture: scripts that attack the kernel, each with the outcome
//! it must have, and a check after each that the guest is still healthy.
//!
//! Layout: `testsuite/torture/GROUP/NAME.stp`, GROUP one of `memory`,
//! `time`, `space`, `lifecycle`, `input` (the attack). Beside each script:
//! - `NAME.xerr`: the translation must fail (`stap -p4` exits 1) with
//!   exactly this stderr; the script is not run.
//! - otherwise it is built (`-p4`) and run in the guest, and `NAME.out`
//!   (stdout; missing: unchecked), `NAME.err` (stderr, default empty) and
//!   `NAME.status` (default 0) must match, with `{N}` for any number and
//!   `{X}` for any hex digits and a line `{ANY}` for any lines (see
//!   expect_common).
//! - `NAME.flags`: extra stap flags; `NAME.cmd`: a `-c` command for
//!   staprun; `NAME.env`: `VAR=VALUE` words set for staprun (e.g.
//!   `RSTAP_STAPRUN_READ_SIZE=13` to force reads that end mid-message);
//!   `NAME.guest`: a shell script run in the guest instead of staprun, with
//!   the module's file as `$1` (kill -9 of staprun, loading twice, ...);
//!   `NAME.only`: a kernel release prefix the script is limited to.
//!
//! Per kernel line: every script is translated with `-p3` (a translation
//! error needs no build), the run cases are built in ONE Kbuild invocation
//! (`build::batch::build_many`, through the module cache, without DWARF:
//! `-g0`), and every script of both kernel lines runs in ONE guest boot per kernel,
//! booted with `slub_debug` and short lockup/RCU-stall detectors. After each
//! run a health job checks that no `torture_*` module is left in
//! /proc/modules (and removes one that is), that a fresh command runs, and
//! that the kernel log since the previous check holds no Oops, BUG,
//! WARNING, lockup, RCU stall, "scheduling while atomic" or stack overflow.
//! `RSTAP_TORTURE_ONLY=a,b` limits the suite to scripts whose names contain
//! a or b, `RSTAP_TORTURE_ONE_KERNEL=1` to the first kernel line,
//! `RSTAP_TORTURE_KERNEL=6.12` to the line that starts so; `RSTAP_BLESS=1` writes the expected files of run cases from what
//! the run printed (read them before committing: they are the spec).
//! The test prints (with `--nocapture`) where the time went per kernel:
//! translation, build and guest seconds, and the slowest scripts in the guest.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use std::time::Instant;

use rstap::build::{batch, BuildOptions};
use rstap::codegen;
use rstap::vm::{self, GuestJob, JobLimits, RunOptions, SetupOptions, Testbed};

mod expect_common;
use expect_common::{diff, matches_lines, matches_with_numbers};

const GROUPS: &[&str] = &["memory", "time", "space", "lifecycle", "input"];

/// The kernel lines: Debian 12's cloud kernel (6.1) and the 6.12 backport.
const FLAVOURS: &[Option<&str>] = &[None, Some("6.12-cloud-amd64")];

/// Kernel command line of the torture guest: catch heap corruption, and
/// report lockups and RCU stalls well within one job's time limit.
/// Neither kernel line has kmemleak or lockdep (CONFIG_DEBUG_KMEMLEAK and
/// CONFIG_PROVE_LOCKING are off in both cloud configs); 6.12 has KFENCE
/// (off by default: sample_interval=0), turned on here (6.1 ignores it).
/// Soft lockups, hung tasks and RCU stalls are detected on both.
const CMDLINE: &str =
    "slub_debug=FZ watchdog_thresh=5 rcupdate.rcu_cpu_stall_timeout=8 hung_task_timeout_secs=20 kfence.sample_interval=10";

/// Run in the guest after every script: prints `healthy` and nothing else
/// when the guest is fine.
const HEALTH: &str = r#"for m in $(cut -d' ' -f1 /proc/modules); do
	case $m in torture_*) echo "module left loaded: $m"; rmmod "$m" 2>&1 ;; esac
done
dmesg -c | grep -E 'Oops|BUG:|WARNING:|lockup|rcu.*stall|self-detected stall|scheduling while atomic|general protection|stack overflow|Call Trace|segfault|double fault' | head -20
echo healthy | cat
cut -d' ' -f1 /proc/uptime >&2
"#;

fn read_opt(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

struct Case {
    name: String,
    base: PathBuf,
    module: String,
}

/// Every script of the suite, sorted.
fn all_scripts() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testsuite/torture");
    let mut found = Vec::new();
    for g in GROUPS {
        let dir = root.join(g);
        let Ok(rd) = std::fs::read_dir(&dir) else { continue };
        found.extend(rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "stp")));
    }
    found.sort();
    found
}

/// The scripts for `release`, filtered by RSTAP_TORTURE_ONLY.
fn scripts(release: &str) -> Vec<PathBuf> {
    let mut found = all_scripts();
    found.retain(|p| read_opt(&p.with_extension("only")).is_none_or(|o| release.starts_with(o.trim())));
    if let Ok(only) = std::env::var("RSTAP_TORTURE_ONLY") {
        let pats: Vec<&str> = only.split(',').filter(|p| !p.is_empty()).collect();
        found.retain(|s| pats.iter().any(|p| s.file_stem().is_some_and(|n| n.to_string_lossy().contains(p))));
    }
    found
}

/// The scripts in the tree, by group (the suite's size is part of its promise).
#[test]
fn every_group_has_scripts_with_an_outcome() {
    let all = all_scripts();
    for g in GROUPS {
        let n = all.iter().filter(|p| p.parent().is_some_and(|d| d.ends_with(g))).count();
        assert!(n >= 10, "group {g} has only {n} scripts");
    }
    for s in &all {
        let xerr = s.with_extension("xerr").exists();
        let run = s.with_extension("out").exists() || s.with_extension("err").exists() || s.with_extension("status").exists();
        assert!(xerr || run, "{}: no expected outcome (.xerr, or .out/.err/.status)", s.display());
        assert!(!(xerr && run), "{}: both a translation error and a run outcome", s.display());
    }
}

#[test]
#[ignore = "not in CI: both kernel lines take about 25 min here (6.1: build 404 s + guest 407 s; 6.12: 261 s + 293 s, on a loaded host); the last full runs had no oops, hang or panic on either line (the 6.1 RCU panic after wildcard_mm_dwarf did not come back), and one failure each: wildcard_time (kprobe.function(\"*time*\"), 1092 probes) outlasts its 90 s job limit, registration and removal costing about 0.1 s per probe in the TCG guest; run with --ignored"]
fn torture_suite() {
    // The guest's command line is read from the environment by the testbed;
    // this test binary runs nothing else that boots a guest concurrently.
    std::env::set_var("RSTAP_TESTBED_CMDLINE", CMDLINE);
    let mut failures = Vec::new();
    let mut total = 0;
    // RSTAP_TORTURE_ONE_KERNEL=1: only the first kernel line (while iterating).
    // RSTAP_TORTURE_KERNEL=6.12: only that kernel line (two lines in parallel).
    let flavours = if std::env::var_os("RSTAP_TORTURE_ONE_KERNEL").is_some() { &FLAVOURS[..1] } else { FLAVOURS };
    // "6.1" is the line 6.1-cloud-amd64, not also 6.12-cloud-amd64.
    let line = std::env::var("RSTAP_TORTURE_KERNEL").map(|l| format!("{l}-")).unwrap_or_default();
    for flavour in flavours.iter().filter(|f| f.unwrap_or("6.1-cloud-amd64").starts_with(line.as_str())) {
        let opts = SetupOptions { flavour: flavour.map(String::from), ..Default::default() };
        let tb = vm::setup_with(&opts).expect("testbed setup");
        // The kernel's symbol table (Debian ships a placeholder System.map;
        // 6.12 has no -dbg here): read once from a guest, as `--vm` does,
        // so that `-r RELEASE` expands kprobe wildcards on both lines.
        vm::kallsyms::symbol_table(&tb, false).expect("the testbed kernel's symbol table");
        let (n, f) = run_suite(&tb);
        total += n;
        failures.extend(f.into_iter().map(|f| format!("[{}] {f}", tb.release)));
    }
    println!("torture: {total} script runs, {} failure(s)", failures.len());
    assert!(failures.is_empty(), "{} torture failure(s):\n\n{}", failures.len(), failures.join("\n\n"));
}

/// Translates one script (`-p3`: passes 1-3, no build); Ok(the module's
/// C and stderr) on success, Err((status, stderr)).
fn translate(tb: &Testbed, work: &Path, script: &Path, module: &str) -> Result<(String, String), (Option<i32>, String)> {
    let name = script.file_name().unwrap().to_string_lossy().to_string();
    std::fs::copy(script, work.join(&name)).unwrap();
    let flags: Vec<String> = read_opt(&script.with_extension("flags"))
        .map(|f| f.split_whitespace().map(String::from).collect())
        .unwrap_or_default();
    let out = Command::new(env!("CARGO_BIN_EXE_stap"))
        .current_dir(work)
        .args(["-p3", "-r", &tb.release, "-m", module])
        .args(&flags)
        .arg(&name)
        .output()
        .expect("run stap");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    if out.status.success() {
        Ok((String::from_utf8_lossy(&out.stdout).to_string(), stderr))
    } else {
        Err((out.status.code(), stderr))
    }
}

/// Translates every script for `tb`'s kernel (two at a time), builds the
/// run cases in one Kbuild invocation (`build::batch`), runs them in one
/// boot, each followed by a health check; returns the number of scripts
/// and what differed.
fn run_suite(tb: &Testbed) -> (usize, Vec<String>) {
    let list = scripts(&tb.release);
    let work = tempfile::tempdir().unwrap();
    let failures = Mutex::new(Vec::new());
    let cases = Mutex::new(Vec::new());
    let next = Mutex::new(0usize);
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = {
                    let mut n = next.lock().unwrap();
                    *n += 1;
                    *n - 1
                };
                let Some(script) = list.get(i) else { break };
                let name = script.file_stem().unwrap().to_string_lossy().to_string();
                let module = format!("torture_{}", name.replace('-', "_"));
                let want_xerr = read_opt(&script.with_extension("xerr"));
                let r = translate(tb, work.path(), script, &module);
                let fail = |m: String| failures.lock().unwrap().push(format!("{name}: {m}"));
                match (r, want_xerr) {
                    (Err((status, stderr)), Some(want)) => {
                        if status != Some(1) {
                            fail(format!("stap exited with {status:?}, not 1:\n{stderr}"));
                        }
                        if stderr.contains("panicked") {
                            fail(format!("stap panicked:\n{stderr}"));
                        } else if std::env::var_os("RSTAP_BLESS").is_some() {
                            std::fs::write(script.with_extension("xerr"), &stderr).unwrap();
                        } else if !matches_with_numbers(&want, &stderr) {
                            fail(format!("translation error differs (- expected, + actual):\n{}", diff(&want, &stderr)));
                        }
                    }
                    (Ok(_), Some(want)) => fail(format!("translated, but must fail with:\n{want}")),
                    (Err((_, stderr)), None) => fail(format!("stap -p3 failed:\n{stderr}")),
                    (Ok((c, stderr)), None) => {
                        if stderr.contains("warning:") {
                            fail(format!("the translator warns:\n{stderr}"));
                        }
                        let mut module = codegen::module_files(&module, c).expect("the module's files");
                        // No DWARF in the test modules: a tenth of the bytes
                        // to copy into the guest, and less compile time.
                        for (n, text) in module.files.iter_mut() {
                            if n == "Kbuild" {
                                text.push_str("ccflags-y += -g0\n");
                            }
                        }
                        cases.lock().unwrap().push((Case { name, base: script.with_extension(""), module: module.name.clone() }, module));
                    }
                }
            });
        }
    });
    let translated = t0.elapsed();
    let mut failures = failures.into_inner().unwrap();
    let mut cases = cases.into_inner().unwrap();
    cases.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    if cases.is_empty() {
        return (list.len(), failures);
    }
    let t1 = Instant::now();
    let bopts = BuildOptions { release: tb.release.clone(), kernel_build_dir: Some(tb.headers.clone()), use_cache: true, ..Default::default() };
    let modules: Vec<codegen::GeneratedModule> = cases.iter().map(|c| c.1.clone()).collect();
    let built = batch::build_many(&bopts, &modules, 0);
    let mut kos = Vec::new();
    let mut run_cases = Vec::new();
    for ((c, _), b) in cases.into_iter().zip(built) {
        match b {
            Ok(b) if !b.warnings.is_empty() => {
                failures.push(format!("{}: the generated C has compiler warnings:\n{}", c.name, b.warnings.join("\n")))
            }
            Ok(b) => {
                kos.push(b.ko);
                run_cases.push(c);
            }
            Err(e) => failures.push(format!("{}: the module does not build:\n{e}", c.name)),
        }
    }
    let cases = run_cases;
    let build_time = t1.elapsed();
    let staprun = PathBuf::from(env!("CARGO_BIN_EXE_staprun"));
    let health = GuestJob::cmd(&["sh", "-c", HEALTH]);
    let mut jobs = vec![GuestJob::cmd(&["sh", "-c", "dmesg -c >/dev/null; echo ready; cut -d' ' -f1 /proc/uptime >&2"])];
    for (i, c) in cases.iter().enumerate() {
        let ko = format!("{}.ko", c.module);
        let mut files = vec![(staprun.clone(), "staprun".to_string()), (kos[i].clone(), ko.clone())];
        let argv = if c.base.with_extension("guest").exists() {
            let sh = format!("{}.guest.sh", c.name);
            files.push((c.base.with_extension("guest"), sh.clone()));
            vec!["sh".to_string(), sh, ko]
        } else {
            let mut argv: Vec<String> = Vec::new();
            if let Some(env) = read_opt(&c.base.with_extension("env")) {
                argv.push("env".into());
                argv.extend(env.split_whitespace().map(String::from));
            }
            argv.push("./staprun".into());
            if let Some(cmd) = read_opt(&c.base.with_extension("cmd")) {
                argv.push("-c".into());
                argv.push(cmd.trim().to_string());
            }
            argv.push(ko);
            argv
        };
        jobs.push(GuestJob { files, argv });
        jobs.push(health.clone());
    }
    let opts = RunOptions { verbose: false, timeout: std::time::Duration::from_secs(1800), live: false };
    let limits = JobLimits { per_job: Some(std::time::Duration::from_secs(90)) };
    let t2 = Instant::now();
    let (results, _) = match vm::run_jobs_limited(tb, &jobs, &opts, &limits) {
        Ok(r) => r,
        Err(e) => {
            failures.push(format!("the guest run failed (a script may have killed it): {e}"));
            return (list.len(), failures);
        }
    };
    // Where the guest's time goes: each script and its health check, from
    // the guest's uptime after each health check.
    let uptime = |r: &vm::JobResult| String::from_utf8_lossy(&r.stderr).lines().last().and_then(|l| l.trim().parse::<f64>().ok());
    let mut spans: Vec<(f64, &str)> = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        if let (Some(a), Some(b)) = (uptime(&results[2 * i]), uptime(&results[2 + 2 * i])) {
            spans.push((b - a, &c.name));
        }
    }
    spans.sort_by(|a, b| b.0.total_cmp(&a.0));
    let slowest: Vec<String> = spans.iter().take(12).map(|(t, n)| format!("{n} {t:.1} s")).collect();
    println!("torture on {}: slowest in the guest: {}", tb.release, slowest.join(", "));
    let bless = std::env::var_os("RSTAP_BLESS").is_some();
    for (i, c) in cases.iter().enumerate() {
        let (r, h) = (&results[1 + 2 * i], &results[2 + 2 * i]);
        let stdout = String::from_utf8_lossy(&r.stdout).to_string();
        let stderr = String::from_utf8_lossy(&r.stderr).to_string();
        let hout = String::from_utf8_lossy(&h.stdout).to_string();
        if hout != "healthy\n" {
            failures.push(format!("{}: the guest is not healthy after it:\n{hout}", c.name));
        }
        if r.timed_out {
            failures.push(format!("{}: did not end within the job's time limit\nstderr: {stderr}", c.name));
        }
        // Blessing writes only the expected files a case does not have yet
        // (hand-edited ones with {N} and {ANY} stay).
        if bless && !["out", "err", "status"].iter().any(|e| c.base.with_extension(e).exists()) {
            std::fs::write(c.base.with_extension("out"), &stdout).unwrap();
            if !stderr.is_empty() {
                std::fs::write(c.base.with_extension("err"), &stderr).unwrap();
            }
            if r.status != 0 {
                std::fs::write(c.base.with_extension("status"), format!("{}\n", r.status)).unwrap();
            }
            continue;
        }
        if let Some(want) = read_opt(&c.base.with_extension("out")) {
            if !matches_lines(&want, &stdout) {
                failures.push(format!("{}: stdout differs (- expected, + actual):\n{}", c.name, diff(&want, &stdout)));
            }
        }
        let want_err = read_opt(&c.base.with_extension("err")).unwrap_or_default();
        if !matches_lines(&want_err, &stderr) {
            failures.push(format!("{}: stderr differs (- expected, + actual):\n{}", c.name, diff(&want_err, &stderr)));
        }
        let want_status: i32 = read_opt(&c.base.with_extension("status"))
            .map(|s| s.trim().parse().expect("status file holds a number"))
            .unwrap_or(0);
        if r.status != want_status {
            failures.push(format!("{}: exit status {} (expected {want_status})\nstderr: {stderr}", c.name, r.status));
        }
    }
    println!(
        "torture on {}: {} scripts, {} run in one guest boot; translate {:.0} s, build {:.0} s, guest {:.0} s",
        tb.release,
        list.len(),
        cases.len(),
        translated.as_secs_f64(),
        build_time.as_secs_f64(),
        t2.elapsed().as_secs_f64()
    );
    (list.len(), failures)
}

/// Runs `stap ARGS` on a generated script file; returns (status, stderr, seconds).
fn stap_on(script: &str, args: &[&str]) -> (Option<i32>, String, f64) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gen.stp");
    std::fs::write(&path, script).unwrap();
    let start = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_stap")).args(args).arg(&path).output().expect("run stap");
    (out.status.code(), String::from_utf8_lossy(&out.stderr).to_string(), start.elapsed().as_secs_f64())
}

/// The input attacks that need no guest: a 1 MB script and 10,000 probes
/// translate in bounded time (pass 3 was quadratic in the script's size),
/// and deep nesting is a located error, not a crash of the translator.
#[test]
fn huge_inputs_translate_in_bounded_time() {
    let mut big = String::from("global total\n");
    let mut i = 0;
    while big.len() < 1 << 20 {
        big.push_str(&format!("function f{i}(x) {{ total += x; return x + {i} }}\n"));
        i += 1;
    }
    big.push_str("probe begin { println(f1(1)) exit() }\n");
    let (status, err, secs) = stap_on(&big, &["-p3"]);
    assert_eq!(status, Some(0), "{err}");
    assert!(secs < 30.0, "a 1 MB script took {secs:.1} s to translate");

    let mut many = String::from("global n\n");
    for i in 0..10_000 {
        many.push_str(&format!("probe timer.ms({}) {{ n++ }}\n", 1000 + i));
    }
    let (status, err, secs) = stap_on(&many, &["-p3"]);
    assert_eq!(status, Some(0), "{err}");
    assert!(secs < 30.0, "10,000 probes took {secs:.1} s to translate");

    let deep = format!("probe begin {{ x = {}1{} }}\n", "(".repeat(100_000), ")".repeat(100_000));
    let (status, err, _) = stap_on(&deep, &["-p2"]);
    assert_eq!(status, Some(1), "{err}");
    assert!(err.starts_with("error: nesting too deep (more than 1000 levels)\n"), "{err}");
}
