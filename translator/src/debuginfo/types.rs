//! Type algorithms over any [`DebugInfo`]: C names as SystemTap prints
//! them, sizes, member lookup (through anonymous members) and resolution of
//! `$var->a->b[2]` chains into [`AccessOp`]s.
//!
//! Input: a `DebugInfo` (only its `type_info` / `find_type`) and type ids.
//! Output: strings, sizes, [`Member`] paths, [`ResolvedAccess`].
//! Invariants: every walk through type references is bounded (cycles in
//! malformed DWARF end in an error, not a hang); errors name the type and
//! suggest the closest member name.

use super::*;

const MAX_DEPTH: usize = 64;

/// The type as SystemTap's listing prints it: `struct file*`,
/// `char const*`, `size_t`, `unsigned int[]`, `void*`.
pub fn type_name<D: DebugInfo + ?Sized>(di: &D, ty: TypeId) -> String {
    type_name_nested(di, ty, 0)
}

/// [`type_name`] with a bound on function-pointer nesting (corrupt DWARF
/// could make a function type refer to itself).
fn type_name_nested<D: DebugInfo + ?Sized>(di: &D, ty: TypeId, nesting: usize) -> String {
    if nesting > 8 {
        return "?".into();
    }
    let mut suffix = String::new();
    let mut cur = Some(ty);
    for _ in 0..MAX_DEPTH {
        let id = match cur {
            Some(id) => id,
            None => return format!("void{suffix}"),
        };
        let t = match di.type_info(id) {
            Ok(t) => t,
            Err(_) => return format!("?{suffix}"),
        };
        let named = |prefix: &str| format!("{prefix}{}{suffix}", t.name.clone().unwrap_or_else(|| "{anonymous}".into()));
        match &t.kind {
            TypeKind::Struct { .. } => return named("struct "),
            TypeKind::Union { .. } => return named("union "),
            TypeKind::Enum { .. } => return named("enum "),
            TypeKind::Base(_) | TypeKind::Typedef { .. } => return named(""),
            TypeKind::Void => return format!("void{suffix}"),
            TypeKind::Other(_) => return named(""),
            TypeKind::Pointer { target } => {
                // A pointer to a function prints as C does.
                if let Some(t) = target {
                    if let Ok(TypeInfo { kind: TypeKind::Function { ret, params, variadic }, .. }) = di.type_info(*t) {
                        let r = ret.map(|r| type_name_nested(di, r, nesting + 1)).unwrap_or_else(|| "void".into());
                        let mut ps: Vec<String> = params.iter().map(|p| type_name_nested(di, *p, nesting + 1)).collect();
                        if variadic {
                            ps.push("...".into());
                        }
                        return format!("{r} (*{suffix})({})", ps.join(", "));
                    }
                }
                suffix.insert(0, '*');
                cur = *target;
            }
            TypeKind::Const { target } => {
                suffix.insert_str(0, " const");
                cur = *target;
            }
            TypeKind::Volatile { target } => {
                suffix.insert_str(0, " volatile");
                cur = *target;
            }
            TypeKind::Restrict { target } => cur = *target,
            TypeKind::Array { element, .. } => {
                suffix.insert_str(0, "[]");
                cur = Some(*element);
            }
            TypeKind::Function { ret, .. } => {
                suffix.insert_str(0, "()");
                cur = *ret;
            }
        }
    }
    format!("?{suffix}")
}

/// Strips typedefs, const, volatile and restrict. `None` is `void`.
pub fn strip<D: DebugInfo + ?Sized>(di: &D, ty: TypeId) -> Result<Option<TypeInfo>> {
    let mut cur = ty;
    for _ in 0..MAX_DEPTH {
        let t = di.type_info(cur)?;
        match t.kind {
            TypeKind::Typedef { target } | TypeKind::Const { target } | TypeKind::Volatile { target } | TypeKind::Restrict { target } => match target {
                Some(n) => cur = n,
                None => return Ok(None),
            },
            _ => return Ok(Some(t)),
        }
    }
    Err(DebugInfoError::Dwarf(format!("type reference cycle at {ty:#x}")))
}

/// A complete definition for a struct/union declaration, found by name.
fn complete<D: DebugInfo + ?Sized>(di: &D, t: TypeInfo) -> Result<TypeInfo> {
    if !t.declaration {
        return Ok(t);
    }
    let prefix = match t.kind {
        TypeKind::Struct { .. } => "struct",
        TypeKind::Union { .. } => "union",
        TypeKind::Enum { .. } => "enum",
        _ => return Ok(t),
    };
    let name = match &t.name {
        Some(n) => n.clone(),
        None => return Ok(t),
    };
    match di.find_type(&format!("{prefix} {name}"))? {
        Some(id) => {
            let full = di.type_info(id)?;
            Ok(if full.declaration { t } else { full })
        }
        None => Ok(t),
    }
}

