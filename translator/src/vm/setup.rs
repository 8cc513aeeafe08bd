//! setup: makes this machine able to boot the testbed guest.
//!
//! Input: [`SetupOptions`] (and the environment: `RSTAP_TESTBED_DIR`,
//! `RSTAP_TESTBED_RELEASE`, `HOME`), apt/dpkg on the host.
//! Output: a [`Testbed`]: the kernel release, its extracted image in the
//! cache, the matching `/usr/src/linux-headers-REL`.
//! Invariants: idempotent and cheap when everything is present (one
//! `apt-cache depends` to resolve the release, a few `dpkg-query`s); the
//! release is never hard-coded, it comes from the `linux-headers-cloud-amd64`
//! metapackage; an image lands in `<cache>/<REL>` only complete (extracted
//! in a temporary dir, renamed, then stamped `.complete`); every failure is
//! an error message naming the command that failed and what to do.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use super::Testbed;

/// Knobs for [`setup_with`].
#[derive(Debug, Clone, Default)]
pub struct SetupOptions {
    /// Print progress (commands run) on stderr.
    pub verbose: bool,
    /// Kernel release to use instead of the metapackage's (also
    /// `$RSTAP_TESTBED_RELEASE`).
    pub release: Option<String>,
    /// Cache root instead of `$RSTAP_TESTBED_DIR` / `~/.cache/rstap/testbed`.
    pub cache: Option<PathBuf>,
    /// Metapackage suffix naming the kernel line: `cloud-amd64` (default,
    /// also `$RSTAP_TESTBED_FLAVOUR`) or e.g. `6.12-cloud-amd64` for the
    /// second line; resolves `linux-headers-<flavour>`.
    pub flavour: Option<String>,
}

/// Other engineers' apt runs hold the dpkg lock: wait for it instead of failing.
const LOCK_WAIT: &str = "-oDPkg::Lock::Timeout=300";

/// The default kernel line: metapackages `linux-{headers,image}-cloud-amd64`.
const DEFAULT_FLAVOUR: &str = "cloud-amd64";

/// [`setup_with`] with the defaults.
pub fn setup(verbose: bool) -> Result<Testbed, String> {
    setup_with(&SetupOptions { verbose, ..Default::default() })
}

/// Installs what is missing and returns the testbed. See the module header.
pub fn setup_with(opts: &SetupOptions) -> Result<Testbed, String> {
    // Test threads call setup concurrently: one apt/dpkg sequence at a time.
    static ONE_SETUP_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _one = ONE_SETUP_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let v = opts.verbose;
    let cache = cache_dir(opts)?;
    let mut updated = false;
    let release = match opts.release.clone().or_else(|| env::var("RSTAP_TESTBED_RELEASE").ok().filter(|s| !s.is_empty())) {
        Some(r) => r,
        None => {
            let flavour = opts
                .flavour
                .clone()
                .or_else(|| env::var("RSTAP_TESTBED_FLAVOUR").ok().filter(|s| !s.is_empty()))
                .unwrap_or_else(|| DEFAULT_FLAVOUR.to_string());
            resolve_release_memo(&cache, &flavour, v, &mut updated)?
        }
    };
    if release.is_empty() || release.contains('/') || release.contains(char::is_whitespace) {
        return Err(format!("bad kernel release {release:?}"));
    }
    if v {
        eprintln!("testbed: kernel release {release}");
    }
    let packages = ["qemu-system-x86", "busybox-static", "make", "gcc", &format!("linux-headers-{release}")];
    let missing: Vec<&str> = packages.iter().copied().filter(|p| !installed(p)).collect();
    if !missing.is_empty() {
        install(&missing, v, &mut updated)?;
    }
    let headers = PathBuf::from(format!("/usr/src/linux-headers-{release}"));
    if !headers.join("Makefile").is_file() {
        return Err(format!(
            "{} has no Makefile although linux-headers-{release} is installed",
            headers.display()
        ));
    }
    super::initramfs::find_busybox()?;
    if which("qemu-system-x86_64").is_none() {
        return Err("qemu-system-x86_64 is not in PATH although qemu-system-x86 is installed".into());
    }
    let image = cache.join(&release);
    if !image.join(".complete").is_file() {
        fetch_image(&cache, &release, v, &mut updated)?;
    } else if v {
        eprintln!("testbed: kernel image cached in {}", image.display());
    }
    let vmlinuz = image.join("boot").join(format!("vmlinuz-{release}"));
    if !vmlinuz.is_file() {
        return Err(format!(
            "{} is missing from the cache; remove {} and run setup again",
            vmlinuz.display(),
            image.display()
        ));
    }
    Ok(Testbed { release, vmlinuz, headers, cache, image })
}

