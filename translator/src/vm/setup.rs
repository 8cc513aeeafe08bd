//! setup: makes this machine able to boot the testbed guest.
//!
//! Input: [`SetupOptions`] (and the environment: `RSTAP_TESTBED_DIR`,
//! `RSTAP_TESTBED_RELEASE`, `HOME`), apt/dpkg on the host (or stand-ins, see
//! [`StandIn`]).
//! Output: a [`Testbed`]: the kernel release, its extracted image in the
//! cache, the matching `/usr/src/linux-headers-REL`.
//! Invariants: idempotent and cheap when everything is present (one
//! `apt-cache depends` to resolve the release, a few `dpkg-query`s); the
//! release is never hard-coded, it comes from the `linux-headers-cloud-amd64`
//! metapackage; stale package lists are survived: when installing or
//! downloading a package of the release fails, `apt-get update` runs once,
//! the release is resolved ANEW from the metapackage (it moves with
//! security updates) and everything is tried again for that release; an
//! image lands in `<cache>/<REL>` only complete (extracted in a temporary
//! dir, renamed, then stamped `.complete`); every failure is an error
//! message naming the command that failed and what to do. On a terminal,
//! what is installed or downloaded is shown with apt's own meter
//! ([`super::progress`]); nothing of it when stderr is not a terminal.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use super::progress::{human_size, Progress, ProgressTo};
use super::Testbed;

/// Knobs for [`setup_with`].
#[derive(Debug, Clone, Default)]
pub struct SetupOptions {
    /// Print the commands run on stderr.
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
    /// Where progress goes (default: stderr when it is a terminal).
    pub progress: ProgressTo,
    /// Run against stand-in programs and a fake root instead of this host.
    pub stand_in: Option<StandIn>,
}

/// A stand-in host (tests): `apt-get`, `apt-cache`, `dpkg-query`, `dpkg`
/// and `qemu-system-x86_64` are looked up in `path` only (and run with it as
/// `PATH`); `/usr/src`, `/var/lib/apt/lists` and `/bin/busybox` are read
/// under `root`; `RSTAP_TESTBED_RELEASE` / `RSTAP_TESTBED_FLAVOUR` are
/// ignored.
#[derive(Debug, Clone)]
pub struct StandIn {
    pub path: OsString,
    pub root: PathBuf,
    /// Whether setup may run `apt-get install` / `update`.
    pub is_root: bool,
}

/// Other engineers' apt runs hold the dpkg lock: wait for it instead of failing.
const LOCK_WAIT: &str = "-oDPkg::Lock::Timeout=300";

/// The default kernel line: metapackages `linux-{headers,image}-cloud-amd64`.
const DEFAULT_FLAVOUR: &str = "cloud-amd64";

/// The host setup works on: this machine, or a [`StandIn`].
pub(crate) struct Host {
    path: OsString,
    root: PathBuf,
    is_root: bool,
    stand_in: bool,
    verbose: bool,
    pub(crate) progress: Progress,
}

impl Host {
    pub(crate) fn new(opts: &SetupOptions) -> Host {
        let progress = Progress::new(&opts.progress);
        match &opts.stand_in {
            Some(s) => Host {
                path: s.path.clone(),
                root: s.root.clone(),
                is_root: s.is_root,
                stand_in: true,
                verbose: opts.verbose,
                progress,
            },
            None => Host {
                path: env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into()),
                root: PathBuf::from("/"),
                is_root: is_root(),
                stand_in: false,
                verbose: opts.verbose,
                progress,
            },
        }
    }

    /// A host path (`/usr/src/...`) on this host.
    fn file(&self, abs: &str) -> PathBuf {
        self.root.join(abs.trim_start_matches('/'))
    }

    /// May setup run `apt-get install` / `update`?
    pub(crate) fn is_root(&self) -> bool {
        self.is_root
    }

    fn env(&self, name: &str) -> Option<String> {
        if self.stand_in {
            return None;
        }
        env::var(name).ok().filter(|s| !s.is_empty())
    }

    fn which(&self, prog: &str) -> Option<PathBuf> {
        env::split_paths(&self.path).map(|d| d.join(prog)).find(|p| p.is_file())
    }

    /// Runs `cmd`, its stdout shown as progress when `show` and progress is
    /// on (apt then draws its meter), captured otherwise.
    pub(crate) fn run(&self, cmd: &str, args: &[&str], cwd: Option<&Path>, show: bool) -> Result<Output, String> {
        let Some(prog) = self.which(cmd) else {
            return Err(format!("`{cmd}` not found: the testbed needs a Debian-like host with apt and dpkg"));
        };
        if self.verbose {
            eprintln!("testbed: + {cmd} {}", args.join(" "));
        }
        let mut c = Command::new(prog);
        c.args(args).stdin(Stdio::null()).env("DEBIAN_FRONTEND", "noninteractive").env("PATH", &self.path);
        if show && self.progress.enabled() {
            c.stdout(self.progress.child_stdout());
        }
        if let Some(d) = cwd {
            c.current_dir(d);
        }
        c.output().map_err(|e| format!("cannot run {cmd}: {e}"))
    }

    fn installed(&self, pkg: &str) -> bool {
        let Some(prog) = self.which("dpkg-query") else { return false };
        Command::new(prog)
            .args(["-W", "-f=${Status}", pkg])
            .env("PATH", &self.path)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .map(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).ends_with("install ok installed"))
            .unwrap_or(false)
    }
}

