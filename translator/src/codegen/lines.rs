//! The values of `templates/lines.c.tera` for `Program::lines`: the table
//! `symfileline`, `symfile` and `symline` search, and `rstap_line_find(addr)`.
//!
//! Input: an `ir::LineTable`. Output: one top-level C block (the fixed C,
//! including the binary search, is the template's). Invariants: the table
//! always has a final end row, so it is never empty; without an anchor (no
//! debuginfo) no address is shifted and no row matches but the end row;
//! file names reach C through the template's `cstr` filter.

use serde::Serialize;
use tera::Context;

use crate::ir::{LineTable, NO_FILE};

#[derive(Serialize)]
struct Row {
    /// Link-time address, hex digits.
    addr: String,
    file: u32,
    line: u32,
}

/// The C block for `t`.
pub fn line_table_c(t: &LineTable) -> Result<String, String> {
    let rows: Vec<Row> = t.rows.iter().map(|&(a, file, line)| Row { addr: format!("{a:x}"), file, line }).collect();
    let mut ctx = Context::new();
    ctx.insert("files", &t.files);
    ctx.insert("rows", &rows);
    ctx.insert("no_file", &NO_FILE);
    ctx.insert("anchor_link", &t.anchor_link.map(|l| format!("{l:x}")));
    super::templates::render("lines.c", &ctx)
}
