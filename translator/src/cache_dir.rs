//! The one answer to "where does rstap keep its caches".
//!
//! Input: the environment (`RSTAP_CACHE_DIR`, `XDG_CACHE_HOME`, `HOME`,
//! and `RSTAP_TESTBED_DIR` for the testbed alone) and the kind of cache.
//! Output: the directory, created (mode 0700) if it is missing. Order:
//! `$RSTAP_CACHE_DIR/KIND`, else `$XDG_CACHE_HOME/rstap/KIND`, else
//! `$HOME/.cache/rstap/KIND` (an empty variable counts as unset); the
//! testbed's images may live elsewhere with `$RSTAP_TESTBED_DIR`.
//! Invariant: a cache directory that is not owned by the user running
//! stap is refused with an error that names it and its owner, because
//! what a cache holds is loaded into the kernel (under `sudo -E` a
//! user-writable module cache would decide what root loads).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// What a cache directory holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheKind {
    /// Built modules, keyed by the hash of what decides their bytes.
    Modules,
    /// The DWARF function index of each vmlinux.
    Debuginfo,
    /// The qemu testbed: kernel images, headers, debuginfo packages.
    Testbed,
}

impl CacheKind {
    fn dir_name(self) -> &'static str {
        match self {
            CacheKind::Modules => "modules",
            CacheKind::Debuginfo => "debuginfo",
            CacheKind::Testbed => "testbed",
        }
    }
}

fn var(name: &str) -> Option<OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// The cache directory of `kind`, not created and not checked.
pub fn cache_path(kind: CacheKind) -> Result<PathBuf, String> {
    if kind == CacheKind::Testbed {
        if let Some(d) = var("RSTAP_TESTBED_DIR") {
            return Ok(PathBuf::from(d));
        }
    }
    let root = if let Some(d) = var("RSTAP_CACHE_DIR") {
        PathBuf::from(d)
    } else if let Some(d) = var("XDG_CACHE_HOME") {
        PathBuf::from(d).join("rstap")
    } else if let Some(h) = var("HOME") {
        PathBuf::from(h).join(".cache").join("rstap")
    } else {
        return Err("none of RSTAP_CACHE_DIR, XDG_CACHE_HOME and HOME is set: no place for rstap's cache".into());
    };
    Ok(root.join(kind.dir_name()))
}

/// The cache directory of `kind`, created if missing and refused unless
/// the running user owns it.
pub fn cache_dir(kind: CacheKind) -> Result<PathBuf, String> {
    let dir = cache_path(kind)?;
    ensure_owned_dir(&dir)?;
    Ok(dir)
}

/// Creates `dir` (0700 for what this creates) if it is missing and checks
/// that the effective user owns it and it is a directory.
pub fn ensure_owned_dir(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create the cache directory {}: {e}", dir.display()))?;
    }
    let meta = std::fs::metadata(dir).map_err(|e| format!("cannot read the cache directory {}: {e}", dir.display()))?;
    if !meta.is_dir() {
        return Err(format!("the cache directory {} is not a directory", dir.display()));
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(format!(
            "refusing the cache directory {}: it is owned by uid {}, not by the user running stap (uid {me}); \
             what it holds would be loaded into the kernel\n  help: remove it, or point RSTAP_CACHE_DIR at a directory you own",
            dir.display(),
            meta.uid()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_owned_by_someone_else_is_refused() {
        // As root, a directory given to nobody (65534); otherwise / (root's).
        let me = unsafe { libc::geteuid() };
        let d = tempfile::tempdir().unwrap();
        assert_eq!(ensure_owned_dir(d.path()), Ok(()));
        let sub = d.path().join("a/b");
        assert_eq!(ensure_owned_dir(&sub), Ok(()));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&sub).unwrap().permissions().mode() & 0o777, 0o700);
        if me == 0 {
            let other = d.path().join("other");
            std::fs::create_dir(&other).unwrap();
            std::os::unix::fs::chown(&other, Some(65534), None).unwrap();
            let e = ensure_owned_dir(&other).unwrap_err();
            assert!(e.starts_with(&format!("refusing the cache directory {}: it is owned by uid 65534, not by the user running stap (uid 0)", other.display())), "{e}");
        } else {
            let e = ensure_owned_dir(Path::new("/")).unwrap_err();
            assert!(e.contains("it is owned by uid 0"), "{e}");
        }
        let file = d.path().join("f");
        std::fs::write(&file, "").unwrap();
        assert!(ensure_owned_dir(&file).unwrap_err().ends_with("is not a directory"));
    }
}
