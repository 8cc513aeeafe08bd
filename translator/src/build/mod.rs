//! Pass 4: the generated C becomes a `.ko` through Kbuild.
//!
//! Input: a `GeneratedModule` and the kernel to build against (`-r RELEASE`,
//! its Kbuild directory). Output: the path of the built module, taken from
//! the cache when the same sources were built for the same kernel before.
//! Invariants: compiler errors and warnings are shown, never hidden; a
//! missing kernel build directory is one clear error that says what to
//! install; the build directory is removed unless `-k` keeps it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::codegen::GeneratedModule;

#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    pub release: String,
    /// Kbuild directory; default /lib/modules/RELEASE/build.
    pub kernel_build_dir: Option<PathBuf>,
    /// -k: keep the build directory.
    pub keep: bool,
    pub verbose: u8,
    /// Use and fill the module cache.
    pub use_cache: bool,
}

#[derive(Debug)]
pub struct Built {
    pub ko: PathBuf,
    pub from_cache: bool,
    pub kept_dir: Option<PathBuf>,
    /// Compiler warnings (the generated C should have none).
    pub warnings: Vec<String>,
}

/// The Kbuild directory for a release, or an error that says what to do.
pub fn kernel_build_dir(release: &str, explicit: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(p) = explicit {
        if p.join("Makefile").is_file() {
            return Ok(p.to_path_buf());
        }
        return Err(format!("kernel build directory {} has no Makefile", p.display()));
    }
    let candidates = [
        PathBuf::from(format!("/lib/modules/{release}/build")),
        PathBuf::from(format!("/usr/src/linux-headers-{release}")),
    ];
    for c in &candidates {
        if c.join("Makefile").is_file() {
            return Ok(c.clone());
        }
    }
    Err(format!(
        "kernel headers for {release} not found at {}\n  help: install them with `apt-get install linux-headers-{release}`, \
         or run the script in the qemu testbed with `stap --vm`",
        candidates[0].display()
    ))
}

/// The directory rstap caches modules and the testbed in.
pub fn cache_root() -> PathBuf {
    if let Some(d) = std::env::var_os("RSTAP_CACHE_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("rstap");
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/tmp"));
    home.join(".cache").join("rstap")
}

/// FNV-1a over everything that decides the module's bytes.
fn cache_key(module: &GeneratedModule, release: &str, kdir: &Path) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            h ^= *b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x100000001b3);
    };
    feed(env!("CARGO_PKG_VERSION").as_bytes());
    feed(release.as_bytes());
    feed(kdir.as_os_str().as_encoded_bytes());
    for (name, text) in &module.files {
        feed(name.as_bytes());
        feed(text.as_bytes());
    }
    format!("{h:016x}")
}

/// Runs pass 4.
pub fn build(opts: &BuildOptions, module: &GeneratedModule) -> Result<Built, String> {
    let kdir = kernel_build_dir(&opts.release, opts.kernel_build_dir.as_deref())?;
    let key = cache_key(module, &opts.release, &kdir);
    let cached_ko = cache_root().join("modules").join(&key).join(format!("{}.ko", module.name));
    if opts.use_cache && !opts.keep && cached_ko.is_file() {
        return Ok(Built { ko: cached_ko, from_cache: true, kept_dir: None, warnings: Vec::new() });
    }
    let dir = tempfile::Builder::new()
        .prefix(&format!("rstap-{}-", module.name))
        .tempdir()
        .map_err(|e| format!("cannot create a build directory: {e}"))?;
    for (name, text) in &module.files {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let mut cmd = Command::new("make");
    cmd.arg("-C").arg(&kdir).arg(format!("M={}", dir.path().display())).arg("modules");
    if opts.verbose >= 3 {
        cmd.arg("V=1");
    }
    let output = cmd.output().map_err(|e| format!("cannot run make (is it installed? apt-get install make gcc): {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if opts.verbose >= 2 {
        eprint!("{stdout}{stderr}");
    }
    let warnings: Vec<String> = stderr
        .lines()
        .filter(|l| l.contains("warning:"))
        .map(|l| l.to_string())
        .collect();
    let built = dir.path().join(format!("{}.ko", module.name));
    if !output.status.success() || !built.is_file() {
        let kept = dir.keep();
        return Err(format!(
            "module build failed (kernel {}, build directory kept at {}):\n{}{}",
            opts.release,
            kept.display(),
            stdout.lines().filter(|l| l.contains("error")).map(|l| format!("{l}\n")).collect::<String>(),
            stderr
        ));
    }
    if opts.use_cache {
        if let Some(parent) = cached_ko.parent() {
            if fs::create_dir_all(parent).is_ok() {
                let tmp = parent.join(format!(".{}.ko.tmp", module.name));
                if fs::copy(&built, &tmp).is_ok() {
                    let _ = fs::rename(&tmp, &cached_ko);
                }
            }
        }
    }
    let (ko, kept_dir) = if opts.keep {
        let kept = dir.keep();
        (kept.join(format!("{}.ko", module.name)), Some(kept))
    } else if opts.use_cache && cached_ko.is_file() {
        (cached_ko, None)
    } else {
        // No cache: move the module out before the directory goes away.
        let out = std::env::temp_dir().join(format!("rstap-{}-{}.ko", module.name, key));
        fs::copy(&built, &out).map_err(|e| format!("cannot copy {}: {e}", built.display()))?;
        (out, None)
    };
    Ok(Built { ko, from_cache: false, kept_dir, warnings })
}
