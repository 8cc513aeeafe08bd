//! BTF, the kernel's compact type information (`.BTF` of vmlinux), as a
//! [`DebugInfo`]: types, and functions with their parameters.
//!
//! Input: the bytes of a `.BTF` section (format: the kernel's
//! Documentation/bpf/btf.rst: a header, a type section of variable-length
//! records numbered from 1, and a string section), optionally the
//! kernel's trace events (`(system, event)`, see `trace_events`).
//! Output: [`BtfDebugInfo`]: a [`TypeId`] is a BTF type id (0 is void);
//! a function's [`DieRef`] is the id of its `BTF_KIND_FUNC` record.
//! BTF has no addresses or locations: [`DebugInfo::variables`] of a
//! function gives its parameters where the x86-64 calling convention puts
//! them at its entry (rdi, rsi, rdx, rcx, r8, r9, then the stack above the
//! return address), which is what a tracepoint callback hands the probe.
//! Invariants: parsing is bounds-checked and never panics; malformed
//! input is an error; every walk through type references is bounded by
//! the callers in `types`.

use std::collections::HashMap;

use super::*;

const BTF_MAGIC: u16 = 0xeb9f;

const KIND_INT: u8 = 1;
const KIND_PTR: u8 = 2;
const KIND_ARRAY: u8 = 3;
const KIND_STRUCT: u8 = 4;
const KIND_UNION: u8 = 5;
const KIND_ENUM: u8 = 6;
const KIND_FWD: u8 = 7;
const KIND_TYPEDEF: u8 = 8;
const KIND_VOLATILE: u8 = 9;
const KIND_CONST: u8 = 10;
const KIND_RESTRICT: u8 = 11;
const KIND_FUNC: u8 = 12;
const KIND_FUNC_PROTO: u8 = 13;
const KIND_VAR: u8 = 14;
const KIND_DATASEC: u8 = 15;
const KIND_FLOAT: u8 = 16;
const KIND_DECL_TAG: u8 = 17;
const KIND_TYPE_TAG: u8 = 18;
const KIND_ENUM64: u8 = 19;

/// The pseudo module name of probe sites whose variables BTF describes
/// (`DwarfSite::module` of a `kernel.trace` probe placed from BTF).
pub const BTF_SCOPE: &str = "<btf>";

/// Where parameter `i` (0-based) of a function is at its entry: the
/// x86-64 argument registers (DWARF numbers), then the stack.
pub fn param_location(i: usize) -> Location {
    const REGS: [u16; 6] = [5, 4, 1, 2, 8, 9]; // rdi rsi rdx rcx r8 r9
    match REGS.get(i) {
        Some(&r) => Location::Register(Reg(r)),
        None => Location::Memory(vec![LocOp::RegOffset(Reg::RSP, 8 * (i as i64 - 5))]),
    }
}

fn bad(why: &str) -> DebugInfoError {
    DebugInfoError::Dwarf(format!("malformed BTF: {why}"))
}

/// One type record: its common header and where its extra data starts.
#[derive(Clone, Copy, Debug)]
struct Rec {
    name_off: u32,
    info: u32,
    size_type: u32,
    extra: usize,
}

impl Rec {
    fn kind(&self) -> u8 {
        ((self.info >> 24) & 0x1f) as u8
    }
    fn vlen(&self) -> usize {
        (self.info & 0xffff) as usize
    }
    fn kflag(&self) -> bool {
        self.info >> 31 != 0
    }
}

/// A kernel's BTF, parsed into a record table.
pub struct BtfDebugInfo {
    types: Vec<u8>,
    strings: Vec<u8>,
    /// Record `i` is type id `i + 1`.
    recs: Vec<Rec>,
    /// `("struct"|"union"|"enum"|"", name)` → ids, definitions first.
    by_name: HashMap<(&'static str, String), Vec<u32>>,
    /// Functions by name.
    funcs: HashMap<String, u32>,
    /// The kernel's trace events `(system, event)`, sorted.
    events: Vec<(String, String)>,
}

fn u32_at(b: &[u8], p: usize) -> Result<u32> {
    b.get(p..p + 4).map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]])).ok_or_else(|| bad("record runs past the type section"))
}

