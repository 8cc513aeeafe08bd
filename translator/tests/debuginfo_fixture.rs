//! Debuginfo tests on small C fixtures compiled here (no kernel needed):
//! functions, wildcards, parameters and their locations, inline instances,
//! struct layouts against offsetof(), bitfields, access resolution, errors.

use rstap::debuginfo::dwarf::{DebugFile, DwarfDebugInfo};
use rstap::debuginfo::{
    listing, types, AccessOp, AccessStep, DebugInfo, FunctionPattern, Location, LocOp, PrologueMode, Reg,
    TypeKind, VarLocation,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/dwarf/shapes.c");

struct Fixture {
    _dir: tempfile::TempDir,
    exe: PathBuf,
    /// "outer.pin" -> offset
    offsets: HashMap<String, u64>,
    /// "lo" -> (bit position from the struct start, size)
    bits: HashMap<String, (u64, u32)>,
    size_outer: u64,
}

/// The C compiler as the `cc` crate finds it for a build script (`$CC`,
/// else the platform's cc), with none of its default flags: the fixture's
/// DWARF must come from the flags each case gives.
fn c_compiler() -> Command {
    let target = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
    cc::Build::new()
        .target(&target)
        .host(&target)
        .opt_level(0)
        .debug(false)
        .no_default_flags(true)
        .warnings(false)
        .cargo_metadata(false)
        .emit_rerun_if_env_changed(false)
        .try_get_compiler()
        .expect("the cc crate finds a C compiler")
        .to_command()
}

fn build(flags: &[&str]) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("shapes");
    let st = c_compiler().args(flags).arg("-o").arg(&exe).arg(SRC).status().expect("cc runs");
    assert!(st.success(), "cc {flags:?} failed");
    let out = Command::new(&exe).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut offsets = HashMap::new();
    let mut bits = HashMap::new();
    let mut size_outer = 0;
    for l in text.lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        match w.as_slice() {
            ["OFF", t, m, n] => {
                offsets.insert(format!("{t}.{m}"), n.parse().unwrap());
            }
            ["BIT", f, lo, n] => {
                bits.insert(f.to_string(), (lo.parse().unwrap(), n.parse().unwrap()));
            }
            ["SIZE", "outer", n] => size_outer = n.parse().unwrap(),
            _ => {}
        }
    }
    assert!(offsets.len() >= 13, "fixture output: {text}");
    Fixture { _dir: dir, exe, offsets, bits, size_outer }
}

fn source_line(needle: &str) -> u32 {
    let src = std::fs::read_to_string(SRC).unwrap();
    src.lines().position(|l| l.contains(needle)).unwrap() as u32 + 1
}

fn open(p: &Path) -> DebugFile {
    DebugFile::open(p).unwrap()
}

fn variants() -> Vec<(&'static str, Fixture)> {
    vec![
        ("dwarf5 -O2", build(&["-g", "-gdwarf-5", "-O2"])),
        ("dwarf4 -O2", build(&["-g", "-gdwarf-4", "-O2"])),
        ("dwarf5 -O0", build(&["-g", "-gdwarf-5", "-O0"])),
    ]
}

