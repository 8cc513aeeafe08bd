//! Pass 4 for many modules at once: one Kbuild invocation builds them all.
//!
//! Input: [`BuildOptions`] (kernel, cache) and a list of `GeneratedModule`s
//! with distinct names. Output: one `Result<Built, String>` per module, in
//! order, exactly as [`super::build`] would give for each alone.
//! Why: a module is one C file, but `make -C KDIR M=DIR modules` pays make's
//! startup, the kernel Makefile's parse and modpost once per call; for a
//! test suite of hundreds of small modules that dominates. Here every
//! module missing from the cache goes into ONE directory (`obj-m := a.o
//! b.o ...`, the runtime headers once) built with `make -jN`.
//! Invariants: the cache (keyed, verified and filled as by `build`) is used
//! the same way, so a module built here is a cache hit for a later `stap
//! -p4` of the same script; modules that cannot share a directory (other
//! runtime files, another Kbuild shape, `-k`) are built alone; when the
//! batch's make fails, every module of it that has no `.ko` is built alone
//! so that its error is its own and complete; compiler warnings are given
//! to the module whose C (or whose includes) they come from.
//!
//! Use (a test suite, e.g. tests/torture.rs): run `stap -p3 -m NAME` per
//! script, wrap each stdout with `codegen::module_files(NAME, c)`, then
//! `build_many(&opts, &modules, jobs)` and load each `Built::ko`.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use super::{cache_key, kernel_build_dir, store_cached, verify_cached, BuildOptions, Built};
use crate::cache_dir::{cache_dir, CacheKind};
use crate::codegen::GeneratedModule;

/// The Kbuild line that names the module's object, as the template writes it.
fn obj_line(name: &str) -> String {
    format!("obj-m := {name}.o")
}

/// What modules must share to be built in one directory: every file but
/// their C, and their Kbuild file with their own name taken out.
fn shape(m: &GeneratedModule) -> Option<Vec<(String, String)>> {
    let own_c = format!("{}.c", m.name);
    let mut shared = Vec::new();
    let mut kbuild_ok = false;
    for (name, text) in &m.files {
        if *name == own_c {
            continue;
        }
        if name == "Kbuild" {
            // The obj-m line must be exactly this module's (it is replaced).
            if text.lines().filter(|l| *l == obj_line(&m.name)).count() != 1 || text.contains(&format!("{}.o ", m.name)) {
                return None;
            }
            kbuild_ok = true;
            shared.push((name.clone(), text.replace(&obj_line(&m.name), "obj-m := @OBJS@")));
        } else if name.ends_with(".c") && !name.contains('/') {
            // A second C file at the top would clash with another module's.
            return None;
        } else {
            shared.push((name.clone(), text.clone()));
        }
    }
    kbuild_ok.then_some(shared)
}

/// Builds every module (from the cache where it is there); `jobs` is make's
/// `-j` (0: the number of CPUs).
pub fn build_many(opts: &BuildOptions, modules: &[GeneratedModule], jobs: usize) -> Vec<Result<Built, String>> {
    let mut out: Vec<Option<Result<Built, String>>> = modules.iter().map(|_| None).collect();
    let kdir = match kernel_build_dir(&opts.release, opts.kernel_build_dir.as_deref()) {
        Ok(k) => k,
        Err(e) => return modules.iter().map(|_| Err(e.clone())).collect(),
    };
    if let Some(Err(e)) = opts.make_args.iter().map(|d| super::make_directive(d)).find(Result::is_err) {
        return modules.iter().map(|_| Err(e.clone())).collect();
    }
    let cache = if opts.use_cache { Some(cache_dir(CacheKind::Modules)) } else { None };
    // Groups of modules that can share one directory, by shape.
    let mut groups: BTreeMap<Vec<(String, String)>, Vec<usize>> = BTreeMap::new();
    let mut seen = std::collections::HashSet::new();
    for (i, m) in modules.iter().enumerate() {
        if let Some(Ok(dir)) = &cache {
            let ko = dir.join(cache_key(m, &opts.release, &kdir, &make_args(opts))).join(format!("{}.ko", m.name));
            if !opts.keep && verify_cached(&ko) == Ok(true) {
                out[i] = Some(Ok(Built { ko, from_cache: true, kept_dir: None, warnings: Vec::new() }));
                continue;
            }
        }
        match shape(m) {
            Some(s) if !opts.keep && seen.insert(m.name.clone()) => groups.entry(s).or_default().push(i),
            _ => out[i] = Some(super::build(opts, m)),
        }
    }
    for (shared, members) in groups {
        if members.len() == 1 {
            out[members[0]] = Some(super::build(opts, &modules[members[0]]));
            continue;
        }
        let mut batch = build_group(opts, &kdir, &shared, modules, &members, jobs);
        for (k, &i) in members.iter().enumerate() {
            out[i] = Some(match batch[k].take() {
                Some(b) => b,
                // Not built in the batch: alone, for its own full error.
                None => super::build(opts, &modules[i]),
            });
        }
    }
    out.into_iter().map(|r| r.expect("every module has a result")).collect()
}

