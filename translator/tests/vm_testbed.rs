//! vm_testbed: the qemu testbed end to end (boots real guests).
//!
//! Input: this machine kind (Debian 12, root, apt); `setup()` installs what is
//! missing. Output: pass/fail. Invariants: the guests run one at a time (a
//! mutex), since TCG guests compete for the same two cores.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rstap::vm::{self, GuestJob, RunOptions, SetupOptions, Testbed};

static ONE_GUEST_AT_A_TIME: Mutex<()> = Mutex::new(());

fn testbed() -> Testbed {
    match vm::setup(false) {
        Ok(tb) => tb,
        Err(e) => panic!("testbed setup failed: {e}"),
    }
}

fn opts(secs: u64) -> RunOptions {
    RunOptions { verbose: std::env::var_os("RSTAP_TEST_VERBOSE").is_some(), timeout: Duration::from_secs(secs), live: false }
}

fn sh(script: &str) -> GuestJob {
    GuestJob::cmd(&["sh", "-c", script])
}

#[test]
fn runs_several_jobs_in_one_boot() {
    let _one = ONE_GUEST_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tb = testbed();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.txt");
    std::fs::write(&data, "file contents\n").unwrap();
    let script = dir.path().join("tool.sh");
    std::fs::write(&script, "#!/bin/sh\necho \"tool:$1:$#\"\n").unwrap();
    Command::new("chmod").arg("755").arg(&script).status().unwrap();

    let mut with_files = GuestJob::cmd(&["./tool.sh", "it's a \"quoted\" $arg", "x"]);
    with_files.files.push((script.clone(), "tool.sh".into()));
    let mut cat = GuestJob::cmd(&["cat", "sub/dir/data.txt"]);
    cat.files.push((data.clone(), "sub/dir/data.txt".into()));

    // Our own static runner drops in as one file.
    let mut staprun = GuestJob::cmd(&["./staprun", "--help"]);
    staprun.files.push((PathBuf::from(env!("CARGO_BIN_EXE_staprun")), "staprun".into()));

    let jobs = vec![
        GuestJob::cmd(&["echo", "hello"]),
        sh("echo to-stderr >&2"),
        sh("echo out; exit 3"),
        GuestJob::cmd(&["seq", "1", "40000"]),
        sh("printf 'no newline at the end'; printf 'err no newline' >&2"),
        with_files,
        cat,
        sh("test -d /sys/kernel/debug/tracing || test -d /sys/kernel/tracing/events && grep -q debugfs /proc/mounts && nproc"),
        GuestJob::cmd(&["no-such-command"]),
        staprun,
    ];
    let (res, stats) = vm::run_jobs_with_stats(&tb, &jobs, &opts(240)).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("stats: {stats:?}");
    assert_eq!(res.len(), jobs.len());
    let s = |b: &[u8]| String::from_utf8_lossy(b).to_string();

    assert_eq!((s(&res[0].stdout), s(&res[0].stderr), res[0].status), ("hello\n".into(), "".into(), 0));
    assert_eq!((s(&res[1].stdout), s(&res[1].stderr), res[1].status), ("".into(), "to-stderr\n".into(), 0));
    assert_eq!((s(&res[2].stdout), s(&res[2].stderr), res[2].status), ("out\n".into(), "".into(), 3));
    let expected: String = (1..=40000).map(|i| format!("{i}\n")).collect();
    assert!(expected.len() > 200_000);
    assert_eq!(res[3].stdout.len(), expected.len());
    assert!(res[3].stdout == expected.as_bytes(), "seq output differs");
    assert_eq!((res[3].stderr.len(), res[3].status), (0, 0));
    assert_eq!((s(&res[4].stdout), s(&res[4].stderr)), ("no newline at the end".into(), "err no newline".into()));
    assert_eq!(s(&res[5].stdout), "tool:it's a \"quoted\" $arg:2\n");
    assert_eq!(s(&res[6].stdout), "file contents\n");
    assert_eq!((s(&res[7].stdout), res[7].status), ("2\n".into(), 0), "stderr: {}", s(&res[7].stderr));
    assert_eq!(res[8].status, 127, "stderr: {}", s(&res[8].stderr));
    assert!(!res[8].stderr.is_empty());
    // staprun ran (whatever it thinks of --help): not an exec failure.
    assert!(![126, 127].contains(&res[9].status), "staprun: {} {}", res[9].status, s(&res[9].stderr));
}

