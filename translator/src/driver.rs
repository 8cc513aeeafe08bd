//! The one place that orders the passes.
//!
//! Input: `Options` from the command line. Output: what the last pass asked
//! for (`-p N`) on stdout, diagnostics on stderr, and the exit status.
//! Invariants: a pass runs only when the previous one succeeded; every
//! diagnostic collected is rendered before exiting; `-v` prints each pass's
//! time in SystemTap's "Pass N: ..." form.

use std::path::PathBuf;
use std::time::Instant;

use crate::build::{self, BuildOptions};
use crate::codegen::{self, CodegenOptions};
use crate::debuginfo::system_map::LazySystemMap;
use crate::diag::{self, Diagnostics, SourceMap};
use crate::elaborate::{self, ElabOptions};
use crate::run::{self, StaprunOptions};
use crate::syntax::{self, Macros, ParseOptions};
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
    pub command: Option<String>,
    pub target_pid: Option<i32>,
    pub vm: bool,
    pub no_cache: bool,
    /// `-l PROBE` (false) / `-L PROBE` (true): list matching probe points.
    pub listing: Option<(String, bool)>,
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
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("{}", if msg.starts_with("ERROR") { msg } else { format!("ERROR: {msg}") });
            }
            if opts.last_pass >= 1 && diags.has_errors() && opts.verbose > 0 {
                eprintln!("Pass {}: analysis failed.", if diags.has_errors() { 2 } else { 1 });
            }
            1
        }
    }
}

