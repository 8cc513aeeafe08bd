//! `$var$`, `$var$$`, `$$parms`, `$$vars`, `$$locals`, `$$return` and
//! their `$` forms: target values as strings.
//!
//! Input: a target expression with a pretty suffix, or a variable-list
//! name, at the DWARF site being lowered. Output: an `ExprKind::Format`
//! (sprintf at run time) whose pieces follow SystemTap: `name=0x...` for
//! plain lists; for pretty forms a struct or union (or a pointer to one) as
//! `{.a=1, .p=0x..., .s={...}, .v=[...]}`, `char` pointers and arrays as
//! quoted strings (read by the pretty tapset, `""` when unreadable), other
//! values in decimal; `$$` also expands nested structs and shows arrays as
//! `[first, ...]`. Invariants: a member or variable that cannot be read is
//! `?`, never an error; the whole string is cut at MAXSTRINGLEN at run time.

use crate::debuginfo::{types, BaseEncoding, TypeId, TypeInfo, TypeKind};
use crate::diag::Span;
use crate::ir::{Expr, ExprKind, Type};
use crate::ir_target::{TargetAccess, TargetFinal};
use crate::syntax::ast;

use super::lower::Scope;
use super::target::{long, R};
use super::lower::Lowerer;

impl<'a> Lowerer<'a> {
    /// `$$parms`, `$$locals`, `$$vars`, `$$return`: a string
    /// `name=0x... name=?` built with sprintf at run time (integers and
    /// pointers in hex, structs as `{...}`, optimized-out values as `?`).
    pub(super) fn lower_var_list(&mut self, scope: &mut Scope, which: &str, pretty: u8, span: Span) -> Expr {
        use crate::debuginfo::VarKind;
        use crate::ir::FormatPiece;
        let str_expr = |s: String| Expr { kind: ExprKind::Str(s), ty: Type::String, span };
        if self.target.site.is_none() {
            if let Some(e) = self.syscall_var_list(scope, which, pretty, span) {
                return e;
            }
        }
        let Some(site) = self.target.site.clone() else {
            self.diags.error(format!("`$${which}` is only available in kernel.function probes"), span);
            return str_expr(String::new());
        };
        let Some(di) = self.debuginfo() else {
            return str_expr(String::new());
        };
        let names: Vec<(String, bool)> = if which == "return" {
            if !site.ret {
                self.diags.error("`$$return` is only available in .return probes", span);
                return str_expr(String::new());
            }
            // A function without a value: the empty string (man stapprobes).
            if site.return_type.is_none() {
                return str_expr(String::new());
            }
            vec![("return".into(), false)]
        } else {
            let want: &[VarKind] = match which {
                "parms" => &[VarKind::Param],
                "locals" => &[VarKind::Local],
                "vars" => &[VarKind::Param, VarKind::Local],
                _ => {
                    self.diags.error(format!("unknown target variable list `$${which}`; use $$parms, $$locals, $$vars or $$return"), span);
                    return str_expr(String::new());
                }
            };
            match di.variables(site.die, site.pc) {
                Ok(v) => v.into_iter().filter(|v| want.contains(&v.kind) && v.name != "__data").map(|v| (v.name, true)).collect(),
                Err(e) => {
                    self.diags.error(e.to_string(), span);
                    return str_expr(String::new());
                }
            }
        };
        let mut pieces = Vec::new();
        let mut args = Vec::new();
        if pretty > 0 {
            // `$$parms$`: each variable pretty-printed, as `$name$` is.
            let mut out = Pretty { pieces, args, span };
            for (i, (name, _)) in names.iter().enumerate() {
                let t = ast::TargetExpr {
                    base: ast::TargetBase::Var(ast::Ident { name: name.clone(), span }),
                    chain: Vec::new(),
                    addr_of: false,
                    pretty: 0,
                };
                out.text(&format!("{}{name}=", if i == 0 { "" } else { " " }));
                if self.pretty_top(scope, &t, pretty, &format!("${name}"), &mut out).is_err() {
                    out.text("?");
                }
            }
            return Expr { kind: ExprKind::Format { pieces: out.pieces, args: out.args, to_string: true }, ty: Type::String, span };
        }
        for (i, (name, _)) in names.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            let t = ast::TargetExpr {
                base: ast::TargetBase::Var(ast::Ident { name: name.clone(), span }),
                chain: Vec::new(),
                addr_of: false,
                pretty: 0,
            };
            let shown = format!("${name}");
            let r = self.target_access(scope, &t, &shown);
            match r {
                Ok(acc) if acc.fin == TargetFinal::Address => pieces.push(FormatPiece::Text(format!("{sep}{name}={{...}}"))),
                Ok(acc) => {
                    pieces.push(FormatPiece::Text(format!("{sep}{name}=")));
                    pieces.push(FormatPiece::Conv { arg: args.len(), flags: "#".into(), width: None, precision: None, conv: 'x' });
                    args.push(long(ExprKind::Target(Box::new(acc)), span));
                }
                Err(_) => pieces.push(FormatPiece::Text(format!("{sep}{name}=?"))),
            }
        }
        Expr { kind: ExprKind::Format { pieces, args, to_string: true }, ty: Type::String, span }
    }

    /// `$var$` / `$var$$`: a string, as SystemTap's pretty-printing shows
    /// it: a struct or union (or a pointer to one) as its members
    /// `{.a=1, .p=0x..., .s={...}, .v=[...]}`, a char pointer or array as
    /// a quoted string, other values in decimal. `$$` also expands nested
    /// structs and shows arrays as `[first, ...]`.
    pub(super) fn lower_pretty(&mut self, scope: &mut Scope, t: &ast::TargetExpr, span: Span) -> Expr {
        let text = self.sources.snippet(span).to_string();
        let plain = ast::TargetExpr { pretty: 0, ..t.clone() };
        let mut out = Pretty { pieces: Vec::new(), args: Vec::new(), span };
        if let Err(msg) = self.pretty_top(scope, &plain, t.pretty, &text, &mut out) {
            if !self.target.undefined.iter().any(|u| text.starts_with(u.as_str())) {
                self.diags.error(msg, span);
            }
            return Expr { kind: ExprKind::Str(String::new()), ty: Type::String, span };
        }
        Expr { kind: ExprKind::Format { pieces: out.pieces, args: out.args, to_string: true }, ty: Type::String, span }
    }

    /// The pretty form of the whole access `plain` (no `$` suffix).
    fn pretty_top(&mut self, scope: &mut Scope, plain: &ast::TargetExpr, depth: u8, text: &str, out: &mut Pretty) -> R<()> {
        let (acc, ty) = self.target_access_typed(scope, plain, text)?;
        let kind = self.stripped(plain, ty);
        if let Some(TypeKind::Pointer { target: Some(p) }) = &kind {
            match self.stripped(plain, *p) {
                Some(members @ (TypeKind::Struct { .. } | TypeKind::Union { .. })) => {
                    self.pretty_members(scope, plain, &members, depth, text, out);
                    return Ok(());
                }
                Some(TypeKind::Base(_)) if self.is_char(plain, *p) => {
                    let user = acc.user;
                    out.string(self, long(ExprKind::Target(Box::new(acc)), out.span), None, user);
                    return Ok(());
                }
                _ => {}
            }
        }
        self.pretty_value_of(scope, plain, acc, kind, depth, text, out, true);
        Ok(())
    }

    /// Is `ty` (of the access `t`) plain `char` (not `signed char` or
    /// `unsigned char`, which hold bytes rather than text)?
    fn is_char(&self, t: &ast::TargetExpr, ty: TypeId) -> bool {
        let Ok(di) = self.access_debuginfo(t) else { return false };
        matches!(types::strip(di, ty), Ok(Some(TypeInfo { kind: TypeKind::Base(_), size: Some(1), name: Some(n), .. })) if n == "char")
    }

    /// `{.a=..., ...}` for the members of `kind` (a struct or union) of the
    /// object `base` names; `depth` 1 is `$`, 2 and more `$$`.
    fn pretty_members(&mut self, scope: &mut Scope, base: &ast::TargetExpr, kind: &TypeKind, depth: u8, text: &str, out: &mut Pretty) {
        let (TypeKind::Struct { members } | TypeKind::Union { members }) = kind else { return };
        out.text("{");
        let mut first = true;
        for m in members {
            let Some(name) = m.name.clone() else { continue };
            out.text(&format!("{}.{name}=", if first { "" } else { ", " }));
            first = false;
            let mut sub = base.clone();
            sub.chain.push(ast::TargetComponent::Field(ast::Ident { name, span: out.span }));
            match self.target_access_typed(scope, &sub, text) {
                Ok((acc, ty)) => {
                    let kind = self.stripped(&sub, ty);
                    self.pretty_value_of(scope, &sub, acc, kind, depth, text, out, false);
                }
                Err(_) => out.text("?"),
            }
        }
        out.text("}");
    }

    /// One value: nested structs and arrays by `depth`, char pointers and
    /// arrays as strings, other pointers as `%p` inside a struct (`top`:
    /// in decimal, as SystemTap shows a pretty-printed variable), integers
    /// in decimal.
    #[allow(clippy::too_many_arguments)]
    fn pretty_value_of(
        &mut self,
        scope: &mut Scope,
        sub: &ast::TargetExpr,
        acc: TargetAccess,
        kind: Option<TypeKind>,
        depth: u8,
        text: &str,
        out: &mut Pretty,
        top: bool,
    ) {
        let span = out.span;
        let value = |acc: TargetAccess| long(ExprKind::Target(Box::new(acc)), span);
        match kind {
            Some(k @ (TypeKind::Struct { .. } | TypeKind::Union { .. })) => {
                if depth > 1 || top {
                    self.pretty_members(scope, sub, &k, depth, text, out);
                } else {
                    out.text("{...}");
                }
            }
            Some(TypeKind::Array { element, dims }) => {
                if self.is_char(sub, element) && dims.len() == 1 {
                    let user = acc.user;
                    out.string(self, value(acc), dims[0], user);
                } else if depth > 1 {
                    out.text("[");
                    let mut elem = sub.clone();
                    elem.chain.push(ast::TargetComponent::Index(ast::Expr { kind: ast::ExprKind::Number(0), span }));
                    match self.target_access_typed(scope, &elem, text) {
                        Ok((a, t)) => {
                            let k = self.stripped(&elem, t);
                            self.pretty_value_of(scope, &elem, a, k, depth, text, out, false);
                        }
                        Err(_) => out.text("?"),
                    }
                    let more = dims.first().copied().flatten() != Some(1);
                    out.text(if more { ", ...]" } else { "]" });
                } else {
                    out.text("[...]");
                }
            }
            Some(TypeKind::Pointer { target: Some(p) }) if self.is_char(sub, p) => {
                let user = acc.user;
                out.string(self, value(acc), None, user)
            }
            Some(TypeKind::Pointer { .. }) if !top => out.conv('p', value(acc)),
            Some(TypeKind::Base(BaseEncoding::Unsigned)) => out.conv('u', value(acc)),
            Some(TypeKind::Base(BaseEncoding::Float | BaseEncoding::Other)) | None => out.text("?"),
            Some(_) if acc.fin == TargetFinal::Address => out.text("?"),
            Some(_) => out.conv('d', value(acc)),
        }
    }
}

