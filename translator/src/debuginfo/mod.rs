//! DWARF debuginfo for pass 2: functions, variables, locations, types.
//!
//! Input: a debuginfo ELF file (vmlinux, a module `.ko`, a test binary),
//! reached only through the [`DebugInfo`] trait so that pass 2 can be tested
//! with an in-memory fake. Output: plain data ([`FunctionInfo`],
//! [`Variable`], [`TypeInfo`], [`Location`]) — no gimli type leaks out.
//!
//! Invariants:
//! - Nothing here panics on malformed DWARF; every failure is a
//!   [`DebugInfoError`].
//! - A [`DieRef`] / [`TypeId`] is the offset of a DIE in `.debug_info` of the
//!   file it came from; it is only meaningful for the `DebugInfo` that
//!   returned it.
//! - Addresses are link-time addresses of the file (for vmlinux: the kernel's
//!   virtual addresses before KASLR).
//!
//! Submodules: `find` (locate debuginfo files as SystemTap does), `image`
//! (build id of a kernel image, for `-r RELEASE`), `pattern`
//! (`"func@file:line"`), `scan` (the fast function index), `cache`
//! (optional on-disk copy of that index), `dwarf` (the gimli-backed
//! implementation), `vars` (variables at a pc), `location` (DWARF
//! expressions → [`LocOp`]), `types` (type names, member lookup,
//! `$a->b[2]` resolution), `labels` (a function's C labels), `listing` (`stap -l` / `-L` lines), `fake` (an
//! in-memory `DebugInfo` for pass-2 tests), `btf` (the kernel's `.BTF` as a
//! `DebugInfo`: types and function prototypes, no locations) and
//! `trace_events` (BTF and trace events read from a kernel image, cached).
//!
//! How pass 2 uses it (the driver owns the `DebugFile`, pass 2 sees only
//! `&dyn DebugInfo`):
//! ```no_run
//! use rstap::debuginfo::{self, find, types, AccessStep, DebugInfo, FunctionPattern, PrologueMode};
//! use rstap::debuginfo::dwarf::{DebugFile, DwarfDebugInfo};
//! // Driver: find and map the debuginfo (roots: extracted -dbg packages).
//! let target = find::KernelTarget::for_release("6.1.0-56-cloud-amd64");
//! let found = find::find_kernel_debuginfo(&target, &[]).unwrap();
//! let file = DebugFile::open(&found.path).unwrap();
//! let di = DwarfDebugInfo::new(&file).unwrap();
//! let di: &dyn DebugInfo = &di;
//! // Pass 2: kernel.function("vfs_read@fs/read_write.c") { $file->f_pos }
//! let pat = FunctionPattern::parse("vfs_read@fs/read_write.c").unwrap();
//! for f in di.functions(&pat).unwrap() {
//!     // One probe site per out-of-line copy; f.inline_instances and
//!     // f.clones are further sites (each with its own DIE and entry pc).
//!     let pc = f.probe_pc(PrologueMode::Auto).unwrap();
//!     let vars = di.variables(f.die, pc).unwrap();
//!     let file_var = vars.iter().find(|v| v.name == "file").unwrap();
//!     let acc = types::resolve_access(di, file_var.type_id.unwrap(),
//!         &[AccessStep::Field("f_pos".into())]).unwrap();
//!     // file_var.location: Location::Register(Reg(5)) → regs->di;
//!     // acc.ops: [Add(104)] → read size_of(acc.final_type) bytes at regs->di + 104.
//!     println!("{} {:?} {:?}", f.name, file_var.location, acc.ops);
//! }
//! ```

pub mod btf;
mod cache;
pub mod dwarf;
pub mod fake;
pub mod find;
pub mod image;
mod labels;
pub mod listing;
pub mod location;
pub mod module_tracepoints;
pub mod pattern;
mod scan;
pub mod system_map;
pub mod trace_events;
pub mod types;
mod vars;

pub use pattern::FunctionPattern;

use std::fmt;

/// Offset of a DIE in `.debug_info` of one debuginfo file.
pub type DieRef = u64;

/// A type, named by the offset of its DIE (see [`DieRef`]).
pub type TypeId = u64;

/// Errors of this library. Messages are complete sentences for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DebugInfoError {
    /// No debuginfo file was found; `package` is what to install.
    NotFound { what: String, tried: Vec<String>, package: String },
    /// The debuginfo's build id differs from the target's.
    BuildIdMismatch { path: String, expected: String, found: String, package: String },
    /// Reading the file failed.
    Io(String),
    /// The DWARF is malformed or uses something unsupported.
    Dwarf(String),
    /// A user-level lookup failed (no such member, bad pattern, ...).
    Lookup(String),
}

