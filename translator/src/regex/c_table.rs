//! The C data of a compiled regex (templates/regex.c.tera), for the
//! matcher in runtime-c/rstap_regex.h.
//!
//! Input: a script string literal used as a regex, and whether the
//! program's scripts read captures (`matched()` and friends). Output: the
//! file-scope C of its tables and the name of its `struct rstap_re_prog`.
//! Invariants: the regex reaches the C only as numbers, and as a comment
//! through `c_text::c_comment` (the one escaping function); equal regexes
//! get the same name (a hash of the text), so a module holds each once.

use tera::Context;

use super::{compile, Inst, Program, RegexError};

/// The bytes of a script string (its `\377` escapes are one byte each).
pub fn regex_bytes(s: &str) -> Vec<u8> {
    s.chars()
        .flat_map(|c| match crate::syntax::lexer::byte_of_escape(c) {
            Some(b) => vec![b],
            None => c.to_string().into_bytes(),
        })
        .collect()
}

/// Checks the regex of a string literal (pass 2).
pub fn check(s: &str) -> Result<Program, RegexError> {
    compile(&regex_bytes(s))
}

/// One rendered table: its C and the name of its program struct.
pub struct CTable {
    pub name: String,
    pub code: String,
    /// Instructions (the matcher's work per byte is at most this).
    pub insts: usize,
    /// Capture slots the matcher keeps per thread.
    pub slots: usize,
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// Opcodes: the RSTAP_RE_* values of runtime-c/rstap_regex.h.
fn encode(i: Inst) -> (u8, u16, u16) {
    match i {
        Inst::Byte(b) => (0, b as u16, 0),
        Inst::Any => (1, 0, 0),
        Inst::Set(k) => (2, k, 0),
        Inst::Split(x, y) => (3, x, y),
        Inst::Jmp(x) => (4, x, 0),
        Inst::Save(n) => (5, n, 0),
        Inst::Bol => (6, 0, 0),
        Inst::Eol => (7, 0, 0),
        Inst::Match => (8, 0, 0),
    }
}

/// The C of the regex `s`; `captures`: keep every group's position and
/// find the leftmost-longest match (else slots 0 and 1 only, and the
/// first match found ends the search).
pub fn render(s: &str, captures: bool) -> Result<CTable, String> {
    let bytes = regex_bytes(s);
    let prog = compile(&bytes).map_err(|e| format!("internal error: regex passed pass 2 but not pass 3: {e}"))?;
    let mut key = bytes.clone();
    key.push(captures as u8);
    let name = format!("rstap_re_{:016x}", fnv(&key));
    let slots = if captures { 2 * (prog.groups as usize + 1) } else { 2 };
    let insts: Vec<String> = prog
        .insts
        .iter()
        .map(|&i| {
            let (op, x, y) = encode(i);
            format!("{{ {op}, {x}, {y} }}")
        })
        .collect();
    let sets: Vec<String> = prog
        .sets
        .iter()
        .map(|s| s.0.iter().map(|w| format!("0x{w:08x}")).collect::<Vec<_>>().join(", "))
        .collect();
    let mut ctx = Context::new();
    ctx.insert("name", &name);
    ctx.insert("regex", s);
    ctx.insert("insts", &insts);
    ctx.insert("sets", &sets);
    ctx.insert("slots", &slots);
    ctx.insert("groups", &prog.groups);
    ctx.insert("longest", &(captures as u8));
    let code = crate::codegen::render_template("regex.c", &ctx)?;
    Ok(CTable { name, code, insts: prog.insts.len(), slots })
}
