//! `stap -l` / `-L` of the syscall aliases (tapsets/syscalls): SystemTap
//! lists probe aliases by name, with `-L` the variables each one sets.
//! No kernel is needed: the aliases' kprobes are checked at run time when
//! the kernel's symbol table is unknown (`-r 0.0.0-semtest`). The
//! `kernel.trace` cases run against each testbed kernel whose image is in
//! the testbed cache (BTF and trace events from the image; no DWARF).

use std::process::Command;

fn stap(args: &[&str]) -> (String, String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_stap")).args(["-r", "0.0.0-semtest"]).args(args).output().expect("run stap");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
fn l_lists_alias_names() {
    let (out, err, status) = stap(&["-l", "syscall.open*"]);
    assert_eq!(
        (out.as_str(), err.as_str(), status),
        ("syscall.open\nsyscall.open_by_handle_at\nsyscall.open_tree\nsyscall.openat\nsyscall.openat2\n", "", 0)
    );
    let (out, _, _) = stap(&["-l", "nd_syscall.*.return"]);
    assert!(out.lines().any(|l| l == "nd_syscall.read.return"), "{out}");
    assert!(out.lines().all(|l| l.starts_with("nd_syscall.") && l.ends_with(".return")), "{out}");
}

#[test]
fn big_l_lists_alias_variables() {
    let (out, _, status) = stap(&["-L", "syscall.openat"]);
    assert_eq!(status, 0);
    assert_eq!(
        out,
        "syscall.openat name:string dfd:long dfd_str:string filename:string flags:long mode:long flags_str:string argstr:string\n"
    );
    let (out, _, _) = stap(&["-L", "syscall.read.return"]);
    assert_eq!(out, "syscall.read.return name:string retval:long retstr:string\n");
}

#[test]
fn unknown_syscall_names_close_matches() {
    let (out, err, status) = stap(&["-p2", "-e", "probe syscall.opnat { println(argstr) }"]);
    assert_eq!((out.as_str(), status), ("", 1));
    assert!(err.contains("error: no match for probe point `syscall.opnat`"), "{err}");
    assert!(err.contains("= close matches: syscall.openat, "), "{err}");
}

#[test]
fn syscall_star_expands_to_every_alias() {
    let (list, _, _) = stap(&["-l", "syscall.*"]);
    let n = list.lines().count();
    let (out, err, status) = stap(&["-p2", "-e", "probe syscall.* { printf(\"%s %s\\n\", name, argstr) }"]);
    assert_eq!(status, 0, "{err}");
    let probes = out.lines().filter(|l| l.starts_with("kprobe.function(\"__x64_sys_")).count();
    assert!(n >= 80 && probes == n, "{n} aliases, {probes} probes");
}

#[test]
fn generic_aliases_take_the_kernels_parameter_names() {
    let (out, _, status) = stap(&["-L", "syscall.utimensat"]);
    assert_eq!(status, 0);
    assert_eq!(
        out,
        "syscall.utimensat name:string dfd:long dfd_str:string filename:string utimes_uaddr:long flags:long argstr:string\n"
    );
    let (out, _, _) = stap(&["-L", "nd_syscall.nanosleep"]);
    assert_eq!(out, "nd_syscall.nanosleep name:string req_uaddr:long rem_uaddr:long req_str:string argstr:string\n");
}

/// The testbed kernels whose images are in the cache.
fn testbed_releases() -> Vec<String> {
    let Ok(dir) = rstap::cache_dir::cache_path(rstap::cache_dir::CacheKind::Testbed) else { return Vec::new() };
    let mut out: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    out.retain(|r| dir.join(r).join("boot").join(format!("vmlinuz-{r}")).is_file());
    out.sort();
    out
}

fn stap_r(release: &str, args: &[&str]) -> (String, String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_stap")).args(["-r", release]).args(args).output().expect("run stap");
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned(), out.status.code().unwrap_or(-1))
}

