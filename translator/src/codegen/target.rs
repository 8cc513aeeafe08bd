//! C for target-variable reads (`ir::ExprKind::Target`) and stores
//! (`ir::ExprKind::TargetStore`, guru mode).
//!
//! Input: a `TargetAccess` / `TargetStore` decided in pass 2. Output: for a
//! read, one C statement expression of type int64_t that computes `cur`
//! from `pt_regs` fields (`rstap_reg`) or a script value, applies the
//! offsets and loads, and reads the final value; for a store, the values
//! of `templates/expr/store.c.tera`. Invariants: every memory access is
//! `rstap_kread` / `rstap_kwrite*`, or `rstap_user_read` for user memory
//! (fault-tolerant; a fault sets the handler's error); location programs are evaluated symbolically here, so
//! the C has no run-time stack.

use super::emit::Emitter;
use crate::debuginfo::{AccessOp, BinOp, LocOp, UnOp};
use crate::diag::Span;
use crate::ir::Type;
use super::templates::render_stmt;
use crate::ir::store::{StoreKind, TargetStore};
use crate::ir::BinaryOp;
use crate::ir_target::{TargetAccess, TargetBase, TargetFinal, TargetStep};

/// `rstap_reg(CB, field)` for a DWARF register (pass 2 checked it
/// exists); `rstap_entry_reg(field)` for the registers saved at entry.
fn reg(r: crate::debuginfo::Reg, entry: bool) -> String {
    let f = r.pt_regs_field().unwrap_or("ip");
    if entry {
        format!("rstap_entry_reg({f})")
    } else {
        format!("rstap_reg(CB, {f})")
    }
}

fn binop(op: BinOp, a: &str, b: &str) -> String {
    let s = |x: &str| format!("(int64_t){x}");
    match op {
        BinOp::Add => format!("({a} + {b})"),
        BinOp::Sub => format!("({a} - {b})"),
        BinOp::Mul => format!("({a} * {b})"),
        BinOp::Div => format!("({b} ? (uint64_t)({} / {}) : 0ULL)", s(a), s(b)),
        BinOp::Mod => format!("({b} ? (uint64_t)({} % {}) : 0ULL)", s(a), s(b)),
        BinOp::And => format!("({a} & {b})"),
        BinOp::Or => format!("({a} | {b})"),
        BinOp::Xor => format!("({a} ^ {b})"),
        BinOp::Shl => format!("({b} < 64 ? {a} << {b} : 0ULL)"),
        BinOp::Shr => format!("({b} < 64 ? {a} >> {b} : 0ULL)"),
        BinOp::Shra => format!("(uint64_t)({} >> ({b} < 64 ? {b} : 63))", s(a)),
        BinOp::Eq => format!("(uint64_t)({} == {})", s(a), s(b)),
        BinOp::Ne => format!("(uint64_t)({} != {})", s(a), s(b)),
        BinOp::Lt => format!("(uint64_t)({} < {})", s(a), s(b)),
        BinOp::Le => format!("(uint64_t)({} <= {})", s(a), s(b)),
        BinOp::Gt => format!("(uint64_t)({} > {})", s(a), s(b)),
        BinOp::Ge => format!("(uint64_t)({} >= {})", s(a), s(b)),
    }
}

