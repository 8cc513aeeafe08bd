//! Pass 4: the generated C becomes a `.ko` through Kbuild.
//!
//! Input: a `GeneratedModule` and the kernel to build against (`-r RELEASE`,
//! its Kbuild directory). Output: the path of the built module, taken from
//! the cache when the same sources were built for the same kernel before.
//! The cache (`cache_dir`, refused unless the running user owns it) is
//! keyed by SHA-256 of the sources, the release and the build directory;
//! each cached `.ko` has its SHA-256 beside it and is used only while its
//! bytes match it.
//! Invariants: compiler errors and warnings are shown, never hidden, with
//! their locations mapped back to the script (`compiler_output`); a
//! missing kernel build directory is one clear error that says what to
//! install; the build directory is removed unless `-k` keeps it (and a
//! failed build keeps it, for the generated C the errors name). `-B
//! NAME=VALUE` reaches make's command line only as validated by
//! [`make_directive`], and is part of the cache key.

pub mod compiler_output;

pub mod batch;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::cache_dir::{cache_dir, CacheKind};
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
    /// `-B NAME=VALUE`: make variables for the Kbuild run, validated by
    /// [`make_directive`].
    pub make_args: Vec<String>,
}

/// One `-B NAME=VALUE` (a make variable for the Kbuild run, such as
/// `CONFIG_DEBUG_INFO=y` or `KCFLAGS=-g`), checked: NAME a make variable
/// name (letters, digits, `_`, not starting with a digit) and VALUE made
/// of characters that stay one word and cannot expand (no `$`, quotes,
/// spaces or control characters).
pub fn make_directive(d: &str) -> Result<String, String> {
    let shown = crate::codegen::c_text::c_escape(d);
    let Some((name, value)) = d.split_once('=') else {
        return Err(format!("invalid -B `{shown}`: expected NAME=VALUE, such as -B CONFIG_DEBUG_INFO=y"));
    };
    crate::codegen::c_text::c_identifier("-B variable name", name).map_err(|e| format!("{e} (in `-B {shown}`)"))?;
    if let Some(bad) = value.chars().find(|c| !(c.is_ascii_alphanumeric() || "_-+=.,:/@%".contains(*c))) {
        return Err(format!(
            "invalid -B value for {name}: `{}` may not appear in it (a value is letters, digits and `_-+=.,:/@%`)",
            crate::codegen::c_text::c_escape(&bad.to_string())
        ));
    }
    Ok(d.to_string())
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

/// SHA-256 of `bytes`, as hex.
fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 over everything that decides the module's bytes, each field
/// length-prefixed so that no two inputs feed the same stream.
fn cache_key(module: &GeneratedModule, release: &str, kdir: &Path, make_args: &[String]) -> String {
    let mut h = Sha256::new();
    let mut feed = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    feed(env!("CARGO_PKG_VERSION").as_bytes());
    feed(release.as_bytes());
    feed(kdir.as_os_str().as_encoded_bytes());
    for (name, text) in &module.files {
        feed(name.as_bytes());
        feed(text.as_bytes());
    }
    feed(b"make arguments");
    for a in make_args {
        feed(a.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The file beside a cached `.ko` that records its SHA-256.
fn recorded_hash_path(ko: &Path) -> PathBuf {
    ko.with_extension("ko.sha256")
}

/// Whether the cached module `ko` may be used: it exists, the running
/// user owns it, and its bytes still have the SHA-256 recorded when it was
/// cached. Ok(false) is a cache miss; Err says why an entry is refused.
fn verify_cached(ko: &Path) -> Result<bool, String> {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = fs::symlink_metadata(ko) else {
        return Ok(false);
    };
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if !meta.is_file() || meta.uid() != me {
        return Err(format!("the cached module {} is not a file owned by the user running stap", ko.display()));
    }
    let recorded = fs::read_to_string(recorded_hash_path(ko)).unwrap_or_default();
    let bytes = fs::read(ko).map_err(|e| format!("cannot read the cached module {}: {e}", ko.display()))?;
    if recorded.trim() != sha256_hex(&bytes) {
        return Err(format!("the cached module {} does not match its recorded SHA-256", ko.display()));
    }
    Ok(true)
}

/// Puts the built module into the cache with its SHA-256 beside it (both
/// renamed into place, the hash last, so a half-written entry is a miss).
fn store_cached(built: &Path, cached_ko: &Path, name: &str) -> Result<(), String> {
    let parent = cached_ko.parent().expect("a cache entry has a directory");
    crate::cache_dir::ensure_owned_dir(parent)?;
    let bytes = fs::read(built).map_err(|e| format!("cannot read {}: {e}", built.display()))?;
    let tmp = parent.join(format!(".{name}.ko.tmp"));
    let tmp_hash = parent.join(format!(".{name}.ko.sha256.tmp"));
    let write = || -> std::io::Result<()> {
        fs::write(&tmp, &bytes)?;
        fs::write(&tmp_hash, format!("{}\n", sha256_hex(&bytes)))?;
        fs::rename(&tmp, cached_ko)?;
        fs::rename(&tmp_hash, recorded_hash_path(cached_ko))
    };
    write().map_err(|e| format!("cannot cache the module in {}: {e}", parent.display()))
}

/// Runs pass 4.
pub fn build(opts: &BuildOptions, module: &GeneratedModule) -> Result<Built, String> {
    let kdir = kernel_build_dir(&opts.release, opts.kernel_build_dir.as_deref())?;
    let make_args = opts.make_args.iter().map(|d| make_directive(d)).collect::<Result<Vec<_>, _>>()?;
    let key = cache_key(module, &opts.release, &kdir, &make_args);
    // The cache directory is checked (owned by this user) before anything
    // in it is trusted.
    let cached_ko = if opts.use_cache {
        Some(cache_dir(CacheKind::Modules)?.join(&key).join(format!("{}.ko", module.name)))
    } else {
        None
    };
    if let (Some(ko), false) = (&cached_ko, opts.keep) {
        match verify_cached(ko) {
            Ok(true) => return Ok(Built { ko: ko.clone(), from_cache: true, kept_dir: None, warnings: Vec::new() }),
            Ok(false) => {}
            Err(e) => eprintln!("WARNING: {e}; building it again"),
        }
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
    cmd.arg("-C").arg(&kdir).arg(format!("M={}", dir.path().display())).args(&make_args).arg("modules");
    if opts.verbose >= 3 {
        cmd.arg("V=1");
    }
    let output = cmd.output().map_err(|e| format!("cannot run make (is it installed? apt-get install make gcc): {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if opts.verbose >= 2 {
        eprint!("{stdout}{stderr}");
    }
    let diagnostics = compiler_output::diagnostics(&stderr, &module.name, dir.path());
    let warnings: Vec<String> = diagnostics.iter().filter(|l| l.contains("warning:")).cloned().collect();
    let built = dir.path().join(format!("{}.ko", module.name));
    if !output.status.success() || !built.is_file() {
        let kept = dir.keep();
        let mut shown: Vec<String> = compiler_output::diagnostics(&stdout, &module.name, &kept)
            .into_iter()
            .filter(|l| l.contains("error"))
            .collect();
        shown.extend(diagnostics);
        return Err(format!(
            "module build failed (kernel {}, build directory kept at {}):\n{}",
            opts.release,
            kept.display(),
            shown.join("\n")
        ));
    }
    let mut cached = None;
    if let Some(ko) = &cached_ko {
        match store_cached(&built, ko, &module.name) {
            Ok(()) => cached = Some(ko.clone()),
            Err(e) => eprintln!("WARNING: {e}"),
        }
    }
    let (ko, kept_dir) = if opts.keep {
        let kept = dir.keep();
        (kept.join(format!("{}.ko", module.name)), Some(kept))
    } else if let Some(ko) = cached {
        (ko, None)
    } else {
        // No cache: move the module out before the directory goes away.
        let out = std::env::temp_dir().join(format!("rstap-{}-{}.ko", module.name, key));
        fs::copy(&built, &out).map_err(|e| format!("cannot copy {}: {e}", built.display()))?;
        (out, None)
    };
    Ok(Built { ko, from_cache: false, kept_dir, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(text: &str) -> GeneratedModule {
        GeneratedModule { name: "m".into(), files: vec![("m.c".into(), text.into())] }
    }

    #[test]
    fn the_key_is_sha256_of_delimited_fields() {
        let k = cache_key(&module("int x;"), "6.1.0", Path::new("/k"), &[]);
        assert_eq!(k.len(), 64);
        assert_ne!(k, cache_key(&module("int x;"), "6.1.", Path::new("0/k"), &[]));
        assert_ne!(k, cache_key(&module("int y;"), "6.1.0", Path::new("/k"), &[]));
        assert_ne!(k, cache_key(&module("int x;"), "6.1.0", Path::new("/k"), &["CONFIG_X=y".into()]));
        assert_eq!(k, cache_key(&module("int x;"), "6.1.0", Path::new("/k"), &[]));
    }

    #[test]
    fn make_directives_are_one_plain_word() {
        assert_eq!(make_directive("CONFIG_DEBUG_INFO=y"), Ok("CONFIG_DEBUG_INFO=y".into()));
        assert_eq!(make_directive("KCFLAGS=-O2"), Ok("KCFLAGS=-O2".into()));
        assert_eq!(make_directive("X="), Ok("X=".into()));
        assert_eq!(
            make_directive("KCFLAGS=$(shell id)").unwrap_err(),
            "invalid -B value for KCFLAGS: `$` may not appear in it (a value is letters, digits and `_-+=.,:/@%`)"
        );
        assert!(make_directive("A=b c").is_err());
        assert!(make_directive("A=b\nc").is_err());
        assert_eq!(make_directive("CONFIG_X").unwrap_err(), "invalid -B `CONFIG_X`: expected NAME=VALUE, such as -B CONFIG_DEBUG_INFO=y");
        assert!(make_directive("9X=1").unwrap_err().starts_with("invalid -B variable name `9X`"));
    }

    #[test]
    fn a_cached_module_is_used_only_while_it_matches_its_hash() {
        let d = tempfile::tempdir().unwrap();
        let built = d.path().join("built.ko");
        fs::write(&built, b"\x7fELF module").unwrap();
        let ko = d.path().join("key").join("m.ko");
        assert_eq!(verify_cached(&ko), Ok(false));
        store_cached(&built, &ko, "m").unwrap();
        assert_eq!(fs::read_to_string(recorded_hash_path(&ko)).unwrap(), format!("{}\n", sha256_hex(b"\x7fELF module")));
        assert_eq!(verify_cached(&ko), Ok(true));
        fs::write(&ko, b"\x7fELF tampered").unwrap();
        assert_eq!(
            verify_cached(&ko),
            Err(format!("the cached module {} does not match its recorded SHA-256", ko.display()))
        );
        fs::remove_file(recorded_hash_path(&ko)).unwrap();
        assert!(verify_cached(&ko).is_err(), "no recorded hash: refused");
    }
}