/// The format being built for a `$var$` string.
struct Pretty {
    pieces: Vec<crate::ir::FormatPiece>,
    args: Vec<Expr>,
    span: Span,
}

impl Pretty {
    fn conv(&mut self, conv: char, arg: Expr) {
        let flags = if conv == 'x' { "#" } else { "" };
        self.pieces.push(crate::ir::FormatPiece::Conv { arg: self.args.len(), flags: flags.into(), width: None, precision: None, conv });
        self.args.push(arg);
    }

    fn text(&mut self, t: &str) {
        self.pieces.push(crate::ir::FormatPiece::Text(t.to_string()));
    }

    /// A quoted string read from the address `addr` (at most `max` bytes,
    /// an array's length; always within MAXSTRINGLEN; `""` when the memory
    /// cannot be read), via the pretty tapset.
    fn string(&mut self, e: &mut Lowerer<'_>, addr: Expr, max: Option<u64>, user: bool) {
        let max = max.map_or(-1, |m| m.min(i64::MAX as u64) as i64);
        let span = self.span;
        let Some(func) = e.function_index("__pretty_string") else {
            return self.text("?");
        };
        let call = Expr { kind: ExprKind::Call { func, args: vec![addr, long(ExprKind::Long(max), span), long(ExprKind::Long(user as i64), span)] }, ty: Type::String, span };
        self.pieces.push(crate::ir::FormatPiece::Conv { arg: self.args.len(), flags: String::new(), width: None, precision: None, conv: 's' });
        self.args.push(call);
    }
}
