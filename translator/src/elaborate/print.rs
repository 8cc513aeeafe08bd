//! `-p2` output: the elaborated program as SystemTap lists it.
//!
//! Input: a typed `ir::Program`. Output: text with `# globals`, `# functions`
//! and `# probes` sections, each symbol with its type and each derived probe
//! with its point, the alias chain's locals and the globals it locks.

use crate::ir::{Program, ProbeKind};

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
            let params: Vec<String> = f.locals[..f.params]
                .iter()
                .map(|l| format!("{}:{}", l.name, l.ty.name()))
                .collect();
            out.push_str(&format!("{}:{} ({})\n", f.name, f.ret.name(), params.join(", ")));
            let locals: Vec<String> = f.locals[f.params..]
                .iter()
                .map(|l| format!("{}:{}", l.name, l.ty.name()))
                .collect();
            if !locals.is_empty() {
                out.push_str(&format!("  # locals\n  {}\n", locals.join("\n  ")));
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
        };
        out.push_str(&format!("{} /* {} */\n", p.pp, kind));
        let body = &prog.bodies[p.body];
        if !body.locals.is_empty() {
            let locals: Vec<String> = body.locals.iter().map(|l| format!("{}:{}", l.name, l.ty.name())).collect();
            out.push_str(&format!("  # locals\n  {}\n", locals.join("\n  ")));
        }
        if !p.locks.is_empty() {
            let locks: Vec<String> = p
                .locks
                .iter()
                .map(|&(g, w)| format!("{}{}", prog.globals[g].name, if w { " (write)" } else { "" }))
                .collect();
            out.push_str(&format!("  # uses globals: {}\n", locks.join(", ")));
        }
    }
    out
}
