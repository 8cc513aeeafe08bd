//! Debuginfo tests against a real vmlinux. They SKIP (pass with a printed
//! note) when no `linux-image-<rel>-dbg` is installed or extracted under
//! `$RSTAP_DBG_ROOT` or /work/cache-dbg/root.

mod debuginfo_common;

use rstap::debuginfo::dwarf::{DebugFile, DwarfDebugInfo};
use rstap::debuginfo::find::{self, KernelTarget};
use rstap::debuginfo::{listing, types, AccessOp, AccessStep, DebugInfo, FunctionPattern, PrologueMode};
use rstap::debuginfo::DebugInfoError;

fn vmlinux() -> Option<(String, std::path::PathBuf)> {
    let v = debuginfo_common::find_vmlinux();
    if v.is_none() {
        eprintln!("note: no kernel debuginfo found (install linux-image-<rel>-dbg or set RSTAP_DBG_ROOT); skipping");
    }
    v
}

/// Address of a symbol in the System.map shipped next to the vmlinux.
fn system_map(vmlinux: &std::path::Path, rel: &str, sym: &str) -> Option<u64> {
    let boot = vmlinux.parent()?.parent()?.parent()?.parent()?.join("boot");
    let map = std::fs::read_to_string(boot.join(format!("System.map-{rel}")))
        .or_else(|_| std::fs::read_to_string(vmlinux.with_file_name(format!("System.map-{rel}"))))
        .ok()?;
    map.lines().find_map(|l| {
        let w: Vec<&str> = l.split_whitespace().collect();
        (w.len() == 3 && w[2] == sym).then(|| u64::from_str_radix(w[0], 16).ok()).flatten()
    })
}

#[test]
fn vfs_read_params_and_access() {
    let Some((rel, path)) = vmlinux() else { return };
    let file = DebugFile::open(&path).unwrap();
    let di = DwarfDebugInfo::new(&file).unwrap();
    let fs = di.functions(&FunctionPattern::parse("vfs_read").unwrap()).unwrap();
    assert_eq!(fs.len(), 1, "{fs:?}");
    let f = &fs[0];
    assert_eq!(f.decl_file.as_deref(), Some("fs/read_write.c"));
    assert!(f.external && f.optimized);
    assert_eq!(f.return_type.map(|t| types::type_name(&di, t)).as_deref(), Some("ssize_t"));
    if let Some(addr) = system_map(&path, &rel, "vfs_read") {
        assert_eq!(f.entry_pc, Some(addr), "entry pc against System.map");
    }
    let pc = f.probe_pc(PrologueMode::Auto).unwrap();
    assert_eq!(di.section_of(pc).map(|s| s.0).as_deref(), Some(".text"));
    assert_eq!(di.symbol_at(pc), Some(("vfs_read".to_string(), pc - f.entry_pc.unwrap())));
    let init = di.functions(&FunctionPattern::parse("start_kernel").unwrap()).unwrap();
    assert_eq!(di.section_of(init[0].entry_pc.unwrap()).map(|s| s.0).as_deref(), Some(".init.text"));
    let vars = di.variables(f.die, pc).unwrap();
    let params: Vec<(&str, &str)> = vars
        .iter()
        .filter(|v| v.kind == rstap::debuginfo::VarKind::Param)
        .map(|v| (v.name.as_str(), v.type_name.as_str()))
        .collect();
    assert_eq!(params, [("file", "struct file*"), ("buf", "char*"), ("count", "size_t"), ("pos", "loff_t*")]);
    let line = listing::listing_line("kernel", f, &vars);
    eprintln!("{line}");
    assert!(line.starts_with(&format!("kernel.function(\"vfs_read@fs/read_write.c:{}\") $file:struct file* $buf:char* $count:size_t $pos:loff_t*", f.decl_line)));

    // $file->f_path->dentry->d_name->name, offsets derived from the DWARF
    // member by member.
    let file_t = vars[0].type_id.unwrap();
    let off = |ty: &str, m: &str| -> u64 {
        let id = di.find_type(ty).unwrap().unwrap_or_else(|| panic!("{ty}"));
        let t = di.type_info(id).unwrap();
        types::find_member(&di, &t, m).unwrap().unwrap_or_else(|| panic!("{ty}.{m}")).offset
    };
    let steps: Vec<AccessStep> =
        ["f_path", "dentry", "d_name", "name"].iter().map(|s| AccessStep::Field(s.to_string())).collect();
    let r = types::resolve_access(&di, file_t, &steps).unwrap();
    let a = (off("struct file", "f_path") + off("struct path", "dentry")) as i64;
    let b = (off("struct dentry", "d_name") + off("struct qstr", "name")) as i64;
    let mut want = Vec::new();
    if a != 0 {
        want.push(AccessOp::Add(a));
    }
    want.push(AccessOp::Load { size: 8 });
    if b != 0 {
        want.push(AccessOp::Add(b));
    }
    assert_eq!(r.ops, want);
    assert_eq!(types::type_name(&di, r.final_type), "unsigned char const*");
    eprintln!("$file->f_path->dentry->d_name->name: {:?}", r.ops);

    // kernel.statement("*@fs/read_write.c:N") inside vfs_read.
    let t = std::time::Instant::now();
    let mut inside = 0;
    for l in f.decl_line + 1..f.decl_line + 30 {
        for site in di.line_addresses("fs/read_write.c", l).unwrap() {
            if site.function.as_ref().map(|x| x.0.as_str()) == Some("vfs_read") {
                inside += 1;
            }
        }
    }
    assert!(inside > 3, "{inside}");
    eprintln!("29 line lookups in fs/read_write.c: {:?}", t.elapsed());

    let e = types::resolve_access(&di, file_t, &[AccessStep::Field("f_poz".into())]).unwrap_err();
    assert_eq!(e.to_string(), "struct file has no member f_poz; did you mean f_pos?");
}

