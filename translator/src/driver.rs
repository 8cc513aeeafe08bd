//! The one place that orders the passes.
//!
//! Input: `Options` from the command line. Output: what the last pass asked
//! for (`-p N`) on stdout, diagnostics on stderr, and the exit status.
//! Invariants: a pass runs only when the previous one succeeded; every
//! diagnostic collected is rendered before exiting; `-v` prints each pass's
//! time in SystemTap's "Pass N: ..." form, and "Pass N: ... failed." for
//! the pass that failed. Under `--vm` the testbed is set up only when a
//! pass needs it (pass 2 needs its symbol table; pass 1 runs before, so a
//! script that does not parse sets nothing up), and debuginfo is opened
//! only when the parsed program uses DWARF (`elaborate::needs`).

use std::path::PathBuf;
use std::time::Instant;

use crate::build::{self, BuildOptions};
use crate::codegen::{self, CodegenOptions, GeneratedModule};
use crate::debuginfo::dwarf::DebugFile;
use crate::debuginfo::system_map::LazySystemMap;
use crate::diag::{self, Diagnostics, SourceMap};
use crate::elaborate::{self, ElabOptions};
use crate::ir::Program;
use crate::run::{self, StaprunOptions};
use crate::syntax::{self, ast, Macros, ParseOptions};
use crate::tapset;

#[derive(Debug, Clone)]
pub enum Script {
    File(PathBuf),
    Inline(String),
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub script: Option<Script>,
    pub args: Vec<String>,
    pub guru: bool,
    pub last_pass: u8,
    pub verbose: u8,
    pub keep: bool,
    pub module_name: Option<String>,
    pub release: Option<String>,
    pub kernel_build_dir: Option<PathBuf>,
    pub defines: Vec<String>,
    pub includes: Vec<PathBuf>,
    pub output: Option<PathBuf>,
    /// `-S SIZE[,N]` (with `-o`): see `run::output`.
    pub switch_limits: Option<crate::run::SwitchLimits>,
    pub command: Option<String>,
    pub target_pid: Option<i32>,
    pub vm: bool,
    pub no_cache: bool,
    /// `-l PROBE` (false) / `-L PROBE` (true): list matching probe points.
    pub listing: Option<(String, bool)>,
    /// `-T SECONDS`: end the script after this long (not acted on yet).
    pub timeout_secs: Option<u64>,
    /// `--suppress-handler-errors`: see `ElabOptions`.
    pub suppress_handler_errors: bool,
    /// `-t`: per-probe timing report (not acted on yet).
    pub timing_report: bool,
    /// `-u`: unoptimised (rstap elides nothing in any mode).
    pub unoptimized: bool,
    /// `-B NAME=VALUE`: make variables for the Kbuild run.
    pub make_args: Vec<String>,
    /// `--suppress-time-limits` (guru mode only): no MAXACTION budget and
    /// no MAXTRYLOCK bound, unless a `-D` sets them.
    pub suppress_time_limits: bool,
}

/// The `-D`s `--suppress-time-limits` adds: the statement budgets and the
/// lock tries become unbounded (LONG_MAX statements, INT_MAX tries).
const UNLIMITED: &[(&str, &str)] =
    &[("MAXACTION", "LONG_MAX"), ("MAXACTION_INTERRUPTIBLE", "LONG_MAX"), ("MAXTRYLOCK", "INT_MAX")];

/// The `-D`s the module is built with: the command line's, and under
/// `--suppress-time-limits` each limit of [`UNLIMITED`] that no `-D` sets;
/// under `-w` RSTAP_SUPPRESS_WARNINGS (the runtime's WARNING lines too).
fn build_defines(opts: &Options) -> Vec<String> {
    let mut defines = opts.defines.clone();
    if diag::warning_policy() == diag::WarningPolicy::Suppress {
        defines.push("RSTAP_SUPPRESS_WARNINGS=1".into());
    }
    if opts.suppress_time_limits {
        for (name, value) in UNLIMITED {
            let set = opts.defines.iter().any(|d| d.split_once('=').map_or(d.as_str(), |(n, _)| n) == *name);
            if !set {
                defines.push(format!("{name}={value}"));
            }
        }
    }
    defines
}

