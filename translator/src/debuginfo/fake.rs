//! An in-memory [`DebugInfo`] for tests of pass 2: no DWARF, no files.
//!
//! Input: types and functions declared through the builder methods.
//! Output: the same answers the DWARF implementation gives for them
//! (pattern matching, `type_name`, member lookup and access resolution all
//! run unchanged on top).
//! Invariants: type ids and DIE refs are handed out by this builder only;
//! `variables` ignores the pc (each function has one fixed list).

use super::pattern::FunctionPattern;
use super::*;
use std::collections::HashMap;

/// See the module doc. Example:
/// ```
/// use rstap::debuginfo::{fake::FakeDebugInfo, BaseEncoding, Location, Reg, DebugInfo, FunctionPattern};
/// let mut di = FakeDebugInfo::new();
/// let long = di.base("long int", 8, BaseEncoding::Signed);
/// let file = di.structure("file", 232, &[("f_pos", long, 104)]);
/// let pfile = di.pointer(Some(file));
/// di.function("vfs_read", "fs/read_write.c", 450, 0xffffffff81000000,
///             &[("file", pfile, Location::Register(Reg(5)))]);
/// let f = di.functions(&FunctionPattern::parse("vfs_*").unwrap()).unwrap();
/// assert_eq!(f[0].name, "vfs_read");
/// ```
#[derive(Default)]
pub struct FakeDebugInfo {
    types: Vec<TypeInfo>,
    functions: Vec<FunctionInfo>,
    vars: HashMap<DieRef, Vec<Variable>>,
    globals: Vec<(Option<String>, Variable)>,
    labels: HashMap<DieRef, Vec<Label>>,
    /// ELF function symbols `(name, address, size)` for `symbol_at`.
    symbols: Vec<(String, u64, u64)>,
}

const TYPE_BASE: u64 = 0x1000;
const DIE_BASE: u64 = 0x100_0000;

impl FakeDebugInfo {
    pub fn new() -> Self {
        Self::default()
    }

    fn add(&mut self, name: Option<&str>, size: Option<u64>, kind: TypeKind) -> TypeId {
        let id = TYPE_BASE + self.types.len() as u64;
        self.types.push(TypeInfo { id, name: name.map(str::to_string), size, declaration: false, kind });
        id
    }

    pub fn base(&mut self, name: &str, size: u64, enc: BaseEncoding) -> TypeId {
        self.add(Some(name), Some(size), TypeKind::Base(enc))
    }

    /// `target: None` is `void *`.
    pub fn pointer(&mut self, target: Option<TypeId>) -> TypeId {
        self.add(None, Some(8), TypeKind::Pointer { target })
    }

    pub fn typedef(&mut self, name: &str, target: TypeId) -> TypeId {
        self.add(Some(name), None, TypeKind::Typedef { target: Some(target) })
    }

    pub fn constant(&mut self, target: TypeId) -> TypeId {
        self.add(None, None, TypeKind::Const { target: Some(target) })
    }

    pub fn array(&mut self, element: TypeId, dims: &[u64]) -> TypeId {
        self.add(None, None, TypeKind::Array { element, dims: dims.iter().map(|d| Some(*d)).collect() })
    }

    /// `struct NAME` with `(member, type, byte offset)`; an empty member
    /// name makes an anonymous member.
    pub fn structure(&mut self, name: &str, size: u64, members: &[(&str, TypeId, u64)]) -> TypeId {
        let members = Self::members(members);
        self.add((!name.is_empty()).then_some(name), Some(size), TypeKind::Struct { members })
    }

    pub fn union(&mut self, name: &str, size: u64, members: &[(&str, TypeId, u64)]) -> TypeId {
        let members = Self::members(members);
        self.add((!name.is_empty()).then_some(name), Some(size), TypeKind::Union { members })
    }

    fn members(m: &[(&str, TypeId, u64)]) -> Vec<Member> {
        m.iter()
            .map(|(n, t, off)| Member {
                name: (!n.is_empty()).then(|| n.to_string()),
                type_id: *t,
                offset: *off,
                bitfield: None,
            })
            .collect()
    }