/// Size in bytes of a type (through typedefs; arrays multiply out).
pub fn size_of<D: DebugInfo + ?Sized>(di: &D, ty: TypeId) -> Result<u64> {
    let t = match strip(di, ty)? {
        Some(t) => complete(di, t)?,
        None => return Err(DebugInfoError::Lookup("void has no size".into())),
    };
    if let TypeKind::Array { element, dims } = &t.kind {
        let mut n = size_of(di, *element)?;
        for d in dims {
            n = n.saturating_mul(d.unwrap_or(0));
        }
        return Ok(n);
    }
    t.size.ok_or_else(|| DebugInfoError::Lookup(format!("type {} has no known size", type_name(di, ty))))
}

/// Finds member `name` in a struct/union, descending into anonymous
/// struct/union members. Returns the member with its offset made relative
/// to the outer type.
pub fn find_member<D: DebugInfo + ?Sized>(di: &D, ty: &TypeInfo, name: &str) -> Result<Option<Member>> {
    find_member_depth(di, ty, name, 0)
}

fn members_of(t: &TypeInfo) -> &[Member] {
    match &t.kind {
        TypeKind::Struct { members } | TypeKind::Union { members } => members,
        _ => &[],
    }
}

fn find_member_depth<D: DebugInfo + ?Sized>(di: &D, ty: &TypeInfo, name: &str, depth: usize) -> Result<Option<Member>> {
    if depth > MAX_DEPTH {
        return Ok(None);
    }
    for m in members_of(ty) {
        if m.name.as_deref() == Some(name) {
            return Ok(Some(m.clone()));
        }
    }
    for m in members_of(ty) {
        if m.name.is_none() {
            if let Some(inner) = strip(di, m.type_id)? {
                if let Some(mut found) = find_member_depth(di, &inner, name, depth + 1)? {
                    found.offset = found.offset.wrapping_add(m.offset);
                    return Ok(Some(found));
                }
            }
        }
    }
    Ok(None)
}

/// All member names reachable by `.name` (anonymous members flattened).
pub fn member_names<D: DebugInfo + ?Sized>(di: &D, ty: &TypeInfo) -> Vec<String> {
    let mut out = Vec::new();
    collect_names(di, ty, &mut out, 0);
    out
}

fn collect_names<D: DebugInfo + ?Sized>(di: &D, ty: &TypeInfo, out: &mut Vec<String>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    for m in members_of(ty) {
        match &m.name {
            Some(n) => out.push(n.clone()),
            None => {
                if let Ok(Some(inner)) = strip(di, m.type_id) {
                    collect_names(di, &inner, out, depth + 1);
                }
            }
        }
    }
}