fn running_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// "6.1.0-56-cloud-amd64" -> "6.1.0"
fn kernel_version(release: &str) -> String {
    release.split(['-', '+']).next().unwrap_or(release).to_string()
}

fn valid_module_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 55
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

/// A name for the module derived from the script, like SystemTap's
/// stap_<hash>.
fn default_module_name(text: &str) -> String {
    let mut h: u32 = 0x811c9dc5;
    for b in text.bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x01000193);
    }
    format!("stap_{h:08x}")
}

/// SystemTap's words for a failed pass, as `-v` prints them.
fn failed_line(pass: u8) -> String {
    let what = match pass {
        1 => "parse",
        2 => "analysis",
        3 => "translation",
        4 => "compilation",
        _ => "run",
    };
    format!("Pass {pass}: {what} failed.")
}

/// Why a run stopped short of its last pass.
#[derive(Debug)]
pub enum Failure {
    /// Pass N found errors; they are in the diagnostics already.
    Reported { pass: u8 },
    /// Pass N could not do its work; the message says why.
    Message { pass: u8, message: String },
}

impl Failure {
    fn pass(&self) -> u8 {
        match self {
            Failure::Reported { pass } | Failure::Message { pass, .. } => *pass,
        }
    }
}

/// `.map_err(at(N))`: a pass's error message as a [`Failure`] of pass N.
fn at(pass: u8) -> impl FnOnce(String) -> Failure {
    move |message| Failure::Message { pass, message }
}

type PassResult<T> = Result<T, Failure>;

struct Timer {
    start: Instant,
    verbose: u8,
}

impl Timer {
    fn start(verbose: u8) -> Timer {
        Timer { start: Instant::now(), verbose }
    }

    fn done(&self, pass: u8, what: &str) {
        if self.verbose > 0 {
            eprintln!("Pass {pass}: {what} in {}ms.", self.start.elapsed().as_millis());
        }
    }
}

fn render_diags(sources: &SourceMap, diags: &Diagnostics) {
    if !diags.list.is_empty() {
        eprint!("{}", diag::render(sources, diags));
    }
}

/// Runs the passes; returns the process exit status.
pub fn run(opts: &Options) -> i32 {
    let mut sources = SourceMap::new();
    let mut diags = Diagnostics::new();
    let status = run_passes(opts, &mut sources, &mut diags);
    render_diags(&sources, &diags);
    match status {
        Ok(code) => code,
        Err(failure) => {
            if let Failure::Message { message, .. } = &failure {
                eprintln!("{}", if message.starts_with("ERROR") { message.clone() } else { format!("ERROR: {message}") });
            }
            if opts.verbose > 0 {
                eprintln!("{}", failed_line(failure.pass()));
            }
            1
        }
    }
}

/// The kernel the script is for: its release, and under `--vm` the
/// testbed, set up only when a pass first needs it.
struct Kernel {
    /// `--vm` without `-r`: the testbed's kernel.
    vm: bool,
    verbose: bool,
    release: String,
    testbed: Option<crate::vm::Testbed>,
}

impl Kernel {
    /// Knows only the release pass 1 may assume: `-r`, else (under
    /// `--vm`, until the testbed is set up) `$RSTAP_TESTBED_RELEASE` or
    /// the running kernel's; nothing is installed or downloaded.
    fn new(opts: &Options) -> Kernel {
        let vm = opts.vm && opts.release.is_none();
        let release = match &opts.release {
            Some(r) => r.clone(),
            None => std::env::var("RSTAP_TESTBED_RELEASE")
                .ok()
                .filter(|r| vm && !r.is_empty())
                .unwrap_or_else(running_release),
        };
        Kernel { vm, verbose: opts.verbose > 0, release, testbed: None }
    }

    /// Under `--vm`: sets the testbed up (once) and takes its release.
    fn testbed(&mut self) -> Result<Option<&crate::vm::Testbed>, String> {
        if self.vm && self.testbed.is_none() {
            let tb = crate::vm::setup(self.verbose)?;
            self.release = tb.release.clone();
            self.testbed = Some(tb);
        }
        Ok(self.testbed.as_ref())
    }
}