/// [`setup_with`] with the defaults.
pub fn setup(verbose: bool) -> Result<Testbed, String> {
    setup_with(&SetupOptions { verbose, ..Default::default() })
}

/// Why preparing one release failed.
enum Failure {
    /// A package of the release could not be installed or downloaded: the
    /// lists may be stale, worth one `apt-get update` and a new resolution.
    Package(String),
    /// Anything else: reported as is.
    Fatal(String),
}

/// Installs what is missing and returns the testbed. See the module header.
pub fn setup_with(opts: &SetupOptions) -> Result<Testbed, String> {
    // Test threads call setup concurrently: one apt/dpkg sequence at a time.
    static ONE_SETUP_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _one = ONE_SETUP_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let host = Host::new(opts);
    let cache = cache_dir(opts)?;
    let mut updated = false;
    let pinned = opts.release.clone().or_else(|| host.env("RSTAP_TESTBED_RELEASE"));
    let flavour = opts
        .flavour
        .clone()
        .or_else(|| host.env("RSTAP_TESTBED_FLAVOUR"))
        .unwrap_or_else(|| DEFAULT_FLAVOUR.to_string());
    let mut release = match &pinned {
        Some(r) => r.clone(),
        None => resolve_release_memo(&host, &cache, &flavour, &mut updated)?,
    };
    loop {
        if release.is_empty() || release.contains('/') || release.contains(char::is_whitespace) {
            return Err(format!("bad kernel release {release:?}"));
        }
        if host.verbose {
            eprintln!("testbed: kernel release {release}");
        }
        let failed = match prepare(&host, &cache, &release) {
            Ok(tb) => return Ok(tb),
            Err(Failure::Fatal(e)) => return Err(e),
            Err(Failure::Package(e)) => e,
        };
        if updated {
            let how = if pinned.is_some() { "pinned" } else { "resolved again from the metapackage" };
            return Err(format!("{failed}\n(after `apt-get update`; the kernel release {release} was {how})"));
        }
        if !host.is_root {
            return Err(format!(
                "{failed}\nthe package lists may be stale: as root run `apt-get update`, then try again"
            ));
        }
        host.progress.say("a package of the kernel release failed; updating the package lists");
        apt_update(&host, &mut updated).map_err(|e| format!("{failed}\n{e}"))?;
        if pinned.is_none() {
            let fresh = resolve_release(&host, &flavour, &mut updated)?;
            remember_release(&cache, &flavour, &fresh);
            if fresh != release {
                host.progress.say(&format!("the kernel release moved from {release} to {fresh}"));
                if host.verbose {
                    eprintln!("testbed: the kernel release moved from {release} to {fresh}");
                }
            }
            release = fresh;
        }
    }
}

/// Installs the packages of `release` that are missing and fetches its image.
fn prepare(host: &Host, cache: &Path, release: &str) -> Result<Testbed, Failure> {
    let headers_pkg = format!("linux-headers-{release}");
    let packages = ["qemu-system-x86", "busybox-static", "make", "gcc", &headers_pkg];
    let missing: Vec<&str> = packages.iter().copied().filter(|p| !host.installed(p)).collect();
    if !missing.is_empty() {
        install(host, &missing)?;
    }
    let headers = host.file(&format!("/usr/src/linux-headers-{release}"));
    if !headers.join("Makefile").is_file() {
        return Err(Failure::Fatal(format!(
            "{} has no Makefile although linux-headers-{release} is installed",
            headers.display()
        )));
    }
    if host.stand_in {
        if !host.file("/bin/busybox").is_file() {
            return Err(Failure::Fatal("busybox not found; apt-get install busybox-static".into()));
        }
    } else {
        super::initramfs::find_busybox().map_err(Failure::Fatal)?;
    }
    if host.which("qemu-system-x86_64").is_none() {
        return Err(Failure::Fatal("qemu-system-x86_64 is not in PATH although qemu-system-x86 is installed".into()));
    }
    let image = cache.join(release);
    if !image.join(".complete").is_file() {
        fetch_image(host, cache, release)?;
    } else if host.verbose {
        eprintln!("testbed: kernel image cached in {}", image.display());
    }
    let vmlinuz = image.join("boot").join(format!("vmlinuz-{release}"));
    if !vmlinuz.is_file() {
        return Err(Failure::Fatal(format!(
            "{} is missing from the cache; remove {} and run setup again",
            vmlinuz.display(),
            image.display()
        )));
    }
    Ok(Testbed { release: release.to_string(), vmlinuz, headers, cache: cache.to_path_buf(), image })
}

