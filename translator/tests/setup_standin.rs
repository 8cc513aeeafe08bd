//! setup_standin: the testbed's setup against stand-in `apt-get`,
//! `apt-cache`, `dpkg-query`, `dpkg` and `qemu-system-x86_64` (no network,
//! no root, no real apt).
//!
//! Input: one stand-in host per test (a fake root holding the state of the
//! package lists and the archive, a `bin/` of stand-ins, a command log).
//! Output: pass/fail, asserting the commands setup ran, the release it
//! chose and its error text. Invariants: the stand-ins model Debian's
//! behaviour seen on this machine kind: `apt-cache depends` answers from
//! the current lists; `apt-get install` of a package the lists do not know
//! says `E: Unable to locate package P`; a package the lists know but the
//! mirror no longer has fails with `404  Not Found`; `apt-get update`
//! makes the lists fresh (the security archive has moved the release).
//! Progress is checked on a real terminal: the test runs itself as a child
//! under script(1), and again with stderr a pipe.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use rstap::vm::{self, dbg, ProgressTo, SetupOptions, StandIn};

const OLD: &str = "6.1.0-48-cloud-amd64";
const NEW: &str = "6.1.0-57-cloud-amd64";
const LOCK: &str = "-oDPkg::Lock::Timeout=300 ";

/// The multi-call stand-in: dispatches on its name, logs each call (minus
/// the lock-wait option) to `$ROOT/log`, reads the model from `$ROOT/state`.
const STAND_IN: &str = r#"#!/bin/sh
ROOT=@ROOT@
S=$ROOT/state
me=$(basename "$0")
lists=$(cat $S/lists)
known() { grep -qx "$1" $S/known.$lists 2>/dev/null; }
fetchable() { grep -qx "$1" $S/fetchable.$lists 2>/dev/null; }
args=$(echo "$*" | sed 's/-oDPkg::Lock::Timeout=300 //')
case "$me" in
dpkg-query)
	pkg=$3
	if grep -qx "$pkg" $S/installed 2>/dev/null; then printf 'install ok installed'; exit 0; fi
	echo "dpkg-query: no packages found matching $pkg" >&2; exit 1 ;;
qemu-system-x86_64) exit 0 ;;
esac
if [ -p /dev/stdout ]; then out=pipe; else out=shown; fi
case "$me" in
apt-cache)
	echo "apt-cache $args" >> $ROOT/log
	case "$1" in
	depends)
		known "$2" || { echo "E: No packages found" >&2; exit 100; }
		echo "$2"
		case "$2" in
		linux-headers-*) echo "  Depends: linux-headers-$(cat $S/rel.$lists)" ;;
		linux-image-*) echo "  Depends: linux-image-$(cat $S/rel.$lists)" ;;
		esac ;;
	show)
		echo "Package: $3"; echo "Size: 68512345" ;;
	esac ;;
dpkg)
	deb=$(basename "$2")
	echo "dpkg -x $deb" >> $ROOT/log
	pkg=${deb%%_*}
	case "$pkg" in
	*-dbg) rel=${pkg#linux-image-}; rel=${rel%-dbg}; mkdir -p "$3/usr/lib/debug/boot"; : > "$3/usr/lib/debug/boot/vmlinux-$rel" ;;
	*) rel=${pkg#linux-image-}; mkdir -p "$3/boot"; : > "$3/boot/vmlinuz-$rel" ;;
	esac ;;
apt-get)
	echo "apt-get $args (stdout $out)" >> $ROOT/log
	[ "$1" = "-oDPkg::Lock::Timeout=300" ] && shift
	case "$1" in
	update)
		if [ "$(cat $S/update)" = fail ]; then
			echo "E: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease  Temporary failure resolving 'deb.debian.org'" >&2
			exit 100
		fi
		echo fresh > $S/lists; : > $ROOT/fakeroot/var/lib/apt/lists/touched ;;
	install)
		shift
		pkgs=
		for p in "$@"; do
			case "$p" in -*) continue ;; esac
			known "$p" || { echo "E: Unable to locate package $p" >&2; exit 100; }
			fetchable "$p" || { echo "E: Failed to fetch http://deb.debian.org/debian/pool/main/l/linux/${p}_1_amd64.deb  404  Not Found [IP: 151.101.2.132 80]" >&2; exit 100; }
			pkgs="$pkgs $p"
		done
		echo "Need to get 95.3 MB of archives."
		for p in $pkgs; do
			echo "$p" >> $S/installed
			case "$p" in linux-headers-*) mkdir -p "$ROOT/fakeroot/usr/src/$p"; : > "$ROOT/fakeroot/usr/src/$p/Makefile" ;; esac
		done ;;
	download)
		p=$2
		known "$p" || { echo "E: Unable to locate package $p" >&2; exit 100; }
		fetchable "$p" || { echo "E: Failed to fetch http://deb.debian.org/debian/pool/main/l/linux/${p}_1_amd64.deb  404  Not Found [IP: 151.101.2.132 80]" >&2; exit 100; }
		echo "Get:1 http://deb.debian.org/debian bookworm/main amd64 $p amd64 1 [68.5 MB]"
		: > "${p}_1_amd64.deb" ;;
	esac ;;
