//! Autocast (SystemTap 2.6+): a value that came from a typed target
//! expression (`$var`, `@cast(...)`, `@var(...)`, or an earlier autocast)
//! keeps its DWARF type through locals, globals, array values, function
//! arguments and return values, so `p = $file; p->f_pos`, `a[1] = $file;
//! a[1]->f_pos` and `function f(p) { return p->f_pos }` called with
//! `$file` resolve `->` without an explicit `@cast`.
//!
//! Input: the AST of the bodies being lowered and what `target` resolved
//! for each typed expression. Output: the `TypeFlow` of every slot a typed
//! value reaches (a local of one body, a global or array, a parameter or
//! the return value of a function) and, for `expr->f` on a plain value,
//! the type that `target` resolves the chain in.
//! Invariants: a slot's flow only grows (untyped, then one type, then
//! "two types"), so lowering reruns until no flow changes (see
//! `lower::lower_program`) and ends; an untyped value (a number, an
//! arithmetic result) adds nothing to a slot; when two different types
//! reach one slot it has no type (as in SystemTap), and `->` on it is an
//! error naming both types.

use std::collections::HashMap;

use super::lower::{Lowerer, Scope};
use super::target::R;
use crate::debuginfo::{types, DebugInfo, TypeId};
use crate::diag::Span;
use crate::ir_target::{TargetAccess, TargetFinal};
use crate::probes::dwarf;
use crate::syntax::ast;

/// A DWARF type carried by a value: the type of the object the value is
/// (`addr` false: a pointer or scalar) or whose address the value is
/// (`addr` true: `&$x->f`, a struct or array), in the debuginfo of
/// `module` (None: the kernel's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Typed {
    pub module: Option<String>,
    pub ty: TypeId,
    pub addr: bool,
}

/// What reaches a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeFlow {
    Typed(Typed),
    /// Two different types (the first two seen): the slot has no type.
    Conflict(Typed, Typed),
}

impl TypeFlow {
    fn merge(&self, other: &TypeFlow) -> TypeFlow {
        match (self, other) {
            (TypeFlow::Conflict(..), _) => self.clone(),
            (TypeFlow::Typed(a), TypeFlow::Typed(b)) if a == b => self.clone(),
            (TypeFlow::Typed(a), TypeFlow::Typed(b)) => TypeFlow::Conflict(a.clone(), b.clone()),
            (TypeFlow::Typed(a), TypeFlow::Conflict(b, _)) => TypeFlow::Conflict(a.clone(), b.clone()),
        }
    }
}

/// Where a typed value can be kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Slot {
    /// A local of a body (see [`BodyKey`]) by name.
    Local(BodyKey, String),
    /// A global scalar or the values of a global array, by program name.
    Global(String),
    /// Parameter N of a function (its index in `Program::functions`).
    Param(usize, usize),
    /// The return value of a function.
    Return(usize),
}

/// The body a scope belongs to: a probe body (its index in
/// `Program::bodies`), a function, or another (conditions: no locals kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BodyKey {
    #[default]
    Other,
    Probe(usize),
    Function(usize),
}

/// The flows of one lowering run; `lower_program` reruns lowering with the
/// flows of the previous run until a run changes none.
#[derive(Debug, Clone, Default)]
pub struct AutocastState {
    pub slots: HashMap<Slot, TypeFlow>,
    /// A slot got a new flow in this run.
    pub changed: bool,
    /// The type of each typed target expression lowered, by its span (the
    /// latest lowering wins: a body is lowered once per DWARF site).
    exprs: HashMap<Span, Typed>,
}

impl AutocastState {
    /// The state a new run starts from: the flows found so far.
    pub fn next_run(self) -> AutocastState {
        AutocastState { slots: self.slots, changed: false, exprs: HashMap::new() }
    }
}

impl<'a> Lowerer<'a> {
    /// Records the type of a target expression that resolved to `acc`.
    pub(super) fn note_typed(&mut self, scope: &Scope, t: &ast::TargetExpr, acc: &TargetAccess, ty: TypeId, span: Span) {
        let module = match &t.base {
            ast::TargetBase::Cast { module: Some(m), .. } | ast::TargetBase::AtVar { module: Some(m), .. } => {
                dwarf::module_arg(m).map(dwarf::module_name)
            }
            ast::TargetBase::Autocast(e) => match self.flow_in(Some(scope), e) {
                Some(TypeFlow::Typed(t)) => t.module,
                _ => None,
            },
            _ => self.target.site.as_ref().and_then(|s| s.module.clone()),
        };
        let addr = matches!(acc.fin, TargetFinal::Address);
        self.autocast.exprs.insert(span, Typed { module, ty, addr });
    }

