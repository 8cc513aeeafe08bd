//! The abstract syntax tree that pass 1 produces.
//!
//! Input: nothing (these are plain data types). Output: `File`, one per parsed
//! script or tapset file. Invariants: every node carries the `Span` of the
//! source text it came from (after preprocessing, a span still points into the
//! original file; `Span::ctx` names the macro expansion it came through, see
//! `crate::diag::SourceMap`). Nothing here knows about types or probes'
//! meaning; that is pass 2's job.

use crate::diag::Span;

/// A name as written, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// One parsed file (script, `-e` text or tapset).
#[derive(Debug, Clone, Default)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Debug, Clone)]
pub enum Item {
    Probe(Probe),
    Alias(ProbeAlias),
    Global(Global),
    Function(Function),
    /// Top-level `%{ ... %}` (guru mode): copied verbatim into the module.
    Embedded(EmbeddedC),
}

/// `probe PP, PP? { ... }`
#[derive(Debug, Clone)]
pub struct Probe {
    pub points: Vec<ProbePoint>,
    pub body: Block,
    /// `private probe ...` is not legal, but tapsets mark aliases private;
    /// kept for printing.
    pub span: Span,
}

/// Whether an alias body runs before (`=`) or after (`+=`) the user's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AliasKind {
    /// `probe a = b { prologue }`
    Prologue,
    /// `probe a += b { epilogue }`
    Epilogue,
}

/// `probe name1, name2 = point1, point2 { ... }`
#[derive(Debug, Clone)]
pub struct ProbeAlias {
    pub names: Vec<ProbePoint>,
    pub kind: AliasKind,
    pub points: Vec<ProbePoint>,
    pub body: Block,
    /// `probe a = b { prologue }, { epilogue }`: the second block, run
    /// after the user's body.
    pub epilogue: Option<Block>,
    pub private: bool,
    pub span: Span,
}

/// `kernel.function("vfs_read").return?` and friends.
#[derive(Debug, Clone)]
pub struct ProbePoint {
    pub components: Vec<Component>,
    /// `?` suffix: it is not an error if this point matches nothing.
    pub optional: bool,
    /// `!` suffix: optional, and once it matches, later points are skipped.
    pub sufficient: bool,
    /// `if (expr)` after the point (boxed: rare, and a point is kept small).
    pub condition: Option<Box<Expr>>,
    pub span: Span,
}

/// One dotted part of a probe point: `function("vfs_*")`, `return`, `ms(100)`.
#[derive(Debug, Clone)]
pub struct Component {
    /// May contain `*` wildcards (`syscall.*`), or be `*` alone.
    pub name: String,
    pub arg: Option<Literal>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Number(i64),
    String(String),
}

/// `global name`, `global name = 5`, `global arr[1000]`, `global w%[100]`.
#[derive(Debug, Clone)]
pub struct Global {
    pub name: Ident,
    pub init: Option<Literal>,
    /// Maximum entries for an array (`[1000]`).
    pub size: Option<u64>,
    /// `%`: a wrapping array that evicts old entries when full.
    pub wrap: bool,
    /// Declared with `[...]` (an array), even without a size.
    pub is_array: bool,
    pub private: bool,
    pub span: Span,
}

/// The declared type of a function, parameter or return value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeName {
    Long,
    String,
}

#[derive(Debug, Clone)]
pub struct Param {
    pub name: Ident,
    pub ty: Option<TypeName>,
}

