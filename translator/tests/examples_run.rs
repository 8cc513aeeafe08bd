//! Real example scripts of Debian's `systemtap-doc`, run unchanged in the
//! qemu testbed (the 6.1 kernel, whose debuginfo the testbed has), each
//! with a `-c` workload that makes parts of its output certain.
//!
//! Input: `/usr/share/systemtap/examples/CATEGORY/NAME.stp` (read in place,
//! never copied into this tree), the real `stap` and `staprun` binaries.
//! Output: a pass when every example builds (`-p4`, without compiler
//! warnings), runs with exit status 0, and its stdout holds the lines
//! listed for it (exact lines, `{N}` standing for a number). Invariants:
//! all examples run in one guest boot; the test is skipped (with a
//! message) only when systemtap-doc is absent and cannot be installed.

use std::path::Path;
use std::process::{Command, Stdio};

use rstap::vm::{self, GuestJob, JobLimits, RunOptions, SetupOptions};

mod expect_common;
use expect_common::matches_with_numbers;

const EXAMPLES: &str = "/usr/share/systemtap/examples";

/// Brings up lo and pings 127.0.0.1 twice: four ICMP packets of 84 bytes
/// (two echo requests, two replies), each through every IPv4 hook.
const PING: &str = "ip link set lo up; ping -c 2 127.0.0.1 >/dev/null";

struct Example {
    /// CATEGORY/NAME.stp under the examples directory.
    path: &'static str,
    flags: &'static [&'static str],
    /// The script's own arguments (after its name).
    args: &'static [&'static str],
    cmd: &'static str,
    /// Lines stdout must contain, each matched whole (`{N}` is a number).
    lines: &'static [&'static str],
    /// Lines stdout must start and end with.
    first: Option<&'static str>,
    last: Option<&'static str>,
}

const RUNS: &[Example] = &[
    // process.begin (over kprocess.start) and syscall.execve: the -c shell
    // execs busybox's true; the graph is a dot digraph.
    Example {
        path: "process/pstree.stp",
        flags: &[],
        args: &[],
        cmd: "exec /bin/true",
        lines: &["rankdir=\"LR\""],
        first: Some("digraph pstree {"),
        last: Some("}"),
    },
    // netfilter.ipv4.pre_routing: every ping packet, summed per address pair.
    Example {
        path: "network/netfilter_summary.stp",
        flags: &[],
        args: &[],
        cmd: PING,
        lines: &["      127.0.0.1 -->       127.0.0.1 : 4 packets, 336 total bytes"],
        first: Some("Collecting data... Type Ctrl-C to exit and display results."),
        last: None,
    },
    // netfilter.ip.local_out: both the requests (from ping) and the replies
    // leave through local_out, to 127.0.0.1 port 0 (ICMP has no ports).
    Example {
        path: "network/who_sent_it.stp",
        flags: &[],
        args: &[],
        cmd: PING,
        lines: &["ping[{N}] sent packet to 127.0.0.1:0"],
        first: None,
        last: None,
    },
    // perf.sw.cpu_clock samples every CPU (`!`: timer.profile is not used)
    // while the shell loops; the end probe prints the table header.
    Example {
        path: "profiling/thread-times.stp",
        flags: &[],
        args: &[],
        cmd: "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done",
        lines: &["            comm   tid   %user %kernel (of {N} ticks)"],
        first: None,
        last: None,
    },
    // Alias suffixes: miscellany.return is syscall.{open,close,read,write}.return.
    Example {
        path: "general/alias_suffixes.stp",
        flags: &[],
        args: &[],
        cmd: "cat /proc/version >/dev/null",
        lines: &["Collecting data... press Ctrl-C to stop."],
        first: None,
        last: None,
    },
    // The json tapset: each read of data.json runs the script's json_data
    // probe; the four ping packets are one array element per address pair.
    Example {
        path: "network/netfilter_summary_json.stp",
        flags: &[],
        args: &[],
        cmd: "ip link set lo up; ping -c 2 127.0.0.1 >/dev/null; cat /proc/systemtap/*/data.json",
        lines: &[
            "{\"netfilter\": {",
            "    \"netfilter_data\": [",
            "      {\"__id\": \"      127.0.0.1 -->       127.0.0.1\", \"packets\": 4, \"bytes\": 336}",
        ],
        first: None,
        last: None,
    },
    // argv from the command line ("lo"), and json output: net_dev_queue
    // and net_dev_xmit see the four ping packets leave through lo (the
    // script puts the latency sum in xmit_count, the count in xmit_latency).
    Example {
        path: "network/net_xmit_json.stp",
        flags: &[],
        args: &["lo"],
        cmd: "ip link set lo up; ping -c 2 127.0.0.1 >/dev/null; cat /proc/systemtap/*/data.json",
        lines: &["{\"net_xmit\": {", "      {\"__id\": \"lo\", \"xmit_count\": {N}, \"xmit_latency\": 4}"],
        first: None,
        last: None,
    },
];

