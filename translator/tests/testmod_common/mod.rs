//! The test kernel module of testsuite/kmod, built for a kernel release
//! by the tests that need it (runok's module scripts, listing's `-L`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The module's name (and the file stem of its source and `.ko`).
pub const TESTMOD: &str = "rstap_testmod";

/// Builds testsuite/kmod in `dir` against `release`'s headers (Kbuild,
/// with the kernel's own `-g`) and returns the `.ko`. Fails the test if
/// the build fails or prints a compiler warning.
pub fn build(release: &str, dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testsuite/kmod");
    std::fs::create_dir_all(dir).unwrap();
    for f in ["rstap_testmod.c", "Kbuild"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    let kdir = rstap::build::kernel_build_dir(release, None).expect("kernel headers");
    let out = Command::new("make")
        .arg("-C")
        .arg(&kdir)
        .arg(format!("M={}", dir.display()))
        .arg("modules")
        .output()
        .expect("run make");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "building the test module failed:\n{stderr}");
    assert!(!stderr.contains("warning:"), "the test module has compiler warnings:\n{stderr}");
    dir.join(format!("{TESTMOD}.ko"))
}
