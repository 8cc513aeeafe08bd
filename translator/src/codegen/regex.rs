//! C for `s =~ "re"` and `s !~ "re"` (pass 3).
//!
//! Input: the operator, the C of its left side and its right side (a
//! string literal that pass 2 checked compiles). Output: one C expression
//! (templates/expr/regex.c.tera) that runs rstap_re_exec
//! (runtime-c/rstap_regex.h) on the program's tables, which go to the
//! emitter's `regex_tables` (file scope, once per regex), with the
//! matcher's scratch as a frame temporary. Invariants: the work is charged
//! against MAXACTION (one action per 1024 instruction-bytes begun, at
//! least one per match); captures (and leftmost-longest matching) only
//! when the program calls matched(), matched_str() or ngroups().

use super::emit::Emitter;
use super::templates::{ctx, render_stmt};
use crate::ir::{BinaryOp, Expr, ExprKind};

/// The tapset functions that read the last match (tapsets/regex.stp).
const CAPTURE_READERS: &[&str] = &["matched", "matched_str", "ngroups"];

impl Emitter<'_> {
    pub(super) fn regex(&mut self, op: BinaryOp, lhs: String, rhs: &Expr) -> String {
        let ExprKind::Str(re) = &rhs.kind else {
            // syntax::checks rejects any other right side.
            return "0LL".to_string();
        };
        let captures = self.prog.functions.iter().any(|f| CAPTURE_READERS.contains(&f.name.as_str()));
        let table = match crate::regex::c_table::render(re, captures) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        };
        self.temps += 1;
        let scratch = format!("__t{}", self.temps);
        self.fields.push(format!("uint16_t {scratch}[RSTAP_RE_SCRATCH({}, {})]", table.insts, table.slots));
        let insts = table.insts.to_string();
        let scratch = format!("l->{scratch}");
        let negate = if op == BinaryOp::RegexNoMatch { "!" } else { "" };
        let last = if captures { "&CB->regex" } else { "NULL" };
        let code = render_stmt(
            "expr/regex.c",
            &ctx(&[("lhs", &lhs), ("table", &table.name), ("scratch", &scratch), ("insts", &insts), ("negate", negate), ("last", last)]),
        );
        if !self.regex_tables.iter().any(|(n, _)| *n == table.name) {
            self.regex_tables.push((table.name, table.code));
        }
        code
    }
}

/// Adds a body's tables to the module's, each regex once.
pub(super) fn collect(all: &mut Vec<(String, String)>, tables: Vec<(String, String)>) {
    for (name, code) in tables {
        if !all.iter().any(|(n, _)| *n == name) {
            all.push((name, code));
        }
    }
}