#[test]
fn wildcards_and_types() {
    let Some((rel, path)) = vmlinux() else { return };
    let file = DebugFile::open(&path).unwrap();
    let di = DwarfDebugInfo::new(&file).unwrap();
    let all = di.functions(&FunctionPattern::parse("vfs_*").unwrap()).unwrap();
    let names: Vec<&str> = all.iter().map(|f| f.name.as_str()).collect();
    for want in ["vfs_read", "vfs_write", "vfs_open", "vfs_fsync"] {
        assert!(names.contains(&want), "{want} in {names:?}");
    }
    assert!(all.iter().all(|f| f.name.starts_with("vfs_")));
    // The exact-name fast path (fresh instance) agrees with the full index.
    let fresh = DwarfDebugInfo::new(&file).unwrap();
    let fast = fresh.functions(&FunctionPattern::parse("vfs_write").unwrap()).unwrap();
    let slow = di.functions(&FunctionPattern::parse("vfs_write").unwrap()).unwrap();
    assert_eq!(fast, slow);
    if let Some(addr) = system_map(&path, &rel, "vfs_write") {
        assert_eq!(all.iter().find(|f| f.name == "vfs_write").unwrap().entry_pc, Some(addr));
    }
    let rw = di.functions(&FunctionPattern::parse("*@fs/read_write.c").unwrap()).unwrap();
    assert!(rw.len() > 20, "{}", rw.len());
    assert!(rw.iter().all(|f| f.decl_file.as_deref() == Some("fs/read_write.c")));

    let jiffies = di.global_variable("jiffies", None).unwrap().expect("jiffies");
    assert_eq!(jiffies.type_name, "long unsigned int volatile");
    if let Some(addr) = system_map(&path, &rel, "jiffies") {
        use rstap::debuginfo::{Location, LocOp, VarLocation};
        assert_eq!(jiffies.location, VarLocation::Available(Location::Memory(vec![LocOp::Const(addr)])));
    }

    let task = di.find_type("struct task_struct").unwrap().unwrap();
    let t = di.type_info(task).unwrap();
    assert!(!t.declaration);
    assert!(types::find_member(&di, &t, "pid").unwrap().is_some());
    assert!(types::find_member(&di, &t, "comm").unwrap().is_some());
}