/// C (uint64_t) for a location program's result, or None when the program
/// is malformed (stack underflow).
fn program(ops: &[LocOp], loc: &str, entry: bool) -> Option<String> {
    let mut st: Vec<String> = Vec::new();
    for op in ops {
        match op {
            LocOp::Reg(r) | LocOp::EntryValue(r) => st.push(reg(*r, entry)),
            LocOp::RegOffset(r, k) => st.push(format!("({} + (uint64_t){k}LL)", reg(*r, entry))),
            LocOp::Const(k) => st.push(format!("{k}ULL")),
            LocOp::Plus(k) => {
                let a = st.pop()?;
                st.push(format!("({a} + (uint64_t){k}LL)"));
            }
            LocOp::Deref { size } => {
                let a = st.pop()?;
                st.push(format!("rstap_kread(CB, {a}, {size}, {loc})"));
            }
            LocOp::Dup => st.push(st.last()?.clone()),
            LocOp::Drop => {
                st.pop()?;
            }
            LocOp::Swap => {
                let n = st.len();
                if n < 2 {
                    return None;
                }
                st.swap(n - 1, n - 2);
            }
            LocOp::Over => {
                let n = st.len();
                st.push(st.get(n.checked_sub(2)?)?.clone());
            }
            LocOp::Rot => {
                let c = st.pop()?;
                let b = st.pop()?;
                let a = st.pop()?;
                st.push(c);
                st.push(a);
                st.push(b);
            }
            LocOp::Pick(i) => {
                let n = st.len();
                st.push(st.get(n.checked_sub(1 + *i as usize)?)?.clone());
            }
            LocOp::Binary(b) => {
                let y = st.pop()?;
                let x = st.pop()?;
                st.push(binop(*b, &x, &y));
            }
            LocOp::Unary(u) => {
                let a = st.pop()?;
                st.push(match u {
                    UnOp::Neg => format!("(uint64_t)(-(int64_t){a})"),
                    UnOp::Not => format!("(~{a})"),
                    UnOp::Abs => format!("(uint64_t)((int64_t){a} < 0 ? -(int64_t){a} : (int64_t){a})"),
                });
            }
        }
    }
    st.pop()
}

impl<'p> Emitter<'p> {
    /// C for a target-variable read (`templates/expr/target.c.tera`): the
    /// base, each step and the final read as single expressions of `cur`.
    pub fn target(&mut self, t: &TargetAccess, span: Span) -> String {
        let loc = self.location(span);
        let cur = self.temp(Type::Long);
        let base = match &t.base {
            TargetBase::Program(ops) => match program(ops, &loc, t.entry_regs) {
                Some(x) => format!("(int64_t){x}"),
                None => format!("(rstap_error(CB, \"malformed DWARF location\", {loc}), (int64_t)0)"),
            },
            TargetBase::KernelAddress { link, anchor, anchor_link } => {
                format!("(int64_t)((uint64_t)(unsigned long)&{anchor} - 0x{anchor_link:x}ULL + 0x{link:x}ULL)")
            }
            TargetBase::ModuleSymbol { module, symbol, offset } => format!(
                "(int64_t)rstap_module_symbol_at(CB, {}, {}, {offset}ULL, {loc})",
                super::emit::c_string(module),
                super::emit::c_string(symbol),
            ),
            TargetBase::Expr(e) => self.expr(e),
        };
        // A system call's pointer parameter points into user memory.
        let read = if t.user { "rstap_user_read" } else { "rstap_kread" };
        let mut steps = Vec::new();
        for s in &t.steps {
            steps.push(match s {
                TargetStep::Op(AccessOp::Add(k)) => format!("(int64_t)((uint64_t){cur} + (uint64_t){k}LL)"),
                TargetStep::Op(AccessOp::Load { size }) => format!("(int64_t){read}(CB, (uint64_t){cur}, {size}, {loc})"),
                TargetStep::Index { index, stride } => {
                    let i = self.expr(index);
                    format!("(int64_t)((uint64_t){cur} + (uint64_t)({i}) * {stride}ULL)")
                }
            });
        }
        let fin = match t.fin {
            TargetFinal::Address => cur.clone(),
            TargetFinal::Value { size, signed } => {
                let f = if signed { "rstap_sext" } else { "rstap_zext" };
                format!("{f}((uint64_t){cur}, {size})")
            }
            TargetFinal::Load(r) => {
                let read = |size: u8| format!("{read}(CB, (uint64_t){cur}, {size}, {loc})");
                match r.bitfield {
                    Some(b) => {
                        let size = if b.bit_offset + b.bit_size > r.size as u32 * 8 { 8 } else { r.size };
                        format!("rstap_bits({}, {}, {}, {})", read(size), b.bit_offset, b.bit_size, r.signed as u8)
                    }
                    None => {
                        let f = if r.signed { "rstap_sext" } else { "rstap_zext" };
                        format!("{f}({}, {})", read(r.size), r.size)
                    }
                }
            }
        };
        let mut c = tera::Context::new();
        c.insert("cur", &cur);
        c.insert("base", &base);
        c.insert("steps", &steps);
        c.insert("fin", &fin);
        render_stmt("expr/target.c", &c)
    }
}

