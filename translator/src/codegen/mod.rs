//! Pass 3: `ir::Program` to the C files of a kernel module.
//!
//! Input: a typed program and the module name. Output: `GeneratedModule`,
//! the module's C file, its Kbuild file and the runtime headers, ready for
//! pass 4. The fixed C lives in `templates/` (tera, autoescape off) and
//! `runtime-c/`, both compiled into the binary; Rust only fills in names,
//! values and the C of expressions (`emit`). Invariants: decides nothing the
//! IR does not say; output compiles without warnings.

pub mod c_text;
pub mod emit;
mod embedded;
mod hooks;
mod lines;
mod regex;
pub mod map;
mod tracepoint;
pub mod target;
mod templates;
mod try_catch;
mod watch;

use std::collections::HashMap;

use serde::Serialize;
use tera::Context;

use crate::diag::SourceMap;
use crate::ir::{FunctionBody, Init, ProbeKind, Program, Type};
use c_text::{c_define, c_identifier, c_string, CDefine};
use emit::{c_type_decl, Emitter};

/// The files of one module, relative to the build directory.
#[derive(Debug, Clone)]
pub struct GeneratedModule {
    pub name: String,
    pub files: Vec<(String, String)>,
}

/// The runtime sources every module includes, as `runtime/<name>`.
pub const RUNTIME_FILES: &[(&str, &str)] = &[
    ("rstap_runtime.h", include_str!("../../../runtime-c/rstap_runtime.h")),
    ("rstap_config.h", include_str!("../../../runtime-c/rstap_config.h")),
    ("rstap_transport.h", include_str!("../../../runtime-c/rstap_transport.h")),
    ("rstap_context.h", include_str!("../../../runtime-c/rstap_context.h")),
    ("rstap_ops.h", include_str!("../../../runtime-c/rstap_ops.h")),
    ("rstap_format.h", include_str!("../../../runtime-c/rstap_format.h")),
    ("rstap_stat.h", include_str!("../../../runtime-c/rstap_stat.h")),
    ("rstap_map.h", include_str!("../../../runtime-c/rstap_map.h")),
    ("rstap_deref.h", include_str!("../../../runtime-c/rstap_deref.h")),
    ("rstap_store.h", include_str!("../../../runtime-c/rstap_store.h")),
    ("rstap_symbols.h", include_str!("../../../runtime-c/rstap_symbols.h")),
    ("rstap_embedded.h", include_str!("../../../runtime-c/rstap_embedded.h")),
    ("rstap_procfs.h", include_str!("../../../runtime-c/rstap_procfs.h")),
    ("rstap_expr.h", include_str!("../../../runtime-c/rstap_expr.h")),
    ("rstap_regex.h", include_str!("../../../runtime-c/rstap_regex.h")),
];

#[derive(Debug, Clone, Default)]
pub struct CodegenOptions {
    pub module_name: String,
    /// Shown in the module's header comment and description.
    pub script_name: String,
    /// -D NAME[=VALUE], as given on the command line (validated here).
    pub defines: Vec<String>,
}

#[derive(Serialize)]
struct GlobalCtx {
    decl: String,
    init: Option<String>,
    /// Arrays and statistics: a call returning 0 or -ENOMEM at load.
    setup: Option<String>,
    teardown: Option<String>,
}

#[derive(Serialize)]
struct FrameCtx {
    name: String,
    /// Locals (parameters first): zeroed when the frame is entered.
    fields: Vec<String>,
    /// Temporaries and the return value, after the `rstap_temps` marker:
    /// every one is written before it is read, so entry does not zero them.
    temps: Vec<String>,
}

#[derive(Serialize)]
struct FunctionCtx {
    name: String,
    embedded: bool,
    params: Vec<String>,
    return_stmt: String,
    body: String,
    /// `#line` for an embedded-C body (codegen::embedded).
    line: Option<String>,
}

#[derive(Serialize)]
struct BodyCtx {
    name: String,
    code: String,
}

#[derive(Serialize)]
struct LockCtx {
    index: usize,
    write: u8,
}