/// Builds `members` (indexes into `modules`) in one directory; None for a
/// module the batch did not produce.
fn build_group(
    opts: &BuildOptions,
    kdir: &Path,
    shared: &[(String, String)],
    modules: &[GeneratedModule],
    members: &[usize],
    jobs: usize,
) -> Vec<Option<Result<Built, String>>> {
    let none = || members.iter().map(|_| None).collect();
    let Ok(dir) = tempfile::Builder::new().prefix("rstap-batch-").tempdir() else { return none() };
    // The biggest C first: make starts jobs in obj-m order, so the long
    // compiles overlap the many short ones instead of ending the build alone.
    let c_len = |i: usize| modules[i].files.iter().find(|(n, _)| *n == format!("{}.c", modules[i].name)).map_or(0, |f| f.1.len());
    let mut order: Vec<usize> = members.to_vec();
    order.sort_by_key(|&i| std::cmp::Reverse(c_len(i)));
    let objs: Vec<String> = order.iter().map(|&i| format!("{}.o", modules[i].name)).collect();
    let write = || -> std::io::Result<()> {
        for (name, text) in shared {
            let path = dir.path().join(name);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)?;
            }
            fs::write(&path, text.replace("obj-m := @OBJS@", &format!("obj-m := {}", objs.join(" "))))?;
        }
        for &i in members {
            let m = &modules[i];
            let c = m.files.iter().find(|(n, _)| *n == format!("{}.c", m.name)).map(|(_, t)| t.as_str()).unwrap_or("");
            fs::write(dir.path().join(format!("{}.c", m.name)), c)?;
        }
        Ok(())
    };
    if write().is_err() {
        return none();
    }
    let jobs = if jobs == 0 { std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) } else { jobs };
    let mut cmd = Command::new("make");
    cmd.arg("-C").arg(kdir).arg(format!("M={}", dir.path().display())).args(make_args(opts)).arg(format!("-j{jobs}"));
    // Each target's output in one piece, so a warning is attributed.
    cmd.arg("--output-sync=target").arg("modules");
    if opts.verbose >= 3 {
        cmd.arg("V=1");
    }
    let Ok(output) = cmd.output() else { return none() };
    let stderr = String::from_utf8_lossy(&output.stderr);
    if opts.verbose >= 2 {
        eprint!("{}{stderr}", String::from_utf8_lossy(&output.stdout));
    }
    let names: Vec<&str> = members.iter().map(|&i| modules[i].name.as_str()).collect();
    let warnings = attribute_warnings(&stderr, dir.path(), &names);
    let mut res = Vec::new();
    for (k, &i) in members.iter().enumerate() {
        let m = &modules[i];
        let built = dir.path().join(format!("{}.ko", m.name));
        if !output.status.success() || !built.is_file() {
            res.push(None);
            continue;
        }
        res.push(Some(place(opts, kdir, m, &built, warnings[k].clone())));
    }
    res
}

