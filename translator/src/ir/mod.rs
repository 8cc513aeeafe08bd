//! The elaborated program: pass 2's output, pass 3's input.
//!
//! Invariants: every name is resolved to an index (`Local`, `Global`,
//! `Call`), every expression has a known `Type` once pass 2 succeeds, every
//! probe point is a concrete `ProbeKind`, and printf formats are already
//! split into literal text and typed conversions. Nothing here is C.
//! Every walk over the IR goes through [`visit`].

use crate::diag::Span;

pub mod store;
pub mod visit;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Unknown,
    Long,
    String,
    /// A statistic (the value of a global used with `<<<`); never the type
    /// of an expression.
    Stat,
}

impl Type {
    pub fn name(self) -> &'static str {
        match self {
            Type::Unknown => "unknown",
            Type::Long => "long",
            Type::String => "string",
            Type::Stat => "statistic",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Program {
    pub globals: Vec<Global>,
    pub functions: Vec<Function>,
    pub bodies: Vec<ProbeBody>,
    pub probes: Vec<DerivedProbe>,
    /// Top-level `%{ %}` blocks, in order.
    pub embedded: Vec<Embedded>,
    /// Source lines of the probed kernel functions, when the script asks
    /// for them (`symfileline`).
    pub lines: Option<LineTable>,
}

/// The file index of the row that ends a function in a [`LineTable`].
pub const NO_FILE: u32 = 0xffff;

/// `(link-time address, file index, line)` rows sorted by address; a row
/// with file [`NO_FILE`] ends a function. `anchor_link` is the link-time
/// address of `kfree`, whose run-time address gives the KASLR shift.
#[derive(Debug, Clone, Default)]
pub struct LineTable {
    pub files: Vec<String>,
    pub rows: Vec<(u64, u32, u32)>,
    pub anchor_link: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Embedded {
    pub code: String,
    /// "file:line" the block came from.
    pub origin: String,
}

#[derive(Debug, Clone)]
pub struct Global {
    pub name: String,
    /// The value type: of the scalar, or of each array element.
    pub ty: Type,
    pub init: Option<Init>,
    pub span: Span,
    /// An associative array: the type of each key (None: a scalar).
    pub keys: Option<Vec<Type>>,
    /// `global a[N]`: maximum entries (default MAXMAPENTRIES).
    pub max_entries: Option<u64>,
    /// `global a%[N]`: evict the oldest entry when full.
    pub wrap: bool,
    /// The histogram `@hist_*` reads from this statistic, if any.
    pub hist: Option<HistSpec>,
    /// The bit-shift of the `@variance` that reads this statistic, if any
    /// (the runtime tracks the variance only then).
    pub variance_shift: Option<u8>,
    /// Whether any probe or function reads the value (for the end-of-script
    /// dump of globals that are only written).
    pub read: bool,
}

impl Global {
    pub fn scalar(name: &str, ty: Type, init: Option<Init>, span: Span) -> Global {
        Global { name: name.to_string(), ty, init, span, keys: None, max_entries: None, wrap: false, hist: None, variance_shift: None, read: false }
    }

    pub fn is_array(&self) -> bool {
        self.keys.is_some()
    }
}

/// The buckets of a statistic's histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistSpec {
    Log,
    Linear { start: i64, stop: i64, interval: i64 },
}

pub use crate::syntax::ast::StatOp;

/// How a foreach orders its iterations: by the value (column 0) or by key
/// N (1-based); statistic values sort by `stat` (default @count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub column: usize,
    pub ascending: bool,
    pub stat: StatOp,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Init {
    Long(i64),
    String(String),
}

#[derive(Debug, Clone)]
pub struct Local {
    pub name: String,
    pub ty: Type,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Function {
    pub name: String,
    /// The first `params` locals are the parameters, in order.
    pub params: usize,
    pub locals: Vec<Local>,
    pub ret: Type,
    pub body: FunctionBody,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum FunctionBody {
    Script(Stmt),
    Embedded(String),
}

/// The code of one `probe` statement, shared by all its derived probes.
#[derive(Debug, Clone)]
pub struct ProbeBody {
    pub locals: Vec<Local>,
    pub body: Stmt,
    pub span: Span,
}

/// One concrete place the kernel will call us from.
#[derive(Debug, Clone)]
pub struct DerivedProbe {
    pub kind: ProbeKind,
    /// The probe point as `pp()` shows it: `kprobe.function("ksys_read")`.
    pub pp: String,
    pub body: usize,
    /// A `.return` probe's `@entry` values: the body that computes them in
    /// the kretprobe's entry handler, and how many there are.
    pub entry: Option<(usize, usize)>,
    /// Globals the body (and the functions it calls) reads or writes:
    /// (global index, written).
    pub locks: Vec<(usize, bool)>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeKind {
    Begin,
    End,
    Timer { interval_ns: u64 },
    /// A kprobe, or with `ret` a kretprobe tracking at most `maxactive`
    /// outstanding returns (0: the runtime's KRETACTIVE default).
    Kprobe { symbol: String, offset: u64, ret: bool, maxactive: u32 },
    /// `kernel.trace("S:E")`: a callback on tracepoint `name`, which passes
    /// `args` arguments after its `void *data`; `module` is the module that
    /// defines it (armed when that module loads), `None` for vmlinux.
    Tracepoint { name: String, args: usize, module: Option<String> },
    /// A family that hooks a kernel facility (profile tick, netfilter,
    /// procfs, perf): see `probes::hooks`.
    Hook(crate::probes::hooks::Hook),
}

#[derive(Debug, Clone)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum StmtKind {
    Block(Vec<Stmt>),
    Expr(Expr),
    If {
        cond: Expr,
        then: Box<Stmt>,
        els: Option<Box<Stmt>>,
    },
    While {
        cond: Expr,
        body: Box<Stmt>,
    },
    For {
        init: Option<Expr>,
        cond: Option<Expr>,
        step: Option<Expr>,
        body: Box<Stmt>,
    },
    /// `foreach ([k1, k2] in a)`, `foreach (v = [k] in a- limit 5)`: the
    /// keys and value are bound to locals of the body.
    Foreach {
        global: usize,
        /// `foreach (k in a[*, 5])`: one entry per key, None for `*`
        /// (empty: no slice).
        slice: Vec<Option<Expr>>,
        keys: Vec<usize>,
        value: Option<usize>,
        sort: Option<Sort>,
        limit: Option<Box<Expr>>,
        body: Box<Stmt>,
    },
    /// `delete a[k]` (keys Some) or `delete a` / `delete scalar` (None).
    Delete {
        global: usize,
        keys: Option<Vec<Expr>>,
    },
    /// `delete a[*, k]`: every element matching the keys that are given.
    DeleteSlice {
        global: usize,
        keys: Vec<Option<Expr>>,
    },
    Break,
    Continue,
    /// Leave the probe handler.
    Next,
    Return(Option<Expr>),
    /// `%{ %}` inside a body (guru mode).
    Embedded(String),
    Empty,
    /// `try { body } catch (var) { catch_body }`: a run-time error in
    /// `body` abandons it and runs `catch_body` with the message in the
    /// local `catch_var` (a string). See `codegen::try_catch`.
    Try {
        body: Box<Stmt>,
        catch_var: Option<usize>,
        catch_body: Box<Stmt>,
    },
}

#[derive(Debug, Clone)]
pub struct Expr {
    pub kind: ExprKind,
    pub ty: Type,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Var {
    Local(usize),
    Global(usize),
}

pub use crate::syntax::ast::{BinaryOp, UnaryOp};

#[derive(Debug, Clone)]
pub enum ExprKind {
    Long(i64),
    Str(String),
    Var(Var),
    Call {
        func: usize,
        args: Vec<Expr>,
    },
    /// Negation, `!`, `~`, unary plus.
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    /// `++x`, `x--`, ...
    IncDec {
        var: Var,
        increment: bool,
        prefix: bool,
    },
    /// Arithmetic, bitwise, logical, comparisons; `Concat` on strings.
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `var = value` or `var op= value`.
    Assign {
        var: Var,
        op: Option<BinaryOp>,
        value: Box<Expr>,
    },
    Ternary {
        cond: Box<Expr>,
        then: Box<Expr>,
        els: Box<Expr>,
    },
    /// `a[k1, k2]`: an element of an array (0 or "" when missing).
    Index {
        global: usize,
        keys: Vec<Expr>,
    },
    /// `a[k] = value`, `a[k] op= value`.
    IndexAssign {
        global: usize,
        keys: Vec<Expr>,
        op: Option<BinaryOp>,
        value: Box<Expr>,
    },
    /// `a[k]++` and friends.
    IndexIncDec {
        global: usize,
        keys: Vec<Expr>,
        increment: bool,
        prefix: bool,
    },
    /// `[k1, k2] in a`
    In {
        global: usize,
        keys: Vec<Expr>,
    },
    /// `[*, k] in a`: whether any element matches the keys given.
    InSlice {
        global: usize,
        keys: Vec<Option<Expr>>,
    },
    /// `s <<< value` (keys empty) or `s[k] <<< value`.
    Accumulate {
        global: usize,
        keys: Vec<Expr>,
        value: Box<Expr>,
    },
    /// `@count(s)`, `@avg(s[k])`, ...
    Stat {
        op: StatOp,
        global: usize,
        keys: Vec<Expr>,
    },
    /// `print(@hist_log(s))`: the histogram of the global's `hist`;
    /// `sprint(...)` (`to_string`): the same as a string (MAXSTRINGLEN).
    PrintHist {
        global: usize,
        keys: Vec<Expr>,
        newline: bool,
        to_string: bool,
    },
    /// `@hist_linear(s, ...)[i]`: the count of bucket i of the global's
    /// `hist` (0: below start, 1..N the natural buckets, N + 1: above stop;
    /// 0 for any other index or a missing element).
    HistBucket {
        global: usize,
        keys: Vec<Expr>,
        index: Box<Expr>,
    },
    /// print/printf/println/printd: to the output; sprintf and friends
    /// (`to_string`): a string value.
    Format {
        pieces: Vec<FormatPiece>,
        args: Vec<Expr>,
        to_string: bool,
    },
    /// A target variable read (`$var->f`), see `ir_target`.
    Target(Box<crate::ir_target::TargetAccess>),
    /// A store to a target variable (guru mode), see `ir::store`; its value
    /// is the value stored (the old one for `$x++`).
    TargetStore(Box<store::TargetStore>),
}

/// A piece of a printf format after pass 2 parsed it.
#[derive(Debug, Clone, PartialEq)]
pub enum FormatPiece {
    Text(String),
    /// One conversion applied to `arg`: `flags` ("-+ #0"), width and
    /// precision (`None`; `Some(n)`), and the conversion letter.
    Conv {
        arg: usize,
        flags: String,
        width: Option<u32>,
        precision: Option<u32>,
        conv: char,
    },
}
