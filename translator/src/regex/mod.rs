//! Regular expressions for `=~` and `!~`: parsed and compiled at
//! translate time, matched in the module by runtime-c/rstap_regex.h.
//!
//! Input: the regex text of a string literal (POSIX ERE, see `parse`).
//! Output: `Program`, the instructions of a bounded NFA (a Pike VM: byte,
//! any, byte set, split, jump, save, ^, $, match) with its byte sets, and
//! (`c_table`) the C data of that program, numbers only. Invariants: a
//! program has at most `MAX_INSTS` instructions and `MAX_GROUPS` groups,
//! so the matcher's scratch (sized from them) stays small; instruction 0
//! is `save 0` and the last is `match`; every jump target is in range.
//! Pass 2 calls `compile` to reject a bad regex (a located error), pass 3
//! calls it again to emit the table (the same text compiles the same way).

pub mod c_table;
pub mod parse;

pub use parse::{ByteSet, RegexError};
use parse::Node;

/// Most instructions a program may have.
pub const MAX_INSTS: usize = 512;
/// Most capture groups (`matched(1)` .. `matched(9)`).
pub const MAX_GROUPS: u32 = 9;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inst {
    Byte(u8),
    Any,
    /// Index into `Program::sets`.
    Set(u16),
    /// Try the first target, then the second.
    Split(u16, u16),
    Jmp(u16),
    /// Record the position in capture slot n.
    Save(u16),
    Bol,
    Eol,
    Match,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    pub insts: Vec<Inst>,
    pub sets: Vec<ByteSet>,
    /// Parenthesised groups (group 0, the whole match, not counted).
    pub groups: u32,
}

/// Compiles `re`; a bad or too large regex is an error with its offset.
pub fn compile(re: &[u8]) -> Result<Program, RegexError> {
    let parsed = parse::parse(re)?;
    if parsed.groups > MAX_GROUPS {
        return Err(RegexError { offset: 0, message: format!("more than {MAX_GROUPS} groups (`(`) in a regular expression") });
    }
    let mut c = Compiler { insts: Vec::new(), sets: Vec::new() };
    let too_large = || RegexError { offset: 0, message: format!("the regular expression is too large (more than {MAX_INSTS} NFA instructions; lower its repetition bounds)") };
    c.push(Inst::Save(0)).ok_or_else(too_large)?;
    c.node(&parsed.node).ok_or_else(too_large)?;
    c.push(Inst::Save(1)).ok_or_else(too_large)?;
    c.push(Inst::Match).ok_or_else(too_large)?;
    Ok(Program { insts: c.insts, sets: c.sets, groups: parsed.groups })
}

struct Compiler {
    insts: Vec<Inst>,
    sets: Vec<ByteSet>,
}

impl Compiler {
    /// Appends an instruction; None when the program is too large.
    fn push(&mut self, i: Inst) -> Option<usize> {
        if self.insts.len() >= MAX_INSTS {
            return None;
        }
        self.insts.push(i);
        Some(self.insts.len() - 1)
    }

    fn pc(&self) -> u16 {
        self.insts.len() as u16
    }

    fn node(&mut self, n: &Node) -> Option<()> {
        match n {
            Node::Empty => {}
            Node::Byte(b) => {
                self.push(Inst::Byte(*b))?;
            }
            Node::Any => {
                self.push(Inst::Any)?;
            }
            Node::Set(s) => {
                let idx = match self.sets.iter().position(|x| x == s) {
                    Some(i) => i,
                    None => {
                        self.sets.push(*s);
                        self.sets.len() - 1
                    }
                };
                self.push(Inst::Set(idx as u16))?;
            }
            Node::Bol => {
                self.push(Inst::Bol)?;
            }
            Node::Eol => {
                self.push(Inst::Eol)?;
            }
            Node::Group(inner, g) => {
                self.push(Inst::Save((2 * g) as u16))?;
                self.node(inner)?;
                self.push(Inst::Save((2 * g + 1) as u16))?;
            }
            Node::Concat(items) => {
                for i in items {
                    self.node(i)?;
                }
            }
            Node::Alt(alts) => {
                // split L1, next; L1: a; jmp end; next: split L2, ... ; last
                let mut jumps = Vec::new();
                for (k, a) in alts.iter().enumerate() {
                    if k + 1 < alts.len() {
                        let split = self.push(Inst::Split(0, 0))?;
                        self.node(a)?;
                        jumps.push(self.push(Inst::Jmp(0))?);
                        let next = self.pc();
                        self.insts[split] = Inst::Split(split as u16 + 1, next);
                    } else {
                        self.node(a)?;
                    }
                }
                let end = self.pc();
                for j in jumps {
                    self.insts[j] = Inst::Jmp(end);
                }
            }
            Node::Repeat { node, min, max } => {
                for _ in 0..*min {
                    self.node(node)?;
                }
                match max {
                    None => {
                        // L: split body, end; body; jmp L
                        let split = self.push(Inst::Split(0, 0))?;
                        self.node(node)?;
                        self.push(Inst::Jmp(split as u16))?;
                        let end = self.pc();
                        self.insts[split] = Inst::Split(split as u16 + 1, end);
                    }
                    Some(max) => {
                        // (x(x(x)?)?)? for the optional copies.
                        let mut splits = Vec::new();
                        for _ in *min..*max {
                            splits.push(self.push(Inst::Split(0, 0))?);
                            self.node(node)?;
                        }
                        let end = self.pc();
                        for s in splits {
                            self.insts[s] = Inst::Split(s as u16 + 1, end);
                        }
                    }
                }
            }
        }
        Some(())
    }
}

#[cfg(test)]
mod tests;