impl fmt::Display for DebugInfoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DebugInfoError::NotFound { what, tried, package } => {
                write!(f, "missing debuginfo for {what}; install package `{package}`")?;
                if !tried.is_empty() {
                    write!(f, " (tried: {})", tried.join(", "))?;
                }
                Ok(())
            }
            DebugInfoError::BuildIdMismatch { path, expected, found, package } => write!(
                f,
                "debuginfo {path} has build id {found}, but the kernel has {expected}; install the matching `{package}`"
            ),
            DebugInfoError::Io(m) | DebugInfoError::Dwarf(m) | DebugInfoError::Lookup(m) => {
                f.write_str(m)
            }
        }
    }
}

impl std::error::Error for DebugInfoError {}

impl From<gimli::Error> for DebugInfoError {
    fn from(e: gimli::Error) -> Self {
        DebugInfoError::Dwarf(format!("malformed DWARF: {e}"))
    }
}

pub type Result<T> = std::result::Result<T, DebugInfoError>;

/// Where `kernel.function("f")` places its probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrologueMode {
    /// SystemTap's default: for optimized code (gcc -O1 and up, whose
    /// location lists are valid from the first instruction) probe the entry
    /// pc; for unoptimized code probe the end of the prologue.
    Auto,
    /// `stap -P`: always probe the end of the prologue.
    Always,
    /// Always the entry pc.
    Never,
}

/// One function matching a pattern: its out-of-line instance (if any) and
/// its inlined instances.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionInfo {
    pub name: String,
    /// Name of the compilation unit, e.g. `fs/read_write.c`.
    pub cu_name: String,
    /// Declaring file relative to the compilation directory, e.g.
    /// `fs/read_write.c` or `include/linux/fs.h`.
    pub decl_file: Option<String>,
    pub decl_line: u32,
    /// `DW_AT_external`: visible outside its CU.
    pub external: bool,
    /// The DIE to ask [`DebugInfo::variables`] about for the out-of-line
    /// instance (the concrete DIE), or the abstract DIE when there is none.
    pub die: DieRef,
    /// First instruction of the out-of-line instance; `None` if the function
    /// exists only inlined.
    pub entry_pc: Option<u64>,
    /// End of the prologue by the line table (first `is_stmt` row after the
    /// entry that starts a new line, or a row flagged `prologue_end`).
    pub prologue_end: Option<u64>,
    /// The CU was compiled with optimization (producer has `-O` other than
    /// `-O0`).
    pub optimized: bool,
    pub inline_instances: Vec<InlineInstance>,
    /// Other out-of-line copies made by the compiler (`f.part.0`,
    /// `f.isra.0`, `f.constprop.0`); SystemTap probes them too. Their
    /// parameters may differ from the source (IPA-SRA removes some).
    pub clones: Vec<CloneInstance>,
    /// The return type (`$return` of `.return` probes); `None` is `void`.
    pub return_type: Option<TypeId>,
}

impl FunctionInfo {
    /// The probe address of the out-of-line instance under `mode`.
    pub fn probe_pc(&self, mode: PrologueMode) -> Option<u64> {
        let entry = self.entry_pc?;
        let skip = match mode {
            PrologueMode::Auto => !self.optimized,
            PrologueMode::Always => true,
            PrologueMode::Never => false,
        };
        Some(if skip { self.prologue_end.unwrap_or(entry) } else { entry })
    }

    /// `name@decl_file:decl_line` as `stap -l` prints it.
    pub fn spec(&self) -> String {
        match &self.decl_file {
            Some(f) => format!("{}@{}:{}", self.name, f, self.decl_line),
            None => self.name.clone(),
        }
    }
}

/// A compiler-made out-of-line copy of a function (see
/// [`FunctionInfo::clones`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloneInstance {
    /// Its `DW_TAG_subprogram`; pass it to [`DebugInfo::variables`].
    pub die: DieRef,
    pub entry_pc: u64,
    pub prologue_end: Option<u64>,
}