    /// The slot a variable name means in `scope` (without declaring it).
    fn var_slot(&mut self, scope: &Scope, name: &str) -> Option<Slot> {
        if scope.is_local(name) {
            return Some(Slot::Local(scope.body, name.to_string()));
        }
        self.find_global(name, None).map(|(key, _)| Slot::Global(key))
    }

    /// What typed value an (already lowered) expression carries.
    fn flow_in(&mut self, scope: Option<&Scope>, e: &ast::Expr) -> Option<TypeFlow> {
        match &e.kind {
            ast::ExprKind::Target(_) => self.autocast.exprs.get(&e.span).cloned().map(TypeFlow::Typed),
            ast::ExprKind::Var(id) => {
                let scope = scope?;
                let slot = self.var_slot(scope, &id.name)?;
                let mut flow = self.autocast.slots.get(&slot).cloned();
                if let (BodyKey::Function(f), Some(i)) = (scope.body, scope.param_index(&id.name)) {
                    flow = merge(flow, self.autocast.slots.get(&Slot::Param(f, i)).cloned());
                }
                flow
            }
            ast::ExprKind::Index { array, .. } => {
                let (key, _) = self.find_global(&array.name, None)?;
                self.autocast.slots.get(&Slot::Global(key)).cloned()
            }
            ast::ExprKind::Call { name, args } => {
                let f = self.known_callee(&name.name, args.len())?;
                self.autocast.slots.get(&Slot::Return(f)).cloned()
            }
            ast::ExprKind::Ternary { then, els, .. } => {
                let a = self.flow_in(scope, then);
                let b = self.flow_in(scope, els);
                merge(a, b)
            }
            ast::ExprKind::Assign { op: ast::AssignOp::Assign, value, .. } => self.flow_in(scope, value),
            ast::ExprKind::Entry(inner) => self.flow_in(scope, inner),
            _ => None,
        }
    }

    /// The value `e` flows into `slot`.
    pub(super) fn flow_into(&mut self, scope: &Scope, slot: Slot, e: &ast::Expr) {
        let Some(flow) = self.flow_in(Some(scope), e) else { return };
        let merged = match self.autocast.slots.get(&slot) {
            Some(old) => old.merge(&flow),
            None => flow,
        };
        if self.autocast.slots.get(&slot) != Some(&merged) {
            self.autocast.slots.insert(slot, merged);
            self.autocast.changed = true;
        }
    }

    /// `name = e` (a plain assignment to a local or global).
    pub(super) fn flow_into_var(&mut self, scope: &Scope, name: &str, e: &ast::Expr) {
        if let Some(slot) = self.var_slot(scope, name) {
            self.flow_into(scope, slot, e);
        }
    }

    /// `a[k] = e`: the values of array `a`.
    pub(super) fn flow_into_array(&mut self, scope: &Scope, array: &str, e: &ast::Expr) {
        if let Some((key, _)) = self.find_global(array, None) {
            self.flow_into(scope, Slot::Global(key), e);
        }
    }

    /// `->` on a value that is not a target variable: the lowered value as
    /// the base, the type it carries, whether it is an address, and the
    /// debuginfo the type is in.
    pub(super) fn autocast_base(
        &mut self,
        scope: &mut Scope,
        e: &ast::Expr,
        text: &str,
    ) -> R<(crate::ir::Expr, TypeId, bool, &'a dyn DebugInfo)> {
        let value = self.lower_expr(scope, e);
        let what = self.sources.snippet(e.span).to_string();
        match self.flow_in(Some(scope), e) {
            Some(TypeFlow::Typed(t)) => {
                let di = self
                    .dwarf
                    .for_module(t.module.as_deref())
                    .ok_or_else(|| format!("cannot resolve `{text}`: {}", self.dwarf.missing))?;
                Ok((value, t.ty, t.addr, di))
            }
            Some(TypeFlow::Conflict(a, b)) => {
                let name = |t: &Typed| match self.dwarf.for_module(t.module.as_deref()) {
                    Some(di) => shown(di, t),
                    None => "?".into(),
                };
                Err(format!(
                    "cannot resolve `{text}`: values of two types reach `{what}` ({} and {}), so it has no type; use @cast to name one",
                    name(&a),
                    name(&b)
                ))
            }
            None => Err(format!(
                "cannot resolve `{text}`: `{what}` holds no typed value (autocast needs a value from a target variable, @cast or @var); use @cast({what}, \"TYPE\")"
            )),
        }
    }
}

/// The type as the user would write it (`struct file*`; `&` values are
/// the address of their type).
fn shown(di: &dyn DebugInfo, t: &Typed) -> String {
    let n = types::type_name(di, t.ty);
    if t.addr {
        format!("{n}*")
    } else {
        n
    }
}

fn merge(a: Option<TypeFlow>, b: Option<TypeFlow>) -> Option<TypeFlow> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.merge(&b)),
        (a, None) => a,
        (None, b) => b,
    }
}