pub(crate) fn cache_dir(opts: &SetupOptions) -> Result<PathBuf, String> {
    let dir = if let Some(c) = &opts.cache { c.clone() } else { crate::cache_dir::cache_dir(crate::cache_dir::CacheKind::Testbed)? };
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create the testbed cache {}: {e}", dir.display()))?;
    Ok(dir)
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

fn tail(b: &[u8], lines: usize) -> String {
    let s = String::from_utf8_lossy(b);
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

/// The last lines of a failed command: its stderr, else (apt prints some
/// errors on stdout) its stdout.
fn failure_text(out: &Output) -> String {
    let e = tail(&out.stderr, 10);
    if e.trim().is_empty() {
        tail(&out.stdout, 10)
    } else {
        e
    }
}

pub(crate) fn apt_update(host: &Host, updated: &mut bool) -> Result<(), String> {
    if *updated {
        return Ok(());
    }
    *updated = true;
    if !host.is_root {
        return Err("the package lists need `apt-get update`, which needs root".into());
    }
    host.progress.say("updating the package lists (apt-get update)");
    let out = host.run("apt-get", &[LOCK_WAIT, "update"], None, true)?;
    if !out.status.success() {
        return Err(format!("`apt-get update` failed (no network?):\n{}", failure_text(&out)));
    }
    Ok(())
}

fn depends_of(host: &Host, meta: &str, prefix: &str) -> Result<Option<String>, String> {
    let out = host.run("apt-cache", &["depends", meta], None, false)?;
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
fn resolve_release_memo(host: &Host, cache: &Path, flavour: &str, updated: &mut bool) -> Result<String, String> {
    static MEMO: Mutex<Vec<(PathBuf, String, String)>> = Mutex::new(Vec::new());
    let lists = host.file("/var/lib/apt/lists");
    let lists_mtime = fs::metadata(&lists).and_then(|m| m.modified()).ok();
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
    let key = |m: &(PathBuf, String, String)| m.0 == lists && m.1 == flavour;
    if let Some(rel) = file_fresh() {
        if let Ok(mut m) = MEMO.lock() {
            if !m.iter().any(key) {
                m.push((lists.clone(), flavour.to_string(), rel.clone()));
            }
        }
        return Ok(rel);
    }
    if let Some((_, _, rel)) = MEMO.lock().ok().and_then(|m| m.iter().find(|e| key(e)).cloned()) {
        if lists_mtime.is_none() {
            return Ok(rel);
        }
    }
    let rel = resolve_release(host, flavour, updated)?;
    remember_release(cache, flavour, &rel);
    if let Ok(mut m) = MEMO.lock() {
        m.retain(|e| !key(e));
        m.push((lists, flavour.to_string(), rel.clone()));
    }
    Ok(rel)
}

/// Writes the memo file of [`resolve_release_memo`].
fn remember_release(cache: &Path, flavour: &str, rel: &str) {
    let _ = fs::write(cache.join(format!(".release-{flavour}")), format!("{rel}\n"));
}

/// The release named by the headers metapackage (checked against the image one).
fn resolve_release(host: &Host, flavour: &str, updated: &mut bool) -> Result<String, String> {
    let headers_meta = format!("linux-headers-{flavour}");
    let image_meta = format!("linux-image-{flavour}");
    let mut rel = depends_of(host, &headers_meta, "linux-headers-")?;
    if rel.is_none() && !*updated {
        apt_update(host, updated)?;
        rel = depends_of(host, &headers_meta, "linux-headers-")?;
    }
    let rel = rel.ok_or_else(|| {
        format!("apt knows no {headers_meta} package: is this Debian with the main component enabled?")
    })?;
    match depends_of(host, &image_meta, "linux-image-")? {
        Some(img) if img != rel => Err(format!(
            "{headers_meta} wants {rel} but {image_meta} wants {img}; set RSTAP_TESTBED_RELEASE to choose"
        )),
        _ => Ok(rel),
    }
}

fn install(host: &Host, pkgs: &[&str]) -> Result<(), Failure> {
    if !host.is_root {
        return Err(Failure::Fatal(format!(
            "the testbed needs packages that are not installed; as root run:\n  apt-get install -y {}",
            pkgs.join(" ")
        )));
    }
    host.progress.say(&format!("installing {} (first run only)", pkgs.join(" ")));
    let mut args = vec![LOCK_WAIT, "install", "-y", "--no-install-recommends"];
    if host.progress.enabled() {
        args.push("-oDpkg::Progress-Fancy=1");
    }
    args.extend_from_slice(pkgs);
    let out = host.run("apt-get", &args, None, true).map_err(Failure::Fatal)?;
    if out.status.success() {
        return Ok(());
    }
    Err(Failure::Package(format!("`apt-get {}` failed:\n{}", args.join(" "), failure_text(&out))))
}

/// The download size apt knows for `pkg` (for the progress note).
pub(crate) fn package_size(host: &Host, pkg: &str) -> Option<u64> {
    let out = host.run("apt-cache", &["show", "--no-all-versions", pkg], None, false).ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().find_map(|l| l.strip_prefix("Size:")).and_then(|s| s.trim().parse().ok())
}

/// `apt-get download PKG` into `dir`, with a progress note naming the
/// package and its size.
pub(crate) fn download(host: &Host, pkg: &str, dir: &Path) -> Result<Output, String> {
    if host.progress.enabled() {
        match package_size(host, pkg) {
            Some(n) => host.progress.say(&format!("downloading {pkg} ({})", human_size(n))),
            None => host.progress.say(&format!("downloading {pkg}")),
        }
    }
    host.run("apt-get", &["download", pkg], Some(dir), true)
}

/// Downloads `linux-image-REL` and extracts it to `<cache>/<REL>`.
fn fetch_image(host: &Host, cache: &Path, release: &str) -> Result<(), Failure> {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let tmp = cache.join(format!(".{release}.tmp.{}.{nanos}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).map_err(|e| Failure::Fatal(format!("cannot create {}: {e}", tmp.display())))?;
    let result = fetch_into(host, &tmp, cache, release);
    let _ = fs::remove_dir_all(&tmp);
    result
}

fn fetch_into(host: &Host, tmp: &Path, cache: &Path, release: &str) -> Result<(), Failure> {
    if host.verbose {
        eprintln!("testbed: downloading linux-image-{release} into {}", cache.display());
    }
    let mut errors = Vec::new();
    for pkg in [format!("linux-image-{release}"), format!("linux-image-{release}-unsigned")] {
        let out = download(host, &pkg, tmp).map_err(Failure::Fatal)?;
        if out.status.success() {
            errors.clear();
            break;
        }
        errors.push(format!("`apt-get download {pkg}` failed:\n{}", failure_text(&out)));
    }
    if !errors.is_empty() {
        return Err(Failure::Package(errors.join("\n")));
    }
    let fatal = Failure::Fatal;
    let deb = fs::read_dir(tmp)
        .map_err(|e| fatal(format!("cannot list {}: {e}", tmp.display())))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().map(|x| x == "deb").unwrap_or(false))
        .ok_or_else(|| fatal(format!("apt-get download left no .deb in {}", tmp.display())))?;
    let root = tmp.join("root");
    let deb_s = deb.to_string_lossy().to_string();
    let root_s = root.to_string_lossy().to_string();
    let out = host.run("dpkg", &["-x", &deb_s, &root_s], None, false).map_err(fatal)?;
    if !out.status.success() {
        return Err(fatal(format!("`dpkg -x {deb_s}` failed:\n{}", failure_text(&out))));
    }
    let vmlinuz = root.join("boot").join(format!("vmlinuz-{release}"));
    if !vmlinuz.is_file() {
        return Err(fatal(format!("the package linux-image-{release} has no boot/vmlinuz-{release}")));
    }
    let dest = cache.join(release);
    if dest.join(".complete").is_file() {
        return Ok(()); // another process finished the same download first
    }
    let _ = fs::remove_dir_all(&dest);
    fs::rename(&root, &dest).map_err(|e| fatal(format!("cannot move the image to {}: {e}", dest.display())))?;
    fs::write(dest.join(".complete"), format!("{}\n", deb.file_name().unwrap_or_default().to_string_lossy()))
        .map_err(|e| fatal(format!("cannot stamp {}: {e}", dest.display())))?;
    if host.verbose {
        eprintln!("testbed: kernel image extracted to {}", dest.display());
    }
    Ok(())
}
