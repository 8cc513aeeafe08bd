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
    /// Lines stdout must contain once runs of blanks are one space in both
    /// (columns whose width depends on a pid or a count).
    loose: &'static [&'static str],
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
        loose: &[],
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
        loose: &[],
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
        loose: &[],
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
        loose: &[],
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
        loose: &[],
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
        loose: &[],
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
        loose: &[],
        first: None,
        last: None,
    },
    // syscall_any, summed per process at the end: dd's line is there.
    Example {
        path: "process/syscalls_by_proc.stp",
        flags: &[],
        args: &[],
        cmd: "dd if=/proc/version of=/dev/null 2>/dev/null",
        lines: &["#SysCalls  Process Name"],
        loose: &["{N} dd"],
        first: Some("Collecting data... Type Ctrl-C to exit and display results"),
        last: None,
    },
    // vfs.read/write.return summed per process every 5 s: dd copies 1024
    // KB, and the command outlives the first report.
    Example {
        path: "io/iotop.stp",
        flags: &[],
        args: &[],
        cmd: "dd if=/dev/zero of=/dev/null bs=1024 count=1024 2>/dev/null; sleep 6",
        lines: &["         Process\t   KB Read\tKB Written", "              dd\t      1024\t      1024"],
        loose: &[],
        first: Some("         Process\t   KB Read\tKB Written"),
        last: None,
    },
    // syscall_any counted per call every 5 s: dd's 20000 one-byte reads and
    // writes put read and write in the top 20.
    Example {
        path: "profiling/topsys.stp",
        flags: &[],
        args: &[],
        cmd: "dd if=/dev/zero of=/dev/null bs=1 count=20000 2>/dev/null; sleep 6",
        lines: &["                  SYSCALL      COUNT", "--------------------------------------------------------------"],
        loose: &["read {N}", "write {N}"],
        first: Some("                  SYSCALL      COUNT"),
        last: None,
    },
    // netdev.transmit/receive per process and device, printed at the end:
    // ping's packets on lo, none of them a whole KB.
    Example {
        path: "network/nettop.stp",
        flags: &[],
        args: &[],
        cmd: PING,
        lines: &["  PID   UID DEV          XMIT_PK RECV_PK XMIT_KB RECV_KB COMMAND        "],
        loose: &["{N} 0 lo {N} {N} 0 0 ping"],
        first: Some("  PID   UID DEV          XMIT_PK RECV_PK XMIT_KB RECV_KB COMMAND        "),
        last: None,
    },
    // syscall.* / .return: every failing call per second, with its errno
    // and argstr; cat's open of a missing file is one.
    Example {
        path: "process/errsnoop.stp",
        flags: &[],
        args: &["1", "10"],
        cmd: "cat /nonexistent 2>/dev/null; sleep 2",
        lines: &[],
        loose: &["{N} 2/ENOENT openat cat {N} AT_FDCWD, \"/nonexistent\", O_RDONLY|O_LARGEFILE"],
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
    let squeeze = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    for want in e.loose {
        if !got.iter().any(|l| matches_with_numbers(&format!("{}\n", squeeze(want)), &format!("{}\n", squeeze(l)))) {
            bad.push(format!("no line `{want}` (blanks squeezed)"));
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