fn build_hello_module(tb: &Testbed) -> (tempfile::TempDir, PathBuf) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vm_hello");
    let dir = tempfile::tempdir().unwrap();
    for f in ["hello.c", "kprobe.c", "Kbuild"] {
        std::fs::copy(fixture.join(f), dir.path().join(f)).unwrap();
    }
    let out = Command::new("make")
        .arg("-C")
        .arg(&tb.headers)
        .arg(format!("M={}", dir.path().display()))
        .arg("modules")
        .output()
        .expect("run make");
    assert!(
        out.status.success(),
        "module build failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let ko = dir.path().join("rstap_hello.ko");
    assert!(ko.is_file());
    (dir, ko)
}

#[test]
fn builds_and_loads_a_module() {
    let tb = testbed();
    let (_dir, ko) = build_hello_module(&tb);
    let kprobe_ko = ko.with_file_name("rstap_kprobe.ko");
    let _one = ONE_GUEST_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let load = GuestJob::cmd(&["insmod", "rstap_hello.ko"]).file(ko, "rstap_hello.ko");
    let jobs = vec![
        load,
        sh("grep -o '^rstap_hello ' /proc/modules"),
        sh("dmesg | grep -o 'rstap_hello: loaded'"),
        GuestJob::cmd(&["rmmod", "rstap_hello"]),
        sh("dmesg | grep -o 'rstap_hello: unloaded'; uname -r"),
        sh("insmod rstap_kprobe.ko && cat /proc/version /proc/cmdline >/dev/null && rmmod rstap_kprobe && dmesg | grep -o 'rstap_kprobe: hits=[0-9]*'")
            .file(kprobe_ko, "rstap_kprobe.ko"),
    ];
    let res = vm::run_jobs(&tb, &jobs, &opts(240)).unwrap_or_else(|e| panic!("{e}"));
    let s = |i: usize| String::from_utf8_lossy(&res[i].stdout).to_string();
    let e = |i: usize| String::from_utf8_lossy(&res[i].stderr).to_string();
    assert_eq!(res[0].status, 0, "insmod: {}", e(0));
    assert_eq!(s(1), "rstap_hello \n");
    assert_eq!(s(2), "rstap_hello: loaded\n");
    assert_eq!(res[3].status, 0, "rmmod: {}", e(3));
    assert_eq!(s(4), format!("rstap_hello: unloaded\n{}\n", tb.release));
    let hits: u64 = s(5).trim().trim_start_matches("rstap_kprobe: hits=").parse().unwrap_or(0);
    assert!(hits >= 2, "kprobe job: status {} stdout {:?} stderr {:?}", res[5].status, s(5), e(5));
}

#[test]
fn timeout_kills_the_guest_and_shows_the_console() {
    let _one = ONE_GUEST_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tb = testbed();
    let t0 = Instant::now();
    let err = vm::run_jobs(&tb, &[sh("echo partial; sleep 1000")], &opts(25)).expect_err("must time out");
    assert!(t0.elapsed() < Duration::from_secs(40), "took {:?}", t0.elapsed());
    eprintln!("{err}");
    assert!(err.contains("timed out"), "{err}");
    assert!(err.contains("job 0"), "{err}");
    assert!(err.contains("job 0 stdout so far (tail) ---\npartial"), "{err}");
    assert!(err.contains("kernel console"), "{err}");
}

extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
    fn getpid() -> i32;
}

#[test]
fn ctrl_c_reaches_the_guest_job() {
    let _one = ONE_GUEST_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tb = testbed();
    let job = sh("trap 'echo got-INT; exit 7' INT; echo started; while :; do sleep 0.2; done");
    // The live run installs the SIGINT counter at spawn; poke it after boot.
    let poker = std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(25));
        // SAFETY: plain kill(2) on our own pid.
        unsafe { kill(getpid(), 2) };
    });
    let o = RunOptions { live: true, ..opts(120) };
    let res = vm::run_jobs(&tb, &[job, GuestJob::cmd(&["echo", "after"])], &o).unwrap_or_else(|e| panic!("{e}"));
    poker.join().unwrap();
    // Normally the INT reaches the running job's trap; on a machine so loaded
    // that the boot took over 25 s, it interrupts the job before it starts.
    let out = String::from_utf8_lossy(&res[0].stdout).to_string();
    assert!(
        (out == "started\ngot-INT\n" && res[0].status == 7) || (out.is_empty() && res[0].status == 130),
        "status {} stdout {out:?}",
        res[0].status
    );
    assert_eq!(String::from_utf8_lossy(&res[1].stdout), "after\n");
}