#[test]
fn functions_and_patterns() {
    for (name, fx) in variants() {
        let file = open(&fx.exe);
        let di = DwarfDebugInfo::new(&file).unwrap();
        let fs = di.functions(&FunctionPattern::parse("process").unwrap()).unwrap();
        assert_eq!(fs.len(), 1, "{name}");
        let f = &fs[0];
        assert_eq!(f.decl_line, source_line("long process("), "{name}");
        assert!(f.decl_file.as_deref().unwrap().ends_with("shapes.c"), "{name}: {:?}", f.decl_file);
        assert!(f.external);
        assert!(f.entry_pc.is_some());
        assert_eq!(f.return_type.map(|t| types::type_name(&di, t)).as_deref(), Some("long int"), "{name}");
        assert_eq!(f.optimized, !name.contains("-O0"), "{name}");
        // The probe address: entry for optimized code, after the prologue at -O0.
        let entry = f.entry_pc.unwrap();
        let pe = f.prologue_end.unwrap();
        if name.contains("-O0") {
            assert!(pe > entry, "{name}: prologue end {pe:#x} entry {entry:#x}");
            assert_eq!(f.probe_pc(PrologueMode::Auto), Some(pe));
        } else {
            assert_eq!(f.probe_pc(PrologueMode::Auto), Some(entry));
        }
        assert_eq!(f.probe_pc(PrologueMode::Never), Some(entry));
        assert_eq!(di.symbol_at(entry), Some(("process".to_string(), 0)), "{name}");
        assert_eq!(di.symbol_at(pe), Some(("process".to_string(), pe - entry)), "{name}");

        let star = di.functions(&FunctionPattern::parse("use_*").unwrap()).unwrap();
        // After the full index exists, exact lookups use it; same answer
        // as the symbol-table fast path taken above.
        assert_eq!(di.functions(&FunctionPattern::parse("process").unwrap()).unwrap(), fs, "{name}");
        assert_eq!(star.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["use_helper", "use_pair"], "{name}");
        let in_file = di.functions(&FunctionPattern::parse("*@shapes.c").unwrap()).unwrap();
        let names: Vec<&str> = in_file.iter().map(|f| f.name.as_str()).collect();
        for want in ["main", "process", "use_helper"] {
            assert!(names.contains(&want), "{name}: {names:?}");
        }
        let line = source_line("long process(");
        let exact = di.functions(&FunctionPattern::parse(&format!("process@shapes.c:{line}")).unwrap()).unwrap();
        assert_eq!(exact.len(), 1);
        let wrong = di.functions(&FunctionPattern::parse(&format!("process@shapes.c:{}", line + 1)).unwrap()).unwrap();
        assert!(wrong.is_empty());
        let other_file = di.functions(&FunctionPattern::parse("process@other.c").unwrap()).unwrap();
        assert!(other_file.is_empty());
        assert!(di.functions(&FunctionPattern::parse("no_such_fn").unwrap()).unwrap().is_empty());
    }
}

#[test]
fn parameters_and_locations() {
    for (name, fx) in variants() {
        let file = open(&fx.exe);
        let di = DwarfDebugInfo::new(&file).unwrap();
        let f = di.functions(&FunctionPattern::parse("process").unwrap()).unwrap().remove(0);
        let pc = f.probe_pc(PrologueMode::Auto).unwrap();
        let vars = di.variables(f.die, pc).unwrap();
        let params: Vec<(&str, &str)> = vars
            .iter()
            .filter(|v| v.kind == rstap::debuginfo::VarKind::Param)
            .map(|v| (v.name.as_str(), v.type_name.as_str()))
            .collect();
        assert_eq!(params, [("o", "outer_t*"), ("idx", "int"), ("tag", "char const*")], "{name}");
        let loc = |n: &str| vars.iter().find(|v| v.name == n).unwrap().location.clone();
        if name.contains("-O0") {
            // Spilled to the stack, addressed from the CFA-based frame base.
            for p in ["o", "idx", "tag"] {
                match loc(p) {
                    VarLocation::Available(Location::Memory(ops)) => {
                        assert!(matches!(ops.as_slice(), [LocOp::RegOffset(Reg(6), _)] | [LocOp::RegOffset(Reg(7), _)]), "{name} {p}: {ops:?}")
                    }
                    other => panic!("{name} {p}: {other:?}"),
                }
            }
        } else {
            // SysV ABI: rdi, rsi, rdx at the entry.
            assert_eq!(loc("o"), VarLocation::Available(Location::Register(Reg(5))), "{name}");
            assert_eq!(loc("idx"), VarLocation::Available(Location::Register(Reg(4))), "{name}");
            assert_eq!(loc("tag"), VarLocation::Available(Location::Register(Reg(1))), "{name}");
        }
        let line = listing::listing_line("process(\"./shapes\")", &f, &vars[..3]);
        assert!(line.ends_with("$o:outer_t* $idx:int $tag:char const*"), "{line}");
        assert!(line.contains("process@"), "{line}");
    }
}

