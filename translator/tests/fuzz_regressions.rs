//! Inputs the fuzzer (fuzz/, target `parse_elaborate`) or its review found
//! crashing passes 1-2, each run the way the fuzz target runs them: parse
//! as a script, elaborate with rstap's tapsets and no kernel symbols,
//! render the diagnostics. Each must finish without a panic or a stack
//! overflow on an 8 MiB stack in a release build (debug builds use
//! several times more stack per frame, so they get 32 MiB); `stap` itself
//! runs the passes on a 64 MiB thread.

use rstap::diag::{render, Diagnostics, SourceMap};
use rstap::elaborate::{elaborate, ElabOptions};
use rstap::probes::NoSymbols;
use rstap::syntax::{parse_file, Macros, ParseOptions};
use std::path::Path;

/// Passes 1-2 on `text`; returns the rendered diagnostics.
fn run(text: String) -> String {
    std::thread::Builder::new()
        .stack_size(if cfg!(debug_assertions) { 32 << 20 } else { 8 << 20 })
        .spawn(move || {
            let opts = ParseOptions { guru: true, ..ParseOptions::default() };
            let mut sources = SourceMap::new();
            let mut diags = Diagnostics::new();
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tapsets");
            let library = rstap::tapset::load(&[dir], &opts, &mut sources, &mut diags);
            let mut macros: Macros = library.macros.clone();
            let tapsets = library.files;
            let id = sources.add("fuzz.stp", text);
            if let Some(file) = parse_file(&opts, &mut macros, &mut sources, id, &mut diags) {
                let eopts = ElabOptions { guru: true, ..ElabOptions::default() };
                let _ = elaborate(&eopts, &[file], &tapsets, &NoSymbols, &sources, &mut diags);
            }
            render(&sources, &diags)
        })
        .unwrap()
        .join()
        .expect("passes 1-2 panicked")
}

/// A left-associative chain of thousands of operators used to build a
/// tree thousands of levels deep (the parser's loop is iterative) that
/// printing, dropping and elaborating then overflowed the stack on; the
/// operators of one statement are now capped.
#[test]
fn long_operator_chains_are_capped() {
    for op in [" + 1", " . \"a\"", " && 1", " < 1"] {
        let text = format!("probe begin {{ x = 1{} }}", op.repeat(5000));
        let out = run(text);
        assert!(out.contains("expression too long"), "{op}: {out}");
    }
    // Parenthesised chains inside chains count too.
    let level = format!("(1{} + ", " + 1".repeat(100));
    let out = run(format!("probe begin {{ x = {}1{} }}", level.repeat(900), ")".repeat(900)));
    assert!(out.contains("expression too long"), "{}", &out[..out.len().min(300)]);
    // Within the caps, the deepest shapes elaborate: a chain at the
    // operator cap whose first operand is nested to the depth cap.
    let nested = format!("{}1{}", "(1 + ".repeat(990), ")".repeat(990));
    let out = run(format!("probe begin {{ x = {nested}{} }}", " + 1".repeat(1000)));
    assert!(!out.contains("error"), "{}", &out[..out.len().min(300)]);
    // Separate statements have their own counts.
    let stmt = format!("x = 1{}\n", " + 1".repeat(1500));
    let out = run(format!("probe begin {{ {} }}", stmt.repeat(3)));
    assert!(!out.contains("error"), "{}", &out[..out.len().min(300)]);
}

/// Trees as deep as the cap allows, of each recursive shape.
#[test]
fn deepest_trees_elaborate() {
    let n = 990;
    let cases = [
        format!("probe begin {{ x = {}1 }}", "~".repeat(n)),
        format!("function f(a) {{ return a }} probe begin {{ x = {}1{} }}", "f(".repeat(n), ")".repeat(n)),
        format!("probe begin {{ x = 0{} }}", " ? 1 : 0".repeat(n)),
        format!("probe begin {{ {}x = 1 }}", "if (1) ".repeat(n)),
        format!("probe begin {{ {}x = 1{} }}", "{ ".repeat(n), " }".repeat(n)),
        format!("probe begin {{ x = {}1{} }}", "(".repeat(n), ")".repeat(n)),
        // The tallest tree the caps allow: calls to the depth cap around a
        // chain at the operator cap.
        format!(
            "function f(a) {{ return a }} probe begin {{ x = {}1{}{} }}",
            "f(".repeat(n),
            " + 1".repeat(1999),
            ")".repeat(n)
        ),
    ];
    for c in cases {
        let out = run(c.clone());
        assert!(!out.contains("error"), "{}: {}", &c[..60], &out[..out.len().min(300)]);
    }
}