fn run_passes(opts: &Options, sources: &mut SourceMap, diags: &mut Diagnostics) -> Result<i32, String> {
    let Some(script) = &opts.script else {
        return Err("no script given: use -e 'SCRIPT' or a script file".into());
    };
    crate::limits::check_defines(&opts.defines)?;
    let testbed = if opts.vm && opts.last_pass >= 2 && opts.release.is_none() {
        let tb = crate::vm::setup(opts.verbose > 0)?;
        // Pass 2 checks kprobe symbols against the guest kernel's table.
        if let Err(e) = crate::vm::kallsyms::symbol_table(&tb, opts.verbose > 0) {
            eprintln!("WARNING: {e}; kernel symbols will be checked when the probes are registered");
        }
        Some(tb)
    } else {
        None
    };
    let release = opts
        .release
        .clone()
        .or_else(|| testbed.as_ref().map(|t| t.release.clone()))
        .unwrap_or_else(running_release);

    // Pass 1: parse the script and the tapset library.
    let t = Timer::start(opts.verbose);
    let popts = ParseOptions {
        args: opts.args.clone(),
        kernel_release: release.clone(),
        kernel_version: kernel_version(&release),
        arch: "x86_64".into(),
        runtime: "kernel".into(),
        systemtap_version: "5.0".into(),
        privilege: "stapdev".into(),
        guru: opts.guru,
        kconfig: Default::default(),
    };
    let (name, text) = match script {
        Script::Inline(t) => ("<input>".to_string(), t.clone()),
        Script::File(p) => (
            p.display().to_string(),
            std::fs::read_to_string(p).map_err(|e| format!("cannot read script {}: {e}", p.display()))?,
        ),
    };
    let mut dirs: Vec<PathBuf> = opts.includes.clone();
    if let Some(d) = tapset::default_dir() {
        dirs.push(d);
    } else if opts.verbose > 0 {
        eprintln!("WARNING: the rstap tapset library was not found; set RSTAP_TAPSET_DIR");
    }
    let library = tapset::load(&dirs, &popts, sources, diags);
    let mut macros: Macros = library.macros.clone();
    let file_id = sources.add(name.clone(), text.clone());
    let user = syntax::parse_file(&popts, &mut macros, sources, file_id, diags);
    t.done(1, &format!("parsed user script and {} library scripts", library.files.len()));
    let Some(user) = user else {
        return Err(String::new());
    };
    if diags.has_errors() {
        return Err(String::new());
    }
    if opts.last_pass == 1 {
        print!("{}", syntax::print::print_file(&user));
        return Ok(0);
    }

    // Pass 2: elaborate against the tapsets and the kernel's symbols.
    let t = Timer::start(opts.verbose);
    let image_root = testbed
        .as_ref()
        .map(|t| t.image.clone())
        .or_else(|| crate::vm::kallsyms::cached_image(&release));
    let symbols = LazySystemMap::new(&release, image_root);
    let eopts = ElabOptions { guru: opts.guru, args: opts.args.clone() };
    let wants_dwarf = crate::driver_dwarf::needs_dwarf(&text);
    let dbg_file = crate::driver_dwarf::open_kernel(&release, testbed.as_ref(), wants_dwarf, opts.verbose > 0);
    let dbg_di = match &dbg_file {
        Ok(f) => crate::driver_dwarf::dwarf(f),
        Err(e) => Err(e.clone()),
    };
    let mut module_args = crate::driver_dwarf::module_args(&text);
    if let Some((point, _)) = &opts.listing {
        module_args.extend(crate::driver_dwarf::module_args(point));
    }
    let (module_files, modules_missing) = crate::driver_dwarf::open_modules(&release, &module_args, opts.verbose > 0);
    let mut module_dis = Vec::new();
    let mut modules_missing = modules_missing;
    for (name, f) in &module_files {
        match crate::driver_dwarf::dwarf(f) {
            Ok(di) => module_dis.push((name.clone(), di)),
            Err(e) => modules_missing.push((name.clone(), e)),
        }
    }
    let mut dwarf = match &dbg_di {
        Ok(di) => elaborate::target::Dwarf { debuginfo: Some(di), ..Default::default() },
        Err(e) => elaborate::target::Dwarf { missing: e.clone(), ..Default::default() },
    };
    dwarf.modules = module_dis.iter().map(|(n, d)| (n.clone(), d as &dyn crate::debuginfo::DebugInfo)).collect();
    dwarf.modules_missing = modules_missing;
    if let Some((point, with_vars)) = &opts.listing {
        return crate::driver_dwarf::list(point, *with_vars, &dwarf, &eopts, &user, &library.files, &symbols, sources, diags);
    }
    let prog = elaborate::elaborate_with(&eopts, std::slice::from_ref(&user), &library.files, &symbols, &dwarf, sources, diags);
    t.done(2, "analyzed script");
    for line in crate::probes::blacklist::take_skip_report() {
        if opts.verbose > 0 {
            eprintln!("Pass 2: {line}");
        }
    }
    let Some(prog) = prog else {
        return Err(String::new());
    };
    if opts.last_pass == 2 {
        print!("{}", elaborate::print::print_program(&prog));
        return Ok(0);
    }

    // Pass 3: C.
    let t = Timer::start(opts.verbose);
    let module_name = match &opts.module_name {
        Some(m) if !valid_module_name(m) => {
            return Err(format!(
                "invalid module name `{m}`: use letters, digits and `_`, not starting with a digit, at most 55 characters"
            ))
        }
        Some(m) => m.clone(),
        None => default_module_name(&text),
    };
    let copts = CodegenOptions {
        module_name: module_name.clone(),
        script_name: name.clone(),
        defines: opts.defines.iter().map(|d| d.replacen('=', " ", 1)).collect(),
    };
    let module = codegen::generate(&copts, &prog, sources)?;
    t.done(3, "translated to C");
    if opts.last_pass == 3 {
        for (fname, text) in &module.files {
            if fname.ends_with(".c") {
                print!("{text}");
            }
        }
        return Ok(0);
    }

    // Pass 4: build.
    let t = Timer::start(opts.verbose);
    let bopts = BuildOptions {
        release: release.clone(),
        kernel_build_dir: opts
            .kernel_build_dir
            .clone()
            .or_else(|| testbed.as_ref().map(|t| t.headers.clone())),
        keep: opts.keep,
        verbose: opts.verbose,
        use_cache: !opts.no_cache,
    };
    let built = build::build(&bopts, &module)?;
    for w in &built.warnings {
        eprintln!("{w}");
    }
    if let Some(d) = &built.kept_dir {
        eprintln!("Keeping temporary directory \"{}\"", d.display());
    }
    t.done(4, if built.from_cache { "using cached module" } else { "compiled C into module" });
    if opts.last_pass == 4 {
        if opts.module_name.is_some() {
            let dest = PathBuf::from(format!("{module_name}.ko"));
            std::fs::copy(&built.ko, &dest).map_err(|e| format!("cannot copy the module to {}: {e}", dest.display()))?;
            println!("{}", dest.display());
        } else {
            println!("{}", built.ko.display());
        }
        return Ok(0);
    }

    // Pass 5: run.
    let t = Timer::start(opts.verbose);
    let code = if let Some(tb) = &testbed {
        run_in_vm(opts, tb, &built.ko, &module_name)?
    } else {
        let sopts = StaprunOptions {
            module: built.ko.clone(),
            output: opts.output.clone(),
            command: opts.command.clone(),
            target_pid: opts.target_pid,
            verbose: opts.verbose,
        };
        run::run_on_host(&sopts)?
    };
    t.done(5, "run completed");
    Ok(code)
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
        std::fs::write(path, &r.stdout).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        use std::io::Write;
        let _ = std::io::stderr().write_all(&r.stderr);
    }
    Ok(r.status)
}
