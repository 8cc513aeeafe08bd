//! Function overloading, as SystemTap's language reference describes it.
//!
//! Input: every public definition of a function name (`SymbolTable::
//! overloads`), a call's argument count, and `next` statements inside
//! function bodies. Output: the program function a call means and, for a
//! `next` in a function, a tail call of the next overload.
//! Invariants:
//! - By arity (compile time): a call `f(a, b)` considers only the
//!   definitions of `f` with two parameters; functions of one name but
//!   different arities are unrelated.
//! - By priority (run time): the candidates of one arity run in priority
//!   order (`function f():3`, lower first; default 0 for the script's
//!   functions, 1 for the library's), ties in definition order. The first
//!   runs; a `next` in its body continues with the next candidate (called
//!   with the same argument values); a `next` in the last candidate is a
//!   run-time error. So a script function overrides a library function of
//!   the same name and arity unless it says `next`.
//! - Candidates of one arity must agree on declared types (one call has
//!   one type); a call with an arity no definition has is an error listing
//!   the arities there are.
//! - An embedded-C candidate that says `STAP_NEXT` becomes a script
//!   function around its C (`NAME__c`): it calls the C with its
//!   parameters, then, when the C said STAP_NEXT (runtime-c's
//!   rstap_take_next), does what `next` does; else it returns the C's value.
//! - A name with one definition keeps its name in the program; the
//!   candidates of an overloaded name are `NAME__ARITY` and
//!   `NAME__ARITY_K` (K-th in priority order).

use std::collections::HashMap;

use super::lower::{Lowerer, Scope};
use super::resolve::{Def, SymbolTable};
use crate::diag::{Diagnostic, Diagnostics, Span};
use crate::ir::{self, Expr, ExprKind, Stmt, StmtKind, Type, Var};
use crate::syntax::ast;

/// A definition's overload priority (lower runs first).
fn priority(d: &Def<'_, ast::Function>) -> i64 {
    d.item.priority.unwrap_or(if d.from_tapset { 1 } else { 0 })
}

fn type_word(t: Option<ast::TypeName>) -> &'static str {
    match t {
        Some(ast::TypeName::Long) => "long",
        Some(ast::TypeName::String) => "string",
        None => "?",
    }
}

/// At pass 2.1, before `f` joins its name's overloads: the earlier
/// definitions of the same arity must declare the same types. False (and
/// an error) when they do not: `f` is then left out.
pub(super) fn check_overload(t: &SymbolTable<'_>, f: &ast::Function, diags: &mut Diagnostics) -> bool {
    let Some(prev) = t
        .overloads
        .get(f.name.name.as_str())
        .and_then(|defs| defs.iter().find(|d| d.item.params.len() == f.params.len()))
    else {
        return true;
    };
    let p = prev.item;
    let arity = f.params.len();
    let params = format!("{arity} parameter{}", if arity == 1 { "" } else { "s" });
    if let (Some(a), Some(b)) = (p.ret, f.ret) {
        if a != b {
            diags.push(
                Diagnostic::error(
                    format!(
                        "overloads of `{}` with {params} must return one type: this one returns {}, an earlier one {}",
                        f.name.name,
                        type_word(Some(b)),
                        type_word(Some(a))
                    ),
                    Some(f.name.span),
                )
                .with_label(p.name.span, "the earlier overload"),
            );
            return false;
        }
    }
    for (x, y) in p.params.iter().zip(&f.params) {
        if let (Some(a), Some(b)) = (x.ty, y.ty) {
            if a != b {
                diags.push(
                    Diagnostic::error(
                        format!(
                            "overloads of `{}` with {params} must agree on parameter types: `{}` is {} here, {} in an earlier one",
                            f.name.name,
                            y.name.name,
                            type_word(Some(b)),
                            type_word(Some(a))
                        ),
                        Some(y.name.span),
                    )
                    .with_label(x.name.span, "the earlier overload"),
                );
                return false;
            }
        }
    }
    true
}

/// What a call's name and arity resolve to.
pub(super) enum CallTarget {
    Found(usize),
    /// No function of that name.
    NotFound,
    /// An error was reported (no overload of that arity).
    Reported,
}