#[test]
fn finder_checks_build_id() {
    let Some((rel, path)) = vmlinux() else { return };
    let id = find::elf_build_id(&path).unwrap().expect("vmlinux has a build id");
    let roots = debuginfo_common::dbg_roots();
    let ok = find::find_kernel_debuginfo(&KernelTarget { release: rel.clone(), build_id: Some(id.clone()) }, &roots).unwrap();
    assert!(ok.verified);
    // The kernel image the testbed boots (bzImage, LZ4 payload) carries the
    // same build id as the debuginfo.
    let home = std::env::var("HOME").unwrap_or_default();
    for image in [format!("{home}/.cache/rstap/testbed/{rel}/boot/vmlinuz-{rel}"), format!("/boot/vmlinuz-{rel}")] {
        if std::path::Path::new(&image).is_file() {
            let t = KernelTarget::from_image(&rel, std::path::Path::new(&image)).unwrap();
            assert_eq!(t.build_id.as_ref(), Some(&id), "{image}");
            let found = find::find_kernel_debuginfo(&t, &roots).unwrap();
            assert!(found.verified);
            eprintln!("verified {} against {image}", found.path.display());
        }
    }
    let mut wrong = id.clone();
    wrong[0] ^= 0xff;
    match find::find_kernel_debuginfo(&KernelTarget { release: rel.clone(), build_id: Some(wrong) }, &roots) {
        // The .build-id path of the wrong id does not exist; the named
        // paths exist with another id.
        Err(DebugInfoError::BuildIdMismatch { package, .. }) => assert_eq!(package, format!("linux-image-{rel}-dbg")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn module_debuginfo_is_relocated() {
    let Some((rel, _)) = vmlinux() else { return };
    let target = KernelTarget { release: rel.clone(), build_id: None };
    let found = match find::find_module_debuginfo(&target, "af-key", &debuginfo_common::dbg_roots()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("note: {e}; skipping");
            return;
        }
    };
    assert!(found.path.ends_with("af_key.ko"), "{}", found.path.display());
    let file = DebugFile::open(&found.path).unwrap();
    let di = DwarfDebugInfo::new(&file).unwrap();
    let fs = di.functions(&FunctionPattern::parse("pfkey_create").unwrap()).unwrap();
    assert_eq!(fs.len(), 1);
    let f = &fs[0];
    assert_eq!(f.decl_file.as_deref(), Some("net/key/af_key.c"));
    let entry = f.entry_pc.unwrap();
    let (sec, _off) = file.section_of(entry).expect("entry in a section");
    assert!(sec.starts_with(".text"), "{sec}");
    assert_eq!(di.section_of(entry), file.section_of(entry));
    assert_eq!(di.symbol_at(entry), Some(("pfkey_create".to_string(), 0)));
    let vars = di.variables(f.die, entry).unwrap();
    let line = listing::listing_line("module(\"af_key\")", f, &vars);
    eprintln!("{line}");
    assert!(line.contains("$net:struct net* $sock:struct socket* $protocol:int $kern:int"), "{line}");
    // Types resolve inside the module too.
    let sock = vars.iter().find(|v| v.name == "sock").unwrap().type_id.unwrap();
    let r = types::resolve_access(&di, sock, &[AccessStep::Field("sk".into()), AccessStep::Field("__sk_common".into()), AccessStep::Field("skc_family".into())]).unwrap();
    assert_eq!(r.ops.iter().filter(|o| matches!(o, AccessOp::Load { .. })).count(), 1);
}

/// Member offsets of a few central structs, DWARF against the kernel's
/// own BTF (`.BTF`, an independent encoding of the same layouts).
#[test]
fn struct_offsets_match_btf() {
    use object::{Object, ObjectSection};
    let Some((_, path)) = vmlinux() else { return };
    let file = DebugFile::open(&path).unwrap();
    let obj = object::File::parse(file.bytes()).unwrap();
    let Some(btf) = obj.section_by_name(".BTF").and_then(|s| s.data().ok()) else {
        eprintln!("note: no .BTF in this vmlinux; skipping");
        return;
    };
    let structs = btf_structs(btf);
    let di = DwarfDebugInfo::new(&file).unwrap();
    let mut compared = 0;
    for name in ["file", "path", "dentry", "qstr", "inode", "task_struct", "super_block", "sock", "sk_buff", "mm_struct"] {
        let Some(btf_members) = structs.get(name) else { panic!("BTF has no struct {name}") };
        let id = di.find_type(&format!("struct {name}")).unwrap().unwrap();
        let t = di.type_info(id).unwrap();
        for (m, bits) in btf_members {
            let dm = types::find_member(&di, &t, m).unwrap().unwrap_or_else(|| panic!("DWARF struct {name} lacks {m}"));
            let dbits = dm.offset * 8 + dm.bitfield.map(|b| b.bit_offset as u64).unwrap_or(0);
            assert_eq!(dbits, *bits, "struct {name}.{m}");
            compared += 1;
        }
    }
    eprintln!("compared {compared} member offsets with BTF");
    assert!(compared > 300);
}

/// Named members (name → bit offset) of every named struct in a BTF blob.
fn btf_structs(b: &[u8]) -> std::collections::HashMap<String, Vec<(String, u64)>> {
    let u16_at = |p: usize| u16::from_le_bytes([b[p], b[p + 1]]);
    let u32_at = |p: usize| u32::from_le_bytes([b[p], b[p + 1], b[p + 2], b[p + 3]]);
    assert_eq!(u16_at(0), 0xeb9f, "BTF magic");
    let hdr = u32_at(4) as usize;
    let (type_off, type_len) = (hdr + u32_at(8) as usize, u32_at(12) as usize);
    let str_off = hdr + u32_at(16) as usize;
    let s = |off: u32| -> String {
        let start = str_off + off as usize;
        let end = b[start..].iter().position(|&c| c == 0).unwrap() + start;
        String::from_utf8_lossy(&b[start..end]).into_owned()
    };
    let mut out = std::collections::HashMap::new();
    let mut p = type_off;
    while p < type_off + type_len {
        let (name_off, info) = (u32_at(p), u32_at(p + 4));
        let vlen = (info & 0xffff) as usize;
        let kind = (info >> 24) & 0x1f;
        let kflag = info >> 31;
        p += 12;
        match kind {
            1 | 14 | 17 => p += 4,
            3 => p += 12,
            4 | 5 => {
                let mut members = Vec::new();
                for i in 0..vlen {
                    let q = p + i * 12;
                    let (mname, off) = (u32_at(q), u32_at(q + 8));
                    let bits = if kflag == 1 { off & 0xff_ffff } else { off } as u64;
                    if mname != 0 {
                        members.push((s(mname), bits));
                    }
                }
                p += vlen * 12;
                if kind == 4 && name_off != 0 && !members.is_empty() {
                    out.entry(s(name_off)).or_insert(members);
                }
            }
            6 | 13 => p += vlen * 8,
            15 | 19 => p += vlen * 12,
            _ => {}
        }
    }
    out
}

/// Entry addresses of many functions (including hot/cold split ones,
/// which have `DW_AT_ranges` instead of `low_pc`) against System.map.
#[test]
fn entry_pcs_match_system_map() {
    let Some((rel, path)) = vmlinux() else { return };
    let boot = path.parent().unwrap().join("../../../boot");
    let map = std::fs::read_to_string(boot.join(format!("System.map-{rel}")))
        .or_else(|_| std::fs::read_to_string(path.with_file_name(format!("System.map-{rel}"))));
    let Ok(map) = map else {
        eprintln!("note: no System.map next to the vmlinux; skipping");
        return;
    };
    let mut addrs: std::collections::HashMap<&str, Vec<u64>> = std::collections::HashMap::new();
    for l in map.lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        if w.len() == 3 && (w[1] == "T" || w[1] == "t") {
            if let Ok(a) = u64::from_str_radix(w[0], 16) {
                addrs.entry(w[2]).or_default().push(a);
            }
        }
    }
    let file = DebugFile::open(&path).unwrap();
    let di = DwarfDebugInfo::new(&file).unwrap();
    let (mut checked, mut clones, mut bad) = (0, 0, Vec::new());
    for pat in ["tcp_*", "ext4_*", "vfs_*", "sched_*"] {
        for f in di.functions(&FunctionPattern::parse(pat).unwrap()).unwrap() {
            let (Some(pc), Some(cands)) = (f.entry_pc, addrs.get(f.name.as_str())) else { continue };
            checked += 1;
            if !cands.contains(&pc) {
                // A weak definition overridden at link time keeps its code
                // and DWARF but loses its symbol: no symbol at all there.
                if addrs.values().any(|v| v.contains(&pc)) {
                    bad.push(format!("{} {pc:#x} not in {cands:x?}", f.name));
                } else {
                    eprintln!("note: {} at {pc:#x} has no symbol (overridden weak definition in {})", f.name, f.cu_name);
                }
            }
            // Clones are at symbols named `NAME.part.N`, `NAME.isra.N`, ...
            for c in &f.clones {
                let ok = addrs.iter().any(|(n, a)| n.starts_with(&format!("{}.", f.name)) && a.contains(&c.entry_pc));
                if !ok {
                    bad.push(format!("clone of {} at {:#x} has no NAME.* symbol", f.name, c.entry_pc));
                }
                clones += 1;
            }
        }
    }
    eprintln!("checked {checked} entry pcs and {clones} clones against System.map");
    assert!(clones > 3, "{clones}");
    assert!(checked > 500, "{checked}");
    assert!(bad.is_empty(), "{} mismatches: {:?}", bad.len(), &bad[..bad.len().min(10)]);
}