/// One inlined copy of a function inside some caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InlineInstance {
    /// The `DW_TAG_inlined_subroutine` DIE; pass it to [`DebugInfo::variables`].
    pub die: DieRef,
    /// First address of the inlined code (`DW_AT_entry_pc`, else `low_pc`,
    /// else the start of the first range).
    pub entry_pc: u64,
    pub call_file: Option<String>,
    pub call_line: u32,
}

/// A place where a source line starts (`kernel.statement("*@file:N")`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementSite {
    pub address: u64,
    /// The source file as the line table names it (relative to the
    /// compilation directory).
    pub file: String,
    pub line: u32,
    /// The out-of-line function containing the address, if known: its
    /// name and DIE (pass the DIE and `address` to
    /// [`DebugInfo::variables`]).
    pub function: Option<(String, DieRef)>,
}

/// A C label with code in a function (`.function("f").label("NAME")`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub name: String,
    /// The label's address (`DW_AT_low_pc`, link-time).
    pub pc: u64,
    /// Where the label is declared (`DW_AT_decl_file`, relative to the
    /// compilation directory, and `DW_AT_decl_line`; 0 when unknown).
    pub decl_file: Option<String>,
    pub decl_line: u32,
}

/// The line table of one function: `[low, high)` and the first address
/// of each statement line in it, `(address, file, line)`, sorted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionLines {
    pub low: u64,
    pub high: u64,
    pub rows: Vec<(u64, String, u32)>,
}

/// Is a variable a parameter or a local?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarKind {
    Param,
    Local,
    /// A file-scope variable (`@var("name@file")`).
    Global,
}

/// A parameter or local variable visible at a probe address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variable {
    pub name: String,
    pub kind: VarKind,
    pub type_id: Option<TypeId>,
    /// The type as SystemTap prints it (`struct file*`, `char const*`).
    pub type_name: String,
    pub location: VarLocation,
}

/// Where a variable's value is at one pc.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VarLocation {
    Available(Location),
    /// The variable exists but has no location at this pc (not in its
    /// location list, or no location at all).
    OptimizedOut,
    /// The DWARF expression uses something we cannot translate.
    Unsupported(String),
}

/// An x86-64 DWARF register number (0 rax, 1 rdx, 2 rcx, 3 rbx, 4 rsi,
/// 5 rdi, 6 rbp, 7 rsp, 8-15 r8-r15, 16 return address / rip).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Reg(pub u16);

impl Reg {
    pub const RSP: Reg = Reg(7);

    /// The field of the kernel's x86-64 `struct pt_regs` holding it, or
    /// `None` for registers pt_regs does not hold (xmm, ...).
    pub fn pt_regs_field(self) -> Option<&'static str> {
        const F: [&str; 17] = [
            "ax", "dx", "cx", "bx", "si", "di", "bp", "sp", "r8", "r9", "r10", "r11", "r12",
            "r13", "r14", "r15", "ip",
        ];
        F.get(self.0 as usize).copied()
    }

    /// The assembler name (`rax`, `r12`, `rip`), or `dwarfreg<N>`.
    pub fn name(self) -> String {
        const N: [&str; 17] = [
            "rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11",
            "r12", "r13", "r14", "r15", "rip",
        ];
        N.get(self.0 as usize).map(|s| s.to_string()).unwrap_or_else(|| format!("dwarfreg{}", self.0))
    }
}

/// A variable's location at one pc, translated from DWARF.
///
/// Semantics, for the code generator:
/// - `Register(r)`: the value is the content of register `r` (read
///   `regs->FIELD`, then truncate to the type's size).
/// - `Memory(ops)`: run `ops` (see [`LocOp`]) on an empty stack; the one
///   value left is the *address* of the variable in kernel memory; read the
///   type's size from there with a fault-tolerant read.
/// - `Value(ops)`: run `ops`; the value left *is* the variable's value
///   (`DW_OP_stack_value`), there is no address (not writable).
/// - `ImplicitValue(bytes)`: the value's bytes, little endian (constant).
/// - `Pieces`: the value is assembled from pieces in order, lowest bytes
///   first; a piece with `location: None` is optimized out.
/// - `ImplicitPointer { target, offset }` (`DW_OP_implicit_pointer`): the
///   variable is a pointer whose value no longer exists, but what it points
///   to does: `*var` / `var->field` is the object of variable DIE `target`
///   (ask [`DebugInfo::variable_at`] for its location at the same pc),
///   `offset` bytes in. The pointer value itself cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Register(Reg),
    Memory(Vec<LocOp>),
    Value(Vec<LocOp>),
    ImplicitValue(Vec<u8>),
    Pieces(Vec<Piece>),
    ImplicitPointer { target: DieRef, offset: i64 },
}

