//! Pass 3 for `kernel.trace` probes: the template context of
//! `templates/probes/tracepoint.c.tera`.
//!
//! Input: the derived probes of kind `ProbeKind::Tracepoint` (probe index,
//! tracepoint name, argument count, pp). Output: the rendered C of their
//! callbacks and registration (a module's tracepoints through the
//! tracepoint module notifier, when the module comes). Invariants: argument `i` (1-based, after
//! `void *data`) goes where the x86-64 calling convention puts parameter
//! `i + 1`: rsi, rdx, rcx, r8, r9, then the stack, so the DWARF locations
//! of the tracepoint's iterator at its entry read them.

use serde::Serialize;
use tera::Context;

/// One `kernel.trace` derived probe, as the code generator sees it.
pub struct TracepointProbe<'a> {
    pub probe: usize,
    pub name: &'a str,
    pub args: usize,
    pub pp: &'a str,
    /// The module defining the tracepoint; `None` for vmlinux.
    pub module: Option<&'a str>,
}

#[derive(Serialize)]
struct RegArg {
    reg: &'static str,
    arg: usize,
}

#[derive(Serialize)]
struct TracepointCtx {
    index: usize,
    probe: usize,
    name: String,
    pp: String,
    args: usize,
    arg_list: Vec<usize>,
    reg_args: Vec<RegArg>,
    stack_args: Vec<usize>,
    stack_slots: usize,
    module: String,
}

/// Registers after rdi (which holds `data`).
const ARG_REGS: [&str; 5] = ["si", "dx", "cx", "r8", "r9"];

pub fn render(probes: &[TracepointProbe<'_>]) -> Result<String, String> {
    let ctxs: Vec<TracepointCtx> = probes
        .iter()
        .enumerate()
        .map(|(index, p)| {
            let arg_list: Vec<usize> = (1..=p.args).collect();
            let reg_args = arg_list.iter().take(ARG_REGS.len()).map(|&a| RegArg { reg: ARG_REGS[a - 1], arg: a }).collect();
            let stack_args: Vec<usize> = arg_list.iter().skip(ARG_REGS.len()).copied().collect();
            TracepointCtx {
                index,
                probe: p.probe,
                name: p.name.to_string(),
                pp: p.pp.to_string(),
                args: p.args,
                module: p.module.unwrap_or("").to_string(),
                stack_slots: stack_args.len(),
                arg_list,
                reg_args,
                stack_args,
            }
        })
        .collect();
    let mut ctx = Context::new();
    let (module_tps, kernel_tps): (Vec<&TracepointCtx>, Vec<&TracepointCtx>) = ctxs.iter().partition(|t| !t.module.is_empty());
    ctx.insert("kernel_tracepoints", &kernel_tps);
    ctx.insert("module_tracepoints", &module_tps);
    ctx.insert("tracepoints", &ctxs);
    super::templates::render("tracepoint.c", &ctx)
}