    /// Adds a bitfield to the last-declared struct/union `ty`.
    pub fn bitfield(&mut self, ty: TypeId, name: &str, member_type: TypeId, offset: u64, bit_offset: u32, bit_size: u32) {
        if let Some(t) = self.types.get_mut((ty - TYPE_BASE) as usize) {
            if let TypeKind::Struct { members } | TypeKind::Union { members } = &mut t.kind {
                members.push(Member {
                    name: Some(name.into()),
                    type_id: member_type,
                    offset,
                    bitfield: Some(Bitfield { bit_offset, bit_size }),
                });
            }
        }
    }

    /// An out-of-line, optimized, external function whose parameters have
    /// the given locations at every pc. Returns its DIE ref.
    pub fn function(&mut self, name: &str, file: &str, line: u32, entry_pc: u64, params: &[(&str, TypeId, Location)]) -> DieRef {
        let die = DIE_BASE + self.functions.len() as u64;
        let vars = params
            .iter()
            .map(|(n, t, loc)| Variable {
                name: n.to_string(),
                kind: VarKind::Param,
                type_id: Some(*t),
                type_name: types::type_name(self, *t),
                location: VarLocation::Available(loc.clone()),
            })
            .collect();
        self.add_function(
            FunctionInfo {
                name: name.into(),
                cu_name: file.into(),
                decl_file: Some(file.into()),
                decl_line: line,
                external: true,
                die,
                entry_pc: Some(entry_pc),
                prologue_end: Some(entry_pc),
                optimized: true,
                inline_instances: Vec::new(),
                clones: Vec::new(),
                return_type: None,
            },
            vars,
        );
        die
    }

    /// Adds a fully described function (inline instances, locals,
    /// optimized-out variables...). Its `die` must be unique.
    pub fn add_function(&mut self, f: FunctionInfo, vars: Vec<Variable>) {
        self.vars.insert(f.die, vars);
        self.functions.push(f);
    }

    /// A global variable at `addr`, declared in `file` (if given).
    pub fn global(&mut self, name: &str, file: Option<&str>, ty: TypeId, addr: u64) {
        let v = Variable {
            name: name.into(),
            kind: VarKind::Global,
            type_id: Some(ty),
            type_name: types::type_name(self, ty),
            location: VarLocation::Available(Location::Memory(vec![LocOp::Const(addr)])),
        };
        self.globals.push((file.map(str::to_string), v));
    }

    /// A C label of the function copy `scope` at `pc`, declared at
    /// `line` of the function's file.
    pub fn label(&mut self, scope: DieRef, name: &str, pc: u64, line: u32) {
        let file = self.functions.iter().find(|f| f.die == scope).and_then(|f| f.decl_file.clone());
        let v = self.labels.entry(scope).or_default();
        v.push(Label { name: name.into(), pc, decl_file: file, decl_line: line });
        v.sort_by_key(|l| l.pc);
    }

    /// An ELF function symbol `[addr, addr + size)` (probes inside a
    /// function are placed at symbol + offset).
    pub fn symbol(&mut self, name: &str, addr: u64, size: u64) {
        self.symbols.push((name.into(), addr, size));
    }

    /// Sets the variables of an inline instance DIE.
    pub fn set_variables(&mut self, die: DieRef, vars: Vec<Variable>) {
        self.vars.insert(die, vars);
    }
}