/// The candidates of `name` for `nargs` arguments, in run order, with
/// their program names; None when the name is not overloaded.
fn chain<'a>(name: &str, defs: &[Def<'a, ast::Function>], nargs: usize) -> Option<Vec<(String, Def<'a, ast::Function>)>> {
    if defs.len() <= 1 {
        return None;
    }
    let mut c: Vec<Def<'a, ast::Function>> = defs.iter().filter(|d| d.item.params.len() == nargs).copied().collect();
    // A stable sort keeps definition order among equal priorities.
    c.sort_by_key(priority);
    let one_arity = defs.iter().all(|d| d.item.params.len() == nargs);
    Some(
        c.into_iter()
            .enumerate()
            .map(|(k, d)| {
                let key = match (k, one_arity) {
                    (0, true) => name.to_string(),
                    (0, false) => format!("{name}__{nargs}"),
                    _ => format!("{name}__{nargs}_{k}"),
                };
                (key, d)
            })
            .collect(),
    )
}

/// Whether a function's body has a `next` (outside nested functions,
/// which the language does not have).
fn says_next(f: &ast::Function) -> bool {
    fn stmt(s: &ast::Stmt) -> bool {
        match &s.kind {
            ast::StmtKind::Next => true,
            ast::StmtKind::Block(b) => b.stmts.iter().any(stmt),
            ast::StmtKind::If { then, els, .. } => stmt(then) || els.as_deref().is_some_and(stmt),
            ast::StmtKind::While { body, .. } | ast::StmtKind::For { body, .. } => stmt(body),
            ast::StmtKind::Foreach(f) => stmt(&f.body),
            ast::StmtKind::Try { body, catch_body, .. } => body.stmts.iter().any(stmt) || catch_body.stmts.iter().any(stmt),
            _ => false,
        }
    }
    match &f.body {
        ast::FunctionBody::Script(b) => b.stmts.iter().any(stmt),
        ast::FunctionBody::Embedded(c) => c.code.contains("STAP_NEXT"),
    }
}

/// The next overload of each program function that has one.
pub type NextOverloads = HashMap<usize, usize>;