esac
"#;

const BASE: [&str; 4] = ["qemu-system-x86", "busybox-static", "make", "gcc"];

struct Host {
    dir: tempfile::TempDir,
}

impl Host {
    /// A host whose lists are `lists` ("stale" or "fresh").
    fn new(lists: &str) -> Host {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in ["bin", "state", "cache", "fakeroot/bin", "fakeroot/usr/src", "fakeroot/var/lib/apt/lists"] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        let script = root.join("bin/stand-in");
        fs::write(&script, STAND_IN.replace("@ROOT@", &root.to_string_lossy())).unwrap();
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
        for name in ["apt-get", "apt-cache", "dpkg-query", "dpkg", "qemu-system-x86_64"] {
            std::os::unix::fs::symlink("stand-in", root.join("bin").join(name)).unwrap();
        }
        fs::write(root.join("fakeroot/bin/busybox"), "").unwrap();
        let h = Host { dir };
        h.set("lists", lists);
        h.set("rel.stale", OLD);
        h.set("rel.fresh", NEW);
        h.set("update", "ok");
        h.set("installed", "");
        // Both states know the base packages and the metapackages.
        let mut both: Vec<String> = BASE.iter().map(|s| s.to_string()).collect();
        both.extend(["linux-headers-cloud-amd64", "linux-image-cloud-amd64"].map(String::from));
        h.set("known.stale", &both.join("\n"));
        h.set("known.fresh", &both.join("\n"));
        h.set("fetchable.stale", &BASE.join("\n"));
        h.set("fetchable.fresh", &BASE.join("\n"));
        // The fresh archive has the new release's packages.
        for p in release_packages(NEW) {
            h.add("known.fresh", &p);
            h.add("fetchable.fresh", &p);
        }
        h
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn set(&self, file: &str, text: &str) {
        let t = if text.is_empty() { String::new() } else { format!("{text}\n") };
        fs::write(self.root().join("state").join(file), t).unwrap();
    }

    fn add(&self, file: &str, line: &str) {
        let p = self.root().join("state").join(file);
        let mut t = fs::read_to_string(&p).unwrap_or_default();
        t.push_str(line);
        t.push('\n');
        fs::write(p, t).unwrap();
    }

    /// Marks `pkgs` installed (headers with their Makefile).
    fn install(&self, pkgs: &[String]) {
        for p in pkgs {
            self.add("installed", p);
            if p.starts_with("linux-headers-") {
                let d = self.root().join("fakeroot/usr/src").join(p);
                fs::create_dir_all(&d).unwrap();
                fs::write(d.join("Makefile"), "").unwrap();
            }
        }
    }

    fn opts(&self, is_root: bool) -> SetupOptions {
        opts_at(self.root(), is_root)
    }

    fn cache(&self) -> PathBuf {
        self.root().join("cache")
    }

    /// The commands run so far (and forgets them).
    fn log(&self) -> Vec<String> {
        let p = self.root().join("log");
        let t = fs::read_to_string(&p).unwrap_or_default();
        let _ = fs::remove_file(&p);
        t.lines().map(String::from).collect()
    }
}

/// Setup options for the stand-in host at `root` (progress off).
fn opts_at(root: &Path, is_root: bool) -> SetupOptions {
    SetupOptions {
        cache: Some(root.join("cache")),
        progress: ProgressTo::Off,
        stand_in: Some(StandIn {
            path: format!("{}:/usr/bin:/bin", root.join("bin").display()).into(),
            root: root.join("fakeroot"),
            is_root,
        }),
        ..Default::default()
    }
}

fn release_packages(rel: &str) -> Vec<String> {
    vec![format!("linux-headers-{rel}"), format!("linux-image-{rel}"), format!("linux-image-{rel}-dbg")]
}

fn host(lists: &str) -> Host {
    Host::new(lists)
}

fn install_line(pkgs: &str) -> String {
    format!("apt-get install -y --no-install-recommends {pkgs} (stdout pipe)")
}

fn resolve() -> Vec<String> {
    vec!["apt-cache depends linux-headers-cloud-amd64".into(), "apt-cache depends linux-image-cloud-amd64".into()]
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(|s| s.as_str()).collect()
}

#[test]
fn fresh_lists_install_and_download_once_then_nothing() {
    let h = host("fresh");
    let tb = vm::setup_with(&h.opts(true)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tb.release, NEW);
    assert!(tb.vmlinuz.ends_with(format!("{NEW}/boot/vmlinuz-{NEW}")), "{tb:?}");
    assert_eq!(tb.headers, h.root().join("fakeroot/usr/src").join(format!("linux-headers-{NEW}")));
    let mut want = resolve();
    want.push(install_line(&format!("qemu-system-x86 busybox-static make gcc linux-headers-{NEW}")));
    want.push(format!("apt-get download linux-image-{NEW} (stdout pipe)"));
    want.push(format!("dpkg -x linux-image-{NEW}_1_amd64.deb"));
    assert_eq!(strs(&h.log()), strs(&want));
    let again = vm::setup_with(&h.opts(true)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.release, NEW);
    assert_eq!(h.log(), Vec::<String>::new(), "a second setup runs no apt at all");
}

/// The issue's reproduction: the stale lists name 6.1.0-48, whose headers
/// apt cannot locate; after `apt-get update` the release is resolved anew.
#[test]
fn stale_lists_update_and_resolve_the_release_anew() {
    let h = host("stale");
    let tb = vm::setup_with(&h.opts(true)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tb.release, NEW);
    let mut want = resolve();
    want.push(install_line(&format!("qemu-system-x86 busybox-static make gcc linux-headers-{OLD}")));
    want.push("apt-get update (stdout pipe)".into());
    want.extend(resolve());
    want.push(install_line(&format!("qemu-system-x86 busybox-static make gcc linux-headers-{NEW}")));
    want.push(format!("apt-get download linux-image-{NEW} (stdout pipe)"));
    want.push(format!("dpkg -x linux-image-{NEW}_1_amd64.deb"));
    assert_eq!(strs(&h.log()), strs(&want));
    assert_eq!(fs::read_to_string(h.cache().join(".release-cloud-amd64")).unwrap(), format!("{NEW}\n"));
}

/// The headers of the old release are installed (an earlier run), but the
/// mirror no longer has its image: the failed download updates, resolves
/// the new release, installs its headers and downloads its image.
#[test]
fn failed_image_download_updates_and_moves_to_the_new_release() {
    let h = host("stale");
    for p in release_packages(OLD) {
        h.add("known.stale", &p);
    }
    h.add("fetchable.stale", &format!("linux-headers-{OLD}"));
    let mut have: Vec<String> = BASE.iter().map(|s| s.to_string()).collect();
    have.push(format!("linux-headers-{OLD}"));
    h.install(&have);
    let tb = vm::setup_with(&h.opts(true)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tb.release, NEW);
    let mut want = resolve();
    want.push(format!("apt-get download linux-image-{OLD} (stdout pipe)"));
    want.push(format!("apt-get download linux-image-{OLD}-unsigned (stdout pipe)"));
    want.push("apt-get update (stdout pipe)".into());
    want.extend(resolve());
    want.push(install_line(&format!("linux-headers-{NEW}")));
    want.push(format!("apt-get download linux-image-{NEW} (stdout pipe)"));
    want.push(format!("dpkg -x linux-image-{NEW}_1_amd64.deb"));
    assert_eq!(strs(&h.log()), strs(&want));
    assert!(!h.cache().join(OLD).exists());
}

/// After the update the new release's headers are still missing: one
/// update only, and the error says what was tried.
#[test]
fn a_package_missing_after_the_update_is_a_clear_error() {
    let h = host("stale");
    h.set("known.fresh", &[&BASE[..], &["linux-headers-cloud-amd64", "linux-image-cloud-amd64"]].concat().join("\n"));
    let e = vm::setup_with(&h.opts(true)).expect_err("must fail");
    assert_eq!(
        e,
        format!(
            "`apt-get {LOCK}install -y --no-install-recommends qemu-system-x86 busybox-static make gcc linux-headers-{NEW}` failed:\n\
             E: Unable to locate package linux-headers-{NEW}\n\
             (after `apt-get update`; the kernel release {NEW} was resolved again from the metapackage)"
        )
    );
    let log = h.log();
    assert_eq!(log.iter().filter(|l| l.starts_with("apt-get update")).count(), 1, "{log:?}");
}

#[test]
fn an_update_without_network_is_a_clear_error() {
    let h = host("stale");
    h.set("update", "fail");
    let e = vm::setup_with(&h.opts(true)).expect_err("must fail");
    assert_eq!(
        e,
        format!(
            "`apt-get {LOCK}install -y --no-install-recommends qemu-system-x86 busybox-static make gcc linux-headers-{OLD}` failed:\n\
             E: Unable to locate package linux-headers-{OLD}\n\
             `apt-get update` failed (no network?):\n\
             E: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease  Temporary failure resolving 'deb.debian.org'"
        )
    );
}

/// Not root, everything installed, the image gone from the mirror: setup
/// cannot update, and says how.
#[test]
fn a_failed_download_without_root_says_to_update() {
    let h = host("stale");
    h.add("known.stale", &format!("linux-image-{OLD}"));
    let mut have: Vec<String> = BASE.iter().map(|s| s.to_string()).collect();
    have.push(format!("linux-headers-{OLD}"));
    h.install(&have);
    let e = vm::setup_with(&h.opts(false)).expect_err("must fail");
    let url = format!("http://deb.debian.org/debian/pool/main/l/linux/linux-image-{OLD}_1_amd64.deb");
    assert_eq!(
        e,
        format!(
            "`apt-get download linux-image-{OLD}` failed:\n\
             E: Failed to fetch {url}  404  Not Found [IP: 151.101.2.132 80]\n\
             `apt-get download linux-image-{OLD}-unsigned` failed:\n\
             E: Unable to locate package linux-image-{OLD}-unsigned\n\
             the package lists may be stale: as root run `apt-get update`, then try again"
        )
    );
}

#[test]
fn without_root_missing_packages_are_named() {
    let h = host("fresh");
    let e = vm::setup_with(&h.opts(false)).expect_err("must fail");
    assert_eq!(
        e,
        format!(
            "the testbed needs packages that are not installed; as root run:\n  \
             apt-get install -y qemu-system-x86 busybox-static make gcc linux-headers-{NEW}"
        )
    );
    assert_eq!(strs(&h.log()), strs(&resolve()));
}

/// A pinned release is not resolved again: the update is followed by the
/// same install.
#[test]
fn a_pinned_release_is_retried_after_the_update() {
    let h = host("stale");
    let mut o = h.opts(true);
    o.release = Some(NEW.into());
    let tb = vm::setup_with(&o).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tb.release, NEW);
    let line = install_line(&format!("qemu-system-x86 busybox-static make gcc linux-headers-{NEW}"));
    let want = vec![
        line.clone(),
        "apt-get update (stdout pipe)".into(),
        line,
        format!("apt-get download linux-image-{NEW} (stdout pipe)"),
        format!("dpkg -x linux-image-{NEW}_1_amd64.deb"),
    ];
    assert_eq!(strs(&h.log()), strs(&want));
}

