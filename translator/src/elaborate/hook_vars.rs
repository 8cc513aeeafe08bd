//! Pass 2.5 for the hook families' context variables: `$skb`, `$in`,
//! `$out`, `$hooknum`, `$verdict` in netfilter probes (registers of the
//! `pt_regs` the hook hands its probe, see `probes::hooks::vars`), and
//! `$value` in procfs probes (the file's text, through the procfs tapset's
//! `__procfs_value`, `__procfs_set_value`, `__procfs_append_value`).
//!
//! Input: a target expression (or an assignment to one) in the body of a
//! hook probe (`TargetState::hook`). Output: `Some(ir expr)` when it names
//! one of the hook's variables, `None` otherwise (then the DWARF rules
//! apply). `$verdict = v` (guru mode) calls the netfilter tapset's
//! `__nf_set_verdict`, which sets the register the hook returns. Invariants: a pointer variable followed by `->` is read as
//! `@cast($var, "struct T")->...`, so every read through it is the same
//! fault-tolerant access as a DWARF target's.

use crate::debuginfo::{LocOp, Reg};
use crate::diag::Span;
use crate::ir::{Expr, ExprKind};
use crate::ir_target::{TargetAccess, TargetBase, TargetFinal};
use crate::probes::hooks::{self, Hook};
use crate::syntax::ast::{self, AssignOp};

use super::lower::{Lowerer, Scope};
use super::target::long;

fn call(name: &str, args: Vec<ast::Expr>, span: Span) -> ast::Expr {
    ast::Expr { kind: ast::ExprKind::Call { name: ast::Ident { name: name.to_string(), span }, args }, span }
}

impl<'a> Lowerer<'a> {
    /// `$name` of the hook being lowered, if it is one of its variables.
    pub(super) fn lower_hook_var(&mut self, scope: &mut Scope, t: &ast::TargetExpr, span: Span) -> Option<Expr> {
        let hook = self.target.hook.clone()?;
        let ast::TargetBase::Var(id) = &t.base else { return None };
        if let Hook::Procfs { .. } = hook {
            if id.name != "value" {
                return None;
            }
            if !t.chain.is_empty() || t.addr_of || t.pretty > 0 {
                self.diags.error("`$value` of a procfs probe is a string: it cannot be followed by `->`, `[]` or `$`", span);
                return Some(long(ExprKind::Long(0), span));
            }
            return Some(self.lower_expr(scope, &call("__procfs_value", Vec::new(), span)));
        }
        let var = hooks::vars(&hook).iter().find(|v| v.name == id.name)?;
        if t.chain.is_empty() && !t.addr_of && t.pretty == 0 {
            let acc = TargetAccess {
                base: TargetBase::Program(vec![LocOp::Reg(Reg(var.reg))]),
                steps: Vec::new(),
                fin: TargetFinal::Value { size: 8, signed: var.points_to.is_none() },
                text: format!("${}", id.name),
                entry_regs: false,
                user: false,
            };
            return Some(long(ExprKind::Target(Box::new(acc)), span));
        }
        let Some(type_name) = var.points_to else {
            self.diags.error(format!("`${}` is a number: it cannot be followed by `->`, `[]` or `$`", id.name), span);
            return Some(long(ExprKind::Long(0), span));
        };
        let plain = ast::Expr {
            kind: ast::ExprKind::Target(Box::new(ast::TargetExpr { base: t.base.clone(), chain: Vec::new(), addr_of: false, pretty: 0 })),
            span,
        };
        let cast = ast::TargetExpr {
            base: ast::TargetBase::Cast { operand: plain, type_name: type_name.to_string(), module: None },
            chain: t.chain.clone(),
            addr_of: t.addr_of,
            pretty: t.pretty,
        };
        Some(self.lower_target(scope, &cast, span))
    }

    /// `$value = e` and `$value .= e` in a procfs probe: the file's new
    /// text. `None` for any other assignment.
    pub(super) fn lower_hook_assign(
        &mut self,
        scope: &mut Scope,
        op: AssignOp,
        target: &ast::Expr,
        value: &ast::Expr,
        span: Span,
    ) -> Option<Expr> {
        let hook = self.target.hook.clone()?;
        let ast::ExprKind::Target(t) = &target.kind else { return None };
        let ast::TargetBase::Var(id) = &t.base else { return None };
        if !t.chain.is_empty() || t.addr_of || t.pretty > 0 {
            return None;
        }
        if let (Hook::Netfilter { .. }, "verdict") = (&hook, id.name.as_str()) {
            return Some(self.lower_verdict_assign(scope, op, target, value, span));
        }
        if !matches!(hook, Hook::Procfs { .. }) || id.name != "value" {
            return None;
        }
        let f = match op {
            AssignOp::Assign => "__procfs_set_value",
            AssignOp::Compound(ast::BinaryOp::Concat) => "__procfs_append_value",
            AssignOp::Compound(_) => {
                self.diags.error("`$value` of a procfs probe is a string: assign it with `=` or `.=`", span);
                return Some(long(ExprKind::Long(0), span));
            }
        };
        Some(self.lower_expr(scope, &call(f, vec![value.clone()], span)))
    }

    /// `$verdict = e` (or `$verdict OP= e`) in a netfilter probe, guru mode
    /// only: the hook returns the new verdict.
    fn lower_verdict_assign(&mut self, scope: &mut Scope, op: AssignOp, target: &ast::Expr, value: &ast::Expr, span: Span) -> Expr {
        if !self.opts.guru {
            self.diags.error("write to target variable `$verdict` not permitted; need stap -g", target.span);
            return long(ExprKind::Long(0), span);
        }
        let v = match op {
            AssignOp::Assign => value.clone(),
            AssignOp::Compound(bop) => ast::Expr {
                kind: ast::ExprKind::Binary { op: bop, lhs: Box::new(target.clone()), rhs: Box::new(value.clone()) },
                span,
            },
        };
        self.lower_expr(scope, &call("__nf_set_verdict", vec![v], span))
    }
}