impl BtfDebugInfo {
    /// Parses a `.BTF` section.
    pub fn parse(data: &[u8]) -> Result<BtfDebugInfo> {
        if data.len() < 24 || u16::from_le_bytes([data[0], data[1]]) != BTF_MAGIC {
            return Err(bad("no BTF magic (big-endian BTF is not supported)"));
        }
        let hdr_len = u32_at(data, 4)? as usize;
        let (toff, tlen, soff, slen) = (u32_at(data, 8)? as usize, u32_at(data, 12)? as usize, u32_at(data, 16)? as usize, u32_at(data, 20)? as usize);
        let section = |off: usize, len: usize| -> Result<Vec<u8>> {
            let start = hdr_len.checked_add(off).ok_or_else(|| bad("section offset overflows"))?;
            let end = start.checked_add(len).ok_or_else(|| bad("section length overflows"))?;
            data.get(start..end).map(|s| s.to_vec()).ok_or_else(|| bad("section outside the data"))
        };
        let types = section(toff, tlen)?;
        let strings = section(soff, slen)?;
        let mut recs = Vec::new();
        let mut p = 0;
        while p < types.len() {
            let r = Rec { name_off: u32_at(&types, p)?, info: u32_at(&types, p + 4)?, size_type: u32_at(&types, p + 8)?, extra: p + 12 };
            let extra = match r.kind() {
                KIND_INT | KIND_VAR | KIND_DECL_TAG => 4,
                KIND_ARRAY => 12,
                KIND_STRUCT | KIND_UNION | KIND_DATASEC | KIND_ENUM64 => 12 * r.vlen(),
                KIND_ENUM | KIND_FUNC_PROTO => 8 * r.vlen(),
                KIND_PTR | KIND_FWD | KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_FUNC | KIND_FLOAT | KIND_TYPE_TAG => 0,
                k => return Err(bad(&format!("unknown kind {k} at type {}", recs.len() + 1))),
            };
            p = r.extra + extra;
            if p > types.len() {
                return Err(bad("record runs past the type section"));
            }
            recs.push(r);
        }
        let mut btf = BtfDebugInfo { types, strings, recs, by_name: HashMap::new(), funcs: HashMap::new(), events: Vec::new() };
        btf.index();
        Ok(btf)
    }

