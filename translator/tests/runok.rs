//! testsuite/runok and guru-examples: scripts that must build and run in
//! the qemu testbed with exactly the expected output.
//!
//! Each `testsuite/runok/NAME.stp` (and `guru-examples/NAME.stp`, built
//! with `-g`) has `NAME.out` (expected stdout, exact)
//! and optionally `NAME.err` (expected stderr, exact), `NAME.status`
//! (expected exit status, default 0), `NAME.cmd` (a `-c` command run in the
//! guest), `NAME.c` (a helper program for the command, built static on the
//! host and run in the guest as `./NAME`), `NAME.kmods` (modules of the
//! testbed's image, by name, that the guest gets as `MODULE.ko` for the
//! command to insmod), `NAME.pre` (a shell command run in the guest, with
//! those modules, just before the script starts) and `NAME.flags` (extra stap flags, whitespace separated, e.g.
//! `-g` or `-DMAXACTION=10`). Every script is translated with the real
//! `stap` binary (`-p3`, against the testbed kernel, two at a time), all
//! modules of a kernel line are built in ONE Kbuild invocation
//! (`build::batch::build_many`, through the module cache, `-g0`), then all
//! of them run in ONE guest boot with the real `staprun`; the test prints
//! the translate, build and guest seconds per kernel line. In `.out` and `.err`, `{N}` stands
//! for any decimal number (a count that depends on timing) and `{X}` for
//! any lowercase hex digits (a kernel address, a symbol's offset or size,
//! which KASLR and the kernel build change); `NAME.only` holds a kernel
//! release prefix the script is limited to (DWARF scripts: `6.1.`); a missing `.out` leaves stdout
//! unchecked (for scripts whose output is cut by design). Set RSTAP_BLESS=1 (tests/bless_common) to write the
//! expected files from what the run printed (then read them before
//! committing: they are the specification). After each guru example the
//! guest must still be healthy ([`HEALTH`]: it runs a command, the script's
//! module is gone, and the kernel log since the previous check holds no
//! Oops, BUG, WARNING, lockup or stall), as tests/torture.rs checks.
//!
//! `NAME.run`: a shell script run in the guest's `/work` instead of
//! `./staprun [-c CMD] NAME.ko`, with `$1` the module file (for staprun's
//! own options such as `-o FILE -S 1,2`, and to print the files they write).

use std::path::{Path, PathBuf};
use std::process::Command;

use std::sync::Mutex;
use std::time::Instant;

use rstap::build::{batch, BuildOptions};
use rstap::codegen;
use rstap::vm::{self, GuestJob, JobLimits, RunOptions, SetupOptions, Testbed};

mod bless_common;
mod expect_common;
use expect_common::{diff, matches_with_numbers};
mod testmod_common;
use testmod_common::TESTMOD;

/// The suites: directory, module name prefix, flags every script gets.
/// The guest is emulated (TCG) on a host that builds the other kernel's
/// modules meanwhile, so a handler holds a global's lock tens of times
/// longer than on hardware: the default wait for a lock (MAXTRYLOCK 1000
/// tries of 10 us) then ran out now and then, and the hit was skipped
/// (`skipped probes: 1` in CI, in guru_write_set_kernel and tapset_probes).
/// The suites wait up to 1 s (the range's top, limits.rs); what they test
/// is the scripts' output, not lock contention.
const SUITES: &[(&str, &str, &[&str])] = &[
    ("testsuite/runok", "runok", &["-DMAXTRYLOCK=100000"]),
    ("guru-examples", "guru", &["-g", "-DMAXTRYLOCK=100000"]),
];

/// The suite whose scripts are followed by a health check of the guest.
const CHECKED_SUITE: &str = "guru";

/// Run in the guest after every guru example: prints `healthy` and nothing
/// else when the guest is fine (a command runs, no guru module is left
/// loaded, the kernel log since the last check has no sign of trouble).
const HEALTH: &str = r#"for m in $(cut -d' ' -f1 /proc/modules); do
	case $m in guru_*) echo "module left loaded: $m" ;; esac
done
dmesg -c | grep -E 'Oops|BUG:|WARNING:|lockup|rcu.*stall|self-detected stall|scheduling while atomic|general protection|stack overflow|Call Trace|segfault|double fault' | head -20
echo healthy | cat
"#;

