//! Pass 2: the parsed script plus the tapset library become an `ir::Program`.
//!
//! Input: the user's `ast::File`s, the tapset library's files, and what is
//! known of the target kernel (`KernelSymbols`, DWARF through `Dwarf`).
//! Output: a program whose probes are concrete, whose names are resolved
//! and whose types are known, or `None` with errors in `Diagnostics`.
//! Invariants: no IO; tapset functions and globals enter the program only
//! when the script uses them; every pass walks the IR through `ir::visit`.
//!
//! Pass 2 is this ordered list of passes, each a function in its own file
//! (`elaborate_with` runs them; the reason for each place is given there):
//!
//! | # | pass | file | in → out |
//! |---|------|------|----------|
//! | 1 | resolve symbols | `resolve` | AST files → `SymbolTable` |
//! | 2 | expand aliases | `aliases` | user probes + table → `PointExpansion`s |
//! | 3 | resolve probe points | `points` | a family's point → `ConcretePoint`s (called by 2 at each leaf) |
//! | 4 | lower to IR | `lower` (+ `derive`, `arrays`, `conditions`, `try_catch`, `print`...) | expansions + table → `Lowered` |
//! | 5 | resolve target variables | `resolve_targets` (called by 4 through `target`, `pretty`, `entry`, `writes`, per DWARF site, with the access's operands already lowered) | `UnresolvedTarget` → `ir::Target`; stores → `ir::TargetStore` |
//! | 6 | add the line table | `lines` | DWARF sites → `Program::lines` |
//! | 7 | infer types | `types` | `Program` (types Unknown) → typed `Program` |
//! | 7b | apply embedded-C pragmas | `guru` | `/* pure */` calls unused → gone, `/* stable */` → one call per hit |
//! | 7c | drop unread tapset stores | `unused_locals` | `name = "read"` of an alias nobody reads → gone |
//! | 8 | add the end-of-session dump | `dump` | typed `Program` → `Program` + `end` probe |
//! | 9 | compute locks | `locks` | final `Program` → `DerivedProbe::locks` |

pub mod aliases;
pub mod arrays;
mod at_ops;
mod autocast;
mod conditions;
mod derive;
pub mod dump;
mod entry;
mod hook_vars;
pub mod format;
pub mod guru;
mod lines;
pub mod locks;
pub mod lower;
pub mod needs;
mod overload;
pub mod points;
mod pretty;
pub mod print;
mod print_body;
pub mod resolve;
pub mod resolve_targets;
pub mod target;
mod tapset_probes;
mod syscall_params;
mod try_catch;
pub mod types;
mod unused_locals;
mod visibility;
mod writes;

use crate::diag::{Diagnostics, SourceMap};
use crate::ir::Program;
use crate::probes::KernelSymbols;
use crate::syntax::ast;

#[derive(Debug, Clone, Default)]
pub struct ElabOptions {
    /// -g: embedded C allowed in the user's script.
    pub guru: bool,
    /// Script arguments ($1...), for `$#`.
    pub args: Vec<String>,
    /// `-T SECONDS`: end the script after that long (an added
    /// `probe timer.s(SECONDS) { exit() }`).
    pub timeout_secs: Option<u64>,
    /// `--suppress-handler-errors`: a run-time error ends only the handler
    /// it happens in (each probe body is wrapped in a try block whose
    /// catch counts the error quietly).
    pub suppress_handler_errors: bool,
    /// `-u` (and `-L`, which lists what aliases set): keep the tapset's
    /// stores that nothing reads (pass 7c, `unused_locals`).
    pub keep_unread: bool,
}

/// Runs pass 2 without debuginfo.
pub fn elaborate(
    opts: &ElabOptions,
    user: &[ast::File],
    tapsets: &[ast::File],
    symbols: &dyn KernelSymbols,
    sources: &SourceMap,
    diags: &mut Diagnostics,
) -> Option<Program> {
    let dwarf = target::Dwarf { missing: "no kernel debuginfo was loaded".into(), ..Default::default() };
    elaborate_with(opts, user, tapsets, symbols, &dwarf, sources, diags)
}

/// Runs pass 2's passes in order; `dwarf` is the kernel's debuginfo (or
/// why it is missing).
pub fn elaborate_with(
    opts: &ElabOptions,
    user: &[ast::File],
    tapsets: &[ast::File],
    symbols: &dyn KernelSymbols,
    dwarf: &target::Dwarf<'_>,
    sources: &SourceMap,
    diags: &mut Diagnostics,
) -> Option<Program> {
    let errors_before = diags.error_count();
    // 0. Probes of the tapset files the script uses join its own, first:
    //    begin probes run in the order they appear (argv.stp's fills argv
    //    before the script's begin probes read it).
    let with_tapset_probes: Vec<ast::File>;
    let user = match tapset_probes::joined_probes(user, tapsets, sources) {
        Some(extra) => {
            with_tapset_probes = std::iter::once(extra).chain(user.iter().cloned()).collect();
            &with_tapset_probes[..]
        }
        None => user,
    };
    let files = resolve::Files { user, tapsets };
    // 1. Names first: every later pass looks definitions up by name, and
    //    the user's definitions must already override the library's.
    let table = resolve::resolve_symbols(opts, &files, diags)?;
    // 2-3. Aliases expand down to family points before anything is
    //    lowered: a body is lowered once per distinct expansion (per DWARF
    //    site), so the expansions must be known first.
    let expansions = aliases::expand_aliases(opts, &aliases::ExpandInput { user, table: &table, symbols, dwarf }, diags)?;
    // 4-5. Lowering binds every name and resolves target variables as it
    //    goes (`resolve_targets::resolve_target`, once an access's operands
    //    are lowered): a `$var` means what the DWARF site of its body says,
    //    and lowering still needs the answer on the spot: `@defined` picks
    //    the branch of an `if`/`?:` that is lowered at all, autocast types
    //    `p = $file; p->f_pos` from the resolved type, `$$parms`/`$var$`
    //    expand to one access per member, and `@entry` resolves its operand
    //    at an entry-time site.
    let lowered = lower::lower_program(opts, &lower::LowerInput { files, table: &table, expansions: &expansions, dwarf, sources }, diags)?;
    let lower::Lowered { mut prog, user_globals, line_sites } = lowered;
    crate::probes::watch::warn_if_too_many(&prog.probes, diags);
    // 6. The line table needs the final function list (is `symfileline`
    //    used?) and every DWARF site's address.
    lines::add_line_table(&mut prog, dwarf, &line_sites);
    // 7. Types need the whole program: inference flows across calls and
    //    globals. Unused globals are elided with a warning here.
    types::infer(&mut prog, diags);
    // 7b. Embedded-C pragmas (`/* pure */` elision, `/* stable */`
    //    memoization) need the types of the values they keep.
    guru::apply_pragmas(&mut prog);
    // 7c. Then the tapset's stores nobody reads go (it needs `/* pure */`).
    if !opts.keep_unread {
        unused_locals::elide(&mut prog, sources);
    }
    // 8. The dump prints globals by their types, so it follows inference.
    dump::add_dump_probe(&mut prog, &user_globals);
    // 9. Locks last: the dump probe reads globals too.
    locks::compute(&mut prog);
    if diags.error_count() > errors_before {
        return None;
    }
    Some(prog)
}
