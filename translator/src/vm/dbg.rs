//! dbg: the kernel's debuginfo package in the testbed cache.
//!
//! Input: the testbed cache dir and a kernel release (and, through
//! [`SetupOptions`], the host or a stand-in and where progress goes).
//! Output: `<cache>/dbg/<RELEASE>`, a root holding the extracted
//! `linux-image-RELEASE-dbg` package (`usr/lib/debug/...`), usable as a
//! debuginfo search root. Invariants: idempotent (a `.complete` stamp is
//! written last; a complete root is never touched again); the package is
//! downloaded with `apt-get download` (no root needed; on a terminal with
//! apt's meter and a note naming its size) and extracted with `dpkg -x`
//! into a temporary dir that is renamed into place; a failed download is
//! retried once after `apt-get update` (as root), since stale lists name
//! a mirror path that is gone.

use std::fs;
use std::path::{Path, PathBuf};

use super::setup::{apt_update, download, Host};
use super::SetupOptions;

/// Where the debuginfo root of `release` lives in the testbed cache.
pub fn dbg_root(cache: &Path, release: &str) -> PathBuf {
    cache.join("dbg").join(release)
}

/// Is the debuginfo of `release` already extracted?
pub fn is_fetched(cache: &Path, release: &str) -> bool {
    dbg_root(cache, release).join(".complete").is_file()
}

fn tail(b: &[u8]) -> String {
    let err = String::from_utf8_lossy(b);
    let tail: Vec<&str> = err.lines().rev().take(8).collect();
    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
}

/// Downloads and extracts `linux-image-RELEASE-dbg` (about 280 MB, 1.7 GB
/// unpacked) into the cache unless it is there; returns the root.
pub fn fetch(cache: &Path, release: &str, verbose: bool) -> Result<PathBuf, String> {
    fetch_with(cache, release, &SetupOptions { verbose, ..Default::default() })
}

/// [`fetch`] on the host (or stand-in) and with the progress of `opts`.
pub fn fetch_with(cache: &Path, release: &str, opts: &SetupOptions) -> Result<PathBuf, String> {
    if release.is_empty() || release.contains('/') || release.contains(char::is_whitespace) {
        return Err(format!("bad kernel release {release:?}"));
    }
    let dest = dbg_root(cache, release);
    if is_fetched(cache, release) {
        return Ok(dest);
    }
    let host = Host::new(opts);
    let pkg = format!("linux-image-{release}-dbg");
    if !host.progress.enabled() {
        eprintln!("stap: downloading {pkg} (about 300 MB) into {} ...", dest.display());
    }
    let dir = cache.join("dbg");
    let tmp = dir.join(format!(".{release}.tmp.{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
    let by_hand = format!("(install it by hand: apt-get download {pkg} && dpkg -x {pkg}_*.deb {})", dest.display());
    let result = (|| {
        let mut updated = false;
        let mut out = download(&host, &pkg, &tmp)?;
        if !out.status.success() {
            let first = format!("`apt-get download {pkg}` failed:\n{}", tail(&out.stderr));
            if !host.is_root() {
                return Err(format!("{first}\nthe package lists may be stale: as root run `apt-get update`, then try again\n{by_hand}"));
            }
            host.progress.say(&format!("downloading {pkg} failed; updating the package lists"));
            apt_update(&host, &mut updated).map_err(|e| format!("{first}\n{e}\n{by_hand}"))?;
            out = download(&host, &pkg, &tmp)?;
            if !out.status.success() {
                return Err(format!(
                    "`apt-get download {pkg}` failed (after `apt-get update`):\n{}\n{by_hand}",
                    tail(&out.stderr)
                ));
            }
        }
        let deb = fs::read_dir(&tmp)
            .map_err(|e| format!("cannot list {}: {e}", tmp.display()))?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "deb"))
            .ok_or_else(|| format!("apt-get download left no .deb in {}", tmp.display()))?;
        let root = tmp.join("root");
        host.progress.say(&format!("extracting {pkg} into {}", dest.display()));
        let deb_s = deb.to_string_lossy().to_string();
        let out = host.run("dpkg", &["-x", &deb_s, &root.to_string_lossy()], Some(&tmp), false)?;
        if !out.status.success() {
            return Err(format!("`dpkg -x {deb_s}` failed:\n{}", tail(&out.stderr)));
        }
        let _ = fs::remove_dir_all(&dest);
        fs::rename(&root, &dest).map_err(|e| format!("cannot move the debuginfo to {}: {e}", dest.display()))?;
        fs::write(dest.join(".complete"), format!("{pkg}\n")).map_err(|e| format!("cannot stamp {}: {e}", dest.display()))?;
        Ok(dest.clone())
    })();
    let _ = fs::remove_dir_all(&tmp);
    result
}
