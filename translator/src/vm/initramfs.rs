//! initramfs: builds the guest's root filesystem as an uncompressed cpio
//! "newc" archive (the kernel unpacks it into rootfs).
//!
//! Input: a [`GuestSpec`]: the jobs (their files and argv), the channel kind,
//! the virtio modules to insmod, the per-boot nonce.
//! Output: the archive file: static busybox + applet symlinks, `/dev/console`,
//! `/init` (the script below), `/rstap/job-N.sh`, `/rstap/mod/NN-name.ko`,
//! and the job files under `/work`.
//! Invariants: no host tool is needed (the format is written here); job file
//! names are validated (relative, no `..`); argv is single-quoted so any byte
//! but NUL survives; the guest protocol (markers, control lines) matches
//! `qemu.rs`: see the `//!` header of `vm/mod.rs`.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::GuestJob;

/// Where job stdout/stderr/control leave the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// virtio-serial ports named rstap.out / rstap.err / rstap.ctl.
    Virtio,
    /// ttyS1 / ttyS2 / ttyS3.
    Serial,
}

/// Everything the guest needs.
pub struct GuestSpec<'a> {
    pub jobs: &'a [GuestJob],
    pub channel: Channel,
    /// (name, uncompressed .ko) in load order.
    pub modules: &'a [(String, Vec<u8>)],
    pub nonce: &'a str,
    /// Per-job limit: SIGINT when it passes, SIGKILL 10 s later.
    pub job_timeout: Option<std::time::Duration>,
}

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;
const S_IFCHR: u32 = 0o020000;

/// A streaming writer of the cpio "newc" format.
pub struct CpioWriter<W: Write> {
    out: W,
    ino: u32,
    written: u64,
}

impl<W: Write> CpioWriter<W> {
    pub fn new(out: W) -> Self {
        CpioWriter { out, ino: 1, written: 0 }
    }

    fn header(&mut self, name: &str, mode: u32, nlink: u32, size: u64, rdev: (u32, u32)) -> io::Result<()> {
        if size > u32::MAX as u64 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{name}: file too large for cpio")));
        }
        let name = name.trim_start_matches('/');
        let hdr = format!(
            "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            self.ino,
            mode,
            0,
            0,
            nlink,
            0,
            size,
            0,
            0,
            rdev.0,
            rdev.1,
            name.len() + 1,
            0
        );
        self.ino += 1;
        self.put(hdr.as_bytes())?;
        self.put(name.as_bytes())?;
        self.put(&[0])?;
        self.pad()
    }

    fn put(&mut self, b: &[u8]) -> io::Result<()> {
        self.out.write_all(b)?;
        self.written += b.len() as u64;
        Ok(())
    }

    fn pad(&mut self) -> io::Result<()> {
        let n = ((4 - self.written % 4) % 4) as usize;
        self.put(&[0u8; 3][..n])
    }

    pub fn dir(&mut self, name: &str) -> io::Result<()> {
        self.header(name, S_IFDIR | 0o755, 2, 0, (0, 0))
    }

    pub fn file(&mut self, name: &str, perm: u32, data: &[u8]) -> io::Result<()> {
        self.header(name, S_IFREG | (perm & 0o7777), 1, data.len() as u64, (0, 0))?;
        self.put(data)?;
        self.pad()
    }

    /// Copies a host file, streaming (job binaries can be large).
    pub fn file_from(&mut self, name: &str, perm: u32, host: &Path) -> io::Result<()> {
        let mut f = fs::File::open(host)?;
        let size = f.metadata()?.len();
        self.header(name, S_IFREG | (perm & 0o7777), 1, size, (0, 0))?;
        let copied = io::copy(&mut (&mut f).take(size), &mut self.out)?;
        if copied != size {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, format!("{} shrank while copying", host.display())));
        }
        self.written += copied;
        self.pad()
    }

    pub fn symlink(&mut self, name: &str, target: &str) -> io::Result<()> {
        self.header(name, S_IFLNK | 0o777, 1, target.len() as u64, (0, 0))?;
        self.put(target.as_bytes())?;
        self.pad()
    }

    pub fn chardev(&mut self, name: &str, perm: u32, major: u32, minor: u32) -> io::Result<()> {
        self.header(name, S_IFCHR | (perm & 0o7777), 1, 0, (major, minor))
    }

    /// Writes the trailer and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.header("TRAILER!!!", 0, 1, 0, (0, 0))?;
        self.out.flush()?;
        Ok(self.out)
    }
}

use std::io::Read;

/// Single-quotes `s` for sh.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Checks a guest file name: relative, no `..`, no empty components.
pub fn check_guest_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.starts_with('/') || name.contains('\0') {
        return Err(format!("bad guest file name {name:?}: must be a non-empty relative path"));
    }
    if name.split('/').any(|c| c.is_empty() || c == "." || c == "..") {
        return Err(format!("bad guest file name {name:?}: no empty, `.` or `..` components"));
    }
    Ok(())
}