#[test]
fn inline_instances() {
    for (name, fx) in variants() {
        if name.contains("-O0") {
            continue;
        }
        let file = open(&fx.exe);
        let di = DwarfDebugInfo::new(&file).unwrap();
        let fs = di.functions(&FunctionPattern::parse("helper").unwrap()).unwrap();
        assert_eq!(fs.len(), 1, "{name}");
        let f = &fs[0];
        assert!(!f.inline_instances.is_empty(), "{name}: {f:?}");
        assert!(!f.external);
        let inst = &f.inline_instances[0];
        assert_eq!(inst.call_line, source_line("return helper(in, k) + helper"), "{name}");
        let (sym, off) = di.symbol_at(inst.entry_pc).unwrap();
        assert!(sym == "use_helper" || sym == "main", "{name}: {sym}+{off:#x}");
        let vars = di.variables(inst.die, inst.entry_pc).unwrap();
        let names: Vec<&str> = vars.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(&names[..2], ["in", "k"], "{name}");
        assert_eq!(vars[0].type_name, "struct inner*");
    }
}

#[test]
fn struct_layout_matches_offsetof() {
    for (name, fx) in variants() {
        let file = open(&fx.exe);
        let di = DwarfDebugInfo::new(&file).unwrap();
        let outer = di.find_type("struct outer").unwrap().expect("struct outer");
        let t = di.type_info(outer).unwrap();
        assert_eq!(t.size, Some(fx.size_outer), "{name}");
        for (key, off) in &fx.offsets {
            let (ty, member) = key.split_once('.').unwrap();
            let id = di.find_type(&format!("struct {ty}")).unwrap().unwrap();
            let ti = di.type_info(id).unwrap();
            let m = types::find_member(&di, &ti, member).unwrap().unwrap_or_else(|| panic!("{name}: {key}"));
            assert_eq!(m.offset, *off, "{name}: {key}");
        }
        // Bitfields: bit position from the start of struct bits.
        let bits = di.find_type("struct bits").unwrap().unwrap();
        let bt = di.type_info(bits).unwrap();
        for (field, (pos, size)) in &fx.bits {
            let m = types::find_member(&di, &bt, field).unwrap().unwrap();
            let bf = m.bitfield.unwrap_or_else(|| panic!("{field} is a bitfield"));
            assert_eq!(m.offset * 8 + bf.bit_offset as u64, *pos, "{name}: {field}");
            assert_eq!(bf.bit_size, *size, "{name}: {field}");
        }
        // Types of members.
        let name_of = |m: &str| {
            let mm = types::find_member(&di, &t, m).unwrap().unwrap();
            types::type_name(&di, mm.type_id)
        };
        assert_eq!(name_of("pin"), "struct inner*");
        assert_eq!(name_of("label"), "char const*");
        assert_eq!(name_of("counter"), "long unsigned int volatile");
        assert_eq!(name_of("c"), "enum color");
        assert_eq!(name_of("un"), "union num");
        assert_eq!(name_of("matrix"), "int[]");
        assert_eq!(name_of("cb"), "void (*)(int, char const*)");
        let c = types::find_member(&di, &t, "c").unwrap().unwrap();
        match types::strip(&di, c.type_id).unwrap().unwrap().kind {
            TypeKind::Enum { enumerators } => {
                assert_eq!(enumerators, [("RED".to_string(), 0), ("GREEN".to_string(), 5), ("BLUE".to_string(), 6)])
            }
            k => panic!("{k:?}"),
        }
        let m = types::find_member(&di, &t, "matrix").unwrap().unwrap();
        match di.type_info(m.type_id).unwrap().kind {
            TypeKind::Array { dims, .. } => assert_eq!(dims, [Some(3), Some(4)]),
            k => panic!("{k:?}"),
        }
        // Anonymous struct member of a union.
        let un = di.find_type("union num").unwrap().unwrap();
        let ut = di.type_info(un).unwrap();
        assert_eq!(types::find_member(&di, &ut, "s2").unwrap().unwrap().offset, 2);
        assert_eq!(di.find_type("outer_t").unwrap().map(|t| types::type_name(&di, t)).as_deref(), Some("outer_t"));
        assert_eq!(di.find_type("struct nope").unwrap(), None);
    }
}