/// Moves one built module to the cache (or a temporary file without one).
fn place(opts: &BuildOptions, kdir: &Path, m: &GeneratedModule, built: &Path, warnings: Vec<String>) -> Result<Built, String> {
    let key = cache_key(m, &opts.release, kdir, &make_args(opts));
    if opts.use_cache {
        let ko = cache_dir(CacheKind::Modules)?.join(&key).join(format!("{}.ko", m.name));
        match store_cached(built, &ko, &m.name) {
            Ok(()) => return Ok(Built { ko, from_cache: false, kept_dir: None, warnings }),
            Err(e) => eprintln!("WARNING: {e}"),
        }
    }
    let out = std::env::temp_dir().join(format!("rstap-{}-{}.ko", m.name, key));
    fs::copy(built, &out).map_err(|e| format!("cannot copy {}: {e}", built.display()))?;
    Ok(Built { ko: out, from_cache: false, kept_dir: None, warnings })
}

/// The compiler's `warning:` lines of each module: a line naming
/// `DIR/NAME.c` (the file itself, or "In file included from") makes NAME
/// the current module; a warning with no current module goes to all.
fn attribute_warnings(stderr: &str, dir: &Path, names: &[&str]) -> Vec<Vec<String>> {
    let prefix = format!("{}/", dir.display());
    let mut out = vec![Vec::new(); names.len()];
    let mut current: Option<usize> = None;
    for line in stderr.lines() {
        if let Some(pos) = line.find(&prefix) {
            let rest = &line[pos + prefix.len()..];
            let file = rest.split([':', ' ', '\'']).next().unwrap_or("");
            if let Some(stem) = file.strip_suffix(".c").or_else(|| file.strip_suffix(".o")).or_else(|| file.strip_suffix(".ko")) {
                if let Some(k) = names.iter().position(|n| *n == stem) {
                    current = Some(k);
                }
            }
        }
        if line.contains("warning:") {
            match current {
                Some(k) => out[k].push(line.to_string()),
                None => out.iter_mut().for_each(|w| w.push(line.to_string())),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(name: &str) -> GeneratedModule {
        crate::codegen::module_files(name, format!("int {name}_x;\n")).unwrap()
    }

    #[test]
    fn modules_of_the_template_share_a_shape_and_others_do_not() {
        let (a, b) = (module("ma"), module("mb"));
        assert!(shape(&a).is_some());
        assert_eq!(shape(&a), shape(&b));
        let mut c = module("mc");
        c.files.push(("other.c".into(), "int y;".into()));
        assert_eq!(shape(&c), None, "a second top-level C file");
        let mut d = module("md");
        d.files[1].1 = "obj-m := other.o\n".into();
        assert_eq!(shape(&d), None, "a Kbuild file without the module's own obj-m line");
    }

    #[test]
    fn warnings_go_to_the_module_they_come_from() {
        let dir = Path::new("/tmp/rstap-batch-x");
        let err = "\
In file included from /tmp/rstap-batch-x/m_a.c:3:
/tmp/rstap-batch-x/runtime/rstap_map.h:10:2: warning: unused variable 'x'
/tmp/rstap-batch-x/m_a_b.c: In function 'f':
/tmp/rstap-batch-x/m_a_b.c:7:1: warning: no return statement
";
        let w = attribute_warnings(err, dir, &["m_a", "m_a_b"]);
        assert_eq!(w[0], vec!["/tmp/rstap-batch-x/runtime/rstap_map.h:10:2: warning: unused variable 'x'".to_string()]);
        assert_eq!(w[1], vec!["/tmp/rstap-batch-x/m_a_b.c:7:1: warning: no return statement".to_string()]);
        let w = attribute_warnings("cc1: warning: something general\n", dir, &["m_a", "m_a_b"]);
        assert_eq!(w, vec![vec!["cc1: warning: something general".to_string()]; 2]);
    }
}

/// The `-B` directives for make (checked by `build_many` first).
fn make_args(opts: &BuildOptions) -> Vec<String> {
    opts.make_args.iter().filter_map(|d| super::make_directive(d).ok()).collect()
}