/// The static busybox on this host.
pub fn find_busybox() -> Result<PathBuf, String> {
    for p in ["/bin/busybox", "/usr/bin/busybox"] {
        let p = Path::new(p);
        if let Ok(mut f) = fs::File::open(p) {
            let mut head = vec![0u8; 8192];
            let n = f.read(&mut head).unwrap_or(0);
            if head[..n].windows(8).any(|w| w == b"ld-linux") {
                return Err(format!(
                    "{} is dynamically linked; the guest needs busybox-static (apt-get install busybox-static)",
                    p.display()
                ));
            }
            return Ok(p.to_path_buf());
        }
    }
    Err("busybox not found; apt-get install busybox-static".into())
}

fn busybox_applets(busybox: &Path) -> Result<Vec<String>, String> {
    let out = Command::new(busybox)
        .arg("--list-full")
        .output()
        .map_err(|e| format!("cannot run {} --list-full: {e}", busybox.display()))?;
    if !out.status.success() {
        return Err(format!("{} --list-full failed", busybox.display()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect())
}

/// The guest's /init. `@NAME@` placeholders are filled by [`init_script`].
const INIT_TEMPLATE: &str = r#"#!/bin/sh
# rstap testbed guest init (generated by rstap::vm::initramfs)
export PATH=/sbin:/bin:/usr/sbin:/usr/bin:/work HOME=/root TERM=dumb
NONCE=@NONCE@
NJOBS=@NJOBS@
CHANNEL=@CHANNEL@
JOB_TIMEOUT=@JOB_TIMEOUT@
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing
mount -t tmpfs tmpfs /tmp
fail() {
	echo "rstap-init: $*" >/dev/console
	echo "RSTAP-ERROR $*" >&3 2>/dev/null
	poweroff -f
	sleep 100000
}
if [ "$CHANNEL" = virtio ]; then
	for m in /rstap/mod/*.ko; do
		[ -e "$m" ] || continue
		insmod "$m" || fail "insmod $m failed"
	done
	n=0
	while :; do
		OUT= ERR= CTL=
		for p in /sys/class/virtio-ports/*; do
			[ -r "$p/name" ] || continue
			case "$(cat "$p/name")" in
			rstap.out) OUT=/dev/${p##*/} ;;
			rstap.err) ERR=/dev/${p##*/} ;;
			rstap.ctl) CTL=/dev/${p##*/} ;;
			esac
		done
		[ -c "$OUT" ] && [ -c "$ERR" ] && [ -c "$CTL" ] && break
		n=$((n + 1))
		[ $n -gt 400 ] && fail "virtio ports rstap.out/err/ctl did not appear"
		sleep 0.05
	done
else
	OUT=/dev/ttyS1 ERR=/dev/ttyS2 CTL=/dev/ttyS3
	for t in $OUT $ERR $CTL; do
		stty -F $t raw -echo || fail "stty $t failed"
	done
fi
exec 3<>"$CTL" 4>"$OUT" 5>"$ERR" || fail "cannot open the channels"
# Control reader: INT interrupts the running job, BYE powers off.
(
	while read -r cmd; do
		case "$cmd" in
		INT)
			if [ -s /tmp/rstap-job.pid ]; then
				kill -INT "$(cat /tmp/rstap-job.pid)" 2>/dev/null
			else
				: >/tmp/rstap-int
			fi
			;;
		BYE) poweroff -f ;;
		esac
	done
) <&3 4>&- 5>&- &
echo "RSTAP-READY" >&3
i=0
while [ $i -lt $NJOBS ]; do
	rm -f /tmp/rstap-job.pid
	echo $i >/tmp/rstap-job.num
	wd=
	if [ "$JOB_TIMEOUT" != 0 ]; then
		# Watchdog: the job number guards against signalling a later job.
		(
			sleep $JOB_TIMEOUT
			[ "$(cat /tmp/rstap-job.num)" = $i ] || exit 0
			echo "RSTAP-JOB $i TIMEOUT" >&3
			kill -INT "$(cat /tmp/rstap-job.pid)" 2>/dev/null
			sleep 10
			[ "$(cat /tmp/rstap-job.num)" = $i ] || exit 0
			kill -KILL "$(cat /tmp/rstap-job.pid)" 2>/dev/null
		) </dev/null 4>&- 5>&- &
		wd=$!
	fi
	sh /rstap/job-$i.sh </dev/null >&4 2>&5 3>&- 4>&- 5>&-
	st=$?
	echo done >/tmp/rstap-job.num
	[ -n "$wd" ] && kill $wd 2>/dev/null
	rm -f /tmp/rstap-job.pid
	printf '\001RSTAP-END-%s-%s\001' "$NONCE" "$i" >&4
	printf '\001RSTAP-END-%s-%s\001' "$NONCE" "$i" >&5
	echo "RSTAP-JOB $i EXIT $st" >&3
	i=$((i + 1))
