//! The `stap` command line (clap): SystemTap's flags, mapped onto
//! `driver::Options`. No logic beyond argument checking lives here.
//! Repeated options behave as SystemTap's getopt loop: the last value of
//! a single-value option wins, list options collect, and a second `-e` is
//! SystemTap's error "Only one script can be given on the command line.".

use clap::Parser;
use std::path::PathBuf;

use rstap::diag::{self, WarningPolicy};
use rstap::driver::{self, Options, Script};

/// mimalloc rather than glibc malloc: passes 1-2 allocate many small tree
/// nodes, and malloc was about 45% of the tapset library's parse time.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "stap",
    version,
    about = "rstap: a SystemTap-compatible dynamic tracing tool",
    override_usage = "stap [OPTIONS] FILE [ARGS...]\n       stap [OPTIONS] -e SCRIPT [ARGS...]",
    // As SystemTap's getopt loop: a repeated single-value option (-p, -o,
    // -c, -m, -r, ...) takes the last value, a repeated flag is the flag;
    // list options (-D, -I, -B) collect every value; -e is checked in main.
    args_override_self = true
)]
struct Args {
    /// Run the given script text instead of a file.
    #[arg(short = 'e', value_name = "SCRIPT", action = clap::ArgAction::Append)]
    script: Vec<String>,
    /// Guru mode: allow embedded C in the script.
    #[arg(short = 'g')]
    guru: bool,
    /// Stop after pass N (1 parse, 2 elaborate, 3 translate, 4 build, 5 run).
    #[arg(short = 'p', value_name = "N", value_parser = clap::value_parser!(u8).range(1..=5))]
    pass: Option<u8>,
    /// More messages; repeat for more (-vv, -vvv).
    #[arg(short = 'v', action = clap::ArgAction::Count)]
    verbose: u8,
    /// Keep the build directory and say where it is.
    #[arg(short = 'k')]
    keep: bool,
    /// Name the module NAME (with -p4: leave NAME.ko in the current directory).
    #[arg(short = 'm', value_name = "NAME")]
    module: Option<String>,
    /// Build for kernel RELEASE, or against the kernel build directory DIR.
    #[arg(short = 'r', value_name = "RELEASE|DIR")]
    release: Option<String>,
    /// Add -DNAME[=VALUE] to the module's C (MAXACTION, MAXSTRINGLEN, ...).
    #[arg(short = 'D', value_name = "NAME=VALUE")]
    defines: Vec<String>,
    /// Pass NAME=VALUE to make for the module's Kbuild run (e.g. CONFIG_DEBUG_INFO=y).
    #[arg(short = 'B', value_name = "NAME=VALUE")]
    make_args: Vec<String>,
    /// Guru mode only: no MAXACTION statement budget and no MAXTRYLOCK bound.
    #[arg(long = "suppress-time-limits")]
    suppress_time_limits: bool,
    /// Add DIR to the tapset search path.
    #[arg(short = 'I', value_name = "DIR")]
    includes: Vec<PathBuf>,
    /// Run CMD under /bin/sh -c, with target() its pid; stop when it exits.
    #[arg(short = 'c', value_name = "CMD")]
    command: Option<String>,
    /// Set target() to PID.
    #[arg(short = 'x', value_name = "PID")]
    target: Option<i32>,
    /// Send the script's output to FILE.
    #[arg(short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Output buffer size in megabytes (rounded up to a power of two).
    #[arg(short = 's', value_name = "MB")]
    buffer_mb: Option<u32>,
    /// Run pass 5 inside the qemu testbed (Debian's cloud kernel) instead of on this host.
    #[arg(long = "vm")]
    vm: bool,
    /// Do not use or fill the module cache.
    #[arg(long = "disable-cache")]
    disable_cache: bool,
    /// List the probe points matching PROBE (e.g. 'kernel.function("vfs_*")').
    #[arg(short = 'l', value_name = "PROBE")]
    list: Option<String>,
    /// Like -l, with the target variables of each probe point.
    #[arg(short = 'L', value_name = "PROBE")]
    list_vars: Option<String>,
    /// Unoptimized mode: keep what tapset aliases set and nothing reads.
    #[arg(short = 'u')]
    unoptimized: bool,
    /// Suppress all warnings.
    #[arg(short = 'w')]
    no_warnings: bool,
    /// Treat all warnings as errors.
    #[arg(short = 'W')]
    warnings_are_errors: bool,
    /// Symbols of all loaded kernel modules (accepted; rstap reads module symbols when a probe needs them).
    #[arg(long = "all-modules")]
    all_modules: bool,
    /// Per-probe timing report (accepted; not collected by rstap).
    #[arg(short = 't')]
    timing: bool,
    /// Quiet mode (accepted; rstap prints no progress without -v).
    #[arg(short = 'q')]
    quiet: bool,
    /// Wrap every probe handler in `try { ... } catch { next }` (accepted; not honoured yet).
    #[arg(long = "suppress-handler-errors")]
    suppress_handler_errors: bool,
    /// Prologue-searching mode (accepted; rstap places probes from DWARF as is).
    #[arg(short = 'P')]
    prologue_search: bool,
    /// Symbols of the shared libraries of probed binaries (accepted; rstap probes no user space).
    #[arg(long = "ldd")]
    ldd: bool,
    /// With -o: output files of at most SIZE megabytes (FILE.0, FILE.1, ...), at most N of them kept.
    #[arg(short = 'S', value_name = "SIZE[,N]", value_parser = rstap::run::output::parse_switch_limits)]
    switch_limits: Option<rstap::run::SwitchLimits>,
    /// Exit the script after TIMEOUT seconds (accepted; not honoured yet).
    #[arg(short = 'T', value_name = "TIMEOUT", value_parser = clap::value_parser!(u64).range(1..))]
    timeout: Option<u64>,
    /// List the probe types and exit (accepted; rstap prints nothing yet).
    #[arg(long = "dump-probe-types")]
    dump_probe_types: bool,
    /// List the tapset library's public probe aliases and exit.
    #[arg(long = "dump-probe-aliases")]
    dump_probe_aliases: bool,
    /// List the tapset library's public functions (name:type (param:type, ...)) and exit.
    #[arg(long = "dump-functions")]
    dump_functions: bool,
    /// The script file (unless -e), then the script's arguments ($1, @1, ...).
    #[arg(trailing_var_arg = true)]
    rest: Vec<String>,
}