#[derive(Serialize)]
struct ProbeCtx {
    /// `N`, or `N_entry` for the handler computing probe N's `@entry` values.
    index: String,
    pp: String,
    body: String,
    state: &'static str,
    budget: &'static str,
    locks: Vec<LockCtx>,
    /// The body has locals to zero.
    zero: bool,
    /// The handler must disable preemption itself (kprobe handlers run
    /// with it disabled already).
    preempt: bool,
}

#[derive(Serialize)]
struct KprobeCtx {
    index: usize,
    probe: usize,
    symbol: String,
    offset: u64,
    ret: bool,
    /// Outstanding returns a kretprobe tracks; 0 for KRETACTIVE.
    maxactive: u32,
    pp: String,
    /// How many `@entry` values the kretprobe's entry handler computes.
    entry_slots: usize,
    /// The module holding the symbol (`module:symbol`); empty for the
    /// kernel itself.
    module: String,
}

#[derive(Serialize)]
struct TimerCtx {
    index: usize,
    probe: usize,
    interval_ns: u64,
}

#[derive(Serialize)]
struct EmbeddedCtx {
    origin: String,
    code: String,
    /// `#line` for a block from a script or tapset (codegen::embedded).
    line: Option<String>,
}

use templates::render;
/// Renders a template (translator/src/regex renders its tables with it).
pub(crate) use templates::render as render_template;