/// The script's name (for messages) and text.
fn read_script(opts: &Options) -> PassResult<(String, String)> {
    match &opts.script {
        None => Err(at(1)("no script given: use -e 'SCRIPT' or a script file".into())),
        Some(Script::Inline(t)) => Ok(("<input>".to_string(), t.clone())),
        Some(Script::File(p)) => Ok((
            p.display().to_string(),
            std::fs::read_to_string(p).map_err(|e| at(1)(format!("cannot read script {}: {e}", p.display())))?,
        )),
    }
}

/// Pass 1's output: the user's file and the tapset library.
struct Parsed {
    user: ast::File,
    library: Vec<ast::File>,
    /// The release the preprocessor's `kernel_v`/`kernel_vr` saw.
    release: String,
    /// `-v`'s line for pass 1, printed once the parse is the one kept.
    timing: String,
}

/// Pass 1: parses the script and the tapset library for `release`.
fn parse(opts: &Options, script: &(String, String), release: &str, sources: &mut SourceMap, diags: &mut Diagnostics) -> PassResult<Parsed> {
    let t = Timer::start(opts.verbose);
    let popts = ParseOptions {
        args: opts.args.clone(),
        kernel_release: release.to_string(),
        kernel_version: kernel_version(release),
        arch: "x86_64".into(),
        runtime: "kernel".into(),
        systemtap_version: "5.0".into(),
        privilege: "stapdev".into(),
        guru: opts.guru,
        kconfig: crate::kconfig::read(release),
    };
    let mut dirs: Vec<PathBuf> = opts.includes.clone();
    if let Some(d) = tapset::default_dir() {
        dirs.push(d);
    } else if opts.verbose > 0 {
        eprintln!("WARNING: the rstap tapset library was not found; set RSTAP_TAPSET_DIR");
    }
    let library = tapset::load(&dirs, &popts, sources, diags);
    let mut macros: Macros = library.macros.clone();
    let file_id = sources.add(script.0.clone(), script.1.clone());
    let user = syntax::parse_file(&popts, &mut macros, sources, file_id, diags);
    let timing = format!("Pass 1: parsed user script and {} library scripts in {}ms.", library.files.len(), t.start.elapsed().as_millis());
    match user {
        Some(user) if !diags.has_errors() => Ok(Parsed { user, library: library.files, release: release.to_string(), timing }),
        _ => {
            if opts.verbose > 0 {
                eprintln!("{timing}");
            }
            Err(Failure::Reported { pass: 1 })
        }
    }
}

/// Pass 1 for the kernel pass 2 will analyse against: under `--vm`, once
/// pass 1 succeeded, the testbed is set up (pass 2 needs its symbol
/// table) and, if its release is not the one assumed, pass 1 runs again
/// for it. A script with a syntax error never sets anything up.
fn parse_for_kernel(
    opts: &Options,
    script: &(String, String),
    kernel: &mut Kernel,
    sources: &mut SourceMap,
    diags: &mut Diagnostics,
) -> PassResult<Parsed> {
    let mut parsed = parse(opts, script, &kernel.release, sources, diags)?;
    if opts.last_pass >= 2 && kernel.vm {
        kernel.testbed().map_err(at(2))?;
        if kernel.release != parsed.release {
            *sources = SourceMap::new();
            *diags = Diagnostics::new();
            parsed = parse(opts, script, &kernel.release.clone(), sources, diags)?;
        }
    }
    if opts.verbose > 0 {
        eprintln!("{}", parsed.timing);
    }
    Ok(parsed)
}

/// The DWARF pass 2 reads: only what `elaborate::needs` says the program
/// uses is opened (and, under `--vm`, downloaded).
struct OpenedDebuginfo {
    kernel: Result<DebugFile, String>,
    /// The kernel's BTF and trace events (for `kernel.trace`).
    btf: Result<crate::debuginfo::btf::BtfDebugInfo, String>,
    modules: Vec<crate::driver_dwarf::ModuleFile>,
    modules_missing: Vec<(String, String)>,
    /// The program uses the kernel's debuginfo (`elaborate::needs`).
    kernel_needed: bool,
}

