//! DWARF location expressions → [`Location`] programs of [`LocOp`]s.
//!
//! Input: the bytes of one DWARF expression (from `DW_AT_location` or the
//! location-list entry covering the probe pc), the unit's encoding, whether
//! the probe is at the function's entry pc, and the frame base.
//! Output: a [`VarLocation`]: `Available(Location)`, or `Unsupported` with the
//! reason (never a panic).
//! Invariants: `DW_OP_fbreg` and `DW_OP_call_frame_cfa` are resolved to
//! register + offset here, so [`LocOp`] has no frame-base operation;
//! `DW_OP_entry_value(DW_OP_regN)` becomes `Reg(N)` at the entry pc and
//! `EntryValue(N)` elsewhere; control flow (`bra`, `skip`) is unsupported.

use super::{BinOp, Location, LocOp, Piece, Reg, Result, UnOp, VarLocation};
use gimli::{EndianSlice, LittleEndian, Operation};

/// The frame base (`DW_AT_frame_base`) of the function at the probe pc.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameBase {
    /// The frame base is `reg + offset`.
    RegOffset(Reg, i64),
    /// No frame base known (no attribute or no CFI at this pc).
    Unknown,
    Unsupported(String),
}

/// Evaluates a `DW_AT_frame_base` expression into a [`FrameBase`]; `cfa`
/// gives the CFA at the probe pc as register + offset.
pub fn frame_base_from_expr(
    expr: &[u8],
    encoding: gimli::Encoding,
    cfa: &dyn Fn() -> Result<Option<(Reg, i64)>>,
) -> Result<FrameBase> {
    let mut r = EndianSlice::new(expr, LittleEndian);
    let op = match Operation::parse(&mut r, encoding) {
        Ok(op) => op,
        Err(e) => return Ok(FrameBase::Unsupported(format!("bad frame base: {e}"))),
    };
    let fb = match op {
        Operation::CallFrameCFA => match cfa()? {
            Some((reg, off)) => FrameBase::RegOffset(reg, off),
            None => FrameBase::Unknown,
        },
        Operation::RegisterOffset { register, offset, .. } => FrameBase::RegOffset(Reg(register.0), offset),
        Operation::Register { register } => FrameBase::RegOffset(Reg(register.0), 0),
        other => FrameBase::Unsupported(format!("frame base {other:?}")),
    };
    if !r.is_empty() {
        return Ok(FrameBase::Unsupported("frame base with more than one operation".into()));
    }
    Ok(fb)
}

/// Translates one location expression. `fb` is asked for the frame base
/// only when the expression uses `DW_OP_fbreg`.
pub fn translate(
    expr: &[u8],
    encoding: gimli::Encoding,
    at_entry: bool,
    fb: &dyn Fn() -> Result<FrameBase>,
) -> VarLocation {
    match translate_inner(expr, encoding, at_entry, fb) {
        Ok(loc) => VarLocation::Available(loc),
        Err(why) => VarLocation::Unsupported(why),
    }
}

/// What the expression segment being built ends as.
enum Seg {
    Ops(Vec<LocOp>),
    Register(Reg),
    Value(Vec<LocOp>),
    Implicit(Vec<u8>),
    ImplicitPointer(u64, i64),
}

fn finish(seg: Seg) -> Option<Location> {
    match seg {
        Seg::Ops(ops) if ops.is_empty() => None,
        Seg::Ops(ops) => Some(Location::Memory(ops)),
        Seg::Register(r) => Some(Location::Register(r)),
        Seg::Value(ops) => Some(Location::Value(ops)),
        Seg::Implicit(b) => Some(Location::ImplicitValue(b)),
        Seg::ImplicitPointer(target, offset) => Some(Location::ImplicitPointer { target, offset }),
    }
}