/// The flags SystemTap scripts carry that rstap accepts without acting on
/// them: each is named once on stderr (those that change what a run does)
/// or with -v (those that only tune SystemTap's own workings).
fn note_inert_flags(a: &Args) {
    let loud = [
        (a.timing, "-t", "no per-probe timing report is collected"),
    ];
    let quiet = [
        (a.all_modules, "--all-modules", "module symbols are read when a probe needs them"),
        (a.quiet, "-q", "rstap prints no progress without -v"),
        (a.prologue_search, "-P", "probes are placed where DWARF says the prologue ends"),
        (a.ldd, "--ldd", "rstap probes no user-space libraries"),
    ];
    for (on, flag, why) in loud {
        if on {
            eprintln!("WARNING: option {flag} has no effect in rstap: {why}");
        }
    }
    for (on, flag, why) in quiet {
        if on && a.verbose > 0 {
            eprintln!("WARNING: option {flag} has no effect in rstap: {why}");
        }
    }
}

fn main() {
    let mut a = Args::parse();
    if a.script.len() > 1 {
        eprintln!("Only one script can be given on the command line.");
        std::process::exit(1);
    }
    if a.switch_limits.is_some() && a.output.is_none() {
        // man stap: -S sets the size and number of output files.
        eprintln!("error: -S SIZE[,N] limits the output files of -o FILE, and there is no -o: the output goes to stdout");
        std::process::exit(2);
    }
    if a.warnings_are_errors {
        diag::set_warning_policy(WarningPolicy::Error);
    } else if a.no_warnings {
        diag::set_warning_policy(WarningPolicy::Suppress);
    }
    note_inert_flags(&a);
    if a.dump_functions || a.dump_probe_aliases {
        use rstap::tapset::dump::{self, DumpKind};
        let mut status = 0;
        if a.dump_functions {
            status |= dump::run(&a.includes, DumpKind::Functions);
        }
        if a.dump_probe_aliases {
            status |= dump::run(&a.includes, DumpKind::ProbeAliases);
        }
        std::process::exit(status);
    }
    if a.dump_probe_types {
        eprintln!("WARNING: option --dump-probe-types has no effect in rstap yet: it lists nothing");
        std::process::exit(0);
    }
    let mut rest = a.rest.into_iter();
    let listing = a.list.map(|p| (p, false)).or(a.list_vars.map(|p| (p, true)));
    let script = match (&listing, a.script.pop()) {
        (Some((p, _)), _) => Some(Script::Inline(format!("probe {p} {{}}"))),
        (None, Some(text)) => Some(Script::Inline(text)),
        (None, None) => rest.next().map(|f| if f == "-" { Script::File("/dev/stdin".into()) } else { Script::File(f.into()) }),
    };
    let (release, kernel_build_dir) = match a.release {
        Some(r) if r.contains('/') => {
            let dir = PathBuf::from(&r);
            let rel = std::fs::read_to_string(dir.join("include/config/kernel.release"))
                .map(|s| s.trim().to_string())
                .unwrap_or_default();
            (Some(rel), Some(dir))
        }
        other => (other, None),
    };
    let mut defines = a.defines;
    if let Some(mb) = a.buffer_mb {
        let bytes = (mb.clamp(1, 4095) as u64 * 1024 * 1024).next_power_of_two();
        defines.push(format!("RSTAP_RING_BUFSIZE={bytes}"));
    }
    let opts = Options {
        script,
        args: rest.collect(),
        guru: a.guru,
        last_pass: a.pass.unwrap_or(5),
        verbose: a.verbose,
        keep: a.keep,
        module_name: a.module,
        release,
        kernel_build_dir,
        defines,
        includes: a.includes,
        output: a.output,
        switch_limits: a.switch_limits,
        command: a.command,
        target_pid: a.target,
        vm: a.vm,
        no_cache: a.disable_cache,
        listing,
        timeout_secs: a.timeout,
        suppress_handler_errors: a.suppress_handler_errors,
        timing_report: a.timing,
        unoptimized: a.unoptimized,
        make_args: a.make_args,
        suppress_time_limits: a.suppress_time_limits,
    };
    // The passes recurse over the script's tree; its depth is capped, and a
    // large stack keeps the deepest legal script far from the limit.
    let code = match std::thread::Builder::new().stack_size(64 << 20).spawn(move || driver::run(&opts)) {
        Ok(t) => t.join().unwrap_or(1),
        Err(e) => {
            eprintln!("ERROR: cannot start the translator thread: {e}");
            1
        }
    };
    std::process::exit(code);
}