/// Builds the test kernel module for `tb`'s kernel and installs it as
/// `work/kmod-root/lib/modules/REL/extra/rstap_testmod.ko` (scripts that
/// name it get it as `rstap_testmod.ko` in their guest directory; their
/// `.cmd` loads it).
fn build_testmod(tb: &Testbed, work: &Path) -> PathBuf {
    let built = testmod_common::build(&tb.release, &work.join("kmod-build"));
    let dest = work.join(format!("kmod-root/lib/modules/{}/extra", tb.release));
    std::fs::create_dir_all(&dest).unwrap();
    let ko = dest.join(format!("{TESTMOD}.ko"));
    std::fs::copy(built, &ko).unwrap();
    ko
}

struct Case {
    testmod: bool,
    /// A health check of the guest follows the script (the guru suite).
    checked: bool,
    name: String,
    dir: PathBuf,
    module: String,
    ko: PathBuf,
    cmd: Option<String>,
    /// `NAME.c`, built static for the guest (`./NAME` there, for `.cmd`).
    helper: Option<PathBuf>,
    /// `NAME.kmods`: modules of the testbed's image the guest gets as
    /// `MODULE.ko` (uncompressed) for the `.cmd` to insmod.
    kmods: Vec<PathBuf>,
    /// `NAME.pre`: a shell command run in the guest (with the `.kmods`)
    /// before the script starts, e.g. to load a module it finds loaded.
    pre: Option<String>,
}

/// The modules `NAME.kmods` names (whitespace separated), read from the
/// testbed's extracted image and written uncompressed into `work`.
fn image_modules(script: &Path, tb: &Testbed, work: &Path) -> Result<Vec<PathBuf>, String> {
    let Some(list) = read_opt(&script.with_extension("kmods")) else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for name in list.split_whitespace() {
        let dir = tb.image.join("lib/modules").join(&tb.release).join("kernel");
        let path = find_ko(&dir, name).ok_or_else(|| format!("no module {name} under {}", dir.display()))?;
        let ko = rstap::vm::kmod::read_module(&path)?;
        let dest = work.join(format!("kmods-{}", tb.release));
        std::fs::create_dir_all(&dest).map_err(|e| e.to_string())?;
        let dest = dest.join(format!("{name}.ko"));
        std::fs::write(&dest, ko).map_err(|e| e.to_string())?;
        out.push(dest);
    }
    Ok(out)
}

fn find_ko(dir: &Path, name: &str) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(f) = find_ko(&p, name) {
                return Some(f);
            }
        } else if [".ko", ".ko.xz", ".ko.zst", ".ko.gz"].iter().any(|x| e.file_name().to_str() == Some(&format!("{name}{x}"))) {
            return Some(p);
        }
    }
    None
}

/// Builds `script`'s `NAME.c` (if any) into `work/NAME`: a static,
/// non-PIE x86-64 program (its data below 4 GiB, so it can also make
/// 32-bit `int $0x80` calls with pointers).
fn build_helper(script: &Path, work: &Path) -> Result<Option<PathBuf>, String> {
    let src = script.with_extension("c");
    if !src.exists() {
        return Ok(None);
    }
    let out = work.join(script.file_stem().unwrap());
    let r = Command::new("gcc")
        .args(["-static", "-no-pie", "-O2", "-Wall", "-Werror", "-o"])
        .arg(&out)
        .arg(&src)
        .output()
        .map_err(|e| format!("gcc: {e}"))?;
    if !r.status.success() {
        return Err(format!("{} does not build:\n{}", src.display(), String::from_utf8_lossy(&r.stderr)));
    }
    Ok(Some(out))
}