fn translate_inner(
    expr: &[u8],
    encoding: gimli::Encoding,
    at_entry: bool,
    fb: &dyn Fn() -> Result<FrameBase>,
) -> std::result::Result<Location, String> {
    let mut r = EndianSlice::new(expr, LittleEndian);
    let mut seg = Seg::Ops(Vec::new());
    let mut pieces: Vec<Piece> = Vec::new();
    while !r.is_empty() {
        let op = Operation::parse(&mut r, encoding).map_err(|e| format!("malformed location expression: {e}"))?;
        if let Operation::Piece { size_in_bits, bit_offset } = op {
            let done = std::mem::replace(&mut seg, Seg::Ops(Vec::new()));
            pieces.push(Piece {
                size_bits: size_in_bits,
                bit_offset: bit_offset.unwrap_or(0),
                location: finish(done).map(Box::new),
            });
            continue;
        }
        let ops = match &mut seg {
            Seg::Ops(ops) => ops,
            _ => return Err("operation after a register, stack value or implicit value".into()),
        };
        let push = |ops: &mut Vec<LocOp>, op: LocOp| ops.push(op);
        match op {
            Operation::Register { register } => {
                if !ops.is_empty() {
                    return Err("DW_OP_regN after other operations".into());
                }
                seg = Seg::Register(Reg(register.0));
            }
            Operation::RegisterOffset { register, offset, base_type } => {
                if base_type.0 != 0 {
                    return Err("typed DWARF stack (DW_OP_bregx with a type)".into());
                }
                push(ops, LocOp::RegOffset(Reg(register.0), offset))
            }
            Operation::FrameOffset { offset } => match fb().map_err(|e| e.to_string())? {
                FrameBase::RegOffset(reg, k) => push(ops, LocOp::RegOffset(reg, k.wrapping_add(offset))),
                FrameBase::Unknown => return Err("DW_OP_fbreg without a known frame base at this pc".into()),
                FrameBase::Unsupported(why) => return Err(why),
            },
            Operation::CallFrameCFA => return Err("DW_OP_call_frame_cfa in a variable location".into()),
            Operation::UnsignedConstant { value } => push(ops, LocOp::Const(value)),
            Operation::SignedConstant { value } => push(ops, LocOp::Const(value as u64)),
            Operation::Address { address } => push(ops, LocOp::Const(address)),
            Operation::PlusConstant { value } => push(ops, LocOp::Plus(value as i64)),
            Operation::Deref { base_type, size, space } => {
                if base_type.0 != 0 || space {
                    return Err("typed or address-space DW_OP_deref".into());
                }
                push(ops, LocOp::Deref { size })
            }
            Operation::Drop => push(ops, LocOp::Drop),
            Operation::Pick { index } => push(
                ops,
                match index {
                    0 => LocOp::Dup,
                    1 => LocOp::Over,
                    i => LocOp::Pick(i),
                },
            ),
            Operation::Swap => push(ops, LocOp::Swap),
            Operation::Rot => push(ops, LocOp::Rot),
            Operation::Abs => push(ops, LocOp::Unary(UnOp::Abs)),
            Operation::Neg => push(ops, LocOp::Unary(UnOp::Neg)),
            Operation::Not => push(ops, LocOp::Unary(UnOp::Not)),
            Operation::And => push(ops, LocOp::Binary(BinOp::And)),
            Operation::Div => push(ops, LocOp::Binary(BinOp::Div)),
            Operation::Minus => push(ops, LocOp::Binary(BinOp::Sub)),
            Operation::Mod => push(ops, LocOp::Binary(BinOp::Mod)),
            Operation::Mul => push(ops, LocOp::Binary(BinOp::Mul)),
            Operation::Or => push(ops, LocOp::Binary(BinOp::Or)),
            Operation::Plus => push(ops, LocOp::Binary(BinOp::Add)),
            Operation::Shl => push(ops, LocOp::Binary(BinOp::Shl)),
            Operation::Shr => push(ops, LocOp::Binary(BinOp::Shr)),
            Operation::Shra => push(ops, LocOp::Binary(BinOp::Shra)),
            Operation::Xor => push(ops, LocOp::Binary(BinOp::Xor)),
            Operation::Eq => push(ops, LocOp::Binary(BinOp::Eq)),
            Operation::Ne => push(ops, LocOp::Binary(BinOp::Ne)),
            Operation::Lt => push(ops, LocOp::Binary(BinOp::Lt)),
            Operation::Le => push(ops, LocOp::Binary(BinOp::Le)),
            Operation::Gt => push(ops, LocOp::Binary(BinOp::Gt)),
            Operation::Ge => push(ops, LocOp::Binary(BinOp::Ge)),
            Operation::Nop => {}
            Operation::StackValue => {
                let ops = std::mem::take(ops);
                seg = Seg::Value(ops);
            }
            Operation::ImplicitValue { data } => {
                if !ops.is_empty() {
                    return Err("DW_OP_implicit_value after other operations".into());
                }
                seg = Seg::Implicit(data.slice().to_vec());
            }
            Operation::EntryValue { expression } => {
                let mut er = expression;
                let inner = Operation::parse(&mut er, encoding).map_err(|e| format!("malformed DW_OP_entry_value: {e}"))?;
                match (inner, er.is_empty()) {
                    (Operation::Register { register }, true) => {
                        let reg = Reg(register.0);
                        push(ops, if at_entry { LocOp::Reg(reg) } else { LocOp::EntryValue(reg) })
                    }
                    _ => return Err("DW_OP_entry_value of something other than a register".into()),
                }
            }
            Operation::ImplicitPointer { value, byte_offset } => {
                if !ops.is_empty() {
                    return Err("DW_OP_implicit_pointer after other operations".into());
                }
                seg = Seg::ImplicitPointer(value.0 as u64, byte_offset);
            }
            Operation::Bra { .. } | Operation::Skip { .. } => return Err("control flow in a location expression".into()),
            other => return Err(format!("unsupported location operation {other:?}")),
        }
    }
    if !pieces.is_empty() {
        if let Some(last) = finish(seg) {
            return Err(format!("trailing location {last:?} after pieces"));
        }
        return Ok(Location::Pieces(pieces));
    }
    // A lone register-value program `bregN 0` ... stays Memory: the value
    // computed is an address.
    finish(seg).ok_or_else(|| "empty location expression".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc() -> gimli::Encoding {
        gimli::Encoding { format: gimli::Format::Dwarf32, version: 5, address_size: 8 }
    }

    fn no_fb() -> Result<FrameBase> {
        Ok(FrameBase::RegOffset(Reg(7), 8))
    }

    #[test]
    fn register_and_fbreg() {
        // DW_OP_reg5 (rdi)
        assert_eq!(translate(&[0x55], enc(), false, &no_fb), VarLocation::Available(Location::Register(Reg(5))));
        // DW_OP_fbreg -20
        assert_eq!(
            translate(&[0x91, 0x6c], enc(), false, &no_fb),
            VarLocation::Available(Location::Memory(vec![LocOp::RegOffset(Reg(7), -12)]))
        );
        // DW_OP_entry_value(DW_OP_reg5) DW_OP_stack_value
        assert_eq!(
            translate(&[0xa3, 0x01, 0x55, 0x9f], enc(), false, &no_fb),
            VarLocation::Available(Location::Value(vec![LocOp::EntryValue(Reg(5))]))
        );
        assert_eq!(
            translate(&[0xa3, 0x01, 0x55, 0x9f], enc(), true, &no_fb),
            VarLocation::Available(Location::Value(vec![LocOp::Reg(Reg(5))]))
        );
        // DW_OP_reg0 DW_OP_piece 8 DW_OP_piece 8 (second piece optimized out)
        match translate(&[0x50, 0x93, 0x08, 0x93, 0x08], enc(), false, &no_fb) {
            VarLocation::Available(Location::Pieces(p)) => {
                assert_eq!(p.len(), 2);
                assert_eq!(p[0].location.as_deref(), Some(&Location::Register(Reg(0))));
                assert_eq!(p[1].location, None);
            }
            other => panic!("{other:?}"),
        }
        // DW_OP_lit3 DW_OP_stack_value
        assert_eq!(
            translate(&[0x33, 0x9f], enc(), false, &no_fb),
            VarLocation::Available(Location::Value(vec![LocOp::Const(3)]))
        );
        // Truncated: never panics.
        assert!(matches!(translate(&[0x91], enc(), false, &no_fb), VarLocation::Unsupported(_)));
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for len in 0..2000usize {
            let bytes: Vec<u8> = (0..len % 24)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            let _ = translate(&bytes, enc(), len % 2 == 0, &no_fb);
            let _ = frame_base_from_expr(&bytes, enc(), &|| Ok(Some((Reg(7), 8))));
        }
    }
}