impl<'p> Emitter<'p> {
    /// C for a store to a target variable (`templates/expr/store.c.tera`):
    /// this fills in the destination, the reads and the write as single
    /// runtime calls (`runtime-c/rstap_store.h`).
    pub fn target_store(&mut self, s: &TargetStore, span: Span) -> String {
        let loc = self.location(span);
        let mut c = tera::Context::new();
        c.insert("loc", &loc);
        let n = self.temp(Type::Long);
        let (old, write) = match s.kind {
            StoreKind::CharArray { len } => {
                let addr = self.target(&s.dest, span);
                let a = self.temp(Type::Long);
                let value = self.expr(&s.value);
                c.insert("addr", &addr);
                c.insert("a", &a);
                c.insert("chars", &true);
                c.insert("len", &len);
                c.insert("value", &value);
                return render_stmt("expr/store.c", &c);
            }
            StoreKind::Register { field, size, signed } => (
                format!("rstap_reg_load(CB, {field}, {size}, {})", signed as u8),
                format!("rstap_reg_store(CB, {field}, {n}, {loc})"),
            ),
            StoreKind::Memory { size, signed, bitfield } => {
                let addr = self.target(&s.dest, span);
                let a = self.temp(Type::Long);
                c.insert("addr", &addr);
                c.insert("a", &a);
                match bitfield {
                    Some(b) => {
                        let size = if b.bit_offset + b.bit_size > size as u32 * 8 { 8 } else { size };
                        let (off, bits) = (b.bit_offset, b.bit_size);
                        (
                            format!("rstap_kload_bits(CB, (uint64_t){a}, {size}, {off}, {bits}, {}, {loc})", signed as u8),
                            format!("rstap_kwrite_bits(CB, (uint64_t){a}, {size}, {off}, {bits}, {n}, {loc})"),
                        )
                    }
                    None => (
                        format!("rstap_kload(CB, (uint64_t){a}, {size}, {}, {loc})", signed as u8),
                        format!("rstap_kwrite(CB, (uint64_t){a}, {size}, {n}, {loc})"),
                    ),
                }
            }
        };
        let value = self.expr(&s.value);
        let mut result = n.clone();
        let new = match s.op {
            None => value,
            Some(op) => {
                let o = self.temp(Type::Long);
                c.insert("o", &o);
                c.insert("old", &old);
                let new = self.compound(op, &o, &value, span);
                if s.post {
                    result = o;
                }
                new
            }
        };
        c.insert("n", &n);
        c.insert("new", &new);
        c.insert("write", &write);
        c.insert("result", &result);
        render_stmt("expr/store.c", &c)
    }

    /// `old op value` as the script's operators compute it.
    fn compound(&self, op: BinaryOp, old: &str, value: &str, span: Span) -> String {
        match op {
            BinaryOp::Div => format!("rstap_div(CB, {old}, {value}, {})", self.op_location(op, span, span.lo)),
            BinaryOp::Mod => format!("rstap_mod(CB, {old}, {value}, {})", self.op_location(op, span, span.lo)),
            BinaryOp::Shl => format!("rstap_shl({old}, {value})"),
            BinaryOp::Shr => format!("rstap_shr({old}, {value})"),
            o => format!("({old} {} {value})", o.symbol()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::debuginfo::Reg;

    #[test]
    fn programs() {
        assert_eq!(program(&[LocOp::Reg(Reg(5))], "L", false).unwrap(), "rstap_reg(CB, di)");
        assert_eq!(
            program(&[LocOp::RegOffset(Reg(7), 8), LocOp::Deref { size: 8 }], "L", false).unwrap(),
            "rstap_kread(CB, (rstap_reg(CB, sp) + (uint64_t)8LL), 8, L)"
        );
        assert!(program(&[LocOp::Drop], "L", false).is_none());
    }
}