    fn index(&mut self) {
        let mut by_name: HashMap<(&'static str, String), Vec<u32>> = HashMap::new();
        let mut funcs = HashMap::new();
        for (i, r) in self.recs.iter().enumerate() {
            let id = i as u32 + 1;
            let name = self.str_at(r.name_off);
            if name.is_empty() {
                continue;
            }
            let class = match r.kind() {
                KIND_STRUCT => "struct",
                KIND_UNION => "union",
                KIND_ENUM | KIND_ENUM64 => "enum",
                KIND_FWD if r.kflag() => "union",
                KIND_FWD => "struct",
                KIND_INT | KIND_TYPEDEF | KIND_FLOAT => "",
                KIND_FUNC => {
                    funcs.entry(name.to_string()).or_insert(id);
                    continue;
                }
                _ => continue,
            };
            let ids = by_name.entry((class, name.to_string())).or_default();
            // Definitions before declarations.
            if r.kind() != KIND_FWD && (r.vlen() > 0 || ids.is_empty()) {
                ids.insert(0, id);
            } else {
                ids.push(id);
            }
        }
        self.by_name = by_name;
        self.funcs = funcs;
    }

    /// The kernel's trace events, `(system, event)`.
    pub fn events(&self) -> &[(String, String)] {
        &self.events
    }

    /// Sets the trace events (found in the kernel image by `trace_events`).
    pub fn set_events(&mut self, mut events: Vec<(String, String)>) {
        events.sort();
        events.dedup();
        self.events = events;
    }

    /// The number of types.
    pub fn len(&self) -> usize {
        self.recs.len()
    }

    /// Whether there are no types.
    pub fn is_empty(&self) -> bool {
        self.recs.is_empty()
    }

    /// The names of typedefs starting with `prefix`, with it removed
    /// (`btf_trace_sched_switch` → `sched_switch`).
    pub fn typedef_names<'s>(&'s self, prefix: &'s str) -> impl Iterator<Item = String> + 's {
        self.recs
            .iter()
            .filter(|r| r.kind() == KIND_TYPEDEF)
            .filter_map(move |r| self.str_at(r.name_off).strip_prefix(prefix).map(|s| s.to_string()))
    }

    /// The `BTF_KIND_FUNC` record named `name`.
    pub fn func(&self, name: &str) -> Option<u32> {
        self.funcs.get(name).copied()
    }

    /// Names of the functions of this BTF (unsorted).
    pub fn func_names(&self) -> impl Iterator<Item = &str> {
        self.funcs.keys().map(|s| s.as_str())
    }

    fn str_at(&self, off: u32) -> &str {
        let s = self.strings.get(off as usize..).unwrap_or(&[]);
        let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
        std::str::from_utf8(&s[..end]).unwrap_or("")
    }

    fn rec(&self, id: TypeId) -> Result<Rec> {
        if id == 0 {
            return Err(bad("type 0 is void"));
        }
        self.recs.get(id as usize - 1).copied().ok_or_else(|| bad(&format!("no type {id}")))
    }

    fn extra_u32(&self, r: &Rec, k: usize) -> Result<u32> {
        u32_at(&self.types, r.extra + 4 * k)
    }

    fn opt(id: u32) -> Option<TypeId> {
        (id != 0).then_some(id as TypeId)
    }

    /// The parameters of function `func` (a FUNC record): name and type.
    pub fn params(&self, func: u32) -> Result<Vec<(String, Option<TypeId>)>> {
        let f = self.rec(func as TypeId)?;
        if f.kind() != KIND_FUNC {
            return Err(bad(&format!("type {func} is not a function")));
        }
        let proto = self.rec(f.size_type as TypeId)?;
        if proto.kind() != KIND_FUNC_PROTO {
            return Err(bad(&format!("function {} has no prototype", self.str_at(f.name_off))));
        }
        let mut out = Vec::new();
        for k in 0..proto.vlen() {
            let (name_off, ty) = (self.extra_u32(&proto, 2 * k)?, self.extra_u32(&proto, 2 * k + 1)?);
            if ty == 0 {
                break; // `...`
            }
            let name = self.str_at(name_off);
            let name = if name.is_empty() { format!("arg{}", k + 1) } else { name.to_string() };
            out.push((name, Self::opt(ty)));
        }
        Ok(out)
    }

    fn members(&self, r: &Rec) -> Result<Vec<Member>> {
        let mut out = Vec::with_capacity(r.vlen());
        for k in 0..r.vlen() {
            let (name_off, ty, off) = (self.extra_u32(r, 3 * k)?, self.extra_u32(r, 3 * k + 1)?, self.extra_u32(r, 3 * k + 2)?);
            let (bit_off, bit_size) = if r.kflag() { (off & 0x00ff_ffff, off >> 24) } else { (off, 0) };
            let mut bitfield = (bit_size > 0).then_some(Bitfield { bit_offset: bit_off % 8, bit_size });
            if bit_size == 0 && bit_off % 8 != 0 {
                // An old-style bitfield: the INT type carries the size.
                let t = self.rec(ty as TypeId)?;
                if t.kind() == KIND_INT {
                    let bits = self.extra_u32(&t, 0)? & 0xff;
                    bitfield = Some(Bitfield { bit_offset: bit_off % 8, bit_size: bits });
                }
            }
            let name = self.str_at(name_off);
            out.push(Member { name: (!name.is_empty()).then(|| name.to_string()), type_id: ty as TypeId, offset: (bit_off / 8) as u64, bitfield });
        }
        Ok(out)
    }

    /// The byte offset of member `path[0].path[1]...` of struct `name`
    /// (through anonymous members), for reading kernel data by layout.
    pub fn member_offset(&self, name: &str, path: &[&str]) -> Option<u64> {
        let mut ty = self.find_type(name).ok()??;
        let mut off = 0;
        for m in path {
            let t = types::strip(self, ty).ok()??;
            let mem = types::find_member(self, &t, m).ok()??;
            off += mem.offset;
            ty = mem.type_id;
        }
        Some(off)
    }
}

impl DebugInfo for BtfDebugInfo {
    fn functions(&self, pattern: &FunctionPattern) -> Result<Vec<FunctionInfo>> {
        let mut names: Vec<(&String, &u32)> = self.funcs.iter().filter(|(n, _)| pattern.matches_name(n)).collect();
        names.sort();
        Ok(names
            .into_iter()
            .map(|(n, &id)| {
                let ret = self.rec(id as TypeId).and_then(|f| self.rec(f.size_type as TypeId)).map(|p| Self::opt(p.size_type)).unwrap_or(None);
                FunctionInfo {
                    name: n.clone(),
                    cu_name: String::new(),
                    decl_file: None,
                    decl_line: 0,
                    external: true,
                    die: id as DieRef,
                    entry_pc: None,
                    prologue_end: None,
                    optimized: true,
                    inline_instances: Vec::new(),
                    clones: Vec::new(),
                    return_type: ret,
                }
            })
            .collect())
    }