/// Levenshtein edit distance.
pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest candidate to `name`, if close enough to be a likely typo.
pub fn suggest<'c>(name: &str, candidates: &'c [String]) -> Option<&'c str> {
    let limit = (name.chars().count() / 3).max(2);
    candidates
        .iter()
        .map(|c| (levenshtein(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.as_str())
}

/// Where the walk of [`resolve_access`] stands.
enum Cur {
    /// `cur` holds the value of a pointer of this type.
    PtrValue(TypeId),
    /// `cur` holds the address of an object of this type.
    Object(TypeId),
    /// `cur` holds the address of a sub-array (multi-dimensional arrays).
    SubArray { element: TypeId, dims: Vec<Option<u64>> },
}

/// Resolves `base` followed by `steps` (`->f`, `.f` and `[i]`; `->` and `.`
/// are the same step, as in SystemTap). See [`AccessOp`] for the meaning of
/// the result.
pub fn resolve_access<D: DebugInfo + ?Sized>(di: &D, base: TypeId, steps: &[AccessStep]) -> Result<ResolvedAccess> {
    let mut ops: Vec<AccessOp> = Vec::new();
    let mut bitfield = None;
    let first = strip(di, base)?;
    let mut cur = match first.as_ref().map(|t| &t.kind) {
        Some(TypeKind::Pointer { .. }) => Cur::PtrValue(base),
        _ => Cur::Object(base),
    };
    let add = |ops: &mut Vec<AccessOp>, k: i64| {
        if k != 0 {
            if let Some(AccessOp::Add(prev)) = ops.last_mut() {
                *prev = prev.wrapping_add(k);
                return;
            }
            ops.push(AccessOp::Add(k));
        }
    };
    for step in steps {
        if bitfield.is_some() {
            return Err(DebugInfoError::Lookup("a bitfield has no members and cannot be indexed".into()));
        }
        // Go through a pointer stored in memory first.
        if let Cur::Object(t) = cur {
            if let Some(TypeInfo { kind: TypeKind::Pointer { .. }, .. }) = strip(di, t)? {
                ops.push(AccessOp::Load { size: 8 });
                cur = Cur::PtrValue(t);
            }
        }
        match step {
            AccessStep::Field(name) => {
                let holder = match cur {
                    Cur::PtrValue(p) => match strip(di, p)?.map(|t| t.kind) {
                        Some(TypeKind::Pointer { target: Some(t) }) => t,
                        _ => return Err(DebugInfoError::Lookup(format!("cannot access member '{name}' through {}", type_name(di, p)))),
                    },
                    Cur::Object(t) => t,
                    Cur::SubArray { .. } => return Err(DebugInfoError::Lookup(format!("cannot access member '{name}' of an array"))),
                };
                let st = match strip(di, holder)? {
                    Some(t) => complete(di, t)?,
                    None => return Err(DebugInfoError::Lookup(format!("cannot access member '{name}' of void"))),
                };
                if !matches!(st.kind, TypeKind::Struct { .. } | TypeKind::Union { .. }) {
                    return Err(DebugInfoError::Lookup(format!(
                        "cannot access member '{name}' of non-struct type {}",
                        type_name(di, holder)
                    )));
                }
                let shown = type_name(di, st.id);
                match find_member(di, &st, name)? {
                    Some(m) => {
                        add(&mut ops, m.offset as i64);
                        bitfield = m.bitfield;
                        cur = Cur::Object(m.type_id);
                    }
                    None => {
                        if st.declaration {
                            return Err(DebugInfoError::Lookup(format!(
                                "{shown} is only declared here (no definition in the debuginfo); cannot find member '{name}'"
                            )));
                        }
                        let names = member_names(di, &st);
                        let hint = match suggest(name, &names) {
                            Some(s) => format!("; did you mean {s}?"),
                            None => String::new(),
                        };
                        return Err(DebugInfoError::Lookup(format!("{shown} has no member {name}{hint}")));
                    }
                }
            }
            AccessStep::Index(i) => match cur {
                Cur::PtrValue(p) => {
                    let target = match strip(di, p)?.map(|t| t.kind) {
                        Some(TypeKind::Pointer { target: Some(t) }) => t,
                        _ => return Err(DebugInfoError::Lookup(format!("cannot index through {}", type_name(di, p)))),
                    };
                    let size = size_of(di, target)?;
                    add(&mut ops, (*i).wrapping_mul(size as i64));
                    cur = Cur::Object(target);
                }
                Cur::Object(t) => match strip(di, t)?.map(|t| t.kind) {
                    Some(TypeKind::Array { element, dims }) => {
                        cur = index_array(di, &mut ops, element, &dims, *i)?;
                    }
                    _ => return Err(DebugInfoError::Lookup(format!("cannot index non-array type {}", type_name(di, t)))),
                },
                Cur::SubArray { element, dims } => {
                    cur = index_array(di, &mut ops, element, &dims, *i)?;
                }
            },
        }
    }
    let final_type = match cur {
        Cur::PtrValue(t) | Cur::Object(t) => t,
        Cur::SubArray { element, .. } => element,
    };
    // Merge: a final Add(0) never appears; keep the ops as built.
    Ok(ResolvedAccess { ops, final_type, bitfield })
}

fn index_array<D: DebugInfo + ?Sized>(di: &D, ops: &mut Vec<AccessOp>, element: TypeId, dims: &[Option<u64>], i: i64) -> Result<Cur> {
    if let Some(Some(n)) = dims.first() {
        if i < 0 || i as u64 >= *n {
            return Err(DebugInfoError::Lookup(format!("index {i} out of bounds for array of {n} elements")));
        }
    }
    let mut stride = size_of(di, element)?;
    for d in dims.iter().skip(1) {
        stride = stride.saturating_mul(d.unwrap_or(0));
    }
    let k = i.wrapping_mul(stride as i64);
    if k != 0 {
        if let Some(AccessOp::Add(prev)) = ops.last_mut() {
            *prev = prev.wrapping_add(k);
        } else {
            ops.push(AccessOp::Add(k));
        }
    }
    Ok(if dims.len() > 1 { Cur::SubArray { element, dims: dims[1..].to_vec() } } else { Cur::Object(element) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(levenshtein("f_poz", "f_pos"), 1);
        assert_eq!(levenshtein("", "abc"), 3);
        let c = vec!["f_pos".to_string(), "f_op".to_string(), "f_mode".to_string()];
        assert_eq!(suggest("f_poz", &c), Some("f_pos"));
        assert_eq!(suggest("completely_else", &c), None);
    }
}