impl<'a> Lowerer<'a> {
    /// The overloads of `name`, unless the current file has a private
    /// function of that name (privates are not overloaded).
    fn overloads_of(&self, name: &str) -> Option<&'a [Def<'a, ast::Function>]> {
        if self.table.private_functions.contains_key(&(self.current_file, name)) {
            return None;
        }
        let table: &'a SymbolTable<'a> = self.table;
        table.overloads.get(name).map(|v| v.as_slice())
    }

    /// The function a call of `name` with `nargs` arguments runs first,
    /// pulling every candidate of that arity into the program.
    pub(super) fn call_target(&mut self, name: &ast::Ident, nargs: usize) -> CallTarget {
        let Some(candidates) = self.overloads_of(&name.name).and_then(|defs| chain(&name.name, defs, nargs)) else {
            return match self.function_index_at(&name.name, Some(name.span)) {
                Some(i) => CallTarget::Found(i),
                None => CallTarget::NotFound,
            };
        };
        if candidates.is_empty() {
            let mut arities: Vec<usize> =
                self.overloads_of(&name.name).unwrap_or_default().iter().map(|d| d.item.params.len()).collect();
            arities.sort_unstable();
            arities.dedup();
            let list: Vec<String> = arities.iter().map(|a| a.to_string()).collect();
            let defined = match list.split_last() {
                Some((last, [])) => last.clone(),
                Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
                None => "no".into(),
            };
            let plural = if arities == [1] { "" } else { "s" };
            self.diags.error(
                format!(
                    "no overload of `{}` takes {nargs} argument{}: it is defined with {defined} parameter{plural}",
                    name.name,
                    if nargs == 1 { "" } else { "s" },
                ),
                name.span,
            );
            return CallTarget::Reported;
        }
        // Candidates after one that never says `next` cannot run: they
        // stay out of the program (their C would be unused).
        let mut idxs = Vec::new();
        for (key, def) in candidates {
            idxs.push(self.add_function(key, def));
            if !says_next(def.item) {
                break;
            }
        }
        for w in idxs.windows(2) {
            self.next_overload.insert(w[0], w[1]);
        }
        CallTarget::Found(idxs[0])
    }

    /// The program function a call of `name` with `nargs` arguments runs
    /// first, if it is already in the program (no side effects).
    pub(super) fn known_callee(&mut self, name: &str, nargs: usize) -> Option<usize> {
        let key = match self.overloads_of(name).and_then(|defs| chain(name, defs, nargs)) {
            Some(c) => c.into_iter().next()?.0,
            None => self.find_function(name, None)?.0,
        };
        self.function_ids.get(&key).copied()
    }

    /// `next` in the body of function `func`: return what the next
    /// overload returns for the same arguments, or, after the last one,
    /// a run-time error.
    pub(super) fn lower_function_next(&mut self, scope: &Scope, func: usize, span: Span) -> Stmt {
        let nparams = self.prog.functions[func].params;
        let _ = scope;
        let call = |kind| Expr { kind, ty: Type::Unknown, span };
        if let Some(&next) = self.next_overload.get(&func) {
            let args = (0..nparams).map(|i| call(ExprKind::Var(Var::Local(i)))).collect();
            return Stmt { kind: StmtKind::Return(Some(call(ExprKind::Call { func: next, args }))), span };
        }
        let name = self.prog.functions[func].name.clone();
        let base = name.split("__").next().unwrap_or(&name).to_string();
        let Some(error) = self.function_index("error") else {
            self.diags.error(format!("`next` in function `{base}`: no later overload, and no error() to report it"), span);
            return Stmt { kind: StmtKind::Empty, span };
        };
        let msg = call(ExprKind::Str(format!("next: function {base}() has no overload after this one")));
        let report = Stmt { kind: StmtKind::Expr(call(ExprKind::Call { func: error, args: vec![msg] })), span };
        Stmt { kind: StmtKind::Block(vec![report, Stmt { kind: StmtKind::Return(None), span }]), span }
    }

    /// The body of embedded-C function `func` (`f`) whose C says
    /// `STAP_NEXT`: the C becomes function `NAME__c`, and `func` a script
    /// function that calls it and then goes on as `next` does when the C
    /// said STAP_NEXT. `scope` holds the parameters.
    pub(super) fn lower_embedded_next(&mut self, func: usize, f: &ast::Function, scope: &mut Scope, code: &str) -> ir::FunctionBody {
        let span = f.span;
        let nparams = f.params.len();
        let ret = self.prog.functions[func].ret;
        let key = format!("{}__c", self.prog.functions[func].name);
        let inner = self.prog.functions.len();
        self.prog.functions.push(ir::Function {
            name: key.clone(),
            params: nparams,
            locals: scope.locals[..nparams].to_vec(),
            ret,
            body: ir::FunctionBody::Embedded(code.to_string()),
            span,
        });
        self.function_ids.insert(key, inner);
        let take = self.runtime_helper("__rstap_take_next", None, "\n\tSTAP_RETVALUE = rstap_take_next(CONTEXT);\n".into(), span);
        let e = |kind, ty| Expr { kind, ty, span };
        // An undeclared return type is taken as long here (a void function
        // is long in rstap anyway); an embedded-C STAP_NEXT function that
        // returns a string must say `:string`.
        let vty = if ret == Type::Unknown { Type::Long } else { ret };
        let value = scope.declare("__rstap_value", vty, span);
        let args = (0..nparams).map(|i| e(ExprKind::Var(Var::Local(i)), scope.locals[i].ty)).collect();
        let call = e(ExprKind::Call { func: inner, args }, ret);
        let store = e(ExprKind::Assign { var: Var::Local(value), op: None, value: Box::new(call) }, ret);
        let next = self.lower_function_next(scope, func, span);
        let check = StmtKind::If {
            cond: e(ExprKind::Call { func: take, args: Vec::new() }, Type::Long),
            then: Box::new(next),
            els: None,
        };
        let done = StmtKind::Return(Some(e(ExprKind::Var(Var::Local(value)), ret)));
        let stmts = vec![Stmt { kind: StmtKind::Expr(store), span }, Stmt { kind: check, span }, Stmt { kind: done, span }];
        ir::FunctionBody::Script(Stmt { kind: StmtKind::Block(stmts), span })
    }
}