/// The -dbg package: the stale lists point at a file the mirror replaced.
#[test]
fn a_failed_dbg_download_is_retried_after_the_update() {
    let h = host("stale");
    h.add("known.stale", &format!("linux-image-{NEW}-dbg"));
    let root = dbg::fetch_with(&h.cache(), NEW, &h.opts(true)).unwrap_or_else(|e| panic!("{e}"));
    assert!(root.join(format!("usr/lib/debug/boot/vmlinux-{NEW}")).is_file());
    assert!(dbg::is_fetched(&h.cache(), NEW));
    let want = vec![
        format!("apt-get download linux-image-{NEW}-dbg (stdout pipe)"),
        "apt-get update (stdout pipe)".into(),
        format!("apt-get download linux-image-{NEW}-dbg (stdout pipe)"),
        format!("dpkg -x linux-image-{NEW}-dbg_1_amd64.deb"),
    ];
    assert_eq!(strs(&h.log()), strs(&want));
    dbg::fetch_with(&h.cache(), NEW, &h.opts(true)).unwrap();
    assert_eq!(h.log(), Vec::<String>::new());
}

#[test]
fn a_dbg_download_that_fails_twice_names_the_way_by_hand() {
    let h = host("fresh");
    h.set("fetchable.fresh", "");
    let e = dbg::fetch_with(&h.cache(), NEW, &h.opts(true)).expect_err("must fail");
    let dest = h.cache().join("dbg").join(NEW);
    let pkg = format!("linux-image-{NEW}-dbg");
    assert_eq!(
        e,
        format!(
            "`apt-get download {pkg}` failed (after `apt-get update`):\n\
             E: Failed to fetch http://deb.debian.org/debian/pool/main/l/linux/{pkg}_1_amd64.deb  404  Not Found [IP: 151.101.2.132 80]\n\
             (install it by hand: apt-get download {pkg} && dpkg -x {pkg}_*.deb {})",
            dest.display()
        )
    );
}