/// Runs pass 3.
pub fn generate(opts: &CodegenOptions, prog: &Program, sources: &SourceMap) -> Result<GeneratedModule, String> {
    c_identifier("module name", &opts.module_name)?;
    let defines = opts.defines.iter().map(|d| c_define(d)).collect::<Result<Vec<CDefine>, String>>()?;
    let mut frames = Vec::new();
    let mut functions = Vec::new();
    let mut regex_tables: Vec<(String, String)> = Vec::new();
    for f in &prog.functions {
        let mut em = Emitter::new(prog, sources, &f.locals, f.params, Some(f.ret));
        let (embedded, body, line) = match &f.body {
            FunctionBody::Script(s) => {
                let mut out = String::new();
                em.stmt(s, 1, &mut out);
                (false, out, None)
            }
            FunctionBody::Embedded(code) => (true, code.clone(), embedded::function_line(sources, f.span, code)),
        };
        regex::collect(&mut regex_tables, std::mem::take(&mut em.regex_tables));
        let mut fields = em.fields;
        let mut temps = fields.split_off(f.locals.len());
        temps.push(c_type_decl(f.ret, "__retvalue"));
        frames.push(FrameCtx { name: format!("fn_{}", f.name), fields, temps });
        // STAP_RETURN(v), or STAP_RETURN() in a function without a value.
        let return_stmt = if f.ret == Type::String {
            "strscpy(STAP_RETVALUE, (__VA_ARGS__), MAXSTRINGLEN)".to_string()
        } else {
            "STAP_RETVALUE = (0 __VA_OPT__(+ (__VA_ARGS__)))".to_string()
        };
        functions.push(FunctionCtx {
            name: f.name.clone(),
            embedded,
            params: f.locals[..f.params].iter().map(|l| l.name.clone()).collect(),
            return_stmt,
            body,
            line,
        });
    }
    // One C function per distinct body: the points of one probe (an alias
    // over several entry points, a wildcard) lower to equal bodies, whose
    // handlers then share the first one's function and frame.
    let mut bodies = Vec::new();
    let mut body_name = Vec::with_capacity(prog.bodies.len());
    let mut seen: HashMap<(String, Vec<String>, Vec<String>), String> = HashMap::new();
    for (i, b) in prog.bodies.iter().enumerate() {
        let mut em = Emitter::new(prog, sources, &b.locals, 0, None);
        let mut code = String::new();
        em.stmt(&b.body, 1, &mut code);
        regex::collect(&mut regex_tables, std::mem::take(&mut em.regex_tables));
        let mut fields = em.fields;
        let temps = fields.split_off(b.locals.len());
        let key = (code, fields, temps);
        if let Some(name) = seen.get(&key) {
            body_name.push(name.clone());
            continue;
        }
        let name = format!("body_{i}");
        body_name.push(name.clone());
        frames.push(FrameCtx { name: name.clone(), fields: key.1.clone(), temps: key.2.clone() });
        bodies.push(BodyCtx { name: name.clone(), code: key.0.clone() });
        seen.insert(key, name);
    }
    let mut statics = Vec::new();
    let globals: Vec<GlobalCtx> = prog
        .globals
        .iter()
        .map(|g| {
            let field = format!("rstap_globals.g_{}", g.name);
            let parts = map::global_parts(g);
            if let Some(st) = parts.as_ref().and_then(|p| p.statics.clone()) {
                statics.push(st);
            }
            GlobalCtx {
                decl: parts.as_ref().map(|p| p.decl.clone()).unwrap_or_else(|| c_type_decl(g.ty, &format!("g_{}", g.name))),
                init: g.init.as_ref().map(|i| match i {
                    Init::Long(n) => format!("{field} = {n}LL"),
                    Init::String(s) => format!("strscpy({field}, {}, MAXSTRINGLEN)", c_string(s)),
                }),
                setup: parts.as_ref().and_then(|p| p.setup.clone()),
                teardown: parts.as_ref().and_then(|p| p.teardown.clone()),
            }
        })
        .collect();
    let iter_stack = map::iter_stack_size(prog);

    let mut probes = Vec::new();
    let mut kprobes = Vec::new();
    let mut timers = Vec::new();
    let mut tracepoints = Vec::new();
    let mut hook_probes = Vec::new();
    let mut begin_probes = Vec::new();
    let mut end_probes = Vec::new();
    for (i, p) in prog.probes.iter().enumerate() {
        let (state, budget) = match &p.kind {
            ProbeKind::Begin => {
                begin_probes.push(i);
                ("RSTAP_STARTING", "MAXACTION_INTERRUPTIBLE")
            }
            ProbeKind::End => {
                end_probes.push(i);
                ("RSTAP_STOPPING", "MAXACTION_INTERRUPTIBLE")
            }
            ProbeKind::Timer { interval_ns } => {
                timers.push(TimerCtx { index: timers.len(), probe: i, interval_ns: *interval_ns });
                ("RSTAP_RUNNING", "MAXACTION")
            }
            ProbeKind::Kprobe { symbol, offset, ret, maxactive } => {
                kprobes.push(KprobeCtx {
                    index: kprobes.len(),
                    probe: i,
                    module: symbol.split_once(':').map(|(m, _)| m.to_string()).unwrap_or_default(),
                    symbol: symbol.clone(),
                    offset: *offset,
                    ret: *ret,
                    maxactive: *maxactive,
                    entry_slots: p.entry.map(|(_, n)| n).unwrap_or(0),
                    pp: p.pp.clone(),
                });
                ("RSTAP_RUNNING", "MAXACTION")
            }
            ProbeKind::Tracepoint { name, args, module } => {
                tracepoints.push(tracepoint::TracepointProbe { probe: i, name, args: *args, pp: &p.pp, module: module.as_deref() });
                ("RSTAP_RUNNING", "MAXACTION")
            }
            ProbeKind::Hook(hook) => {
                hook_probes.push(hooks::HookProbe { probe: i, hook, pp: &p.pp });
                ("RSTAP_RUNNING", "MAXACTION")
            }
        };
        let preempt = !matches!(p.kind, ProbeKind::Kprobe { .. });
        if let Some((entry_body, _)) = p.entry {
            probes.push(ProbeCtx {
                index: format!("{i}_entry"),
                pp: p.pp.clone(),
                body: body_name[entry_body].clone(),
                state,
                budget,
                locks: Vec::new(),
                zero: !prog.bodies[entry_body].locals.is_empty(),
                preempt,
            });
        }
        probes.push(ProbeCtx {
            index: i.to_string(),
            pp: p.pp.clone(),
            body: body_name[p.body].clone(),
            state,
            budget,
            locks: p.locks.iter().map(|&(g, w)| LockCtx { index: g, write: w as u8 }).collect(),
            zero: !prog.bodies[p.body].locals.is_empty(),
            preempt,
        });
    }

    let mut families = Vec::new();
    let mut registers = Vec::new();
    let mut starts = Vec::new();
    let mut unregisters = Vec::new();
    if !kprobes.is_empty() {
        let mut ctx = Context::new();
        ctx.insert("kprobes", &kprobes);
        let (module_kprobes, kernel_kprobes): (Vec<&KprobeCtx>, Vec<&KprobeCtx>) = kprobes.iter().partition(|k| !k.module.is_empty());
        ctx.insert("kernel_kprobes", &kernel_kprobes);
        ctx.insert("module_kprobes", &module_kprobes);
        families.push(render("kprobe.c", &ctx)?);
        registers.push("rstap_kprobes_register");
        unregisters.push("rstap_kprobes_unregister");
    }
    if !tracepoints.is_empty() {
        families.push(tracepoint::render(&tracepoints)?);
        registers.push("rstap_tracepoints_register");
        unregisters.push("rstap_tracepoints_unregister");
    }
    if !timers.is_empty() {
        let mut ctx = Context::new();
        ctx.insert("timers", &timers);
        families.push(render("timer.c", &ctx)?);
        starts.push("rstap_timers_start");
        // Timers stop first: they must not fire into a stopping session.
        unregisters.insert(0, "rstap_timers_stop");
    }
    let lists = hooks::ModuleLists { families: &mut families, registers: &mut registers, starts: &mut starts, unregisters: &mut unregisters };
    hooks::add(&hook_probes, &opts.module_name, lists)?;

    let mut embedded: Vec<EmbeddedCtx> = prog
        .embedded
        .iter()
        .map(|e| EmbeddedCtx { origin: e.origin.clone(), code: e.code.clone(), line: embedded::block_line(&e.origin) })
        .collect();
    for (name, code) in regex_tables {
        embedded.push(EmbeddedCtx { origin: format!("the tables of regex {name}"), code, line: None });
    }
    if let Some(t) = &prog.lines {
        embedded.push(EmbeddedCtx { origin: "the line table of the probed functions".into(), code: lines::line_table_c(t)?, line: None });
    }

    let mut ctx = Context::new();
    ctx.insert("module_name", &opts.module_name);
    ctx.insert("script_name", &opts.script_name);
    ctx.insert("defines", &defines);
    ctx.insert("embedded", &embedded);
    ctx.insert("globals", &globals);
    ctx.insert("statics", &statics);
    ctx.insert("iter_stack", &iter_stack);
    ctx.insert("frames", &frames);
    ctx.insert("functions", &functions);
    ctx.insert("bodies", &bodies);
    ctx.insert("probes", &probes);
    ctx.insert("families", &families);
    ctx.insert("registers", &registers);
    ctx.insert("starts", &starts);
    ctx.insert("unregisters", &unregisters);
    ctx.insert("begin_probes", &begin_probes);
    ctx.insert("end_probes", &end_probes);
    let module_c = embedded::restore_line_numbers(&render("module.c", &ctx)?, &embedded::generated_file(&opts.module_name));
    module_files(&opts.module_name, module_c)
}

/// The files of module `name` around its C text (`-p3`'s output): the C,
/// its Kbuild file and the runtime headers (pass 4 builds them; the batch
/// builder rebuilds a module from `-p3` output with it).
pub fn module_files(name: &str, module_c: String) -> Result<GeneratedModule, String> {
    let mut kctx = Context::new();
    kctx.insert("module_name", name);
    kctx.insert("cflags", &Vec::<String>::new());
    let kbuild = render("Kbuild", &kctx)?;

    let mut files = vec![(format!("{name}.c"), module_c), ("Kbuild".to_string(), kbuild)];
    for (name, text) in RUNTIME_FILES {
        files.push((format!("runtime/{name}"), text.to_string()));
    }
    Ok(GeneratedModule { name: name.to_string(), files })
}
