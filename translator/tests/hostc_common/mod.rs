//! Builds and runs a userspace C test program against runtime-c/ (the
//! runtime's unit tests: runtime_c, regex_c).
//!
//! Input: the C source, a scratch directory, extra `-I` directories and
//! `-D` defines. Output: the program's stdout, as bytes. Invariants: the program is
//! compiled as gnu11 with `-Wall -Wextra -Werror`, so a warning in the
//! runtime fails the test; a compile failure or a crash panics with the
//! compiler's message or the exit status.

use std::path::Path;
use std::process::Command;

/// The repository's root (the crate is `translator/`).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// Compiles `src` as `dir/name.c` with runtime-c and `includes` on the
/// include path, runs it, and returns the bytes it printed.
pub fn build_and_run(dir: &Path, name: &str, src: &str, includes: &[&Path], defines: &[&str]) -> Vec<u8> {
    let c_file = dir.join(format!("{name}.c"));
    std::fs::write(&c_file, src).unwrap();
    let exe = dir.join(name);
    let target = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
    let compiler = cc::Build::new()
        .target(&target)
        .host(&target)
        .opt_level(1)
        .cargo_metadata(false)
        .try_get_compiler()
        .expect("a C compiler");
    let mut cmd = compiler.to_command();
    cmd.args(["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-o"]).arg(&exe).arg(&c_file);
    cmd.arg("-I").arg(root().join("runtime-c"));
    for inc in includes {
        cmd.arg("-I").arg(inc);
    }
    for d in defines {
        cmd.arg(format!("-D{d}"));
    }
    let out = cmd.output().expect("run the C compiler");
    assert!(out.status.success(), "{name}: the runtime does not compile cleanly:\n{}", String::from_utf8_lossy(&out.stderr));
    let run = Command::new(&exe).output().unwrap();
    assert!(run.status.success(), "{name} crashed: {:?}\n{}", run.status, String::from_utf8_lossy(&run.stderr));
    run.stdout
}