#[test]
fn tracepoints_list_with_their_btf_types_on_every_kernel_line() {
    for r in testbed_releases() {
        let (out, err, status) = stap_r(&r, &["-L", "kernel.trace(\"sched:sched_switch\")"]);
        assert_eq!(status, 0, "{r}: {err}");
        assert!(
            out.starts_with("kernel.trace(\"sched:sched_switch\") $preempt:bool $prev:struct task_struct* $next:struct task_struct*"),
            "{r}: {out}"
        );
        let (out, _, _) = stap_r(&r, &["-l", "kernel.trace(\"raw_syscalls:*\")"]);
        assert_eq!(out, "kernel.trace(\"raw_syscalls:sys_enter\")\nkernel.trace(\"raw_syscalls:sys_exit\")\n", "{r}");
        let (out, _, _) = stap_r(&r, &["-l", "kernel.trace(\"sched:*\")"]);
        assert!(out.lines().count() > 20 && out.lines().all(|l| l.starts_with("kernel.trace(\"sched:")), "{r}: {out}");
    }
}

#[test]
fn a_tracepoint_the_kernel_lacks_names_the_release_and_close_matches() {
    for r in testbed_releases() {
        let (out, err, status) = stap_r(&r, &["-p2", "-e", "probe kernel.trace(\"sched:sched_swich\") { }"]);
        assert_eq!((out.as_str(), status), ("", 1), "{r}");
        let want = format!("error: no tracepoint of kernel {r} matches \"sched:sched_swich\" (close matches: sched:sched_switch");
        assert!(err.contains(&want), "{r}: {err}");
        let (_, err, status) = stap_r(&r, &["-p2", "-e", "probe kernel.trace(\"sched_switch\") { println($nope) }"]);
        assert_eq!(status, 1);
        assert!(err.contains("unable to find target variable `$nope` in sched_switch (alternatives: $preempt $prev $next"), "{r}: {err}");
    }
}

#[test]
fn tracepoint_arguments_resolve_through_btf_types() {
    for r in testbed_releases() {
        let script = "probe kernel.trace(\"sched:sched_switch\") { println(kernel_string($prev->comm), $next->pid, $prev->nope) }";
        let (_, err, status) = stap_r(&r, &["-p2", "-e", script]);
        assert_eq!(status, 1);
        assert!(err.contains("nope"), "{r}: {err}");
        let ok = "probe kernel.trace(\"sched:sched_switch\") { println(kernel_string($prev->comm), $next->pid) }";
        let (_, err, status) = stap_r(&r, &["-p2", "-e", ok]);
        assert_eq!(status, 0, "{r}: {err}");
    }
}

/// Lines are sorted, unique, and each has the form `check` accepts.
fn sorted_unique_lines(out: &str, check: impl Fn(&str) -> bool) -> Vec<&str> {
    let lines: Vec<&str> = out.lines().collect();
    let mut sorted = lines.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(lines, sorted, "not sorted and unique:\n{out}");
    for l in &lines {
        assert!(check(l), "bad line `{l}` in:\n{out}");
    }
    lines
}