fn open_debuginfo(opts: &Options, parsed: &Parsed, kernel: &Kernel) -> OpenedDebuginfo {
    let files = elaborate::resolve::Files { user: std::slice::from_ref(&parsed.user), tapsets: &parsed.library };
    let needs = elaborate::needs::debuginfo_needs(&files);
    let verbose = opts.verbose > 0;
    let btf = if needs.tracepoints {
        crate::driver_dwarf::open_btf(&kernel.release, kernel.testbed.as_ref(), verbose)
    } else {
        Err(String::new())
    };
    let kernel_file = if needs.kernel || (needs.tracepoints && btf.is_err()) {
        crate::driver_dwarf::open_kernel(&kernel.release, kernel.testbed.as_ref(), verbose)
    } else {
        Err("internal error: pass 2 uses the kernel's debuginfo although `elaborate::needs` found no use of DWARF".into())
    };
    let (modules, modules_missing) = crate::driver_dwarf::open_modules(&kernel.release, &needs.modules, verbose);
    OpenedDebuginfo { kernel: kernel_file, btf, modules, modules_missing, kernel_needed: needs.kernel }
}

/// What pass 2 ended with: a program, or (`-l`/`-L`) a listing printed.
enum Analyzed {
    Program(Program),
    Listed,
}

/// Pass 2: elaborates against the tapsets, the kernel's symbols and the
/// DWARF the program needs (or lists probe points for `-l`/`-L`).
fn analyze(opts: &Options, parsed: &Parsed, kernel: &Kernel, sources: &SourceMap, diags: &mut Diagnostics) -> PassResult<Analyzed> {
    let t = Timer::start(opts.verbose);
    let image_root = kernel
        .testbed
        .as_ref()
        .map(|t| t.image.clone())
        .or_else(|| crate::vm::kallsyms::cached_image(&kernel.release));
    if let Some(tb) = &kernel.testbed {
        // Pass 2 checks kprobe symbols against the guest kernel's table.
        if let Err(e) = crate::vm::kallsyms::symbol_table(tb, opts.verbose > 0) {
            eprintln!("WARNING: {e}; kernel symbols will be checked when the probes are registered");
        }
    }
    let symbols_root = image_root.clone();
    let symbols = LazySystemMap::new(&kernel.release, image_root);
    let eopts = ElabOptions {
        guru: opts.guru,
        args: opts.args.clone(),
        timeout_secs: opts.timeout_secs,
        suppress_handler_errors: opts.suppress_handler_errors,
        keep_unread: opts.unoptimized,
    };
    let opened = open_debuginfo(opts, parsed, kernel);
    let kernel_di = opened.kernel.as_ref().map_err(|e| e.clone()).and_then(crate::driver_dwarf::dwarf);
    let mut modules_missing = opened.modules_missing.clone();
    let mut module_dis = Vec::new();
    for (name, f) in &opened.modules {
        match crate::driver_dwarf::dwarf(f) {
            Ok(di) => module_dis.push((name.clone(), di)),
            Err(e) => modules_missing.push((name.clone(), e)),
        }
    }
    let mut dwarf = match &kernel_di {
        Ok(di) => elaborate::target::Dwarf { debuginfo: Some(di), ..Default::default() },
        Err(e) => elaborate::target::Dwarf { missing: e.clone(), ..Default::default() },
    };
    dwarf.modules = module_dis.iter().map(|(n, d)| (n.clone(), d as &dyn crate::debuginfo::DebugInfo)).collect();
    dwarf.modules_missing = modules_missing;
    // Without the kernel's DWARF, its types (`@cast`, autocast) come from BTF.
    let btf_types = match (&kernel_di, &opened.btf) {
        (Err(_), Err(_)) if opened.kernel_needed => Some(crate::driver_dwarf::open_btf(&kernel.release, kernel.testbed.as_ref(), opts.verbose > 0)),
        _ => None,
    };
    dwarf.btf = btf_types.as_ref().unwrap_or(&opened.btf).as_ref().ok();
    dwarf.btf_missing = opened.btf.as_ref().err().cloned().unwrap_or_default();
    dwarf.release = kernel.release.clone();
    // No IO until a kernel.trace pattern that vmlinux lacks asks for it.
    let module_tps = crate::debuginfo::module_tracepoints::ModuleTracepoints::new(
        &kernel.release,
        crate::debuginfo::module_tracepoints::modules_dir(&kernel.release, symbols_root.as_deref()),
        crate::driver_dwarf::roots(&kernel.release),
        crate::debuginfo::trace_events::image_path(&kernel.release, kernel.testbed.as_ref().map(|t| t.vmlinuz.as_path())),
    );
    dwarf.module_tracepoints = Some(&module_tps);
    let user = std::slice::from_ref(&parsed.user);
    if let Some((point, with_vars)) = &opts.listing {
        let listed = crate::driver_dwarf::list(point, *with_vars, &dwarf, &eopts, user, &parsed.library, &symbols, sources, diags);
        return listed.map(|()| Analyzed::Listed);
    }
    let prog = elaborate::elaborate_with(&eopts, user, &parsed.library, &symbols, &dwarf, sources, diags);
    t.done(2, "analyzed script");
    for line in crate::probes::blacklist::take_skip_report() {
        if opts.verbose > 0 {
            eprintln!("Pass 2: {line}");
        }
    }
    prog.map(Analyzed::Program).ok_or(Failure::Reported { pass: 2 })
}