done
echo "RSTAP-DONE" >&3
sleep 60
echo "rstap-init: the host never answered BYE" >/dev/console
poweroff -f
"#;

/// The /init script for this spec.
pub fn init_script(spec: &GuestSpec) -> String {
    INIT_TEMPLATE
        .replace("@NONCE@", spec.nonce)
        .replace("@NJOBS@", &spec.jobs.len().to_string())
        .replace(
            "@JOB_TIMEOUT@",
            &spec.job_timeout.map(|d| d.as_secs_f64().ceil().max(1.0) as u64).unwrap_or(0).to_string(),
        )
        .replace("@CHANNEL@", match spec.channel {
            Channel::Virtio => "virtio",
            Channel::Serial => "serial",
        })
}

/// The wrapper that runs one job: records its pid for Ctrl-C, then execs argv.
pub fn job_script(job: &GuestJob) -> String {
    let argv: Vec<String> = job.argv.iter().map(|a| sh_quote(a)).collect();
    format!(
        "echo $$ >/tmp/rstap-job.pid\n\
         if [ -e /tmp/rstap-int ]; then rm -f /tmp/rstap-int; exit 130; fi\n\
         cd /work || exit 127\n\
         exec {}\n",
        argv.join(" ")
    )
}

/// Writes the whole initramfs to `out`.
pub fn build(out: &Path, spec: &GuestSpec) -> Result<(), String> {
    for (i, job) in spec.jobs.iter().enumerate() {
        if job.argv.is_empty() {
            return Err(format!("guest job {i} has an empty argv"));
        }
        if job.argv.iter().any(|a| a.contains('\0')) {
            return Err(format!("guest job {i}: argv contains a NUL byte"));
        }
        for (host, name) in &job.files {
            check_guest_name(name).map_err(|e| format!("guest job {i}: {e}"))?;
            if !host.is_file() {
                return Err(format!("guest job {i}: {} is not a readable file", host.display()));
            }
        }
    }
    let busybox = find_busybox()?;
    let applets = busybox_applets(&busybox)?;
    let f = fs::File::create(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let mut w = CpioWriter::new(BufWriter::with_capacity(1 << 20, f));
    let io = |e: io::Error| format!("writing the initramfs {}: {e}", out.display());

    let mut dirs: BTreeSet<String> = BTreeSet::new();
    let mut mkdirs = |w: &mut CpioWriter<BufWriter<fs::File>>, path: &str| -> io::Result<()> {
        let mut acc = String::new();
        let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
        for c in &comps[..comps.len().saturating_sub(1)] {
            if !acc.is_empty() {
                acc.push('/');
            }
            acc.push_str(c);
            if dirs.insert(acc.clone()) {
                w.dir(&acc)?;
            }
        }
        Ok(())
    };
    for d in ["proc", "sys", "dev", "tmp", "run", "root", "work", "etc", "rstap", "rstap/mod", "bin", "sbin", "usr/bin", "usr/sbin"] {
        mkdirs(&mut w, &format!("{d}/x")).map_err(io)?;
    }
    w.chardev("dev/console", 0o600, 5, 1).map_err(io)?;
    w.chardev("dev/null", 0o666, 1, 3).map_err(io)?;
    w.file_from("bin/busybox", 0o755, &busybox).map_err(io)?;
    for a in &applets {
        if a == "bin/busybox" || check_guest_name(a).is_err() {
            continue;
        }
        mkdirs(&mut w, a).map_err(io)?;
        w.symlink(a, "/bin/busybox").map_err(io)?;
    }
    w.file("init", 0o755, init_script(spec).as_bytes()).map_err(io)?;
    for (n, (name, bytes)) in spec.modules.iter().enumerate() {
        w.file(&format!("rstap/mod/{n:02}-{name}.ko"), 0o644, bytes).map_err(io)?;
    }
    let mut seen: std::collections::BTreeMap<String, PathBuf> = std::collections::BTreeMap::new();
    for (i, job) in spec.jobs.iter().enumerate() {
        w.file(&format!("rstap/job-{i}.sh"), 0o755, job_script(job).as_bytes()).map_err(io)?;
        for (host, name) in &job.files {
            if let Some(prev) = seen.get(name) {
                if prev != host {
                    return Err(format!(
                        "guest file /work/{name} is given twice, from {} and {}",
                        prev.display(),
                        host.display()
                    ));
                }
                continue; // the same file shared by several jobs
            }
            seen.insert(name.clone(), host.clone());
            let path = format!("work/{name}");
            mkdirs(&mut w, &path).map_err(io)?;
            let perm = fs::metadata(host).map(|m| m.permissions().mode()).unwrap_or(0o644);
            w.file_from(&path, perm, host).map_err(|e| format!("copying {} into the initramfs: {e}", host.display()))?;
        }
    }
    w.finish().map_err(io)?;
    Ok(())
}
