//! C for `Program::lines`: the table `symfileline`, `symfile` and
//! `symline` search, and `rstap_line_find(addr)`.
//!
//! Input: an `ir::LineTable`. Output: one top-level C block. Invariants:
//! the table always has a final end row, so it is never empty; without an
//! anchor (no debuginfo) no address is shifted and no row matches but the
//! end row.

use super::emit::c_string;
use crate::ir::{LineTable, NO_FILE};

/// The C block for `t`.
pub fn line_table_c(t: &LineTable) -> String {
    let mut c = String::from("struct rstap_line_row {\n\tunsigned long addr;\n\tunsigned int file;\n\tunsigned int line;\n};\n\n");
    c.push_str("static const char *const rstap_line_files[] __maybe_unused = {\n");
    for f in &t.files {
        c.push_str(&format!("\t{},\n", c_string(f)));
    }
    c.push_str("\tNULL,\n};\n\nstatic const struct rstap_line_row rstap_line_rows[] = {\n");
    for (a, f, l) in &t.rows {
        c.push_str(&format!("\t{{ 0x{a:x}UL, {f}, {l} }},\n"));
    }
    c.push_str(&format!("\t{{ ~0UL, {NO_FILE}, 0 }},\n}};\n\n"));
    let shift = match t.anchor_link {
        Some(link) => format!("((unsigned long)&kfree - 0x{link:x}UL)"),
        None => "0UL".to_string(),
    };
    c.push_str(&format!(
        "/* The row of a run-time kernel address; NULL outside the probed functions. */
static __maybe_unused const struct rstap_line_row *rstap_line_find(unsigned long addr)
{{
	unsigned long link = addr - {shift};
	size_t lo = 0, hi = ARRAY_SIZE(rstap_line_rows);

	while (lo < hi) {{
		size_t mid = lo + (hi - lo) / 2;

		if (rstap_line_rows[mid].addr <= link)
			lo = mid + 1;
		else
			hi = mid;
	}}
	if (lo == 0 || rstap_line_rows[lo - 1].file == {NO_FILE})
		return NULL;
	return &rstap_line_rows[lo - 1];
}}
"
    ));
    c
}
