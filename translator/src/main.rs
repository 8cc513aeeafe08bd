//! The `stap` command line (clap): SystemTap's flags, mapped onto
//! `driver::Options`. No logic beyond argument checking lives here.

use clap::Parser;
use std::path::PathBuf;

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
    override_usage = "stap [OPTIONS] FILE [ARGS...]\n       stap [OPTIONS] -e SCRIPT [ARGS...]"
)]
struct Args {
    /// Run the given script text instead of a file.
    #[arg(short = 'e', value_name = "SCRIPT")]
    script: Option<String>,
    /// Guru mode: allow embedded C in the script.
    #[arg(short = 'g')]
    guru: bool,
    /// Stop after pass N (1 parse, 2 elaborate, 3 translate, 4 build, 5 run).
    #[arg(short = 'p', value_name = "N", value_parser = clap::value_parser!(u8).range(1..=5))]
    pass: Option<u8>,
    /// Suppress warnings.
    #[arg(short = 'w')]
    no_warnings: bool,
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
    /// The script file (unless -e), then the script's arguments ($1, @1, ...).
    #[arg(trailing_var_arg = true)]
    rest: Vec<String>,
}

fn main() {
    let a = Args::parse();
    rstap::diag::SUPPRESS_WARNINGS.store(a.no_warnings, std::sync::atomic::Ordering::Relaxed);
    let mut rest = a.rest.into_iter();
    let listing = a.list.map(|p| (p, false)).or(a.list_vars.map(|p| (p, true)));
    let script = match (&listing, a.script) {
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
        command: a.command,
        target_pid: a.target,
        vm: a.vm,
        no_cache: a.disable_cache,
        listing,
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