    fn variables(&self, scope: DieRef, _pc: u64) -> Result<Vec<Variable>> {
        let params = self.params(u32::try_from(scope).map_err(|_| bad("function id out of range"))?)?;
        // A tracepoint iterator's `__data` is the callback's cookie, not
        // one of the tracepoint's arguments.
        Ok(params
            .into_iter()
            .enumerate()
            .filter(|(i, (name, _))| !(*i == 0 && name == "__data"))
            .map(|(i, (name, ty))| Variable {
                name,
                kind: VarKind::Param,
                type_id: ty,
                type_name: ty.map(|t| types::type_name(self, t)).unwrap_or_else(|| "void".into()),
                location: VarLocation::Available(param_location(i)),
            })
            .collect())
    }

    fn variable_at(&self, var: DieRef, _pc: u64) -> Result<Variable> {
        Err(DebugInfoError::Lookup(format!("BTF has no variable {var}")))
    }

    fn global_variable(&self, _name: &str, _file: Option<&str>) -> Result<Option<Variable>> {
        Ok(None)
    }

    fn line_addresses(&self, _file: &str, _line: u32) -> Result<Vec<StatementSite>> {
        Ok(Vec::new())
    }

    fn type_info(&self, id: TypeId) -> Result<TypeInfo> {
        if id == 0 {
            return Ok(TypeInfo { id, name: None, size: None, declaration: false, kind: TypeKind::Void });
        }
        let r = self.rec(id)?;
        let name = self.str_at(r.name_off);
        let name = (!name.is_empty()).then(|| name.to_string());
        let target = Self::opt(r.size_type);
        let (size, declaration, kind) = match r.kind() {
            KIND_INT => {
                let enc = (self.extra_u32(&r, 0)? >> 24) & 0xf;
                let e = if enc & 4 != 0 {
                    BaseEncoding::Bool
                } else if enc & 1 != 0 {
                    BaseEncoding::Signed
                } else {
                    BaseEncoding::Unsigned
                };
                (Some(r.size_type as u64), false, TypeKind::Base(e))
            }
            KIND_FLOAT => (Some(r.size_type as u64), false, TypeKind::Base(BaseEncoding::Float)),
            KIND_PTR => (Some(8), false, TypeKind::Pointer { target }),
            KIND_ARRAY => {
                let (elem, n) = (self.extra_u32(&r, 0)?, self.extra_u32(&r, 2)?);
                (None, false, TypeKind::Array { element: elem as TypeId, dims: vec![Some(n as u64)] })
            }
            KIND_STRUCT => (Some(r.size_type as u64), false, TypeKind::Struct { members: self.members(&r)? }),
            KIND_UNION => (Some(r.size_type as u64), false, TypeKind::Union { members: self.members(&r)? }),
            KIND_FWD if r.kflag() => (None, true, TypeKind::Union { members: Vec::new() }),
            KIND_FWD => (None, true, TypeKind::Struct { members: Vec::new() }),
            KIND_ENUM | KIND_ENUM64 => {
                let mut en = Vec::new();
                let step = if r.kind() == KIND_ENUM { 2 } else { 3 };
                for k in 0..r.vlen() {
                    let n = self.str_at(self.extra_u32(&r, step * k)?).to_string();
                    let lo = self.extra_u32(&r, step * k + 1)?;
                    let v = if step == 2 { lo as i32 as i64 } else { ((self.extra_u32(&r, step * k + 2)? as u64) << 32 | lo as u64) as i64 };
                    en.push((n, v));
                }
                (Some(r.size_type as u64), false, TypeKind::Enum { enumerators: en })
            }
            KIND_TYPEDEF => (None, false, TypeKind::Typedef { target }),
            KIND_VOLATILE => (None, false, TypeKind::Volatile { target }),
            KIND_CONST => (None, false, TypeKind::Const { target }),
            KIND_RESTRICT | KIND_TYPE_TAG => (None, false, TypeKind::Restrict { target }),
            KIND_FUNC_PROTO => {
                let mut params = Vec::new();
                let mut variadic = false;
                for k in 0..r.vlen() {
                    match self.extra_u32(&r, 2 * k + 1)? {
                        0 => variadic = true,
                        t => params.push(t as TypeId),
                    }
                }
                (None, false, TypeKind::Function { ret: target, params, variadic })
            }
            KIND_FUNC => (None, false, TypeKind::Other("function".into())),
            KIND_VAR => (None, false, TypeKind::Other("variable".into())),
            KIND_DATASEC => (None, false, TypeKind::Other("section".into())),
            _ => (None, false, TypeKind::Other("tag".into())),
        };
        Ok(TypeInfo { id, name, size, declaration, kind })
    }