/// With a progress sink (a terminal in real use), setup says what it
/// installs and downloads, with the size, and apt's own output (its meter)
/// goes there; without one, apt's stdout is a pipe and nothing is shown.
#[test]
fn progress_names_packages_and_sizes_and_shows_apt() {
    let h = host("fresh");
    let shown = h.root().join("terminal");
    let mut o = h.opts(true);
    o.progress = ProgressTo::File(Arc::new(fs::File::create(&shown).unwrap()));
    vm::setup_with(&o).unwrap_or_else(|e| panic!("{e}"));
    let text = fs::read_to_string(&shown).unwrap();
    assert_eq!(
        text,
        format!(
            "testbed: installing qemu-system-x86 busybox-static make gcc linux-headers-{NEW} (first run only)\n\
             Need to get 95.3 MB of archives.\n\
             testbed: downloading linux-image-{NEW} (68.5 MB)\n\
             Get:1 http://deb.debian.org/debian bookworm/main amd64 linux-image-{NEW} amd64 1 [68.5 MB]\n"
        )
    );
    let log = h.log();
    assert!(log.contains(&format!(
        "apt-get install -y --no-install-recommends -oDpkg::Progress-Fancy=1 qemu-system-x86 busybox-static make gcc linux-headers-{NEW} (stdout shown)"
    )), "{log:?}");
    assert!(log.contains(&format!("apt-cache show --no-all-versions linux-image-{NEW}")), "{log:?}");
}