/// Pass 3: the module's C.
fn translate(opts: &Options, script: &(String, String), prog: &Program, sources: &SourceMap) -> PassResult<(String, GeneratedModule)> {
    let t = Timer::start(opts.verbose);
    let module_name = match &opts.module_name {
        Some(m) if !valid_module_name(m) => {
            return Err(at(3)(format!(
                "invalid module name `{m}`: use letters, digits and `_`, not starting with a digit, at most 55 characters"
            )))
        }
        Some(m) => m.clone(),
        None => default_module_name(&script.1),
    };
    let copts = CodegenOptions {
        module_name: module_name.clone(),
        script_name: script.0.clone(),
        defines: build_defines(opts),
    };
    let module = codegen::generate(&copts, prog, sources).map_err(at(3))?;
    t.done(3, "translated to C");
    Ok((module_name, module))
}

/// Pass 4: the `.ko`, against the testbed's headers under `--vm`.
fn compile(opts: &Options, module: &GeneratedModule, kernel: &mut Kernel) -> PassResult<build::Built> {
    let headers = kernel.testbed().map_err(at(4))?.map(|t| t.headers.clone());
    let t = Timer::start(opts.verbose);
    let bopts = BuildOptions {
        release: kernel.release.clone(),
        kernel_build_dir: opts.kernel_build_dir.clone().or(headers),
        keep: opts.keep,
        verbose: opts.verbose,
        use_cache: !opts.no_cache,
        make_args: opts.make_args.clone(),
    };
    let built = build::build(&bopts, module).map_err(at(4))?;
    for w in &built.warnings {
        eprintln!("{w}");
    }
    if let Some(d) = &built.kept_dir {
        eprintln!("Keeping temporary directory \"{}\"", d.display());
    }
    t.done(4, if built.from_cache { "using cached module" } else { "compiled C into module" });
    Ok(built)
}

/// `-p4`: the module's path (copied here as NAME.ko with `-m`).
fn print_module(opts: &Options, built: &build::Built, module_name: &str) -> PassResult<i32> {
    if opts.module_name.is_some() {
        let dest = PathBuf::from(format!("{module_name}.ko"));
        std::fs::copy(&built.ko, &dest).map_err(|e| at(4)(format!("cannot copy the module to {}: {e}", dest.display())))?;
        crate::stdout::print_lines([dest.display().to_string()]);
    } else {
        crate::stdout::print_lines([built.ko.display().to_string()]);
    }
    Ok(0)
}

/// Pass 5: runs the module, in the testbed under `--vm`.
fn execute(opts: &Options, built: &build::Built, module_name: &str, kernel: &mut Kernel) -> PassResult<i32> {
    let t = Timer::start(opts.verbose);
    let code = match kernel.testbed().map_err(at(5))? {
        Some(tb) => run_in_vm(opts, tb, &built.ko, module_name),
        None => {
            let sopts = StaprunOptions {
                module: built.ko.clone(),
                output: opts.output.clone(),
                switch_limits: opts.switch_limits,
                framed_output: false,
                command: opts.command.clone(),
                target_pid: opts.target_pid,
                verbose: opts.verbose,
            };
            run::run_on_host(&sopts)
        }
    }
    .map_err(at(5))?;
    t.done(5, "run completed");
    Ok(code)
}