    fn find_type(&self, name: &str) -> Result<Option<TypeId>> {
        let name = name.trim();
        let (class, bare) = match name.split_once(' ') {
            Some((c @ ("struct" | "union" | "enum"), rest)) => (c, rest.trim()),
            _ => ("", name),
        };
        let class: &'static str = match class {
            "struct" => "struct",
            "union" => "union",
            "enum" => "enum",
            _ => "",
        };
        let find = |class: &'static str| self.by_name.get(&(class, bare.to_string())).and_then(|ids| ids.first()).map(|&i| i as TypeId);
        if !class.is_empty() {
            return Ok(find(class));
        }
        // A bare name (`@cast(p, "task_struct")`) may name a typedef or a
        // base type, else a struct, union or enum tag (as in DWARF).
        Ok(["", "struct", "union", "enum"].into_iter().find_map(find))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny BTF: int, struct s { int a; char *p; unsigned b:3; }, a
    /// pointer to it, and `void f(struct s *x, int n)`.
    pub(crate) fn sample() -> Vec<u8> {
        let strings = b"\0int\0s\0a\0p\0char\0f\0x\0n\0b\0".to_vec();
        let off = |s: &str| -> u32 {
            let hay = &strings;
            let needle: Vec<u8> = std::iter::once(0).chain(s.bytes()).chain(std::iter::once(0)).collect();
            (hay.windows(needle.len()).position(|w| w == &needle[..]).unwrap() + 1) as u32
        };
        let mut t: Vec<u32> = Vec::new();
        // 1: int (signed, 32 bits)
        t.extend([off("int"), (KIND_INT as u32) << 24, 4, (1 << 24) | 32]);
        // 2: char (signed 8)
        t.extend([off("char"), (KIND_INT as u32) << 24, 1, (1 << 24) | 8]);
        // 3: char *
        t.extend([0, (KIND_PTR as u32) << 24, 2]);
        // 4: struct s, size 24, 3 members, kflag (bitfield offsets)
        t.extend([off("s"), (KIND_STRUCT as u32) << 24 | 1 << 31 | 3, 24]);
        t.extend([off("a"), 1, 0, off("p"), 3, 64, off("b"), 1, (3 << 24) | 130]);
        // 5: struct s *
        t.extend([0, (KIND_PTR as u32) << 24, 4]);
        // 6: proto void (struct s *x, int n)
        t.extend([0, (KIND_FUNC_PROTO as u32) << 24 | 2, 0, off("x"), 5, off("n"), 1]);
        // 7: func f
        t.extend([off("f"), (KIND_FUNC as u32) << 24 | 1, 6]);
        let types: Vec<u8> = t.iter().flat_map(|w| w.to_le_bytes()).collect();
        let mut out = Vec::new();
        out.extend(BTF_MAGIC.to_le_bytes());
        out.extend([1u8, 0]);
        for w in [24u32, 0, types.len() as u32, types.len() as u32, strings.len() as u32] {
            out.extend(w.to_le_bytes());
        }
        out.extend(types);
        out.extend(strings);
        out
    }