#[test]
fn access_resolution() {
    let fx = build(&["-g", "-gdwarf-5", "-O2"]);
    let file = open(&fx.exe);
    let di = DwarfDebugInfo::new(&file).unwrap();
    let f = di.functions(&FunctionPattern::parse("process").unwrap()).unwrap().remove(0);
    let vars = di.variables(f.die, f.entry_pc.unwrap()).unwrap();
    let o = vars.iter().find(|v| v.name == "o").unwrap().type_id.unwrap();
    let off = |k: &str| fx.offsets[k] as i64;
    let field = |s: &str| AccessStep::Field(s.into());

    // $o->pin->name[3]
    let r = types::resolve_access(&di, o, &[field("pin"), field("name"), AccessStep::Index(3)]).unwrap();
    assert_eq!(r.ops, [AccessOp::Add(off("outer.pin")), AccessOp::Load { size: 8 }, AccessOp::Add(off("inner.name") + 3)]);
    assert_eq!(types::type_name(&di, r.final_type), "char");
    // $o->in->a: "->" through an embedded struct is ".".
    let r = types::resolve_access(&di, o, &[field("in"), field("a")]).unwrap();
    assert_eq!(r.ops, [AccessOp::Add(off("outer.in"))]);
    // $o->matrix[2][1]
    let r = types::resolve_access(&di, o, &[field("matrix"), AccessStep::Index(2), AccessStep::Index(1)]).unwrap();
    assert_eq!(r.ops, [AccessOp::Add(off("outer.matrix") + (2 * 4 + 1) * 4)]);
    // $o->anon_y (anonymous struct) and $o->next->next->id
    let r = types::resolve_access(&di, o, &[field("anon_y")]).unwrap();
    assert_eq!(r.ops, [AccessOp::Add(off("outer.anon_y"))]);
    let r = types::resolve_access(&di, o, &[field("next"), field("next"), field("id")]).unwrap();
    assert_eq!(
        r.ops,
        [AccessOp::Add(off("outer.next")), AccessOp::Load { size: 8 }, AccessOp::Add(off("outer.next")), AccessOp::Load { size: 8 }]
    );
    // $o[1].id: indexing a pointer.
    let r = types::resolve_access(&di, o, &[AccessStep::Index(1), field("id")]).unwrap();
    assert_eq!(r.ops, [AccessOp::Add(fx.size_outer as i64)]);
    // Bitfield.
    let r = types::resolve_access(&di, o, &[field("b"), field("mid")]).unwrap();
    assert_eq!(r.bitfield.unwrap().bit_size, 7);
    // Errors.
    let e = types::resolve_access(&di, o, &[field("pinn")]).unwrap_err().to_string();
    assert_eq!(e, "struct outer has no member pinn; did you mean pin?");
    let e = types::resolve_access(&di, o, &[field("id"), field("x")]).unwrap_err().to_string();
    assert!(e.contains("non-struct type long int"), "{e}");
    let e = types::resolve_access(&di, o, &[field("matrix"), AccessStep::Index(3)]).unwrap_err().to_string();
    assert!(e.contains("out of bounds"), "{e}");
}

#[test]
fn malformed_input_never_panics() {
    let fx = build(&["-g", "-gdwarf-5", "-O2"]);
    let bytes = std::fs::read(&fx.exe).unwrap();
    assert!(DwarfDebugInfo::from_bytes(b"not an elf", "junk").is_err());
    // Find .debug_info and corrupt it in many places.
    use object::{Object, ObjectSection};
    let obj = object::File::parse(&*bytes).unwrap();
    let ranges: Vec<(u64, u64)> = [".debug_info", ".debug_abbrev", ".debug_info", ".debug_line", ".debug_loclists", ".debug_str", ".debug_rnglists", ".debug_info"]
        .iter()
        .filter_map(|n| obj.section_by_name(n).and_then(|s| s.file_range()))
        .collect();
    let mut seed = 0x2545F4914F6CDD1Du64;
    for round in 0..400 {
        let mut b = bytes.clone();
        for _ in 0..4 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let (s, l) = ranges[round % ranges.len()];
            let at = (s + seed % l) as usize;
            b[at] = (seed >> 32) as u8;
        }
        if let Ok(di) = DwarfDebugInfo::from_bytes(&b, "corrupt") {
            let _ = di.line_addresses("shapes.c", 60);
            let _ = di.global_variable("sink", None);
            if let Ok(fs) = di.functions(&FunctionPattern::parse("*").unwrap()) {
                for f in fs.iter().take(5) {
                    if let Some(pc) = f.entry_pc {
                        if let Ok(vars) = di.variables(f.die, pc) {
                            for v in vars {
                                if let Some(t) = v.type_id {
                                    let _ = types::resolve_access(&di, t, &[AccessStep::Field("x".into())]);
                                }
                            }
                        }
                    }
                }
            }
            let _ = di.find_type("struct outer");
        }
    }
}