/// Orders the passes: each runs only when the one before succeeded, and
/// `-p N` prints pass N's result and stops.
fn run_passes(opts: &Options, sources: &mut SourceMap, diags: &mut Diagnostics) -> PassResult<i32> {
    let script = read_script(opts)?;
    // Every -D reaches the C: first the one gate for C text, then the
    // ranges of the limits.
    for d in &opts.defines {
        crate::codegen::c_text::c_define(d).map_err(at(1))?;
    }
    crate::limits::check_defines(&opts.defines).map_err(at(1))?;
    // Every -B reaches make through its one gate.
    for b in &opts.make_args {
        build::make_directive(b).map_err(at(1))?;
    }
    if opts.suppress_time_limits && !opts.guru {
        return Err(at(1)("--suppress-time-limits requires guru mode (-g)".into()));
    }
    let mut kernel = Kernel::new(opts);
    let parsed = parse_for_kernel(opts, &script, &mut kernel, sources, diags)?;
    if opts.last_pass == 1 {
        crate::stdout::print(&syntax::print::print_file(&parsed.user));
        return Ok(0);
    }
    let prog = match analyze(opts, &parsed, &kernel, sources, diags)? {
        Analyzed::Listed => return Ok(0),
        Analyzed::Program(p) => p,
    };
    if opts.last_pass == 2 {
        crate::stdout::print(&elaborate::print::print_program(&prog));
        return Ok(0);
    }
    let (module_name, module) = translate(opts, &script, &prog, sources)?;
    if opts.last_pass == 3 {
        for (fname, text) in &module.files {
            if fname.ends_with(".c") {
                crate::stdout::print(text);
            }
        }
        return Ok(0);
    }
    let built = compile(opts, &module, &mut kernel)?;
    if opts.last_pass == 4 {
        return print_module(opts, &built, &module_name);
    }
    execute(opts, &built, &module_name, &mut kernel)
}

/// Runs the module in the qemu testbed with the static staprun binary.
fn run_in_vm(opts: &Options, tb: &crate::vm::Testbed, ko: &std::path::Path, module_name: &str) -> Result<i32, String> {
    let staprun = std::env::current_exe()
        .map_err(|e| format!("cannot find the stap binary's directory: {e}"))?
        .with_file_name("staprun");
    if !staprun.is_file() {
        return Err(format!(
            "the staprun binary is not next to stap (looked for {}); build both with `cargo build --release`",
            staprun.display()
        ));
    }
    let ko_name = format!("{module_name}.ko");
    let mut argv = vec!["./staprun".to_string()];
    if opts.verbose > 1 {
        argv.push("-v".into());
    }
    // -o FILE is written on the host: the guest's staprun sends the output
    // and its file switches as frames (run::output).
    if opts.output.is_some() {
        argv.push("--framed-output".into());
    }
    if let Some(c) = &opts.command {
        argv.push("-c".into());
        argv.push(c.clone());
    }
    if let Some(x) = opts.target_pid {
        argv.push("-x".into());
        argv.push(x.to_string());
    }
    argv.push(ko_name.clone());
    let job = crate::vm::GuestJob {
        files: vec![(staprun, "staprun".into()), (ko.to_path_buf(), ko_name)],
        argv,
    };
    let ropts = crate::vm::RunOptions {
        verbose: opts.verbose > 0,
        timeout: std::time::Duration::from_secs(600),
        live: opts.output.is_none(),
    };
    let results = crate::vm::run_jobs(tb, &[job], &ropts)?;
    let r = results.into_iter().next().ok_or("the testbed returned no result")?;
    if let Some(path) = &opts.output {
        let written = crate::run::output::replay_frames(&r.stdout, path, opts.switch_limits);
        use std::io::Write;
        let _ = std::io::stderr().write_all(&r.stderr);
        written?;
    }
    Ok(r.status)
}