fn read_opt(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

#[test]
fn wildcards_match_numbers_and_hex_only() {
    assert!(matches_with_numbers("a {N} b", "a 12 b"));
    assert!(!matches_with_numbers("a {N} b", "a 1f b"));
    assert!(matches_with_numbers(" 0x{X} : f+0x{X}/0x{X} [kernel]\n", " 0xffffffff81 : f+0x0/0x1e0 [kernel]\n"));
    assert!(!matches_with_numbers("0x{X}\n", "0x\n"));
    assert!(!matches_with_numbers("0x{X}\n", "0xFF\n"));
    assert!(!matches_with_numbers("x{N}", "x1 and more"));
    assert!(matches_with_numbers("no tokens\n", "no tokens\n"));
    assert!(!matches_with_numbers("no tokens\n", "no tokens"));
}

/// The kernel lines every script runs on: Debian 12's default cloud
/// kernel (6.1) and its 6.12 backport line.
const FLAVOURS: &[Option<&str>] = &[None, Some("6.12-cloud-amd64")];

#[test]
fn runok_suite() {
    let mut failures = Vec::new();
    for flavour in FLAVOURS {
        let opts = SetupOptions { flavour: flavour.map(String::from), ..Default::default() };
        let tb = vm::setup_with(&opts).expect("testbed setup");
        failures.extend(run_suite(&tb).into_iter().map(|f| format!("[{}] {f}", tb.release)));
    }
    assert!(failures.is_empty(), "{} runok failure(s):\n\n{}", failures.len(), failures.join("\n\n"));
}

/// Builds every script for `tb`'s kernel, runs them all in one boot, and
/// returns what differed from the expected files.
fn run_suite(tb: &Testbed) -> Vec<String> {
    let mut scripts: Vec<(PathBuf, &str, &[&str])> = Vec::new();
    for (dir, prefix, flags) in SUITES {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir);
        let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "stp"))
            .collect();
        assert!(!found.is_empty(), "no scripts in {}", dir.display());
        found.sort();
        // NAME.only holds a release prefix: the script runs only there
        // (DWARF scripts need that kernel's -dbg package).
        found.retain(|p| read_opt(&p.with_extension("only")).is_none_or(|o| tb.release.starts_with(o.trim())));
        scripts.extend(found.into_iter().map(|p| (p, *prefix, *flags)));
    }
    // RSTAP_RUNOK_ONLY=a,b runs only the scripts whose names contain a or b.
    if let Ok(only) = std::env::var("RSTAP_RUNOK_ONLY") {
        let pats: Vec<&str> = only.split(',').filter(|p| !p.is_empty()).collect();
        scripts.retain(|(s, _, _)| pats.iter().any(|p| s.file_stem().is_some_and(|n| n.to_string_lossy().contains(p))));
    }
    let work = tempfile::tempdir().unwrap();
    // Scripts that name the test module get it built for this kernel; stap
    // finds its debuginfo under RSTAP_DBG_ROOT, the guest gets the .ko.
    let testmod = scripts
        .iter()
        .any(|(s, _, _)| std::fs::read_to_string(s).is_ok_and(|t| t.contains(TESTMOD)))
        .then(|| build_testmod(tb, work.path()));
    let mut dbg_root = work.path().join("kmod-root").into_os_string();
    if let Some(old) = std::env::var_os("RSTAP_DBG_ROOT") {
        dbg_root.push(":");
        dbg_root.push(old);
    }
    // Pass 1-3 per script (`-p3`, two at a time), then every module in ONE
    // Kbuild invocation (`build::batch::build_many`, through the module
    // cache, without DWARF in the .ko: `-g0`), as tests/torture.rs does:
    // one make per kernel instead of one per script.
    let t0 = Instant::now();
    let translated: Vec<Mutex<Option<Result<(String, String), String>>>> = scripts.iter().map(|_| Mutex::new(None)).collect();
    let next = Mutex::new(0usize);
    std::thread::scope(|sc| {
        for _ in 0..2 {
            sc.spawn(|| loop {
                let i = {
                    let mut n = next.lock().unwrap();
                    *n += 1;
                    *n - 1
                };
                let Some((s, prefix, suite_flags)) = scripts.get(i) else { break };
                let name = s.file_stem().unwrap().to_string_lossy().to_string();
                let module = format!("{prefix}_{}", name.replace('-', "_"));
                let mut flags: Vec<String> = suite_flags.iter().map(|f| f.to_string()).collect();
                flags.extend(
                    read_opt(&s.with_extension("flags"))
                        .map(|f| f.split_whitespace().map(String::from).collect::<Vec<_>>())
                        .unwrap_or_default(),
                );
                // Scripts run from the work directory by file name, so that error
                // locations read `NAME.stp:LINE:COL` wherever the checkout is.
                let script_name = format!("{name}.stp");
                std::fs::copy(s, work.path().join(&script_name)).unwrap();
                let out = Command::new(env!("CARGO_BIN_EXE_stap"))
                    .current_dir(work.path())
                    .env("RSTAP_DBG_ROOT", &dbg_root)
                    .args(["-p3", "-r", &tb.release, "-m", &module])
                    .args(&flags)
                    .arg(&script_name)
                    .output()
                    .expect("run stap");
                let stderr = String::from_utf8_lossy(&out.stderr).to_string();
                let r = if out.status.success() {
                    Ok((String::from_utf8_lossy(&out.stdout).to_string(), stderr))
                } else {
                    Err(format!("{name}: stap -p3 failed:\n{stderr}"))
                };
                *translated[i].lock().unwrap() = Some(r);
            });
        }
    });
    let translate_time = t0.elapsed();
    let mut pending = Vec::new();
    let mut failures = Vec::new();
    for ((s, prefix, _), r) in scripts.iter().zip(translated) {
        let name = s.file_stem().unwrap().to_string_lossy().to_string();
        let module = format!("{prefix}_{}", name.replace('-', "_"));
        match r.into_inner().unwrap().expect("every script was translated") {
            Err(e) => failures.push(e),
            Ok((c, stderr)) => {
                if stderr.contains("warning:") {
                    failures.push(format!("{name}: the translator warns:\n{stderr}"));
                }
                let mut m = codegen::module_files(&module, c).expect("the module's files");
                for (n, text) in m.files.iter_mut() {
                    if n == "Kbuild" {
                        text.push_str("ccflags-y += -g0\n");
                    }
                }
                let case = Case {
                    name,
                    dir: s.parent().unwrap().to_path_buf(),
                    ko: PathBuf::new(),
                    module,
                    cmd: read_opt(&s.with_extension("cmd")).map(|c| c.trim().to_string()),
                    testmod: std::fs::read_to_string(s).is_ok_and(|t| t.contains(TESTMOD)),
                    checked: *prefix == CHECKED_SUITE,
                    helper: None,
                    kmods: Vec::new(),
                    pre: read_opt(&s.with_extension("pre")).map(|c| c.trim().to_string()),
                };
                let case = match image_modules(s, tb, work.path()) {
                    Ok(kmods) => Case { kmods, ..case },
                    Err(e) => {
                        failures.push(format!("{}: {e}", case.name));
                        continue;
                    }
                };
                let case = match build_helper(s, work.path()) {
                    Ok(helper) => Case { helper, ..case },
                    Err(e) => {
                        failures.push(format!("{}: {e}", case.name));
                        continue;
                    }
                };
                pending.push((case, m));
            }
        }
    }
    let t1 = Instant::now();
    let bopts = BuildOptions { release: tb.release.clone(), kernel_build_dir: Some(tb.headers.clone()), use_cache: true, ..Default::default() };
    let modules: Vec<codegen::GeneratedModule> = pending.iter().map(|p| p.1.clone()).collect();
    let built = batch::build_many(&bopts, &modules, 0);
    let mut cases = Vec::new();
    for ((mut c, _), b) in pending.into_iter().zip(built) {
        match b {
            Ok(b) => {
                if !b.warnings.is_empty() {
                    failures.push(format!("{}: the generated C has compiler warnings:\n{}", c.name, b.warnings.join("\n")));
                }
                c.ko = b.ko;
                cases.push(c);
            }
            Err(e) => failures.push(format!("{}: the module does not build:\n{e}", c.name)),
        }
    }
    let build_time = t1.elapsed();
    let staprun = PathBuf::from(env!("CARGO_BIN_EXE_staprun"));
    let script_jobs: Vec<GuestJob> = cases
        .iter()
        .map(|c| {
            let ko = format!("{}.ko", c.module);
            let mut argv = vec!["./staprun".to_string()];
            if let Some(cmd) = &c.cmd {
                argv.push("-c".into());
                argv.push(cmd.clone());
            }
            argv.push(ko.clone());
            if let Some(run) = read_opt(&c.dir.join(format!("{}.run", c.name))) {
                argv = vec!["sh".into(), "-c".into(), run, "sh".into(), ko.clone()];
            }
            let mut files = vec![(staprun.clone(), "staprun".into()), (c.ko.clone(), ko)];
            if let Some(h) = &c.helper {
                files.push((h.clone(), c.name.clone()));
            }
            for k in &c.kmods {
                files.push((k.clone(), k.file_name().unwrap().to_string_lossy().into_owned()));
            }
            if let (true, Some(t)) = (c.testmod, &testmod) {
                files.push((t.clone(), format!("{TESTMOD}.ko")));
            }
            GuestJob { files, argv }
        })
        .collect();
    // The jobs in order: each script, then (checked suites) a health check;
    // the log is cleared before the first checked script.
    let mut jobs = Vec::new();
    let mut at = Vec::new();
    let mut cleared = false;
    for (c, j) in cases.iter().zip(script_jobs) {
        if c.checked && !cleared {
            jobs.push(GuestJob::cmd(&["sh", "-c", "dmesg -c >/dev/null; echo ready"]));
            cleared = true;
        }
        if let Some(pre) = &c.pre {
            let files = c.kmods.iter().map(|k| (k.clone(), k.file_name().unwrap().to_string_lossy().into_owned())).collect();
            jobs.push(GuestJob { files, argv: vec!["sh".into(), "-c".into(), pre.clone()] });
        }
        at.push((jobs.len(), c.checked.then_some(jobs.len() + 1)));
        jobs.push(j);
        if c.checked {
            jobs.push(GuestJob::cmd(&["sh", "-c", HEALTH]));
        }
    }
    let opts = RunOptions { verbose: false, timeout: std::time::Duration::from_secs(900), live: false };
    // One hung script must not cost the whole batch.
    let limits = JobLimits { per_job: Some(std::time::Duration::from_secs(60)) };
    let t2 = Instant::now();
    // A guest that stops answering (seen once in CI on 6.1, in trace_sched,
    // with nothing on the console; issue 12) costs a fresh boot for that
    // job and the rest, not the whole batch; the same job hanging a second
    // guest fails the suite.
    let (results, reruns) = vm::run_jobs_rerunning(tb, &jobs, &opts, &limits).expect("guest run");
    for r in &reruns {
        let name = at.iter().position(|&(j, h)| j == r.job || h == Some(r.job)).map_or("a health check", |i| cases[i].name.as_str());
        eprintln!("runok on {}: {name} (job {}) hung the guest once; it and the rest ran again in a fresh boot:\n{}", tb.release, r.job, r.message);
    }
    let guest_time = t2.elapsed();
    for (c, &(job, health)) in cases.iter().zip(&at) {
        let r = &results[job];
        if let Some(h) = health {
            let hout = String::from_utf8_lossy(&results[h].stdout);
            if hout != "healthy\n" {
                failures.push(format!(
                    "{}: the guest is not healthy after it:\n{hout}{}",
                    c.name,
                    String::from_utf8_lossy(&results[h].stderr)
                ));
            }
        }
        let base = c.dir.join(&c.name);
        let stdout = String::from_utf8_lossy(&r.stdout).to_string();
        let stderr = String::from_utf8_lossy(&r.stderr).to_string();
        if bless_common::blessing() {
            bless_common::bless_write(&base.with_extension("out"), &stdout);
            if !stderr.is_empty() || base.with_extension("err").exists() {
                bless_common::bless_write(&base.with_extension("err"), &stderr);
            }
            if r.status != 0 || base.with_extension("status").exists() {
                bless_common::bless_write(&base.with_extension("status"), &format!("{}\n", r.status));
            }
            continue;
        }
        let want_out = read_opt(&base.with_extension("out"));
        let want_err = read_opt(&base.with_extension("err")).unwrap_or_default();
        let want_status: i32 = read_opt(&base.with_extension("status"))
            .map(|s| s.trim().parse().expect("status file holds a number"))
            .unwrap_or(0);
        if let Some(want_out) = want_out {
            if !matches_with_numbers(&want_out, &stdout) {
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
    println!(
        "runok on {}: {} scripts, {} run in one guest boot; translate {:.0} s, build {:.0} s, guest {:.0} s",
        tb.release,
        scripts.len(),
        cases.len(),
        translate_time.as_secs_f64(),
        build_time.as_secs_f64(),
        guest_time.as_secs_f64()
    );
    failures
}
