//! Pass 2.7, infer types over the lowered program.
//!
//! Input: an `ir::Program` whose locals, globals, function returns and
//! expressions may be `Type::Unknown`. Output: the same program with every
//! type settled, or errors: a conflict names both types and the place, an
//! identifier whose type nothing decides is "unresolved". Method: walk every
//! body (through `ir::visit`) repeatedly, unifying as it goes, until nothing
//! changes.

use std::collections::HashSet;

use crate::diag::{Diagnostics, Span};
use crate::ir::visit::{walk_stmt_mut, VisitorMut};
use crate::ir::{BinaryOp, Expr, ExprKind, FormatPiece, FunctionBody, Program, Stmt, StmtKind, Type, Var};

struct Infer<'p> {
    globals: &'p mut Vec<crate::ir::Global>,
    /// Each function's parameter types and return type.
    sigs: &'p mut Vec<(Vec<Type>, Type)>,
    changed: bool,
    /// Conflicts found, keyed by span so repeated walks report once.
    errors: Vec<(Span, String)>,
    seen: HashSet<(Span, String)>,
    /// Return type of the function being walked (None in probes).
    ret: Option<usize>,
}

impl Infer<'_> {
    fn conflict(&mut self, span: Span, msg: String) {
        if self.seen.insert((span, msg.clone())) {
            self.errors.push((span, msg));
        }
    }

    /// Unifies `slot` with `t`; returns the settled type.
    fn unify(&mut self, slot: &mut Type, t: Type, span: Span, what: &str) -> Type {
        match (*slot, t) {
            (_, Type::Unknown) => *slot,
            (Type::Unknown, t) => {
                *slot = t;
                self.changed = true;
                t
            }
            (a, b) if a == b => a,
            (a, b) => {
                self.conflict(span, format!("type mismatch for {what}: it is {} here but {} elsewhere", b.name(), a.name()));
                a
            }
        }
    }

    fn var_type<'l>(&'l mut self, locals: &'l mut [crate::ir::Local], v: Var) -> (&'l mut Type, String) {
        match v {
            Var::Local(i) => {
                let l = &mut locals[i];
                (&mut l.ty, format!("identifier `{}`", l.name))
            }
            Var::Global(i) => {
                let g = &mut self.globals[i];
                (&mut g.ty, format!("global `{}`", g.name))
            }
        }
    }

    fn unify_var(&mut self, locals: &mut [crate::ir::Local], v: Var, t: Type, span: Span) -> Type {
        if let Var::Global(g) = v {
            if self.globals[g].is_array() {
                let name = self.globals[g].name.clone();
                self.conflict(span, format!("array `{name}` used as a scalar; index it: `{name}[key]`"));
                return Type::Unknown;
            }
            if self.globals[g].ty == Type::Stat {
                let name = self.globals[g].name.clone();
                self.conflict(span, format!("statistic `{name}` used as a value; read it with @count({name}), @sum({name}), ..."));
                return Type::Unknown;
            }
        }
        let (slot, what) = self.var_type(locals, v);
        let mut cur = *slot;
        let out = self.unify(&mut cur, t, span, &what);
        let (slot, _) = self.var_type(locals, v);
        *slot = cur;
        out
    }

    /// Infers `e` expecting type `want` (Unknown: no expectation).
    fn expr(&mut self, locals: &mut [crate::ir::Local], e: &mut Expr, want: Type) -> Type {
        let span = e.span;
        let t = match &mut e.kind {
            ExprKind::Long(_) => Type::Long,
            ExprKind::Str(_) => Type::String,
            ExprKind::Var(v) => self.unify_var(locals, *v, want, span),
            ExprKind::Call { func, args } => {
                let f = *func;
                for (i, a) in args.iter_mut().enumerate() {
                    let pt = self.sigs[f].0.get(i).copied().unwrap_or(Type::Unknown);
                    let at = self.expr(locals, a, pt);
                    if let Some(slot) = self.sigs[f].0.get(i).copied() {
                        let mut s = slot;
                        self.unify(&mut s, at, a.span, &format!("argument {} of the call", i + 1));
                        self.sigs[f].0[i] = s;
                    }
                }
                let mut r = self.sigs[f].1;
                let out = self.unify(&mut r, want, span, "the function's return value");
                self.sigs[f].1 = r;
                out
            }
            ExprKind::Unary { operand, .. } => {
                self.expr(locals, operand, Type::Long);
                self.check(operand, Type::Long, "operand");
                Type::Long
            }
            ExprKind::IncDec { var, .. } => self.unify_var(locals, *var, Type::Long, span),
            ExprKind::Binary { op, lhs, rhs } => match op {
                BinaryOp::Concat => {
                    self.expr(locals, lhs, Type::String);
                    self.expr(locals, rhs, Type::String);
                    self.check(lhs, Type::String, "`.` operand");
                    self.check(rhs, Type::String, "`.` operand");
                    Type::String
                }
                BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge | BinaryOp::Eq | BinaryOp::Ne => {
                    let lt = self.expr(locals, lhs, Type::Unknown);
                    let rt = self.expr(locals, rhs, lt);
                    if lt == Type::Unknown && rt != Type::Unknown {
                        self.expr(locals, lhs, rt);
                    }
                    if lhs.ty != Type::Unknown && rhs.ty != Type::Unknown && lhs.ty != rhs.ty {
                        self.conflict(span, format!("cannot compare a {} with a {}", lhs.ty.name(), rhs.ty.name()));
                    }
                    Type::Long
                }
                BinaryOp::RegexMatch | BinaryOp::RegexNoMatch => {
                    if self.expr(locals, lhs, Type::Unknown) == Type::Unknown {
                        self.expr(locals, lhs, Type::String);
                    }
                    self.expr(locals, rhs, Type::String);
                    self.check(lhs, Type::String, "the left side of a regex match");
                    if let ExprKind::Str(re) = &rhs.kind {
                        if let Err(e) = crate::regex::c_table::check(re) {
                            self.conflict(rhs.span, format!("invalid regular expression: {e}"));
                        }
                    }
                    Type::Long
                }
                _ => {
                    self.expr(locals, lhs, Type::Long);
                    self.expr(locals, rhs, Type::Long);
                    self.check(lhs, Type::Long, "operand");
                    self.check(rhs, Type::Long, "operand");
                    Type::Long
                }
            },
            ExprKind::Assign { var, op, value } => {
                let want_v = match op {
                    None => self.current(locals, *var),
                    Some(BinaryOp::Concat) => Type::String,
                    Some(_) => Type::Long,
                };
                let vt = self.expr(locals, value, want_v);
                let t = self.unify_var(locals, *var, vt, span);
                if value.ty == Type::Unknown && t != Type::Unknown {
                    self.expr(locals, value, t);
                }
                t
            }
            ExprKind::Ternary { cond, then, els } => {
                self.expr(locals, cond, Type::Long);
                self.check(cond, Type::Long, "condition");
                let a = self.expr(locals, then, want);
                let b = self.expr(locals, els, if a == Type::Unknown { want } else { a });
                let t = if a == Type::Unknown { b } else { a };
                if a == Type::Unknown && b != Type::Unknown {
                    self.expr(locals, then, b);
                }
                if then.ty != Type::Unknown && els.ty != Type::Unknown && then.ty != els.ty {
                    self.conflict(span, format!("the branches of `?:` differ: {} and {}", then.ty.name(), els.ty.name()));
                }
                t
            }
            ExprKind::Index { global, keys } => {
                let g = *global;
                self.keys(locals, g, keys);
                if self.globals[g].ty == Type::Stat {
                    let name = self.globals[g].name.clone();
                    self.conflict(span, format!("statistic `{name}` used as a value; read it with @count({name}[...]), ..."));
                    Type::Unknown
                } else {
                    self.unify_global(g, want, span)
                }
            }
            ExprKind::IndexAssign { global, keys, op, value } => {
                let g = *global;
                self.keys(locals, g, keys);
                let want_v = match op {
                    None => self.globals[g].ty,
                    Some(BinaryOp::Concat) => Type::String,
                    Some(_) => Type::Long,
                };
                let vt = self.expr(locals, value, if want_v == Type::Stat { Type::Unknown } else { want_v });
                let t = self.unify_global(g, vt, span);
                if value.ty == Type::Unknown && t != Type::Unknown && t != Type::Stat {
                    self.expr(locals, value, t);
                }
                t
            }
            ExprKind::IndexIncDec { global, keys, .. } => {
                let g = *global;
                self.keys(locals, g, keys);
                self.unify_global(g, Type::Long, span)
            }
            ExprKind::In { global, keys } => {
                let g = *global;
                self.keys(locals, g, keys);
                Type::Long
            }
            ExprKind::InSlice { global, keys } => {
                self.slice_keys(locals, *global, keys);
                Type::Long
            }
            ExprKind::Accumulate { global, keys, value } => {
                let g = *global;
                self.keys(locals, g, keys);
                self.unify_global(g, Type::Stat, span);
                self.expr(locals, value, Type::Long);
                self.check(value, Type::Long, "the value of `<<<`");
                Type::Long
            }
            ExprKind::Stat { global, keys, .. } | ExprKind::PrintHist { global, keys, to_string: false, .. } => {
                let g = *global;
                self.keys(locals, g, keys);
                self.unify_global(g, Type::Stat, span);
                Type::Long
            }
            ExprKind::PrintHist { global, keys, to_string: true, .. } => {
                let g = *global;
                self.keys(locals, g, keys);
                self.unify_global(g, Type::Stat, span);
                Type::String
            }
            ExprKind::HistBucket { global, keys, index } => {
                let g = *global;
                self.keys(locals, g, keys);
                self.unify_global(g, Type::Stat, span);
                self.expr(locals, index, Type::Long);
                self.check(index, Type::Long, "a histogram bucket index");
                Type::Long
            }
            ExprKind::Format { pieces, args, to_string } => {
                for (i, a) in args.iter_mut().enumerate() {
                    let conv = pieces.iter().find_map(|p| match p {
                        FormatPiece::Conv { arg, conv, .. } if *arg == i => Some(*conv),
                        // A `*` width or precision: a long.
                        FormatPiece::Conv { arg, width, precision, .. }
                            if *arg > i && *arg - i <= super::format::star_count(*width, *precision) =>
                        {
                            Some('d')
                        }
                        _ => None,
                    });
                    let want = match conv {
                        Some('s') => Type::String,
                        Some('?') | None => Type::Unknown,
                        Some(_) => Type::Long,
                    };
                    let t = self.expr(locals, a, want);
                    if want != Type::Unknown && t != Type::Unknown && t != want {
                        self.conflict(a.span, format!("format conversion wants a {} but the argument is a {}", want.name(), t.name()));
                    }
                }
                // print/println arguments print as their type says.
                for p in pieces.iter_mut() {
                    if let FormatPiece::Conv { arg, conv, .. } = p {
                        if *conv == '?' {
                            match args[*arg].ty {
                                Type::Long => *conv = 'd',
                                Type::String => *conv = 's',
                                Type::Unknown | Type::Stat => {}
                            }
                        }
                    }
                }
                if *to_string {
                    Type::String
                } else {
                    Type::Long
                }
            }
            ExprKind::Target(t) => {
                for a in t.subexprs_mut() {
                    self.expr(locals, a, Type::Long);
                    self.check(a, Type::Long, "target variable operand");
                }
                Type::Long
            }
            ExprKind::TargetStore(st) => {
                let want = if matches!(st.kind, crate::ir::store::StoreKind::CharArray { .. }) { Type::String } else { Type::Long };
                for a in st.dest.subexprs_mut() {
                    self.expr(locals, a, Type::Long);
                    self.check(a, Type::Long, "target variable operand");
                }
                self.expr(locals, &mut st.value, want);
                self.check(&st.value, want, "the value stored to a target variable");
                want
            }
        };
        if e.ty == Type::Unknown && t != Type::Unknown {
            e.ty = t;
            self.changed = true;
        }
        e.ty
    }

    fn unify_global(&mut self, g: usize, t: Type, span: Span) -> Type {
        let what = if self.globals[g].is_array() {
            format!("the elements of array `{}`", self.globals[g].name)
        } else {
            format!("global `{}`", self.globals[g].name)
        };
        let mut cur = self.globals[g].ty;
        let out = self.unify(&mut cur, t, span, &what);
        self.globals[g].ty = cur;
        out
    }

    /// Infers the key expressions of an array access against the array.
    fn keys(&mut self, locals: &mut [crate::ir::Local], g: usize, keys: &mut [Expr]) {
        for (i, k) in keys.iter_mut().enumerate() {
            self.key(locals, g, i, k);
        }
    }

    /// Like `keys`, for slices whose `*` positions are None.
    fn slice_keys(&mut self, locals: &mut [crate::ir::Local], g: usize, keys: &mut [Option<Expr>]) {
        for (i, k) in keys.iter_mut().enumerate() {
            if let Some(k) = k {
                self.key(locals, g, i, k);
            }
        }
    }

    /// Infers key `i` of an access to array `g` and unifies it with the
    /// array's key type.
    fn key(&mut self, locals: &mut [crate::ir::Local], g: usize, i: usize, k: &mut Expr) {
        let kt = self.globals[g].keys.as_ref().and_then(|v| v.get(i).copied()).unwrap_or(Type::Unknown);
        let at = self.expr(locals, k, kt);
        let Some(mut cur) = self.globals[g].keys.as_ref().and_then(|v| v.get(i).copied()) else { return };
        let what = format!("key {} of array `{}`", i + 1, self.globals[g].name);
        self.unify(&mut cur, at, k.span, &what);
        if let Some(slot) = self.globals[g].keys.as_mut().and_then(|v| v.get_mut(i)) {
            *slot = cur;
        }
    }

    /// Unifies a local with a slot of a global (foreach keys and values).
    fn unify_local_with(&mut self, locals: &mut [crate::ir::Local], l: usize, slot: &mut Type, span: Span, what: &str) {
        let lt = locals[l].ty;
        let t = self.unify(slot, lt, span, what);
        let name = format!("identifier `{}`", locals[l].name);
        let mut cur = locals[l].ty;
        self.unify(&mut cur, t, span, &name);
        locals[l].ty = cur;
    }

    fn current(&mut self, locals: &mut [crate::ir::Local], v: Var) -> Type {
        *self.var_type(locals, v).0
    }

    fn check(&mut self, e: &Expr, want: Type, what: &str) {
        if e.ty != Type::Unknown && e.ty != want {
            self.conflict(e.span, format!("{what} must be a {} but is a {}", want.name(), e.ty.name()));
        }
    }

    /// Infers the statements of one body (a probe's or a function's).
    fn body(&mut self, locals: &mut [crate::ir::Local], s: &mut Stmt) {
        BodyTypes { inf: self, locals }.visit_stmt_mut(s);
    }
}

