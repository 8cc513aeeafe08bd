//! Lowering of the `@` operators of current SystemTap releases that are
//! not target variables: `@kderef`/`@uderef`, `@kregister`/`@uregister`, `@probewrite`,
//! `@const` and `%{ C expression %}` values (part of pass 2.4).
//!
//! Input: the AST of the operator inside a body being lowered. Output:
//! - `@kderef(SIZE, addr)`: a fault-tolerant kernel read of SIZE (1, 2, 4
//!   or 8, a literal) bytes at `addr`, unsigned (an `ir::Target` on the
//!   address, like `@cast`); `@uderef` the same from user memory through
//!   runtime-c's `rstap_uderef` (a bad address is the run-time error
//!   "user read fault at 0x... (addr)" at the operator, as for @kderef).
//! - `@kregister(N)`: the probe's saved register of DWARF number N
//!   (x86_64: 0 ax, 1 dx, 2 cx, 3 bx, 4 si, 5 di, 6 bp, 7 sp, 8-15 r8-r15,
//!   16 ip), through the library's `register()`; `@uregister(N)` the same
//!   register of the probed task's user mode (the probe's registers when
//!   it interrupted user mode, else task_pt_regs(current)), through
//!   runtime-c's `rstap_uregister` (an error in a kernel thread).
//! - `@probewrite(var)`: 1 when the probe handler body that an alias
//!   prologue or epilogue wraps writes `var`, else 0 (a constant).
//! - `@const("NAME")` and `%{ expr %}` (tapsets and guru mode only): a
//!   long computed by a generated embedded-C function.
//!
//! Invariants: a bad operand is one located error and a 0.

use super::lower::{Lowerer, Scope};
use super::target::long;
use crate::diag::Span;
use crate::ir::{self, Expr, ExprKind, Type};
use crate::ir_target::{TargetAccess, TargetBase, TargetFinal, TargetRead};
use crate::syntax::ast;