    #[test]
    fn types_and_parameters_read_from_btf() {
        let btf = BtfDebugInfo::parse(&sample()).unwrap();
        let s = btf.find_type("struct s").unwrap().unwrap();
        assert_eq!(s, 4);
        let t = btf.type_info(s).unwrap();
        let TypeKind::Struct { members } = &t.kind else { panic!("{t:?}") };
        assert_eq!(members[1].offset, 8);
        assert_eq!(members[2].offset, 16);
        assert_eq!(members[2].bitfield, Some(Bitfield { bit_offset: 2, bit_size: 3 }));
        assert_eq!(btf.find_type("int").unwrap(), Some(1));
        // `@cast(p, "s")`: a bare name finds the struct tag too.
        assert_eq!(btf.find_type("s").unwrap(), Some(4));
        assert_eq!(btf.find_type("union s").unwrap(), None);
        assert_eq!(btf.find_type("nosuch").unwrap(), None);
        let f = btf.func("f").unwrap();
        let vars = btf.variables(f as DieRef, 0).unwrap();
        let shown: Vec<String> = vars.iter().map(|v| format!("{}:{}", v.name, v.type_name)).collect();
        assert_eq!(shown, ["x:struct s*", "n:int"]);
        assert_eq!(vars[0].location, VarLocation::Available(Location::Register(Reg(5))));
        assert_eq!(vars[1].location, VarLocation::Available(Location::Register(Reg(4))));
        assert_eq!(btf.member_offset("struct s", &["p"]), Some(8));
        let acc = types::resolve_access(&btf, vars[0].type_id.unwrap(), &[AccessStep::Field("p".into())]).unwrap();
        assert_eq!(acc.ops, vec![AccessOp::Add(8)]);
    }

    #[test]
    fn stack_parameters_sit_above_the_return_address() {
        assert_eq!(param_location(5), Location::Register(Reg(9)));
        assert_eq!(param_location(6), Location::Memory(vec![LocOp::RegOffset(Reg::RSP, 8)]));
    }

    #[test]
    fn malformed_btf_is_an_error() {
        let good = sample();
        assert!(BtfDebugInfo::parse(b"nope").is_err());
        for cut in [10, 30, good.len() - 20] {
            assert!(BtfDebugInfo::parse(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad_kind = good.clone();
        bad_kind[24 + 7] = 0x1f; // kind 31 in the first record
        assert!(BtfDebugInfo::parse(&bad_kind).is_err());
    }
}