/// The statement walk of one body: each statement's own expressions are
/// inferred with what the statement expects of them (a condition is a
/// long, a `return` value the function's type, ...), then `ir::visit`
/// walks on into its sub-statements. Expressions are not visited again:
/// `Infer::expr` is the typing rule of each expression kind and takes
/// its operands itself, with their expected types.
struct BodyTypes<'i, 'p> {
    inf: &'i mut Infer<'p>,
    locals: &'i mut [crate::ir::Local],
}

impl VisitorMut for BodyTypes<'_, '_> {
    fn visit_expr_mut(&mut self, _: &mut Expr) {}

    fn visit_stmt_mut(&mut self, s: &mut Stmt) {
        let (inf, locals) = (&mut *self.inf, &mut *self.locals);
        match &mut s.kind {
            StmtKind::Expr(e) => {
                inf.expr(locals, e, Type::Unknown);
            }
            StmtKind::If { cond, .. } | StmtKind::While { cond, .. } => {
                inf.expr(locals, cond, Type::Long);
                inf.check(cond, Type::Long, "condition");
            }
            StmtKind::For { init, cond, step, .. } => {
                if let Some(e) = init {
                    inf.expr(locals, e, Type::Unknown);
                }
                if let Some(e) = cond {
                    inf.expr(locals, e, Type::Long);
                    inf.check(e, Type::Long, "condition");
                }
                if let Some(e) = step {
                    inf.expr(locals, e, Type::Unknown);
                }
            }
            StmtKind::Return(Some(e)) => {
                if let Some(f) = inf.ret {
                    let want = inf.sigs[f].1;
                    let t = inf.expr(locals, e, want);
                    let mut r = inf.sigs[f].1;
                    inf.unify(&mut r, t, e.span, "the function's return value");
                    inf.sigs[f].1 = r;
                }
            }
            StmtKind::Foreach { global, slice, keys, value, limit, .. } => {
                let g = *global;
                inf.slice_keys(locals, g, slice);
                let name = inf.globals[g].name.clone();
                for (i, &l) in keys.iter().enumerate() {
                    let mut slot = inf.globals[g].keys.as_ref().and_then(|v| v.get(i).copied()).unwrap_or(Type::Unknown);
                    inf.unify_local_with(locals, l, &mut slot, s.span, &format!("key {} of array `{name}`", i + 1));
                    if let Some(k) = inf.globals[g].keys.as_mut().and_then(|v| v.get_mut(i)) {
                        *k = slot;
                    }
                }
                if let Some(v) = value {
                    if inf.globals[g].ty == Type::Stat {
                        inf.conflict(s.span, format!("foreach cannot bind the value of statistic array `{name}`; use @count({name}[...]) and friends"));
                    } else {
                        let mut slot = inf.globals[g].ty;
                        inf.unify_local_with(locals, *v, &mut slot, s.span, &format!("the elements of array `{name}`"));
                        inf.globals[g].ty = slot;
                    }
                }
                if let Some(e) = limit {
                    inf.expr(locals, e, Type::Long);
                    inf.check(e, Type::Long, "limit");
                }
            }
            StmtKind::Delete { global, keys } => {
                if let Some(keys) = keys {
                    inf.keys(locals, *global, keys);
                }
            }
            StmtKind::DeleteSlice { global, keys } => inf.slice_keys(locals, *global, keys),
            StmtKind::Try { catch_var, .. } => {
                if let Some(v) = catch_var {
                    let mut t = locals[*v].ty;
                    inf.unify(&mut t, Type::String, s.span, "the `catch` variable (the error message)");
                    locals[*v].ty = t;
                }
            }
            StmtKind::Block(_)
            | StmtKind::Return(None)
            | StmtKind::Break
            | StmtKind::Continue
            | StmtKind::Next
            | StmtKind::Embedded(_)
            | StmtKind::Empty => {}
        }
        walk_stmt_mut(self, s);
    }
}

