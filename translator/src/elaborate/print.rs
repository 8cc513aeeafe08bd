//! `-p2` output: the elaborated program as SystemTap lists it.
//!
//! Input: a typed `ir::Program`. Output: text in SystemTap's pass-2 layout:
//! `# globals` (each `name:type`), `# functions` (each `name:type
//! (param:type, ...)`, its `# locals`, then its body as source, or its
//! embedded C), `# probes` (each derived probe's point, a comment naming
//! what it is, its `# locals` and its body as source). rstap adds one
//! comment line per probe, `# uses globals: ...`, the locks it takes.

use super::print_body::BodyPrinter;
use crate::ir::{FunctionBody, Local, ProbeKind, Program};

fn locals_section(out: &mut String, locals: &[Local]) {
    if !locals.is_empty() {
        out.push_str("  # locals\n");
        for l in locals {
            out.push_str(&format!("  {}:{}\n", l.name, l.ty.name()));
        }
    }
}

pub fn print_program(prog: &Program) -> String {
    let mut out = String::new();
    if !prog.globals.is_empty() {
        out.push_str("# globals\n");
        for g in &prog.globals {
            out.push_str(&format!("{}:{}\n", g.name, g.ty.name()));
        }
    }
    if !prog.functions.is_empty() {
        out.push_str("# functions\n");
        for f in &prog.functions {
            let params: Vec<String> = f.locals[..f.params.min(f.locals.len())]
                .iter()
                .map(|l| format!("{}:{}", l.name, l.ty.name()))
                .collect();
            out.push_str(&format!("{}:{} ({})\n", f.name, f.ret.name(), params.join(", ")));
            locals_section(&mut out, f.locals.get(f.params..).unwrap_or(&[]));
            match &f.body {
                FunctionBody::Script(body) => {
                    let mut p = BodyPrinter { prog, locals: &f.locals, out: String::new() };
                    p.block(body, 0);
                    out.push_str(&p.out);
                }
                FunctionBody::Embedded(code) => out.push_str(&format!("%{{{code}%}}\n")),
            }
        }
    }
    out.push_str("# probes\n");
    for p in &prog.probes {
        let kind = match &p.kind {
            ProbeKind::Begin => "begin".to_string(),
            ProbeKind::End => "end".to_string(),
            ProbeKind::Timer { interval_ns } => format!("timer every {interval_ns} ns"),
            ProbeKind::Kprobe { symbol, ret, .. } => {
                format!("kprobe on {symbol}{}", if *ret { " (return)" } else { "" })
            }
            ProbeKind::Tracepoint { name, args, .. } => format!("tracepoint {name}, {args} argument(s)"),
            ProbeKind::Hook(h) => h.describe(),
        };
        out.push_str(&format!("{} /* {} */\n", p.pp, kind));
        let Some(body) = prog.bodies.get(p.body) else { continue };
        locals_section(&mut out, &body.locals);
        if !p.locks.is_empty() {
            let locks: Vec<String> = p
                .locks
                .iter()
                .map(|&(g, w)| format!("{}{}", prog.globals[g].name, if w { " (write)" } else { "" }))
                .collect();
            out.push_str(&format!("  # uses globals: {}\n", locks.join(", ")));
        }
        let mut printer = BodyPrinter { prog, locals: &body.locals, out: String::new() };
        printer.block(&body.body, 0);
        out.push_str(&printer.out);
    }
    out
}
