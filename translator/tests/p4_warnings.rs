//! Pass 4 prints no compiler warning for any script of testsuite/transok
//! (issue 10). testsuite/runok and guru-examples are checked the same way
//! by tests/runok.rs, testsuite/torture by tests/torture.rs, the examples
//! by tests/examples_run.rs; this one needs no guest.
//!
//! Input: every `testsuite/transok/NAME.stp` but the `dwarf_*` ones (they
//! need the fake debuginfo of tests/transok.rs), with `NAME.flags`,
//! translated by the real `stap -p3` for the installed kernel headers
//! (tests/headers_common). Output: the modules, built in ONE Kbuild run
//! (`build::batch::build_many`, no module cache); every one must build and
//! its compiler output must hold no `warning:` line. Invariant: a script
//! that does not translate is a failure too, not a skip.

use std::path::{Path, PathBuf};
use std::process::Command;

use rstap::build::{batch, BuildOptions};
use rstap::codegen;

mod headers_common;
use headers_common::headers_release;

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testsuite/transok")
}

#[test]
fn transok_modules_build_without_a_warning() {
    let Some(rel) = headers_release() else {
        panic!("no kernel headers under /usr/src: run scripts/test, which installs the testbed's");
    };
    let dir = suite_dir();
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "stp"))
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with("dwarf_"))
        .collect();
    scripts.sort();
    assert!(scripts.len() >= 30, "only {} transok scripts found in {}", scripts.len(), dir.display());
    let mut failures = Vec::new();
    let mut modules = Vec::new();
    for s in &scripts {
        let name = s.file_stem().unwrap().to_string_lossy().to_string();
        let module = format!("p4w_{name}");
        let flags: Vec<String> = std::fs::read_to_string(s.with_extension("flags"))
            .map(|f| f.split_whitespace().map(String::from).collect())
            .unwrap_or_default();
        let out = Command::new(env!("CARGO_BIN_EXE_stap"))
            .args(["-p3", "-r", &rel, "-m", &module])
            .args(&flags)
            .arg(s)
            .output()
            .expect("run stap");
        if !out.status.success() {
            failures.push(format!("{name}: stap -p3 failed:\n{}", String::from_utf8_lossy(&out.stderr)));
            continue;
        }
        let mut m = codegen::module_files(&module, String::from_utf8_lossy(&out.stdout).into_owned()).expect("the module's files");
        // No DWARF: less compile time; the warnings are the same.
        for (n, text) in m.files.iter_mut() {
            if n == "Kbuild" {
                text.push_str("ccflags-y += -g0\n");
            }
        }
        modules.push((name, m));
    }
    let bopts = BuildOptions { release: rel.clone(), use_cache: false, ..Default::default() };
    let gen: Vec<codegen::GeneratedModule> = modules.iter().map(|m| m.1.clone()).collect();
    let built = batch::build_many(&bopts, &gen, 0);
    assert_eq!(built.len(), modules.len());
    for ((name, _), b) in modules.iter().zip(built) {
        match b {
            Ok(b) if !b.warnings.is_empty() => failures.push(format!("{name}: compiler warnings:\n{}", b.warnings.join("\n"))),
            Ok(_) => {}
            Err(e) => failures.push(format!("{name}: the module does not build:\n{e}")),
        }
    }
    assert!(failures.is_empty(), "{} of {} transok script(s) failed:\n{}", failures.len(), scripts.len(), failures.join("\n"));
}