#[derive(Debug, Clone)]
pub struct Function {
    pub name: Ident,
    pub ret: Option<TypeName>,
    pub params: Vec<Param>,
    pub body: FunctionBody,
    /// `function f():3 { }`: the overload priority (lower runs first);
    /// `None` when not written (SystemTap's default: 0 for scripts, 1 for
    /// tapsets).
    pub priority: Option<i64>,
    pub private: bool,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum FunctionBody {
    Script(Block),
    /// `%{ ... %}`, with pragmas such as `/* pure */` left in the text.
    Embedded(EmbeddedC),
}

/// Embedded C, kept verbatim (without the `%{` `%}` delimiters).
#[derive(Debug, Clone)]
pub struct EmbeddedC {
    pub code: String,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum StmtKind {
    Block(Block),
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
    /// The header expressions are boxed: inline, three `Option<Expr>`
    /// made every `Stmt` nearly 300 bytes.
    For {
        init: Option<Box<Expr>>,
        cond: Option<Box<Expr>>,
        step: Option<Box<Expr>>,
        body: Box<Stmt>,
    },
    Foreach(Box<Foreach>),
    /// `delete a`, `delete a[k]`, `delete a[*, k]`, `delete x`.
    Delete(Expr),
    Next,
    Break,
    Continue,
    Return(Option<Expr>),
    /// `try { } catch (msg) { }`; the catch variable is optional.
    /// The blocks are boxed to keep `Stmt` small.
    Try {
        body: Box<Block>,
        catch_var: Option<Ident>,
        catch_body: Box<Block>,
    },
    /// `%{ ... %}` as a statement (guru mode).
    Embedded(EmbeddedC),
    /// A lone `;`.
    Empty,
}

/// `foreach (v = [k1, k2-] in arr+ limit 10) body`
#[derive(Debug, Clone)]
pub struct Foreach {
    /// `v =` before the keys: also bind the value.
    pub value: Option<Ident>,
    pub keys: Vec<Ident>,
    /// The array (an identifier, or an `@hist_*` expression); with
    /// `arr[*, 5]` slicing, an `Index` whose `*` keys are `ExprKind::Star`.
    pub array: Expr,
    pub sort: Option<ForeachSort>,
    pub limit: Option<Expr>,
    pub body: Stmt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForeachSort {
    /// 0 sorts by the value, N by the N-th key (1-based).
    pub column: usize,
    pub ascending: bool,
    /// `foreach (k in arr @sum +)`: the statistic a value sort of an
    /// aggregate array uses (SystemTap's default is `@count`).
    pub aggregate: Option<StatOp>,
}

#[derive(Debug, Clone)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Plus,
    Not,
    BitNot,
    PreInc,
    PreDec,
    PostInc,
    PostDec,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Shl,
    Shr,
    BitAnd,
    BitOr,
    BitXor,
    LogAnd,
    LogOr,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    /// `.` string concatenation.
    Concat,
    /// `=~` regular expression match.
    RegexMatch,
    /// `!~`
    RegexNoMatch,
}

impl BinaryOp {
    /// The operator as written in a script: `+`, `.`, `=~`, ...
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Shl => "<<",
            BinaryOp::Shr => ">>",
            BinaryOp::BitAnd => "&",
            BinaryOp::BitOr => "|",
            BinaryOp::BitXor => "^",
            BinaryOp::LogAnd => "&&",
            BinaryOp::LogOr => "||",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Concat => ".",
            BinaryOp::RegexMatch => "=~",
            BinaryOp::RegexNoMatch => "!~",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignOp {
    Assign,
    /// The compound forms: `+=`, `-=`, `*=`, `/=`, `%=`, `<<=`, `>>=`, `&=`,
    /// `|=`, `^=`, `.=`.
    Compound(BinaryOp),
}

/// `@count(s)`, `@sum(s)`, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatOp {
    Count,
    Sum,
    Min,
    Max,
    Avg,
    Variance,
}

impl StatOp {
    /// The operator as written in a script: `@count`, `@avg`, ...
    pub fn symbol(self) -> &'static str {
        match self {
            StatOp::Count => "@count",
            StatOp::Sum => "@sum",
            StatOp::Min => "@min",
            StatOp::Max => "@max",
            StatOp::Avg => "@avg",
            StatOp::Variance => "@variance",
        }
    }
}

#[derive(Debug, Clone)]
pub enum HistKind {
    Log,
    /// `@hist_linear(s, start, stop, interval)`
    Linear {
        start: Box<Expr>,
        stop: Box<Expr>,
        interval: Box<Expr>,
    },
}

#[derive(Debug, Clone)]
pub enum ExprKind {
    Number(i64),
    String(String),
    /// A local or global variable, or an array used whole (`delete a`).
    Var(Ident),
    /// `arr[k1, k2]`; `*` keys in slices are `ExprKind::Star`.
    Index {
        array: Ident,
        keys: Vec<Expr>,
    },
    /// `*` as an array slice key, in `foreach`, `delete`, `in`.
    Star,
    /// `name(args)`, including `printf`, `print`, `sprintf`, ...
    Call {
        name: Ident,
        args: Vec<Expr>,
    },
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Assign {
        op: AssignOp,
        target: Box<Expr>,
        value: Box<Expr>,
    },
    Ternary {
        cond: Box<Expr>,
        then: Box<Expr>,
        els: Box<Expr>,
    },
    /// `[k1, k2] in arr` or `k in arr`.
    In {
        keys: Vec<Expr>,
        array: Box<Expr>,
    },
    /// `s <<< value`
    Accumulate {
        target: Box<Expr>,
        value: Box<Expr>,
    },
    Stat {
        op: StatOp,
        operand: Box<Expr>,
    },
    Hist {
        kind: HistKind,
        operand: Box<Expr>,
    },
    /// `$var`, `$var->f[2]`, `$$parms`, `@cast(...)->f`, `@var("x")`, `&$var`.
    Target(Box<TargetExpr>),
    /// `@defined(expr)`
    Defined(Box<Expr>),
    /// `@entry(expr)`
    Entry(Box<Expr>),
    /// `@perf("name")`
    Perf(String),
    /// `$1` (number or string, as the argument reads) or `@1` (always a
    /// string), left unexpanded when the parser was given no arguments.
    Positional {
        index: u32,
        as_string: bool,
    },
    /// `$#` or `@#`: the number of script arguments.
    ArgCount,
    /// `@variance(s, shift)`: `@variance` with its optional bit-shift
    /// argument (`@variance(s)` alone is `Stat`).
    Variance {
        operand: Box<Expr>,
        shift: Box<Expr>,
    },
    /// `@hist_linear(s, 1, 3, 1)[bucket]`: one bucket count of a histogram.
    HistBucket {
        hist: Box<Expr>,
        bucket: Box<Expr>,
    },
    /// `@const("NAME")`: a C constant (tapsets and guru mode).
    Const(String),
    /// `@probewrite(var)`: whether the probe handler writes `var`.
    ProbeWrite(Box<Expr>),
    /// `%{ C expression %}` used as a value (tapsets, guru mode).
    Embedded(EmbeddedC),
    /// `@kregister(n)` (kernel) or `@uregister(n)` (user) register value.
    Register {
        user: bool,
        index: Box<Expr>,
    },
    /// `@kderef(size, addr)` (kernel) or `@uderef(size, addr)` (user): the
    /// unsigned integer of `size` bytes at `addr`.
    Deref {
        user: bool,
        size: Box<Expr>,
        addr: Box<Expr>,
    },
}

/// A target variable expression resolved from DWARF in pass 2.
#[derive(Debug, Clone)]
pub struct TargetExpr {
    pub base: TargetBase,
    pub chain: Vec<TargetComponent>,
    /// `&$var->f`: the address rather than the value.
    pub addr_of: bool,
    /// Trailing `$` (1) or `$$` (2): pretty-print the value.
    pub pretty: u8,
}

#[derive(Debug, Clone)]
pub enum TargetBase {
    /// `$name`; the name is kept with its sigils stripped, and `$$parms`,
    /// `$$locals`, `$$vars`, `$$return` are kept as `$parms` etc.
    Var(Ident),
    /// `@cast(expr, "type" [, "module<header.h>"])`
    Cast {
        operand: Expr,
        type_name: String,
        module: Option<String>,
    },
    /// `@var("name[@file]" [, "module"])`
    AtVar {
        name: String,
        module: Option<String>,
    },
    /// `expr->field` on a value that is not a `$` variable (a local that
    /// holds a typed pointer, a call, a parenthesised expression): its type
    /// comes from where the value came from ("autocast").
    Autocast(Expr),
}

#[derive(Debug, Clone)]
pub enum TargetComponent {
    /// `->name` (SystemTap has no `.name` form: `.` is concatenation).
    Field(Ident),
    /// `[expr]`
    Index(Expr),
}

#[cfg(test)]
mod tests {
    /// The tree's node sizes bound the parser's memory traffic (the tapset
    /// library is ~600 files); keep the common nodes small.
    #[test]
    fn node_sizes() {
        use std::mem::size_of;
        eprintln!(
            "Stmt {} Expr {} ProbePoint {} Ident {}",
            size_of::<super::Stmt>(),
            size_of::<super::Expr>(),
            size_of::<super::ProbePoint>(),
            size_of::<super::Ident>()
        );
        assert!(size_of::<super::Stmt>() <= 128);
        assert!(size_of::<super::Expr>() <= 96);
        assert!(size_of::<super::ProbePoint>() <= 64);
    }
}