impl DebugInfo for FakeDebugInfo {
    fn functions(&self, pattern: &FunctionPattern) -> Result<Vec<FunctionInfo>> {
        let mut out: Vec<FunctionInfo> = self
            .functions
            .iter()
            .filter(|f| {
                pattern.matches_name(&f.name)
                    && pattern.matches_line(f.decl_line)
                    && f.decl_file.as_deref().map(|d| pattern.matches_file(d)).unwrap_or(pattern.file.is_none())
            })
            .cloned()
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name).then(a.entry_pc.cmp(&b.entry_pc)));
        Ok(out)
    }

    fn variables(&self, scope: DieRef, _pc: u64) -> Result<Vec<Variable>> {
        self.vars
            .get(&scope)
            .cloned()
            .ok_or_else(|| DebugInfoError::Lookup(format!("DIE {scope:#x} is not a function")))
    }

    fn symbol_at(&self, addr: u64) -> Option<(String, u64)> {
        self.symbols.iter().find(|(_, a, n)| *a <= addr && addr < a + n).map(|(s, a, _)| (s.clone(), addr - a))
    }

    fn labels(&self, scope: DieRef) -> Result<Vec<Label>> {
        Ok(self.labels.get(&scope).cloned().unwrap_or_default())
    }

    fn variable_at(&self, var: DieRef, _pc: u64) -> Result<Variable> {
        Err(DebugInfoError::Lookup(format!("the fake has no variable DIE {var:#x}")))
    }

    fn global_variable(&self, name: &str, file: Option<&str>) -> Result<Option<Variable>> {
        Ok(self
            .globals
            .iter()
            .find(|(f, v)| {
                v.name == name
                    && match (file, f) {
                        (None, _) => true,
                        (Some(want), Some(have)) => super::pattern::file_match(want, have),
                        (Some(_), None) => false,
                    }
            })
            .map(|(_, v)| v.clone()))
    }

    fn line_addresses(&self, file: &str, line: u32) -> Result<Vec<StatementSite>> {
        Ok(self
            .functions
            .iter()
            .filter(|f| f.decl_line == line && f.decl_file.as_deref().map(|d| super::pattern::file_match(file, d)).unwrap_or(false))
            .filter_map(|f| {
                Some(StatementSite {
                    address: f.entry_pc?,
                    file: f.decl_file.clone()?,
                    line,
                    function: Some((f.name.clone(), f.die)),
                })
            })
            .collect())
    }

    fn type_info(&self, ty: TypeId) -> Result<TypeInfo> {
        ty.checked_sub(TYPE_BASE)
            .and_then(|i| self.types.get(i as usize))
            .cloned()
            .ok_or_else(|| DebugInfoError::Lookup(format!("no type {ty:#x}")))
    }

    fn find_type(&self, name: &str) -> Result<Option<TypeId>> {
        let name = name.trim();
        let (want, bare): (fn(&TypeKind) -> bool, &str) = if let Some(n) = name.strip_prefix("struct ") {
            (|k| matches!(k, TypeKind::Struct { .. }), n.trim())
        } else if let Some(n) = name.strip_prefix("union ") {
            (|k| matches!(k, TypeKind::Union { .. }), n.trim())
        } else if let Some(n) = name.strip_prefix("enum ") {
            (|k| matches!(k, TypeKind::Enum { .. }), n.trim())
        } else {
            (|k| matches!(k, TypeKind::Typedef { .. } | TypeKind::Base(_)), name)
        };
        Ok(self.types.iter().find(|t| want(&t.kind) && t.name.as_deref() == Some(bare)).map(|t| t.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_resolves_like_dwarf() {
        let mut di = FakeDebugInfo::new();
        let chr = di.base("char", 1, BaseEncoding::Signed);
        let cchr = di.constant(chr);
        let name_p = di.pointer(Some(cchr));
        let qstr = di.structure("qstr", 16, &[("hash", chr, 0), ("name", name_p, 8)]);
        let dentry = di.structure("dentry", 64, &[("d_name", qstr, 32)]);
        let pdentry = di.pointer(Some(dentry));
        let path = di.structure("path", 16, &[("dentry", pdentry, 8)]);
        let anon = di.structure("", 8, &[("f_flags", chr, 4)]);
        let file = di.structure("file", 232, &[("f_path", path, 16), ("", anon, 40)]);
        let pfile = di.pointer(Some(file));
        let die = di.function("vfs_read", "fs/read_write.c", 450, 0x1000, &[("file", pfile, Location::Register(Reg(5)))]);
        let fs = di.functions(&FunctionPattern::parse("vfs_read@fs/read_write.c:450").unwrap()).unwrap();
        assert_eq!(fs.len(), 1);
        let vars = di.variables(die, 0x1000).unwrap();
        assert_eq!(vars[0].type_name, "struct file*");
        let steps: Vec<AccessStep> = ["f_path", "dentry", "d_name", "name"].iter().map(|s| AccessStep::Field(s.to_string())).collect();
        let r = types::resolve_access(&di, pfile, &steps).unwrap();
        assert_eq!(r.ops, [AccessOp::Add(24), AccessOp::Load { size: 8 }, AccessOp::Add(40)]);
        assert_eq!(types::type_name(&di, r.final_type), "char const*");
        let r = types::resolve_access(&di, pfile, &[AccessStep::Field("f_flags".into())]).unwrap();
        assert_eq!(r.ops, [AccessOp::Add(44)]);
        let e = types::resolve_access(&di, pfile, &[AccessStep::Field("f_flag".into())]).unwrap_err();
        assert_eq!(e.to_string(), "struct file has no member f_flag; did you mean f_flags?");
        assert_eq!(di.find_type("struct qstr").unwrap(), Some(qstr));
    }
}
