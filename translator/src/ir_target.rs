//! IR nodes for target variables (`$var`, `$p->f[2]`, `@cast(p, "T")->f`),
//! decided in pass 2 from DWARF and spelled as C in pass 3
//! (`codegen::target`).
//!
//! Input: what `elaborate::target` resolved. Output: a plain description of
//! how to compute a value from the probe's registers (`pt_regs`) and kernel
//! memory. Invariants: nothing here refers to DWARF DIEs or types any more;
//! every memory read it describes is fault-tolerant in the generated code
//! (kernel memory, or user memory when `TargetAccess::user`).

use crate::debuginfo::{AccessOp, Bitfield, LocOp};
use crate::ir::Expr;

/// One target-variable read.
#[derive(Debug, Clone)]
pub struct TargetAccess {
    /// Where the starting value `cur` comes from.
    pub base: TargetBase,
    /// Address arithmetic applied to `cur` (see `debuginfo::AccessOp`),
    /// interleaved with run-time array indices.
    pub steps: Vec<TargetStep>,
    /// How the final value comes out of `cur`.
    pub fin: TargetFinal,
    /// `$file->f_pos` as the user wrote it, for error messages.
    pub text: String,
    /// Registers in `base` are those saved at the function's entry (a
    /// parameter in a `.return` probe), not the current ones.
    pub entry_regs: bool,
    /// The loads of `steps` and `fin` read user memory (through a system
    /// call's pointer parameter); the base is read as usual.
    pub user: bool,
}

#[derive(Debug, Clone)]
pub enum TargetBase {
    /// Run the location program on an empty stack (see `debuginfo::LocOp`);
    /// the value left is `cur`.
    Program(Vec<LocOp>),
    /// `cur` is the value of a script expression (`@cast`).
    Expr(Box<Expr>),
    /// `cur` is the run-time (KASLR-shifted) address of the kernel object
    /// at link-time address `link`: `&anchor - anchor_link + link`, where
    /// `anchor` is an exported kernel function the module can reference.
    KernelAddress { link: u64, anchor: String, anchor_link: u64 },
    /// `cur` is the run-time address of `symbol` (plus `offset`) in the
    /// loaded module `module`, looked up in the module's symbol table. 0
    /// and an error when the module is not loaded.
    ModuleSymbol { module: String, symbol: String, offset: u64 },
}

#[derive(Debug, Clone)]
pub enum TargetStep {
    Op(AccessOp),
    /// `cur += index * stride` with a run-time index.
    Index { index: Box<Expr>, stride: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetFinal {
    /// Read the object at address `cur`.
    Load(TargetRead),
    /// `cur` is the value itself (a register or computed value): truncate
    /// it to `size` bytes and sign-extend when `signed`.
    Value { size: u8, signed: bool },
    /// `cur` (an address of an array or struct) is the value.
    Address,
}

/// Read `size` bytes at `cur` (little endian), sign-extended when `signed`,
/// then extract a bitfield when given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetRead {
    pub size: u8,
    pub signed: bool,
    pub bitfield: Option<Bitfield>,
}

impl TargetAccess {
    /// The script expressions inside (the `@cast` operand, run-time
    /// indices), in evaluation order.
    pub fn subexprs(&self) -> impl Iterator<Item = &Expr> {
        let base = match &self.base {
            TargetBase::Expr(e) => Some(&**e),
            TargetBase::Program(_) | TargetBase::KernelAddress { .. } | TargetBase::ModuleSymbol { .. } => None,
        };
        base.into_iter().chain(self.steps.iter().filter_map(|s| match s {
            TargetStep::Index { index, .. } => Some(&**index),
            TargetStep::Op(_) => None,
        }))
    }

    /// Like [`TargetAccess::subexprs`], mutable (for type inference).
    pub fn subexprs_mut(&mut self) -> Vec<&mut Expr> {
        let mut out: Vec<&mut Expr> = Vec::new();
        if let TargetBase::Expr(e) = &mut self.base {
            out.push(&mut **e);
        }
        for s in &mut self.steps {
            if let TargetStep::Index { index, .. } = s {
                out.push(&mut **index);
            }
        }
        out
    }
}