#[test]
fn index_cache_round_trip() {
    let fx = build(&["-g", "-gdwarf-5", "-O2", "-Wl,--build-id"]);
    let file = open(&fx.exe);
    let cache = tempfile::tempdir().unwrap();
    let all = FunctionPattern::parse("*").unwrap();
    let first = DwarfDebugInfo::new(&file).unwrap().with_index_cache(cache.path()).functions(&all).unwrap();
    let files: Vec<PathBuf> = std::fs::read_dir(cache.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "one cache file written");
    let second = DwarfDebugInfo::new(&file).unwrap().with_index_cache(cache.path()).functions(&all).unwrap();
    assert_eq!(first, second);
    assert!(first.iter().any(|f| f.name == "helper") && first.iter().any(|f| f.name == "process"));
    // A corrupt or truncated cache is ignored (and rewritten).
    let bytes = std::fs::read(&files[0]).unwrap();
    for cut in [0, 8, 20, bytes.len() / 2, bytes.len() - 1, bytes.len()] {
        let mut b = bytes[..cut].to_vec();
        if cut > 40 {
            b[30] ^= 0x55;
        }
        std::fs::write(&files[0], &b).unwrap();
        let again = DwarfDebugInfo::new(&file).unwrap().with_index_cache(cache.path()).functions(&all).unwrap();
        assert_eq!(first, again, "cut at {cut}");
    }
}

#[test]
fn global_variables() {
    use object::{Object, ObjectSymbol};
    for (name, fx) in variants() {
        let file = open(&fx.exe);
        let di = DwarfDebugInfo::new(&file).unwrap();
        let obj = object::File::parse(file.bytes()).unwrap();
        let addr = |n: &str| obj.symbols().find(|s| s.name() == Ok(n)).map(|s| s.address()).unwrap();
        let sink = di.global_variable("sink", None).unwrap().expect("sink");
        assert_eq!(sink.type_name, "long int volatile", "{name}");
        assert_eq!(sink.location, VarLocation::Available(Location::Memory(vec![LocOp::Const(addr("sink"))])), "{name}");
        let gi = di.global_variable("global_inner", Some("shapes.c")).unwrap().expect("global_inner");
        assert_eq!(gi.type_name, "struct inner");
        assert_eq!(gi.location, VarLocation::Available(Location::Memory(vec![LocOp::Const(addr("global_inner"))])));
        let fs = di.global_variable("file_static", Some("shapes.c")).unwrap().expect("file_static");
        assert_eq!(fs.type_name, "int");
        assert!(di.global_variable("sink", Some("other.c")).unwrap().is_none());
        assert!(di.global_variable("no_such_global", None).unwrap().is_none());
    }
}

#[test]
fn locations_follow_the_pc() {
    use object::{Object, ObjectSymbol};
    for (name, fx) in variants() {
        if name.contains("-O0") {
            continue;
        }
        let file = open(&fx.exe);
        let di = DwarfDebugInfo::new(&file).unwrap();
        let obj = object::File::parse(file.bytes()).unwrap();
        let sym = obj.symbols().find(|s| s.name() == Ok("process")).unwrap();
        let f = di.functions(&FunctionPattern::parse("process").unwrap()).unwrap().remove(0);
        assert_eq!(f.entry_pc, Some(sym.address()));
        let at_entry = di.variables(f.die, sym.address()).unwrap();
        let mut changed = false;
        for pc in sym.address()..sym.address() + sym.size() {
            let vars = di.variables(f.die, pc).unwrap();
            let names: Vec<&str> = vars.iter().map(|v| v.name.as_str()).filter(|n| ["o", "idx", "tag"].contains(n)).collect();
            assert_eq!(names, ["o", "idx", "tag"], "{name} at {pc:#x}");
            for (a, b) in at_entry.iter().zip(vars.iter()) {
                if a.name == b.name && a.location != b.location {
                    changed = true;
                }
                if let VarLocation::Available(Location::Value(ops)) = &b.location {
                    // Away from the entry, entry values stay symbolic.
                    if ops.iter().any(|o| matches!(o, LocOp::EntryValue(_))) {
                        assert_ne!(pc, sym.address());
                    }
                }
            }
        }
        assert!(changed, "{name}: locations never change across process()");
    }
}

