//! Before pass 2.1: the probes of a tapset file itself (not its aliases)
//! that join the session, as SystemTap includes a library file's probes
//! when the script uses that file.
//!
//! Input: the user's files, the tapset library, the source texts. Output:
//! one extra `ast::File` holding clones of the `probe` items of every
//! tapset file that declares a global the user's script text names (the
//! word `argv` pulls in argv.stp's `begin(-1)` probe that fills it).
//! Invariants: only globals named in the user's own text and not declared
//! by the script itself count (a global
//! reached only through a tapset function does not pull its file in);
//! the probes keep their tapset spans, so errors point into the library;
//! the caller puts them before the script's own (begin probes run in the
//! order they appear).

use crate::diag::SourceMap;
use crate::syntax::ast;

/// The probes of the tapset files whose globals the script names; `None`
/// when there are none.
pub fn joined_probes(user: &[ast::File], tapsets: &[ast::File], sources: &SourceMap) -> Option<ast::File> {
    let declared: std::collections::HashSet<&str> = user
        .iter()
        .flat_map(|f| &f.items)
        .filter_map(|i| match i {
            ast::Item::Global(g) => Some(g.name.name.as_str()),
            _ => None,
        })
        .collect();
    let words: std::collections::HashSet<&str> = sources
        .files
        .iter()
        .filter(|f| !f.library)
        .flat_map(|f| f.text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')))
        .filter(|w| !w.is_empty())
        .collect();
    let mut out = ast::File::default();
    for file in tapsets {
        let named = file.items.iter().any(|i| matches!(i, ast::Item::Global(g) if !g.private && words.contains(g.name.name.as_str()) && !declared.contains(g.name.name.as_str())));
        if named {
            out.items.extend(file.items.iter().filter(|i| matches!(i, ast::Item::Probe(_))).cloned());
        }
    }
    (!out.items.is_empty()).then_some(out)
}