/// One piece of a composite location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    pub size_bits: u64,
    /// Offset in bits into the register/memory where the piece starts
    /// (`DW_OP_bit_piece`); 0 for `DW_OP_piece`.
    pub bit_offset: u64,
    pub location: Option<Box<Location>>,
}

/// One operation of a location program: a stack machine on unsigned 64-bit
/// values, like DWARF's but with registers named and frame base / CFA
/// already resolved.
///
/// - `Reg(r)`: push the value of register `r` (from `pt_regs`).
/// - `RegOffset(r, k)`: push `reg + k` (wrapping).
/// - `EntryValue(r)`: push the value register `r` had at the function's
///   entry. Only computable when the probe is at the entry pc, where it is
///   the current value of `r`; elsewhere the code generator must refuse.
/// - `Const(k)`: push `k`.
/// - `Plus(k)`: top = top + k (wrapping).
/// - `Deref { size }`: pop an address, push the `size`-byte little-endian
///   value read there (fault-tolerant; zero-extended).
/// - `Dup`, `Drop`, `Swap`, `Over`, `Rot`, `Pick(i)`: DWARF's stack ops.
/// - `Binary(op)`: pop b, pop a, push `a op b`. `Unary(op)`: top = op top.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LocOp {
    Reg(Reg),
    RegOffset(Reg, i64),
    EntryValue(Reg),
    Const(u64),
    Plus(i64),
    Deref { size: u8 },
    Dup,
    Drop,
    Swap,
    Over,
    Rot,
    Pick(u8),
    Binary(BinOp),
    Unary(UnOp),
}

/// Binary operators of [`LocOp::Binary`]; `Div`/`Mod` are signed as in
/// DWARF; `Shr` is logical, `Shra` arithmetic; comparisons push 1 or 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    And,
    Or,
    Xor,
    Shl,
    Shr,
    Shra,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Unary operators of [`LocOp::Unary`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    Not,
    Abs,
}

/// How a base type's bits are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BaseEncoding {
    Signed,
    Unsigned,
    Bool,
    Float,
    Other,
}

/// A type, one level deep: referenced types are [`TypeId`]s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeInfo {
    pub id: TypeId,
    /// The DIE's own name (`file` for `struct file`, `size_t`, `int`).
    pub name: Option<String>,
    /// Byte size, when the DWARF gives or implies one.
    pub size: Option<u64>,
    /// A declaration only (`struct foo;`): no members known here.
    pub declaration: bool,
    pub kind: TypeKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeKind {
    Base(BaseEncoding),
    /// `target: None` is `void *`.
    Pointer { target: Option<TypeId> },
    /// `dims[0]` is the outermost dimension; `None` = unknown count (`[]`).
    Array { element: TypeId, dims: Vec<Option<u64>> },
    Struct { members: Vec<Member> },
    Union { members: Vec<Member> },
    Enum { enumerators: Vec<(String, i64)> },
    Typedef { target: Option<TypeId> },
    Const { target: Option<TypeId> },
    Volatile { target: Option<TypeId> },
    Restrict { target: Option<TypeId> },
    Function { ret: Option<TypeId>, params: Vec<TypeId>, variadic: bool },
    Void,
    Other(String),
}

/// A struct/union member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// `None` for an anonymous struct/union member.
    pub name: Option<String>,
    pub type_id: TypeId,
    /// Byte offset from the start of the containing struct. For a bitfield:
    /// the byte holding its lowest bit.
    pub offset: u64,
    pub bitfield: Option<Bitfield>,
}

/// Bitfield position: the value is bits `[bit_offset, bit_offset +
/// bit_size)` of the little-endian integer starting at the member's byte
/// `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bitfield {
    pub bit_offset: u32,
    pub bit_size: u32,
}

/// One step of a target-variable access: `->name` / `.name` or `[i]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccessStep {
    Field(String),
    Index(i64),
}

/// What [`types::resolve_access`] computes; see [`AccessOp`] for the
/// semantics of `ops`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedAccess {
    pub ops: Vec<AccessOp>,
    /// Type of the final object (typedefs not stripped).
    pub final_type: TypeId,
    /// Set when the final member is a bitfield.
    pub bitfield: Option<Bitfield>,
}

