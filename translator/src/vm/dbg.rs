//! dbg: the kernel's debuginfo package in the testbed cache.
//!
//! Input: the testbed cache dir and a kernel release. Output:
//! `<cache>/dbg/<RELEASE>`, a root holding the extracted
//! `linux-image-RELEASE-dbg` package (`usr/lib/debug/...`), usable as a
//! debuginfo search root. Invariants: idempotent (a `.complete` stamp is
//! written last; a complete root is never touched again); the package is
//! downloaded with `apt-get download` (no root needed) and extracted with
//! `dpkg -x` into a temporary dir that is renamed into place.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where the debuginfo root of `release` lives in the testbed cache.
pub fn dbg_root(cache: &Path, release: &str) -> PathBuf {
    cache.join("dbg").join(release)
}

/// Is the debuginfo of `release` already extracted?
pub fn is_fetched(cache: &Path, release: &str) -> bool {
    dbg_root(cache, release).join(".complete").is_file()
}

fn run(cmd: &str, args: &[&str], cwd: &Path, verbose: bool) -> Result<(), String> {
    if verbose {
        eprintln!("testbed: + {cmd} {}", args.join(" "));
    }
    let out = Command::new(cmd)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output()
        .map_err(|e| format!("cannot run {cmd}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = err.lines().rev().take(8).collect();
    Err(format!(
        "`{cmd} {}` failed:\n{}",
        args.join(" "),
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    ))
}

/// Downloads and extracts `linux-image-RELEASE-dbg` (about 280 MB, 1.7 GB
/// unpacked) into the cache unless it is there; returns the root.
pub fn fetch(cache: &Path, release: &str, verbose: bool) -> Result<PathBuf, String> {
    if release.is_empty() || release.contains('/') || release.contains(char::is_whitespace) {
        return Err(format!("bad kernel release {release:?}"));
    }
    let dest = dbg_root(cache, release);
    if is_fetched(cache, release) {
        return Ok(dest);
    }
    let pkg = format!("linux-image-{release}-dbg");
    eprintln!("stap: downloading {pkg} (about 300 MB) into {} ...", dest.display());
    let dir = cache.join("dbg");
    let tmp = dir.join(format!(".{release}.tmp.{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
    let result = (|| {
        run("apt-get", &["download", &pkg], &tmp, verbose)
            .map_err(|e| format!("{e}\n(install it by hand: apt-get download {pkg} && dpkg -x {pkg}_*.deb {})", dest.display()))?;
        let deb = fs::read_dir(&tmp)
            .map_err(|e| format!("cannot list {}: {e}", tmp.display()))?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "deb"))
            .ok_or_else(|| format!("apt-get download left no .deb in {}", tmp.display()))?;
        let root = tmp.join("root");
        run("dpkg", &["-x", &deb.to_string_lossy(), &root.to_string_lossy()], &tmp, verbose)?;
        let _ = fs::remove_dir_all(&dest);
        fs::rename(&root, &dest).map_err(|e| format!("cannot move the debuginfo to {}: {e}", dest.display()))?;
        fs::write(dest.join(".complete"), format!("{pkg}\n")).map_err(|e| format!("cannot stamp {}: {e}", dest.display()))?;
        Ok(dest.clone())
    })();
    let _ = fs::remove_dir_all(&tmp);
    result
}
