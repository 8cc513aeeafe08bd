//! Fuzz target: arbitrary bytes as a script through pass 1 and, when it
//! parses, pass 2 with rstap's own tapset library (parsed once) and no
//! kernel symbols. Any panic, stack overflow or slow input is a bug:
//! passes 1-2 must answer every input with a result or diagnostics.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rstap::diag::{Diagnostics, SourceMap};
use rstap::elaborate::{elaborate, ElabOptions};
use rstap::probes::NoSymbols;
use rstap::syntax::{ast, parse_file, Macros, ParseOptions};

/// rstap's tapsets, compiled in so the target needs no files at run time.
const TAPSETS: &[(&str, &str)] = &[
    ("context.stp", include_str!("../../tapsets/context.stp")),
    ("conversions.stp", include_str!("../../tapsets/conversions.stp")),
    ("logging.stp", include_str!("../../tapsets/logging.stp")),
    ("string.stp", include_str!("../../tapsets/string.stp")),
    ("time.stp", include_str!("../../tapsets/time.stp")),
];

struct Library {
    sources: SourceMap,
    files: Vec<ast::File>,
}

fn library() -> &'static Library {
    static LIB: OnceLock<Library> = OnceLock::new();
    LIB.get_or_init(|| {
        let opts = ParseOptions { guru: true, ..ParseOptions::default() };
        let mut sources = SourceMap::new();
        let mut macros = Macros::default();
        let mut diags = Diagnostics::new();
        let mut files = Vec::new();
        for (name, text) in TAPSETS {
            let id = sources.add_library(*name, *text);
            if let Some(f) = parse_file(&opts, &mut macros, &mut sources, id, &mut diags) {
                files.push(f);
            }
        }
        Library { sources, files }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let lib = library();
    let opts = ParseOptions { guru: true, ..ParseOptions::default() };
    let mut sources = SourceMap { files: lib.sources.files.clone(), expansions: lib.sources.expansions.clone() };
    let id = sources.add("fuzz.stp", text);
    let mut macros = Macros::default();
    let mut diags = Diagnostics::new();
    let Some(file) = parse_file(&opts, &mut macros, &mut sources, id, &mut diags) else { return };
    let eopts = ElabOptions { guru: true, ..ElabOptions::default() };
    let _ = elaborate(&eopts, &[file], &lib.files, &NoSymbols, &sources, &mut diags);
    // Rendering must not panic either (spans inside the text, etc.).
    let _ = rstap::diag::render(&sources, &diags);
});
