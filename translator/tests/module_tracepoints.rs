//! `kernel.trace` on the tracepoints of kernel modules (kvm.ko's
//! `kvm_exit`, watchdog.ko's `watchdog_*`), against each testbed kernel
//! whose extracted image (with its module tree) is in the testbed cache:
//! `-p2` elaborates with the module's argument types (6.1: the module's
//! DWARF from the -dbg tree; 6.12: the module's split BTF), `-L` lists
//! them, and a pattern nothing matches names the release and close
//! matches, modules' included. Skipped (with a message) without a testbed.

use std::process::Command;

/// The testbed kernels whose images and module trees are in the cache.
fn testbed_releases() -> Vec<String> {
    let Ok(dir) = rstap::cache_dir::cache_path(rstap::cache_dir::CacheKind::Testbed) else { return Vec::new() };
    let mut out: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    out.retain(|r| dir.join(r).join("boot").join(format!("vmlinuz-{r}")).is_file() && dir.join(r).join("lib/modules").join(r).is_dir());
    out.sort();
    if out.is_empty() {
        eprintln!("skipped: no testbed kernel with its module tree in {}", dir.display());
    }
    out
}

fn stap_r(release: &str, args: &[&str]) -> (String, String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_stap")).args(["-r", release]).args(args).output().expect("run stap");
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned(), out.status.code().unwrap_or(-1))
}

#[test]
fn a_module_tracepoint_elaborates_with_the_modules_types() {
    let script = "probe kernel.trace(\"kvm_exit\") { printf(\"%d %s\\n\", $vcpu->run->exit_reason, pp()) }";
    for r in testbed_releases() {
        let (out, err, status) = stap_r(&r, &["-p2", "-e", script]);
        assert_eq!((err.as_str(), status), ("", 0), "{r}");
        assert_eq!(
            out,
            "# functions\n\
             pp:string ()\n\
             %{ /* pure */\n\
             \tstrscpy(STAP_RETVALUE, CONTEXT->probe_point, MAXSTRINGLEN);\n\
             %}\n\
             # probes\n\
             kernel.trace(\"kvm:kvm_exit\") /* tracepoint kvm_exit, 2 argument(s) */\n\
             {\n\
             \t{\n\
             \t\tprintf(\"%d %s\\n\", $vcpu->run->exit_reason, pp())\n\
             \t}\n\
             }\n",
            "{r}"
        );
        // A member the module's struct lacks is the usual error.
        let (_, err, status) = stap_r(&r, &["-p2", "-e", "probe kernel.trace(\"kvm:kvm_exit\") { println($vcpu->run->nope) }"]);
        assert_eq!(status, 1, "{r}");
        assert!(err.starts_with("error: struct kvm_run has no member nope\n"), "{r}: {err}");
    }
}

#[test]
fn module_tracepoints_list_with_their_types_and_systems() {
    for r in testbed_releases() {
        let (out, err, status) = stap_r(&r, &["-L", "kernel.trace(\"watchdog_*\")"]);
        assert_eq!((err.as_str(), status), ("", 0), "{r}");
        assert_eq!(
            out,
            "kernel.trace(\"watchdog:watchdog_ping\") $wdd:struct watchdog_device* $err:int\n\
             kernel.trace(\"watchdog:watchdog_set_timeout\") $wdd:struct watchdog_device* $timeout:unsigned int $err:int\n\
             kernel.trace(\"watchdog:watchdog_start\") $wdd:struct watchdog_device* $err:int\n\
             kernel.trace(\"watchdog:watchdog_stop\") $wdd:struct watchdog_device* $err:int\n",
            "{r}"
        );
        // kvm.ko defines two systems: kvm and kvmmmu.
        let (out, _, _) = stap_r(&r, &["-l", "kernel.trace(\"kvmmmu:kvm_mmu_pagetable_walk\")"]);
        assert_eq!(out, "kernel.trace(\"kvmmmu:kvm_mmu_pagetable_walk\")\n", "{r}");
        let (out, _, status) = stap_r(&r, &["-l", "kernel.trace(\"kvm:kvm_mmu_pagetable_walk\")"]);
        assert_eq!((out.as_str(), status), ("", 1), "{r}");
    }
}

#[test]
fn a_vmlinux_match_does_not_pull_in_modules() {
    // sched_* is vmlinux's: no module tracepoint joins it.
    for r in testbed_releases() {
        let (out, _, status) = stap_r(&r, &["-l", "kernel.trace(\"*:sched_switch\")"]);
        assert_eq!((out.as_str(), status), ("kernel.trace(\"sched:sched_switch\")\n", 0), "{r}");
    }
}

#[test]
fn no_match_names_the_release_and_close_module_matches() {
    for r in testbed_releases() {
        let (out, err, status) = stap_r(&r, &["-p2", "-e", "probe kernel.trace(\"watchdog:watchdog_sart\") {}"]);
        assert_eq!((out.as_str(), status), ("", 1), "{r}");
        assert_eq!(
            err,
            format!(
                "error: no tracepoint of kernel {r} matches \"watchdog:watchdog_sart\" (close matches: watchdog_start (module watchdog), watchdog_stop (module watchdog), watchdog_ping (module watchdog))\n  \
                 ┌─ <input>:1:14\n  │\n1 │ probe kernel.trace(\"watchdog:watchdog_sart\") {{}}\n  │              ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n\n"
            ),
            "{r}"
        );
    }
}

/// `@cast(p, "T", "MODULE")` reads the module's own types even where no
/// script probe opened the module: its DWARF on 6.1, its split BTF over
/// the kernel's on 6.12. A member the type lacks, and a module that does
/// not exist, are located errors.
#[test]
fn cast_to_a_module_type_opens_the_modules_debuginfo() {
    for r in testbed_releases() {
        let script = "probe begin { printf(\"%d\\n\", @cast(0, \"struct kvm_vcpu\", \"kvm\")->vcpu_id) }";
        let (_, err, status) = stap_r(&r, &["-p2", "-e", script]);
        assert_eq!((err.as_str(), status), ("", 0), "{r}");
        let (_, err, status) = stap_r(&r, &["-p2", "-e", "probe begin { println(@cast(0, \"struct kvm_vcpu\", \"kvm\")->nope) }"]);
        assert_eq!(status, 1, "{r}");
        assert!(err.starts_with("error: struct kvm_vcpu has no member nope"), "{r}: {err}");
        let (_, err, status) = stap_r(&r, &["-p2", "-e", "probe begin { println(@cast(0, \"struct kvm_vcpu\", \"nosuchmod\")->vcpu_id) }"]);
        assert_eq!(status, 1, "{r}");
        assert!(err.contains("no debuginfo for module \"nosuchmod\" of @cast"), "{r}: {err}");
    }
}
