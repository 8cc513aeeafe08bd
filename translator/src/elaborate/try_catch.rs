//! Lowering of `try { ... } catch (msg) { ... }`.
//!
//! Input: the AST statement. Output: `ir::StmtKind::Try`; the catch
//! variable becomes a string local of the enclosing body (SystemTap binds
//! it like an assignment would: a local of that name, declared if new).
//! Invariants: both blocks are lowered in the enclosing scope, so locals
//! set in either stay visible after the statement, as in SystemTap.

use super::lower::Scope;
use super::lower::Lowerer;
use crate::ir::{Stmt, StmtKind, Type};
use crate::syntax::ast;

impl<'a> Lowerer<'a> {
    pub(super) fn lower_try(
        &mut self,
        scope: &mut Scope,
        body: &ast::Block,
        catch_var: Option<&ast::Ident>,
        catch_body: &ast::Block,
    ) -> StmtKind {
        let body: Stmt = self.lower_block(scope, body);
        let catch_var = catch_var.map(|id| self.bind_local(scope, id, Type::String));
        let catch_body = self.lower_block(scope, catch_body);
        StmtKind::Try {
            body: Box::new(body),
            catch_var,
            catch_body: Box::new(catch_body),
        }
    }
}