fn check(e: &Example, stdout: &str) -> Vec<String> {
    let mut bad = Vec::new();
    let got: Vec<&str> = stdout.lines().collect();
    for want in e.lines {
        if !got.iter().any(|l| matches_with_numbers(&format!("{want}\n"), &format!("{l}\n"))) {
            bad.push(format!("no line `{want}`"));
        }
    }
    if let Some(f) = e.first {
        if got.first() != Some(&f) {
            bad.push(format!("first line is {:?}, not `{f}`", got.first()));
        }
    }
    if let Some(l) = e.last {
        if got.last() != Some(&l) {
            bad.push(format!("last line is {:?}, not `{l}`", got.last()));
        }
    }
    bad
}

#[test]
fn examples_run_in_the_guest() {
    if !Path::new(EXAMPLES).is_dir() {
        let _ = Command::new("apt-get")
            .args(["install", "-y", "-qq", "systemtap-doc"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !Path::new(EXAMPLES).is_dir() {
            eprintln!("skipped: systemtap-doc's examples are not installed");
            return;
        }
    }
    let tb = vm::setup_with(&SetupOptions::default()).expect("testbed setup");
    let work = tempfile::tempdir().unwrap();
    let staprun = std::path::PathBuf::from(env!("CARGO_BIN_EXE_staprun"));
    let mut failures = Vec::new();
    let mut built = Vec::new();
    for (i, e) in RUNS.iter().enumerate() {
        let script = Path::new(EXAMPLES).join(e.path);
        let module = format!("example_{i}");
        let out = Command::new(env!("CARGO_BIN_EXE_stap"))
            .current_dir(work.path())
            .args(["-p4", "-r", &tb.release, "-m", &module])
            .args(e.flags)
            .arg(&script)
            .args(e.args)
            .output()
            .expect("run stap");
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            failures.push(format!("{}: stap -p4 failed:\n{stderr}", e.path));
            continue;
        }
        if stderr.contains("warning:") {
            failures.push(format!("{}: the generated C has compiler warnings:\n{stderr}", e.path));
        }
        built.push((e, module));
    }
    let jobs: Vec<GuestJob> = built
        .iter()
        .map(|(e, module)| {
            let ko = format!("{module}.ko");
            GuestJob {
                files: vec![(staprun.clone(), "staprun".into()), (work.path().join(&ko), ko.clone())],
                argv: vec!["./staprun".into(), "-c".into(), e.cmd.into(), ko],
            }
        })
        .collect();
    let opts = RunOptions { verbose: false, timeout: std::time::Duration::from_secs(900), live: false };
    let limits = JobLimits { per_job: Some(std::time::Duration::from_secs(90)) };
    let (results, _) = vm::run_jobs_limited(&tb, &jobs, &opts, &limits).expect("guest run");
    for ((e, _), r) in built.iter().zip(&results) {
        let stdout = String::from_utf8_lossy(&r.stdout);
        let stderr = String::from_utf8_lossy(&r.stderr);
        let mut bad = check(e, &stdout);
        if r.status != 0 {
            bad.push(format!("exit status {}", r.status));
        }
        if !bad.is_empty() {
            failures.push(format!("{}: {}\nstdout:\n{stdout}\nstderr:\n{stderr}", e.path, bad.join("; ")));
        }
    }
    assert!(failures.is_empty(), "{} example failure(s):\n\n{}", failures.len(), failures.join("\n\n"));
}