/// Bytes that exercise binary safety: every byte value, CR/LF, our marker byte.
fn random_bytes(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e3779b97f4a7c15;
    let mut v: Vec<u8> = (0..=255u8).collect();
    v.extend_from_slice(b"\r\n\x01RSTAP-END-\x01\r\r\n");
    while v.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.push((x >> 24) as u8);
    }
    v.truncate(n);
    v
}

fn cat_roundtrip(channel: &str, bytes: usize) -> (Duration, Duration) {
    let tb = testbed();
    let dir = tempfile::tempdir().unwrap();
    let blob = dir.path().join("blob");
    let data = random_bytes(bytes);
    std::fs::write(&blob, &data).unwrap();
    let mut to_out = GuestJob::cmd(&["cat", "blob"]);
    to_out.files.push((blob.clone(), "blob".into()));
    let to_err = sh("cat blob >&2");
    // Baseline: the same job with output discarded, to subtract guest-side cost.
    let to_null = sh("cat blob >/dev/null");
    std::env::set_var("RSTAP_TESTBED_CHANNEL", channel);
    let r = vm::run_jobs_with_stats(&tb, &[to_null, to_out, to_err], &opts(600));
    std::env::remove_var("RSTAP_TESTBED_CHANNEL");
    let (res, stats) = r.unwrap_or_else(|e| panic!("{e}"));
    assert!(res[1].stdout == data, "{channel}: stdout differs ({} vs {} bytes)", res[1].stdout.len(), data.len());
    assert!(res[2].stderr == data, "{channel}: stderr differs ({} vs {} bytes)", res[2].stderr.len(), data.len());
    eprintln!("{channel}: {stats:?}");
    (stats.boot_to_ready.unwrap(), stats.jobs_done.unwrap() - stats.boot_to_ready.unwrap())
}

#[test]
fn binary_output_survives_both_channels() {
    let _one = ONE_GUEST_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for channel in ["virtio", "serial"] {
        cat_roundtrip(channel, 64 * 1024);
    }
}

/// `cargo test --test vm_testbed throughput -- --ignored --nocapture`
#[test]
#[ignore]
fn throughput() {
    let _one = ONE_GUEST_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let n = 4 << 20;
    for channel in ["virtio", "serial"] {
        let (boot, jobs) = cat_roundtrip(channel, n);
        eprintln!(
            "{channel}: boot-to-ready {:.2}s; 2 x {} MiB in {:.2}s = {:.2} MiB/s",
            boot.as_secs_f64(),
            n >> 20,
            jobs.as_secs_f64(),
            2.0 * (n as f64) / (1 << 20) as f64 / jobs.as_secs_f64()
        );
    }
}

#[test]
fn boot_failure_is_an_error_with_the_console() {
    let _one = ONE_GUEST_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tb = testbed();
    std::env::set_var("RSTAP_TESTBED_CMDLINE", "rdinit=/no-such-init");
    let r = vm::run_jobs(&tb, &[GuestJob::cmd(&["true"])], &opts(120));
    std::env::remove_var("RSTAP_TESTBED_CMDLINE");
    let err = r.expect_err("the guest cannot boot");
    eprintln!("{err}");
    assert!(err.contains("before its /init was ready"), "{err}");
    assert!(err.contains("Kernel panic"), "{err}");
}

/// The second kernel line (`linux-*-6.12-cloud-amd64`, virtio built in,
/// xz modules): downloads ~100 MB the first time.
/// `cargo test --test vm_testbed second_kernel_line -- --ignored --nocapture`
#[test]
#[ignore]
fn second_kernel_line() {
    let tb = vm::setup_with(&SetupOptions { flavour: Some("6.12-cloud-amd64".into()), ..Default::default() })
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(tb.release.starts_with("6.12"), "{}", tb.release);
    let (_dir, ko) = build_hello_module(&tb);
    let _one = ONE_GUEST_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut load = GuestJob::cmd(&["insmod", "rstap_hello.ko"]);
    load.files.push((ko, "rstap_hello.ko".into()));
    let jobs = [GuestJob::cmd(&["uname", "-r"]), load, sh("dmesg | grep -o 'rstap_hello: loaded'")];
    let (res, stats) = vm::run_jobs_with_stats(&tb, &jobs, &opts(240)).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{}: {stats:?}", tb.release);
    assert_eq!(String::from_utf8_lossy(&res[0].stdout), format!("{}\n", tb.release));
    assert_eq!(res[1].status, 0, "insmod: {}", String::from_utf8_lossy(&res[1].stderr));
    assert_eq!(String::from_utf8_lossy(&res[2].stdout), "rstap_hello: loaded\n");
}

