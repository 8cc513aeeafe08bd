//! The per-hit cost bench of issue 10 (run by `bench/perhit/run`; ignored
//! by `cargo test`: it boots a guest and asserts nothing but that the runs
//! complete).
//!
//! Input: `bench/perhit/` (the static getppid loop, the hand-written
//! kprobe module, the guest script) and three rstap scripts. Output, on
//! stdout: per variant the median over the rounds of the loop's ns per
//! call, the cost over no probe, and for the rstap scripts the ratio of
//! that cost to the hand-written module's; once for the whole loop, once
//! for its fastest batch of 1000 calls (the figure a busy host disturbs
//! least). Everything runs in ONE boot of
//! the default (6.1) testbed kernel, TCG with 2 vCPUs; the variants are
//! interleaved round by round so that drift of the shared host hits them
//! alike.

use std::path::{Path, PathBuf};
use std::process::Command;

use rstap::vm::{self, GuestJob, RunOptions};

/// The rstap variants: module suffix, script.
const SCRIPTS: &[(&str, &str)] = &[
    ("stat", "global n; probe kprobe.function(\"__x64_sys_getppid\") { n <<< 1 }"),
    ("array", "global a; probe kprobe.function(\"__x64_sys_getppid\") { a[execname()]++ }"),
    ("global", "global n; probe kprobe.function(\"__x64_sys_getppid\") { n++ }"),
];

const CALLS: u64 = 300_000;

fn bench_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/perhit")
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{what} failed:\n{stderr}{}", String::from_utf8_lossy(&out.stdout));
    assert!(!stderr.contains("warning:"), "{what} has compiler warnings:\n{stderr}");
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

#[test]
#[ignore = "boots a guest; run with bench/perhit/run"]
fn perhit() {
    let rounds: usize = std::env::var("PERHIT_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(3);
    let tb = vm::setup(false).expect("testbed setup");
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let src = bench_dir();

    run(
        Command::new("gcc").args(["-O2", "-static", "-o"]).arg(w.join("loop")).arg(src.join("loop.c")),
        "building the loop",
    );
    let hand = w.join("hand");
    std::fs::create_dir_all(&hand).unwrap();
    for f in ["perhit_hand.c", "Kbuild"] {
        std::fs::copy(src.join("hand").join(f), hand.join(f)).unwrap();
    }
    let kdir = rstap::build::kernel_build_dir(&tb.release, None).expect("kernel headers");
    run(Command::new("make").arg("-C").arg(&kdir).arg(format!("M={}", hand.display())).arg("modules"), "building the hand-written module");
    // PERHIT_EXTRA=DIR/perhit_NAME.ko,...: more rstap modules to measure
    // (hand-edited experiments), run as the scripts are.
    let extra: Vec<PathBuf> = std::env::var("PERHIT_EXTRA").map(|e| e.split(',').filter(|p| !p.is_empty()).map(PathBuf::from).collect()).unwrap_or_default();
    let extra_names: Vec<String> = extra
        .iter()
        .map(|p| p.file_stem().and_then(|s| s.to_str()).and_then(|s| s.strip_prefix("perhit_")).expect("PERHIT_EXTRA: perhit_NAME.ko").to_string())
        .collect();
    let mut argv = vec!["sh".to_string(), "guest.sh".into(), rounds.to_string()];
    argv.extend(extra_names.iter().cloned());
    let mut job = GuestJob::cmd(&argv)
        .file(src.join("guest.sh"), "guest.sh")
        .file(w.join("loop"), "loop")
        .file(hand.join("perhit_hand.ko"), "perhit_hand.ko")
        .file(env!("CARGO_BIN_EXE_staprun"), "staprun");
    for (name, script) in SCRIPTS {
        let module = format!("perhit_{name}");
        run(
            Command::new(env!("CARGO_BIN_EXE_stap")).current_dir(w).args(["-p4", "-r", &tb.release, "-m", &module, "-e", script]),
            &format!("stap -p4 {module}"),
        );
        job = job.file(w.join(format!("{module}.ko")), format!("{module}.ko"));
    }
    for (p, n) in extra.iter().zip(&extra_names) {
        job = job.file(p, format!("perhit_{n}.ko"));
    }
    let opts = RunOptions { verbose: false, timeout: std::time::Duration::from_secs(1200), live: false };
    let res = vm::run_jobs(&tb, &[job], &opts).expect("guest run");
    let stdout = String::from_utf8_lossy(&res[0].stdout).to_string();
    assert_eq!(res[0].status, 0, "guest script failed:\n{stdout}\n{}", String::from_utf8_lossy(&res[0].stderr));

    let mut variants = vec!["none", "hand", "stat", "array", "global"];
    variants.extend(extra_names.iter().map(String::as_str));
    let mut per_call: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    let mut best: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    // Each script's end-of-session dump shows that its probe fired for
    // every call: `n @count=300000 ...`, `a["loop"]=300000`, `n=300000`
    // (or more: other programs may call getppid too).
    for prefix in ["stat n @count=", "array a[\"loop\"]=", "global n="] {
        let hits: Vec<u64> = stdout
            .lines()
            .filter_map(|l| l.strip_prefix(prefix))
            .filter_map(|r| r.split_whitespace().next().and_then(|n| n.parse().ok()))
            .collect();
        assert!(hits.len() == rounds && hits.iter().all(|&h| h >= CALLS), "`{prefix}`: expected {rounds} counts >= {CALLS} in:\n{stdout}");
    }
    let field = |f: Option<&str>, name: &str| -> f64 {
        f.and_then(|f| f.strip_prefix(name)).and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{name} in:\n{stdout}"))
    };
    for line in stdout.lines() {
        let mut it = line.split_whitespace();
        let (Some(v), Some("loop")) = (it.next(), it.next()) else { continue };
        let Some(i) = variants.iter().position(|x| *x == v) else { continue };
        let calls = field(it.next(), "calls=");
        let ns = field(it.next(), "ns=");
        let ps = field(it.next(), "best_ps=");
        assert_eq!(calls as u64, CALLS);
        per_call[i].push(ns / calls);
        best[i].push(ps / 1000.0);
    }
    for (v, runs) in variants.iter().zip(&per_call) {
        assert_eq!(runs.len(), rounds, "{v}: expected {rounds} runs in:\n{stdout}");
    }
    println!("per-hit bench: {CALLS} getppid calls, kernel {}, TCG 2 vCPUs, median of {rounds} runs", tb.release);
    let mut labels = vec!["no probe", "hand-written kprobe module", "n <<< 1", "a[execname()]++", "n++"];
    labels.extend(extra_names.iter().map(String::as_str));
    for (title, runs) in [("whole loop (ns per call)", &mut per_call), ("fastest batch of 1000 calls (ns per call)", &mut best)] {
        let med: Vec<f64> = runs.iter_mut().map(|r| median(r)).collect();
        let hand_cost = med[1] - med[0];
        println!("\n{title}");
        println!("{:<30} {:>9} {:>12} {:>8}", "variant", "ns/call", "over none", "ratio");
        for (i, label) in labels.iter().enumerate() {
            let cost = med[i] - med[0];
            let ratio = if i >= 2 { format!("{:.2}x", cost / hand_cost) } else { String::new() };
            let over = if i == 0 { String::new() } else { format!("{cost:+.0} ns") };
            println!("{label:<30} {:>9.0} {over:>12} {ratio:>8}", med[i]);
        }
        println!("runs: {}", variants.iter().zip(runs.iter()).map(|(v, r)| format!("{v} {r:.0?}")).collect::<Vec<_>>().join("; "));
    }
}