pub(crate) fn cache_dir(opts: &SetupOptions) -> Result<PathBuf, String> {
    let dir = if let Some(c) = &opts.cache { c.clone() } else { crate::cache_dir::cache_dir(crate::cache_dir::CacheKind::Testbed)? };
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create the testbed cache {}: {e}", dir.display()))?;
    Ok(dir)
}

fn which(prog: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    env::split_paths(&path).map(|d| d.join(prog)).find(|p| p.is_file())
}

fn is_root() -> bool {
    // The effective uid of this process, from /proc (no libc call needed).
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

fn run(cmd: &str, args: &[&str], cwd: Option<&Path>, verbose: bool) -> Result<Output, String> {
    if which(cmd).is_none() {
        return Err(format!("`{cmd}` not found: the testbed needs a Debian-like host with apt and dpkg"));
    }
    if verbose {
        eprintln!("testbed: + {cmd} {}", args.join(" "));
    }
    let mut c = Command::new(cmd);
    c.args(args).stdin(Stdio::null()).env("DEBIAN_FRONTEND", "noninteractive");
    if let Some(d) = cwd {
        c.current_dir(d);
    }
    c.output().map_err(|e| format!("cannot run {cmd}: {e}"))
}

fn tail(b: &[u8], lines: usize) -> String {
    let s = String::from_utf8_lossy(b);
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

fn apt_update(verbose: bool, updated: &mut bool) -> Result<(), String> {
    if *updated {
        return Ok(());
    }
    *updated = true;
    if !is_root() {
        return Err("the package lists need `apt-get update`, which needs root".into());
    }
    let out = run("apt-get", &[LOCK_WAIT, "update"], None, verbose)?;
    if !out.status.success() {
        return Err(format!(
            "`apt-get update` failed (no network?):\n{}",
            tail(&out.stderr, 10)
        ));
    }
    Ok(())
}

fn depends_of(meta: &str, prefix: &str, verbose: bool) -> Result<Option<String>, String> {
    let out = run("apt-cache", &["depends", meta], None, verbose)?;
    if !out.status.success() {
        return Ok(None);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    for line in text.lines() {
        let line = line.trim().trim_start_matches('|');
        if let Some(dep) = line.strip_prefix("Depends:") {
            let dep = dep.trim();
            if let Some(rel) = dep.strip_prefix(prefix) {
                let rel = rel.trim_end_matches("-unsigned");
                if !rel.is_empty() && !rel.starts_with('<') {
                    return Ok(Some(rel.to_string()));
                }
            }
        }
    }
    Ok(None)
}

/// [`resolve_release`], remembered: `apt-cache` takes 1-2 s here (no
/// pkgcache.bin), and tests call setup often. The answer is kept in memory
/// and in `<cache>/.release-<flavour>`, which is trusted only while it is newer
/// than the apt lists (an `apt-get update` may move the release).
fn resolve_release_memo(cache: &Path, flavour: &str, verbose: bool, updated: &mut bool) -> Result<String, String> {
    static MEMO: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());
    let lists_mtime = fs::metadata("/var/lib/apt/lists").and_then(|m| m.modified()).ok();
    let memo_file = cache.join(format!(".release-{flavour}"));
    let file_fresh = || -> Option<String> {
        let lists = lists_mtime?;
        let meta = fs::metadata(&memo_file).ok()?;
        if meta.modified().ok()? < lists {
            return None;
        }
        let rel = fs::read_to_string(&memo_file).ok()?.trim().to_string();
        (!rel.is_empty()).then_some(rel)
    };
    if let Some(rel) = file_fresh() {
        if let Ok(mut m) = MEMO.lock() {
            if !m.iter().any(|(f, _)| f == flavour) {
                m.push((flavour.to_string(), rel.clone()));
            }
        }
        return Ok(rel);
    }
    if let Some((_, rel)) = MEMO.lock().ok().and_then(|m| m.iter().find(|(f, _)| f == flavour).cloned()) {
        if lists_mtime.is_none() {
            return Ok(rel);
        }
    }
    let rel = resolve_release(flavour, verbose, updated)?;
    let _ = fs::write(&memo_file, format!("{rel}\n"));
    if let Ok(mut m) = MEMO.lock() {
        m.retain(|(f, _)| f != flavour);
        m.push((flavour.to_string(), rel.clone()));
    }
    Ok(rel)
}

/// The release named by the headers metapackage (checked against the image one).
fn resolve_release(flavour: &str, verbose: bool, updated: &mut bool) -> Result<String, String> {
    let headers_meta = format!("linux-headers-{flavour}");
    let image_meta = format!("linux-image-{flavour}");
    let mut rel = depends_of(&headers_meta, "linux-headers-", verbose)?;
    if rel.is_none() {
        apt_update(verbose, updated)?;
        rel = depends_of(&headers_meta, "linux-headers-", verbose)?;
    }
    let rel = rel.ok_or_else(|| {
        format!("apt knows no {headers_meta} package: is this Debian with the main component enabled?")
    })?;
    match depends_of(&image_meta, "linux-image-", verbose)? {
        Some(img) if img != rel => Err(format!(
            "{headers_meta} wants {rel} but {image_meta} wants {img}; set RSTAP_TESTBED_RELEASE to choose"
        )),
        _ => Ok(rel),
    }
}

fn installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .stderr(Stdio::null())
        .output()
        .map(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).ends_with("install ok installed"))
        .unwrap_or(false)
}