/// Ctrl-C typed on a real terminal (run it in a pty, press Ctrl-C once the
/// guest printed `started`): the job's trap runs and the run ends normally.
/// `(sleep 20; printf '\003'; sleep 30) | script -qfc "$(ls target/*/debug/deps/vm_testbed-* | grep -v '\.d$') ctrl_c_from_a_terminal --ignored --nocapture" /dev/null`
#[test]
#[ignore]
fn ctrl_c_from_a_terminal() {
    let tb = testbed();
    let job = sh("trap 'echo got-INT; exit 7' INT; echo started; while :; do sleep 0.2; done");
    let o = RunOptions { live: true, ..opts(120) };
    let res = vm::run_jobs(&tb, &[job], &o).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(String::from_utf8_lossy(&res[0].stdout), "started\ngot-INT\n");
    assert_eq!(res[0].status, 7);
    eprintln!("ctrl-c from a terminal: ok, job status {}", res[0].status);
}

#[test]
fn a_hanging_job_times_out_alone() {
    let _one = ONE_GUEST_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tb = testbed();
    let jobs = [
        sh("echo before; sleep 1000"),
        sh("trap 'echo cleanup; exit 5' INT; while :; do sleep 0.2; done"),
        sh("trap '' INT; sleep 1000"),
        GuestJob::cmd(&["echo", "next"]),
    ];
    let limits = vm::JobLimits { per_job: Some(Duration::from_secs(3)) };
    let (res, _) = vm::run_jobs_limited(&tb, &jobs, &opts(180), &limits).unwrap_or_else(|e| panic!("{e}"));
    let s = |i: usize| String::from_utf8_lossy(&res[i].stdout).to_string();
    assert_eq!((s(0), res[0].status, res[0].timed_out), ("before\n".into(), 130, true));
    assert_eq!((s(1), res[1].status, res[1].timed_out), ("cleanup\n".into(), 5, true));
    assert_eq!((res[2].status, res[2].timed_out), (137, true));
    assert_eq!((s(3), res[3].status, res[3].timed_out), ("next\n".into(), 0, false));
}

#[test]
fn a_guest_that_stops_answering_is_told_apart_and_rerun_once() {
    let _one = ONE_GUEST_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tb = testbed();
    // The second job stops every process but itself and init, the guest's
    // watchdog included: to the host, a guest that no longer answers.
    let jobs = [
        GuestJob::cmd(&["echo", "before"]),
        sh("echo frozen; kill -STOP -1; sleep 1000"),
        GuestJob::cmd(&["echo", "after"]),
    ];
    let limits = vm::JobLimits { per_job: Some(Duration::from_secs(2)) };
    let t = Instant::now();
    match vm::run_jobs_or_hang(&tb, &jobs, &opts(300), &limits) {
        Err(vm::RunFailure::Hung(h)) => {
            assert_eq!(h.job, 1, "{}", h.message);
            assert_eq!(h.partial.len(), 2);
            assert_eq!((String::from_utf8_lossy(&h.partial[0].stdout).as_ref(), h.partial[0].status), ("before\n", 0));
            assert_eq!(String::from_utf8_lossy(&h.partial[1].stdout), "frozen\n");
            assert!(h.message.contains("stopped answering during job 1"), "{}", h.message);
        }
        other => panic!("expected a hung guest, got {other:?}"),
    }
    // Told apart soon after the job's limit, not at the run's deadline.
    assert!(t.elapsed() < Duration::from_secs(200), "took {:?}", t.elapsed());
    // Rerun once in a fresh guest, where it hangs again: an error.
    let err = vm::run_jobs_rerunning(&tb, &jobs, &opts(300), &limits).expect_err("hangs every time");
    assert!(err.contains("job 1 hung a fresh guest too"), "{err}");
}