/// Settles every type in `prog`, pushing conflicts and unresolved names.
pub fn infer(prog: &mut Program, diags: &mut Diagnostics) {
    // A probe whose point did not resolve was never lowered, so the globals
    // it alone uses have no types: after earlier errors, saying so is noise.
    let earlier_errors = diags.has_errors();
    let mut sigs: Vec<(Vec<Type>, Type)> = prog
        .functions
        .iter()
        .map(|f| (f.locals[..f.params].iter().map(|l| l.ty).collect(), f.ret))
        .collect();
    let mut inf = Infer {
        globals: &mut prog.globals,
        sigs: &mut sigs,
        changed: true,
        errors: Vec::new(),
        seen: HashSet::new(),
        ret: None,
    };
    let mut rounds = 0;
    while inf.changed && rounds < 50 {
        inf.changed = false;
        rounds += 1;
        for b in prog.bodies.iter_mut() {
            inf.ret = None;
            inf.body(&mut b.locals, &mut b.body);
        }
        for (i, f) in prog.functions.iter_mut().enumerate() {
            // Parameter types flow both ways between calls and the body.
            for p in 0..f.params {
                let t = inf.sigs[i].0[p];
                let span = f.locals[p].span;
                let name = format!("parameter `{}`", f.locals[p].name);
                let mut slot = f.locals[p].ty;
                inf.unify(&mut slot, t, span, &name);
                f.locals[p].ty = slot;
                inf.sigs[i].0[p] = slot;
            }
            if let FunctionBody::Script(body) = &mut f.body {
                inf.ret = Some(i);
                inf.body(&mut f.locals, body);
            }
            for p in 0..f.params {
                inf.sigs[i].0[p] = f.locals[p].ty;
            }
        }
    }
    let errors = std::mem::take(&mut inf.errors);
    for (span, msg) in errors {
        diags.error(msg, span);
    }
    for (i, f) in prog.functions.iter_mut().enumerate() {
        f.ret = sigs[i].1;
        // A function that never returns a value is void; rstap gives it
        // type long so that it can stand as a statement.
        if f.ret == Type::Unknown {
            f.ret = Type::Long;
        }
    }
    for f in prog.functions.iter_mut() {
        if matches!(f.body, FunctionBody::Embedded(_)) {
            for l in f.locals.iter_mut() {
                if l.ty == Type::Unknown {
                    l.ty = Type::Long;
                }
            }
        }
    }
    for b in &prog.bodies {
        unresolved(&b.locals, diags);
    }
    for f in &prog.functions {
        unresolved(&f.locals, diags);
    }
    for g in prog.globals.iter_mut().filter(|_| !earlier_errors) {
        // Declared and never used: SystemTap warns and elides it; rstap
        // warns and keeps a long (array of long by long) that nothing uses.
        let unused_array = g.keys.as_ref().is_some_and(|k| k.is_empty()) && g.ty == Type::Unknown;
        if unused_array || (g.keys.is_none() && g.ty == Type::Unknown && g.init.is_none()) {
            diags.warning(format!("eliding unused variable `{}`", g.name), g.span);
            if unused_array {
                g.keys = Some(vec![Type::Long]);
            }
            g.ty = Type::Long;
            continue;
        }
        if let Some(keys) = &g.keys {
            if keys.is_empty() {
                diags.error(format!("array `{}` is never indexed, so its keys are unknown", g.name), g.span);
            }
            for (i, k) in keys.iter().enumerate() {
                if *k == Type::Unknown {
                    diags.error(format!("unresolved type for key {} of array `{}`", i + 1, g.name), g.span);
                }
            }
            if g.ty == Type::Unknown {
                diags.error(format!("unresolved type for the elements of array `{}`", g.name), g.span);
            }
        } else if g.ty == Type::Unknown {
            diags.error(format!("unresolved type for global `{}`", g.name), g.span);
        }
        if g.hist.is_some() && g.ty != Type::Stat {
            diags.error(format!("`{}` is not a statistic", g.name), g.span);
        }
    }
}

fn unresolved(locals: &[crate::ir::Local], diags: &mut Diagnostics) {
    for l in locals {
        if l.ty == Type::Unknown {
            diags.error(format!("unresolved type for identifier `{}`", l.name), l.span);
        }
    }
}