/// x86_64 DWARF register numbers, as `register()` names them.
const DWARF_REGS: [&str; 17] =
    ["ax", "dx", "cx", "bx", "si", "di", "bp", "sp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "ip"];

/// Whether `b` writes the variable or array `name` (assignment, `++`/`--`,
/// `<<<`, `delete`, a foreach binding).
pub(super) fn block_writes(b: &ast::Block, name: &str) -> bool {
    b.stmts.iter().any(|s| stmt_writes(s, name))
}

fn stmt_writes(s: &ast::Stmt, name: &str) -> bool {
    use ast::StmtKind as S;
    match &s.kind {
        S::Block(b) => block_writes(b, name),
        S::Expr(e) => expr_writes(e, name),
        S::Delete(e) => target_is(e, name) || expr_writes(e, name),
        S::If { cond, then, els } => {
            expr_writes(cond, name) || stmt_writes(then, name) || els.as_deref().is_some_and(|e| stmt_writes(e, name))
        }
        S::While { cond, body } => expr_writes(cond, name) || stmt_writes(body, name),
        S::For { init, cond, step, body } => {
            [init, cond, step].iter().any(|e| e.as_deref().is_some_and(|e| expr_writes(e, name))) || stmt_writes(body, name)
        }
        S::Foreach(f) => {
            f.value.as_ref().is_some_and(|v| v.name == name)
                || f.keys.iter().any(|k| k.name == name)
                || stmt_writes(&f.body, name)
        }
        S::Return(Some(e)) => expr_writes(e, name),
        S::Try { body, catch_var, catch_body } => {
            block_writes(body, name) || catch_var.as_ref().is_some_and(|v| v.name == name) || block_writes(catch_body, name)
        }
        _ => false,
    }
}

/// `name`, `name[...]` or `$name`.
fn target_is(e: &ast::Expr, name: &str) -> bool {
    match &e.kind {
        ast::ExprKind::Var(id) | ast::ExprKind::Index { array: id, .. } => id.name == name,
        ast::ExprKind::Target(t) => matches!(&t.base, ast::TargetBase::Var(id) if format!("${}", id.name) == name),
        _ => false,
    }
}

fn expr_writes(e: &ast::Expr, name: &str) -> bool {
    use ast::ExprKind as E;
    let w = |x: &ast::Expr| expr_writes(x, name);
    match &e.kind {
        E::Assign { target, value, .. } => target_is(target, name) || w(target) || w(value),
        E::Accumulate { target, value } => target_is(target, name) || w(value),
        E::Unary { op, operand } => {
            use ast::UnaryOp as U;
            matches!(op, U::PreInc | U::PreDec | U::PostInc | U::PostDec) && target_is(operand, name) || w(operand)
        }
        E::Binary { lhs, rhs, .. } => w(lhs) || w(rhs),
        E::Ternary { cond, then, els } => w(cond) || w(then) || w(els),
        E::Call { args, .. } => args.iter().any(w),
        E::Index { keys, .. } => keys.iter().any(w),
        E::In { keys, array } => keys.iter().any(w) || w(array),
        _ => false,
    }
}

/// A literal number operand.
fn literal(e: &ast::Expr) -> Option<i64> {
    match e.kind {
        ast::ExprKind::Number(n) => Some(n),
        _ => None,
    }
}

impl<'a> Lowerer<'a> {
    fn call_library(&mut self, scope: &mut Scope, name: &str, args: Vec<Expr>, span: Span) -> Expr {
        let _ = scope;
        match self.function_index(name) {
            Some(func) => Expr { kind: ExprKind::Call { func, args }, ty: Type::Unknown, span },
            None => {
                self.diags.error(format!("the library function {name}() is missing"), span);
                long(ExprKind::Long(0), span)
            }
        }
    }

    /// `@kderef(size, addr)` / `@uderef(size, addr)`.
    pub(super) fn lower_deref(&mut self, scope: &mut Scope, user: bool, size: &ast::Expr, addr: &ast::Expr, span: Span) -> Expr {
        let op = if user { "@uderef" } else { "@kderef" };
        let a = self.lower_expr(scope, addr);
        let Some(n @ (1 | 2 | 4 | 8)) = literal(size) else {
            self.diags.error(format!("the size of {op} must be a literal 1, 2, 4 or 8 (bytes)"), size.span);
            return long(ExprKind::Long(0), span);
        };
        if user {
            let body = format!("\n\tSTAP_RETVALUE = rstap_uderef(CONTEXT, STAP_ARG_addr, {n});\n");
            let func = self.runtime_helper(&format!("__rstap_uderef{n}"), Some("addr"), body, span);
            return Expr { kind: ExprKind::Call { func, args: vec![a] }, ty: Type::Long, span };
        }
        let acc = TargetAccess {
            base: TargetBase::Expr(Box::new(a)),
            steps: Vec::new(),
            fin: TargetFinal::Load(TargetRead { size: n as u8, signed: false, bitfield: None }),
            text: self.sources.snippet(span).to_string(),
            entry_regs: false,
            user: false,
        };
        long(ExprKind::Target(Box::new(acc)), span)
    }

    /// `@kregister(n)` / `@uregister(n)`.
    pub(super) fn lower_register(&mut self, scope: &mut Scope, user: bool, index: &ast::Expr, span: Span) -> Expr {
        let op = if user { "@uregister" } else { "@kregister" };
        let Some((n, name)) =
            literal(index).and_then(|n| usize::try_from(n).ok()).and_then(|n| DWARF_REGS.get(n).map(|r| (n, r)))
        else {
            self.diags.error(format!("{op} needs a literal DWARF register number, 0 to 16 on x86_64"), index.span);
            return long(ExprKind::Long(0), span);
        };
        if user {
            let body = format!("\n\tSTAP_RETVALUE = rstap_uregister(CONTEXT, {n});\n");
            let func = self.runtime_helper(&format!("__rstap_uregister{n}"), None, body, span);
            return Expr { kind: ExprKind::Call { func, args: Vec::new() }, ty: Type::Long, span };
        }
        let arg = Expr { kind: ExprKind::Str(name.to_string()), ty: Type::String, span };
        self.call_library(scope, "register", vec![arg], span)
    }

    /// `@probewrite(var)`.
    pub(super) fn lower_probewrite(&mut self, operand: &ast::Expr, span: Span) -> Expr {
        let name = match &operand.kind {
            ast::ExprKind::Var(id) => id.name.clone(),
            ast::ExprKind::Target(t) if t.chain.is_empty() && !t.addr_of => match &t.base {
                ast::TargetBase::Var(id) => format!("${}", id.name),
                _ => String::new(),
            },
            _ => String::new(),
        };
        if name.is_empty() {
            self.diags.error("@probewrite needs a variable name (`@probewrite(var)`)", operand.span);
            return long(ExprKind::Long(0), span);
        }
        let Some(handler) = self.handler else {
            self.diags.error("@probewrite can only be used in the prologue or epilogue of a probe alias", span);
            return long(ExprKind::Long(0), span);
        };
        long(ExprKind::Long(block_writes(handler, &name) as i64), span)
    }

    /// The program function `key`, an embedded-C body of one call into
    /// runtime-c (the C lives there), with at most one long parameter;
    /// added on first use. Not pure: the runtime call may report an error.
    pub(super) fn runtime_helper(&mut self, key: &str, param: Option<&str>, body: String, span: Span) -> usize {
        if let Some(&f) = self.function_ids.get(key) {
            return f;
        }
        let f = self.prog.functions.len();
        let locals: Vec<ir::Local> =
            param.iter().map(|p| ir::Local { name: p.to_string(), ty: Type::Long, span }).collect();
        self.prog.functions.push(ir::Function {
            name: key.to_string(),
            params: locals.len(),
            locals,
            ret: Type::Long,
            body: ir::FunctionBody::Embedded(body),
            span,
        });
        self.function_ids.insert(key.to_string(), f);
        f
    }

    /// `@const("NAME")` and `%{ expr %}` values: a generated embedded-C
    /// function computes the long.
    pub(super) fn lower_c_value(&mut self, what: &str, code: &str, span: Span) -> Expr {
        if !self.in_tapset && !self.opts.guru {
            self.diags.error(format!("{what} needs guru mode (-g) outside the tapset library"), span);
            return long(ExprKind::Long(0), span);
        }
        if what == "@const" && !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            self.diags.error("@const names a C constant: letters, digits and `_` only", span);
            return long(ExprKind::Long(0), span);
        }
        let key = format!("__rstap_c_value_{:x}", fnv(code));
        let func = match self.function_ids.get(&key) {
            Some(&f) => f,
            None => {
                let f = self.prog.functions.len();
                self.prog.functions.push(ir::Function {
                    name: key.clone(),
                    params: 0,
                    locals: Vec::new(),
                    ret: Type::Long,
                    body: ir::FunctionBody::Embedded(format!(" /* pure */\n\tSTAP_RETVALUE = (int64_t)({});\n", code.trim())),
                    span,
                });
                self.function_ids.insert(key, f);
                f
            }
        };
        Expr { kind: ExprKind::Call { func, args: Vec::new() }, ty: Type::Long, span }
    }
}

/// A stable name for a piece of C text.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3))
}
