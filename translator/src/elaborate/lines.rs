//! Pass 2.6: the line table behind `symfileline`, `symfile` and `symline`.
//!
//! Input: the kernel DWARF probe sites of the script (`Lowered::line_sites`)
//! and whether the script calls one of those functions. Output:
//! `Program::lines`, the statement lines of every probed kernel function —
//! `(link-time address, file, line)` rows, sorted, with an end row after
//! each function — which codegen turns into a C table and
//! `rstap_line_find`. Invariants: the table exists whenever the functions
//! are used (empty when there is no debuginfo), so the tapset always
//! compiles; an address outside the probed functions has no row, and the
//! tapset then returns the address in hex, as SystemTap does when it does
//! not know the line.

use crate::ir;
use crate::ir::NO_FILE;

use super::target::Dwarf;

/// The tapset functions that read the table.
const USERS: &[&str] = &["symfileline", "symfile", "symline"];

/// Adds the line table to the program when the script needs it.
pub fn add_line_table(prog: &mut ir::Program, dwarf: &Dwarf<'_>, line_sites: &[u64]) {
    if !prog.functions.iter().any(|f| USERS.contains(&f.name.as_str())) {
        return;
    }
    let mut files: Vec<String> = Vec::new();
    let mut rows: Vec<(u64, u32, u32)> = Vec::new();
    let mut anchor = None;
    if let Some(di) = dwarf.debuginfo {
        anchor = super::target::anchor_link(di).ok();
        let mut done: Vec<(u64, u64)> = Vec::new();
        for &pc in line_sites {
            if done.iter().any(|&(lo, hi)| lo <= pc && pc < hi) {
                continue;
            }
            let Ok(Some(fl)) = di.function_lines(pc) else { continue };
            done.push((fl.low, fl.high));
            for (addr, file, line) in fl.rows {
                let idx = match files.iter().position(|f| *f == file) {
                    Some(i) => i,
                    None => {
                        files.push(file);
                        files.len() - 1
                    }
                };
                rows.push((addr, idx as u32, line));
            }
            rows.push((fl.high, NO_FILE, 0));
        }
    }
    // End rows sort before a function starting at the same address.
    rows.sort_by_key(|&(a, f, _)| (a, f != NO_FILE));
    prog.lines = Some(ir::LineTable { files, rows, anchor_link: anchor });
}