#[test]
fn compressed_debug_sections() {
    let fx = build(&["-g", "-gdwarf-5", "-O2", "-gz=zlib"]);
    let bytes = std::fs::read(&fx.exe).unwrap();
    {
        use object::{Object, ObjectSection};
        let obj = object::File::parse(&*bytes).unwrap();
        let info = obj.section_by_name(".debug_info").unwrap();
        assert_ne!(info.compressed_file_range().unwrap().format, object::CompressionFormat::None, "cc -gz compressed it");
    }
    assert!(DwarfDebugInfo::from_bytes(&bytes, "z").is_err(), "from_bytes cannot inflate");
    let file = open(&fx.exe);
    let di = DwarfDebugInfo::new(&file).unwrap();
    let f = di.functions(&FunctionPattern::parse("process").unwrap()).unwrap().remove(0);
    let vars = di.variables(f.die, f.entry_pc.unwrap()).unwrap();
    assert_eq!(vars[0].type_name, "outer_t*");
}

#[test]
fn statement_lines() {
    for (name, fx) in variants() {
        let file = open(&fx.exe);
        let di = DwarfDebugInfo::new(&file).unwrap();
        let line = source_line("sink = total;");
        let sites = di.line_addresses("shapes.c", line).unwrap();
        assert!(!sites.is_empty(), "{name}");
        for s in &sites {
            assert!(s.file.ends_with("shapes.c"));
            assert_eq!(s.function.as_ref().map(|f| f.0.as_str()), Some("process"), "{name}");
            let (_, die) = s.function.clone().unwrap();
            let vars = di.variables(die, s.address).unwrap();
            assert!(vars.iter().any(|v| v.name == "total"), "{name}: {vars:?}");
        }
        assert!(di.line_addresses("shapes.c", 1).unwrap().is_empty(), "line 1 is a comment");
    }
}

#[test]
fn stap_list_lines() {
    let fx = build(&["-g", "-gdwarf-5", "-O2"]);
    let file = open(&fx.exe);
    let di = DwarfDebugInfo::new(&file).unwrap();
    let l = listing::list_functions(&di, "kernel", "*e*@shapes.c", false).unwrap();
    for (name, decl) in [("helper", "static inline int helper("), ("use_helper", "int use_helper("), ("process", "long process(")] {
        let line = source_line(decl);
        assert!(
            l.iter().any(|x| x.starts_with(&format!("kernel.function(\"{name}@")) && x.ends_with(&format!("shapes.c:{line}\")"))),
            "{name}:{line} in {l:?}"
        );
    }
    assert!(!l.iter().any(|x| x.contains("\"main@")), "main has no 'e'");
    // -L for an inline-only function shows the inline instance's variables.
    let big = listing::list_functions(&di, "kernel", "helper", true).unwrap();
    assert_eq!(big.len(), 1);
    assert!(big[0].ends_with("$in:struct inner* $k:int"), "{big:?}");
}

#[test]
fn implicit_pointers() {
    let fx = build(&["-g", "-gdwarf-5", "-O2"]);
    let file = open(&fx.exe);
    let di = DwarfDebugInfo::new(&file).unwrap();
    let f = di.functions(&FunctionPattern::parse("sum_pair").unwrap()).unwrap().remove(0);
    let mut seen = false;
    for inst in &f.inline_instances {
        let vars = di.variables(inst.die, inst.entry_pc).unwrap();
        let p = vars.iter().find(|v| v.name == "p").unwrap();
        assert_eq!(p.type_name, "struct pair const*");
        if let VarLocation::Available(Location::ImplicitPointer { target, offset }) = p.location {
            assert_eq!(offset, 0);
            let q = di.variable_at(target, inst.entry_pc).unwrap();
            assert_eq!(q.name, "q");
            assert_eq!(q.type_name, "struct pair");
            assert!(matches!(q.location, VarLocation::Available(_)), "{q:?}");
            seen = true;
        }
    }
    assert!(seen, "gcc describes sum_pair's p with DW_OP_implicit_pointer");
}