fn is_ident(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[test]
fn listing_syscalls_on_every_kernel_line_has_systemtaps_shape() {
    let releases = testbed_releases();
    for r in &releases {
        let (out, err, status) = stap_r(r, &["-l", "syscall.*"]);
        assert_eq!((err.as_str(), status), ("", 0), "{r}");
        let lines = sorted_unique_lines(&out, |l| l.strip_prefix("syscall.").is_some_and(is_ident));
        assert!(lines.len() > 350, "{r}: only {} syscalls", lines.len());
        for want in ["syscall.openat", "syscall.read", "syscall.execve", "syscall.exit_group", "syscall.clone3"] {
            assert!(lines.contains(&want), "{r}: {want} missing");
        }
        // syscall.*.return lists the same names, each with .return.
        let (out, _, _) = stap_r(r, &["-l", "syscall.*.return"]);
        let rets = sorted_unique_lines(&out, |l| l.strip_prefix("syscall.").and_then(|s| s.strip_suffix(".return")).is_some_and(is_ident));
        assert_eq!(rets.len(), lines.len(), "{r}: every syscall.NAME has its .return");

        let (out, _, status) = stap_r(r, &["-L", "syscall.openat"]);
        assert_eq!(status, 0);
        assert_eq!(
            out,
            "syscall.openat name:string dfd:long dfd_str:string filename:string flags:long mode:long flags_str:string argstr:string\n",
            "{r}"
        );
        let (out, _, _) = stap_r(r, &["-L", "syscall.openat.return"]);
        assert_eq!(out, "syscall.openat.return name:string retval:long retstr:string\n", "{r}");
    }
}

#[test]
fn listing_sched_tracepoints_on_every_kernel_line_has_systemtaps_shape() {
    for r in testbed_releases() {
        let (out, err, status) = stap_r(&r, &["-l", "kernel.trace(\"sched:*\")"]);
        assert_eq!((err.as_str(), status), ("", 0), "{r}");
        let lines = sorted_unique_lines(&out, |l| {
            l.strip_prefix("kernel.trace(\"sched:").and_then(|s| s.strip_suffix("\")")).is_some_and(is_ident)
        });
        assert_eq!(lines.first(), Some(&"kernel.trace(\"sched:sched_kthread_stop\")"), "{r}");
        for ev in ["sched_switch", "sched_wakeup", "sched_process_exit", "sched_process_fork", "sched_process_exec"] {
            let want = format!("kernel.trace(\"sched:{ev}\")");
            assert!(lines.contains(&want.as_str()), "{r}: {want} missing");
        }
        let (out, _, status) = stap_r(&r, &["-L", "kernel.trace(\"sched:sched_switch\")"]);
        assert_eq!(status, 0);
        assert_eq!(
            out,
            "kernel.trace(\"sched:sched_switch\") $preempt:bool $prev:struct task_struct* $next:struct task_struct* $prev_state:unsigned int\n",
            "{r}"
        );
        let (out, _, _) = stap_r(&r, &["-L", "kernel.trace(\"sched:sched_process_fork\")"]);
        assert_eq!(
            out,
            "kernel.trace(\"sched:sched_process_fork\") $parent:struct task_struct* $child:struct task_struct*\n",
            "{r}"
        );
    }
}

/// The kprobes `-p2` lists for `point` on `release`.
fn kprobes(release: &str, point: &str) -> Vec<String> {
    let (out, err, status) = stap_r(release, &["--vm", "-p2", "-e", &format!("probe {point} {{ }}")]);
    assert_eq!(status, 0, "{release} {point}: {err}");
    out.lines().filter(|l| l.starts_with("kprobe.")).map(|l| l.split(" /*").next().unwrap().to_string()).collect()
}

#[test]
fn a_32_bit_tasks_calls_reach_the_same_aliases_once() {
    let releases = testbed_releases();
    assert!(!releases.is_empty(), "no testbed kernel in the cache");
    for r in &releases {
        // read has a 32-bit entry point of its own; openat a compat one.
        assert_eq!(kprobes(r, "syscall.read"), ["kprobe.function(\"__x64_sys_read\")", "kprobe.function(\"__ia32_sys_read\")"], "{r}");
        assert_eq!(
            kprobes(r, "syscall.openat.return"),
            ["kprobe.function(\"__x64_sys_openat\").return", "kprobe.function(\"__ia32_compat_sys_openat\").return"],
            "{r}"
        );
        // sync takes no arguments: its 32-bit name is the same function,
        // probed once (twice, it would fire twice per call).
        assert_eq!(kprobes(r, "syscall.sync"), ["kprobe.function(\"__x64_sys_sync\")"], "{r}");
    }
}