/// Address arithmetic of a resolved access, on one value `cur`.
///
/// `cur` starts as the base variable's *value* when the base type is a
/// pointer, or the base variable's *address* when it is a struct, union or
/// array. After the ops, `cur` is the address of the final object: read
/// `size(final_type)` bytes there (or take `cur` itself as the value of an
/// array / struct "address-of" result).
/// - `Add(k)`: cur = cur + k.
/// - `Load { size }`: cur = *(u<size*8> *)cur, a fault-tolerant read (going
///   through a pointer member).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessOp {
    Add(i64),
    Load { size: u8 },
}

/// Everything pass 2 needs from DWARF. Implemented by
/// [`dwarf::DwarfDebugInfo`]; tests of pass 2 may implement it in memory.
pub trait DebugInfo {
    /// Functions (definitions, out-of-line or inlined) matching `pattern`,
    /// sorted by name then entry pc.
    fn functions(&self, pattern: &FunctionPattern) -> Result<Vec<FunctionInfo>>;

    /// Parameters then locals of the function or inlined instance `scope`
    /// (a [`FunctionInfo::die`] or [`InlineInstance::die`]), with their
    /// locations at `pc`. Locals of nested lexical blocks are included when
    /// the block contains `pc`.
    fn variables(&self, scope: DieRef, pc: u64) -> Result<Vec<Variable>>;

    /// One variable DIE (e.g. the target of a
    /// [`Location::ImplicitPointer`]) with its location at `pc`.
    fn variable_at(&self, var: DieRef, pc: u64) -> Result<Variable>;

    /// A file-scope variable by name, for `@var("name[@file]")` and for
    /// `$name` that is not a local. With `file`, only units whose name
    /// matches it (as in [`FunctionPattern::matches_file`]) are searched.
    /// Its location is `Memory([Const(address)])` (or a constant).
    fn global_variable(&self, name: &str, file: Option<&str>) -> Result<Option<Variable>>;

    /// Where line `line` of files matching `file` starts: the first
    /// address of each run of `is_stmt` line-table rows for that line,
    /// sorted by address.
    fn line_addresses(&self, file: &str, line: u32) -> Result<Vec<StatementSite>>;

    /// The C labels with an address in the function copy `scope` (a
    /// [`FunctionInfo::die`] with an entry pc, a [`CloneInstance::die`] or
    /// an [`InlineInstance::die`]), including those in its lexical blocks
    /// but not those of functions inlined into it, sorted by address.
    fn labels(&self, _scope: DieRef) -> Result<Vec<Label>> {
        Ok(Vec::new())
    }

    /// The line table of the out-of-line function containing `pc`:
    /// `symfileline(addr)` answers from these rows.
    fn function_lines(&self, _pc: u64) -> Result<Option<FunctionLines>> {
        Ok(None)
    }

    /// The ELF data symbol holding `addr` and the offset in it, e.g.
    /// `("tm_counter", 0)`: a module's variable is found at run time by
    /// its symbol in the module's own symbol table.
    fn data_symbol_at(&self, _addr: u64) -> Option<(String, u64)> {
        None
    }

    /// Whether the kernel (or module) exports `name` with EXPORT_SYMBOL
    /// (it has a `__ksymtab_NAME` symbol): `.function("f").exported`.
    fn is_exported(&self, _name: &str) -> bool {
        false
    }

    /// The ELF function symbol containing `addr` and the offset from it,
    /// e.g. `("vfs_read", 0)` or `("use_helper", 0x12)` for an inlined
    /// copy: kprobes are registered as symbol + offset, which survives
    /// KASLR and module loading.
    fn symbol_at(&self, _addr: u64) -> Option<(String, u64)> {
        None
    }

    /// The ELF section holding `addr` and the offset in it, e.g.
    /// `(".init.text", 0x40)`: pass 2 refuses probes in sections that are
    /// gone or unprobeable at run time (`.init.*`, `.exit.*`,
    /// `.noinstr.text`, `.entry.text`, `.kprobes.text`), and a module's
    /// probe is placed at `section + offset`.
    fn section_of(&self, _addr: u64) -> Option<(String, u64)> {
        None
    }

    /// One type, one level deep.
    fn type_info(&self, ty: TypeId) -> Result<TypeInfo>;

    /// A type by C name: `struct task_struct`, `union foo`, `enum bar`, or
    /// a typedef / base type name (`size_t`, `int`). Complete definitions
    /// are preferred over declarations.
    fn find_type(&self, name: &str) -> Result<Option<TypeId>>;
}