fn install(pkgs: &[&str], verbose: bool, updated: &mut bool) -> Result<(), String> {
    if !is_root() {
        return Err(format!(
            "the testbed needs packages that are not installed; as root run:\n  apt-get install -y {}",
            pkgs.join(" ")
        ));
    }
    if verbose {
        eprintln!("testbed: installing {}", pkgs.join(" "));
    }
    let mut args = vec![LOCK_WAIT, "install", "-y", "--no-install-recommends"];
    args.extend_from_slice(pkgs);
    let out = run("apt-get", &args, None, verbose)?;
    if out.status.success() {
        return Ok(());
    }
    if !*updated {
        apt_update(verbose, updated)?;
        let out = run("apt-get", &args, None, verbose)?;
        if out.status.success() {
            return Ok(());
        }
        return Err(format!("`apt-get {}` failed:\n{}", args.join(" "), tail(&out.stderr, 10)));
    }
    Err(format!("`apt-get {}` failed:\n{}", args.join(" "), tail(&out.stderr, 10)))
}

/// Downloads `linux-image-REL` and extracts it to `<cache>/<REL>`.
fn fetch_image(cache: &Path, release: &str, verbose: bool, updated: &mut bool) -> Result<(), String> {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let tmp = cache.join(format!(".{release}.tmp.{}.{nanos}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
    let result = fetch_into(&tmp, cache, release, verbose, updated);
    let _ = fs::remove_dir_all(&tmp);
    result
}

fn fetch_into(tmp: &Path, cache: &Path, release: &str, verbose: bool, updated: &mut bool) -> Result<(), String> {
    if verbose {
        eprintln!("testbed: downloading linux-image-{release} into {}", cache.display());
    }
    let mut last_err = String::new();
    let mut got = false;
    'outer: for attempt in 0..2 {
        for pkg in [format!("linux-image-{release}"), format!("linux-image-{release}-unsigned")] {
            let out = run("apt-get", &["download", &pkg], Some(tmp), verbose)?;
            if out.status.success() {
                got = true;
                break 'outer;
            }
            last_err = format!("`apt-get download {pkg}` failed:\n{}", tail(&out.stderr, 10));
        }
        if attempt == 0 && !*updated && is_root() {
            apt_update(verbose, updated)?;
        } else {
            break;
        }
    }
    if !got {
        return Err(format!("{last_err}\n(no network, or the release is no longer in the archive?)"));
    }
    let deb = fs::read_dir(tmp)
        .map_err(|e| format!("cannot list {}: {e}", tmp.display()))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().map(|x| x == "deb").unwrap_or(false))
        .ok_or_else(|| format!("apt-get download left no .deb in {}", tmp.display()))?;
    let root = tmp.join("root");
    let deb_s = deb.to_string_lossy().to_string();
    let root_s = root.to_string_lossy().to_string();
    let out = run("dpkg", &["-x", &deb_s, &root_s], None, verbose)?;
    if !out.status.success() {
        return Err(format!("`dpkg -x {deb_s}` failed:\n{}", tail(&out.stderr, 10)));
    }
    let vmlinuz = root.join("boot").join(format!("vmlinuz-{release}"));
    if !vmlinuz.is_file() {
        return Err(format!("the package linux-image-{release} has no boot/vmlinuz-{release}"));
    }
    let dest = cache.join(release);
    if dest.join(".complete").is_file() {
        return Ok(()); // another process finished the same download first
    }
    let _ = fs::remove_dir_all(&dest);
    fs::rename(&root, &dest).map_err(|e| format!("cannot move the image to {}: {e}", dest.display()))?;
    fs::write(dest.join(".complete"), format!("{}\n", deb.file_name().unwrap_or_default().to_string_lossy()))
        .map_err(|e| format!("cannot stamp {}: {e}", dest.display()))?;
    if verbose {
        eprintln!("testbed: kernel image extracted to {}", dest.display());
    }
    Ok(())
}