/// Run in a child process by `progress_shows_on_a_terminal_only`: setup
/// with the default progress (`Auto`) on the stand-in host at
/// `$RSTAP_STANDIN_CHILD`.
#[test]
#[ignore = "a child of progress_shows_on_a_terminal_only"]
fn auto_progress_child() {
    let root = PathBuf::from(std::env::var_os("RSTAP_STANDIN_CHILD").expect("run by progress_shows_on_a_terminal_only"));
    let o = SetupOptions { progress: ProgressTo::Auto, ..opts_at(&root, true) };
    let tb = vm::setup_with(&o).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tb.release, NEW);
}

/// The default progress: on a terminal (script(1) gives the child one)
/// setup names what it installs and downloads and shows apt's output; with
/// stderr a pipe, none of it, and apt's stdout is captured.
#[test]
fn progress_shows_on_a_terminal_only() {
    let exe = std::env::current_exe().unwrap();
    let child = ["--ignored", "--exact", "auto_progress_child", "--nocapture", "--test-threads=1"];
    let h = host("fresh");
    let cmd = format!("{} {}", exe.display(), child.join(" "));
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("RSTAP_STANDIN_CHILD", h.root())
        .stdin(Stdio::null())
        .output()
        .expect("script(1) from util-linux");
    let tty = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    assert!(out.status.success(), "{tty}");
    for line in [
        format!("testbed: installing qemu-system-x86 busybox-static make gcc linux-headers-{NEW} (first run only)\n"),
        "Need to get 95.3 MB of archives.\n".to_string(),
        format!("testbed: downloading linux-image-{NEW} (68.5 MB)\n"),
        format!("Get:1 http://deb.debian.org/debian bookworm/main amd64 linux-image-{NEW} amd64 1 [68.5 MB]\n"),
    ] {
        assert!(tty.contains(&line), "{line:?} not in:\n{tty}");
    }
    assert!(h.log().iter().any(|l| l.starts_with("apt-get install") && l.ends_with("(stdout shown)")));

    let h = host("fresh");
    let out = Command::new(&exe).args(child).env("RSTAP_STANDIN_CHILD", h.root()).stdin(Stdio::null()).output().unwrap();
    let (so, se) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{so}{se}");
    assert!(!se.contains("testbed:") && !so.contains("testbed:"), "{so}{se}");
    assert!(!se.contains("Need to get") && !so.contains("Need to get"), "{so}{se}");
    let log = h.log();
    assert!(log.iter().filter(|l| l.starts_with("apt-get")).all(|l| l.ends_with("(stdout pipe)")), "{log:?}");
}
