//! IR for a store to the kernel (guru mode): `$var = v`, `$p->f += v`,
//! `$return = v`, `@cast(p, "T")->f = v`, `$p->name = "text"`.
//!
//! Input: what `elaborate::writes` resolved from DWARF. Output: a plain
//! description of the destination (a register of the probe's `pt_regs` or
//! an address computed like a read, see `ir_target`) and of the value.
//! Invariants: only built under `-g`; every memory write it describes is
//! fault-tolerant in the generated code (`rstap_kwrite*`, a bad address is
//! a script error); the destination's address is computed once.

use crate::debuginfo::Bitfield;
use crate::ir::{BinaryOp, Expr};
use crate::ir_target::TargetAccess;

/// One store.
#[derive(Debug, Clone)]
pub struct TargetStore {
    /// For memory destinations: the access whose value is the destination's
    /// address (its `fin` is `TargetFinal::Address`). For a register: the
    /// access is unused but for its `text` and `entry_regs`.
    pub dest: TargetAccess,
    pub kind: StoreKind,
    /// `$x op= v` (and `++`/`--` as `+= 1` / `-= 1`): the old value is read
    /// first and combined with `value`.
    pub op: Option<BinaryOp>,
    pub value: Expr,
    /// `$x++`: the expression's value is the old value, not the new one.
    pub post: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// Write `size` bytes (little endian) at the address; a bitfield
    /// replaces only its bits (read, modify, write).
    Memory { size: u8, signed: bool, bitfield: Option<Bitfield> },
    /// Set `pt_regs` field `field` of the probe's registers (a parameter
    /// held in a register, `$return` in a `.return` probe); the value is
    /// truncated to `size` bytes and extended as the type says.
    Register { field: &'static str, size: u8, signed: bool },
    /// A string into a `char[len]` array: at most `len - 1` bytes and a
    /// terminating NUL.
    CharArray { len: u64 },
}

impl TargetStore {
    /// The script expressions inside, in evaluation order: the
    /// destination's (the `@cast` operand, run-time indices), then the value.
    pub fn subexprs(&self) -> impl Iterator<Item = &Expr> {
        self.dest.subexprs().chain(std::iter::once(&self.value))
    }

    /// Like [`TargetStore::subexprs`], mutable.
    pub fn subexprs_mut(&mut self) -> Vec<&mut Expr> {
        let mut v = self.dest.subexprs_mut();
        v.push(&mut self.value);
        v
    }
}
