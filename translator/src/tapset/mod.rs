//! The tapset library: where it is and loading it.
//!
//! Input: the tapset directories (`-I DIR` first, then the default library)
//! and the parser options. Output: every `.stp` file parsed, with the macros
//! of every `.stpm` file loaded first so that all files can use them.
//! Invariants: the default library is found without configuration both in a
//! source checkout (`tapsets/` beside `target/`) and when installed
//! (`share/rstap/tapset` beside `bin/`); RSTAP_TAPSET_DIR overrides it.

pub mod dump;

use std::path::{Path, PathBuf};

use crate::diag::{Diagnostics, SourceMap};
use crate::syntax::{self, ast, Macros, ParseOptions};

pub struct TapsetLibrary {
    pub files: Vec<ast::File>,
    pub macros: Macros,
}

/// The default tapset directory, if one can be found.
pub fn default_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("RSTAP_TAPSET_DIR") {
        return Some(PathBuf::from(d));
    }
    let exe = std::env::current_exe().ok()?;
    let mut dir = exe.parent();
    // target/<triple>/<profile>/stap, target/<profile>/stap, <prefix>/bin/stap
    while let Some(d) = dir {
        for candidate in [d.join("tapsets"), d.join("share/rstap/tapset")] {
            if candidate.join("context.stp").is_file() {
                return Some(candidate);
            }
        }
        dir = d.parent();
    }
    None
}

fn collect(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, ext, out);
        } else if p.extension().is_some_and(|e| e == ext) {
            out.push(p);
        }
    }
}

/// Parses every tapset file of `dirs`. Files that fail to parse are
/// reported like the user's own.
pub fn load(dirs: &[PathBuf], opts: &ParseOptions, sources: &mut SourceMap, diags: &mut Diagnostics) -> TapsetLibrary {
    let mut macros = Macros::default();
    let mut files = Vec::new();
    for ext in ["stpm", "stp"] {
        let mut paths = Vec::new();
        for d in dirs {
            collect(d, ext, &mut paths);
        }
        for p in paths {
            let text = match std::fs::read_to_string(&p) {
                Ok(t) => t,
                Err(e) => {
                    diags.push(crate::diag::Diagnostic::error(format!("cannot read tapset {}: {e}", p.display()), None));
                    continue;
                }
            };
            let id = sources.add_library(p.display().to_string(), text);
            if let Some(f) = syntax::parse_file(opts, &mut macros, sources, id, diags) {
                if ext == "stp" {
                    files.push(f);
                }
            }
        }
    }
    TapsetLibrary { files, macros }
}
