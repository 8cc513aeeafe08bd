//! vm: the qemu testbed that runs pass 5 inside a guest kernel.
//!
//! The development and CI machines cannot insmod into their own kernel, so the
//! runner (`staprun`) and the module it loads run in a qemu guest booted from a
//! Debian cloud kernel, with a busybox initramfs built here.
//!
//! Input: a [`Testbed`] from [`setup`] (kernel image, matching headers, cache
//! dir) and a list of [`GuestJob`]s (host files copied into the guest's
//! `/work`, plus an argv run there).
//! Output: one [`JobResult`] per job (stdout, stderr, exit status), in order.
//!
//! API:
//! - [`setup`] / [`setup_with`]: idempotent; installs missing packages with
//!   apt-get (`qemu-system-x86 busybox-static make gcc linux-headers-REL`),
//!   downloads and extracts `linux-image-REL` into the cache
//!   (`~/.cache/rstap/testbed`, or `$RSTAP_TESTBED_DIR`). REL comes from the
//!   `linux-headers-cloud-amd64` / `linux-image-cloud-amd64` metapackages
//!   (another line with [`SetupOptions::flavour`] / `$RSTAP_TESTBED_FLAVOUR`,
//!   e.g. `6.12-cloud-amd64`), or `$RSTAP_TESTBED_RELEASE`, or
//!   [`SetupOptions::release`]. Stale package lists are survived (one
//!   `apt-get update`, the release resolved anew, everything retried); on a
//!   terminal, apt's progress is shown ([`progress`]); tests run it against
//!   stand-in apt/dpkg programs with [`SetupOptions::stand_in`].
//! - [`run_jobs`] / [`run_jobs_with_stats`] / [`run_jobs_limited`]: boots ONE
//!   guest, runs every job in order, returns each job's output and exit
//!   status (plus timings; plus a per-job timeout with [`JobLimits`]);
//!   with a per-job timeout, a guest that stops answering during a job is
//!   told apart ([`run_jobs_or_hang`]), and [`run_jobs_rerunning`] reruns
//!   that job and the rest once in a fresh boot.
//!
//! Channels out of the guest (they never share one stream):
//! - kernel console: `ttyS0` (8250, built into the cloud kernel) → kept in
//!   memory, printed live with `verbose`, printed as a tail on failure, and
//!   saved as `<cache>/last-console.log`.
//! - job stdout, job stderr, control: three virtio-serial ports
//!   (`rstap.out`, `rstap.err`, `rstap.ctl`; the virtio modules are copied
//!   from the extracted image when the kernel has them as `=m`), or, when the
//!   image has no virtio console (or `RSTAP_TESTBED_CHANNEL=serial`), the
//!   serial ports `ttyS1..3`. Each is a host unix socket.
//!
//! Measured on the 2-core dev machine (shared, so ±50%): spawn → /init ready
//! 3.9–6 s (6.1 kernel; the virtio modules cost ~0.8 s of it), first job
//! output ~0.05 s later; 6.12 ~6 s. Output throughput: virtio ~30 MiB/s,
//! 16550 serial ~0.3 MiB/s (`cargo test --test vm_testbed throughput --
//! --ignored --nocapture`), hence virtio by default.
//!
//! Framing: after job N ends, the guest writes the marker
//! `\x01RSTAP-END-<nonce>-N\x01` on the stdout and on the stderr channel and
//! `RSTAP-JOB N EXIT <status>` on the control channel; the nonce is random per
//! boot. The host answers `BYE` on the control channel once every job is
//! complete, and only then does the guest `poweroff -f`, so no output is lost
//! in transit at the end.
//!
//! Ctrl-C: with `RunOptions::live`, the host catches SIGINT (qemu runs in its
//! own process group, so the terminal's SIGINT does not reach it) and writes
//! `INT` on the control channel; the guest's control reader does
//! `kill -INT <job pid>` (or, between jobs, marks the next job as
//! interrupted). A second Ctrl-C kills qemu and returns an error.
//!
//! Typical use (pass 5 in the guest):
//! ```no_run
//! use rstap::vm::{self, GuestJob, RunOptions};
//! # fn main() -> Result<(), String> {
//! let tb = vm::setup(false)?; // build the module against tb.headers / tb.release
//! let job = GuestJob::cmd(&["./staprun", "stap_x.ko"])
//!     .file("target/x86_64-unknown-linux-gnu/debug/staprun", "staprun")
//!     .file("/tmp/build/stap_x.ko", "stap_x.ko");
//! let opts = RunOptions { live: true, ..Default::default() };
//! let res = vm::run_jobs(&tb, &[job], &opts)?;
//! std::process::exit(res[0].status);
//! # }
//! ```
//!
//! Knobs for experiments: `RSTAP_TESTBED_CHANNEL=serial|virtio`,
//! `RSTAP_TESTBED_CMDLINE` (appended to the kernel command line, e.g.
//! `loglevel=7`), `RSTAP_TESTBED_QEMU_ARGS` (appended to qemu's).
//! Concurrent runs in one process are fine except that only one may be
//! `live` (the SIGINT handler is process-wide); `last-console.log` is the
//! console of whichever run finished last.
//!
//! Invariants: never panics on bad input or a failing guest; every wait has a
//! deadline (`RunOptions::timeout` for the whole run); qemu always runs with
//! `-accel tcg -smp 2` and dies with its parent (PR_SET_PDEATHSIG).

pub mod initramfs;
pub mod kallsyms;
pub mod kmod;
pub mod progress;
pub mod dbg;
pub mod qemu;
pub mod rerun;
pub mod setup;
pub mod sigint;

use std::path::PathBuf;
use std::time::Duration;

pub use qemu::{run_jobs, run_jobs_limited, run_jobs_or_hang, run_jobs_with_stats, Hung, RunFailure, RunStats, HANG_GRACE};
pub use rerun::{run_jobs_rerunning, Rerun};
pub use progress::ProgressTo;
pub use setup::{setup, setup_with, SetupOptions, StandIn};

/// A kernel the testbed can boot, with the headers to build modules for it.
#[derive(Debug, Clone)]
pub struct Testbed {
    /// Kernel release, e.g. `6.1.0-56-cloud-amd64`.
    pub release: String,
    /// The kernel image booted by qemu (in the cache).
    pub vmlinuz: PathBuf,
    /// `/usr/src/linux-headers-REL`: the Kbuild dir for `make -C`.
    pub headers: PathBuf,
    /// The cache root (holds one extracted image per release).
    pub cache: PathBuf,
    /// The extracted `linux-image-REL` package (boot/, lib/modules/).
    pub image: PathBuf,
}

/// One command run in the guest, with cwd `/work`.
#[derive(Debug, Clone, Default)]
pub struct GuestJob {
    /// Host file → name under the guest's `/work` (may contain `/`, no `..`).
    /// The file mode (e.g. executable) is preserved.
    pub files: Vec<(PathBuf, String)>,
    /// argv; `argv[0]` is looked up in `PATH` (busybox applets, then /work).
    pub argv: Vec<String>,
}

impl GuestJob {
    /// A job running `argv` with no files.
    pub fn cmd<S: AsRef<str>>(argv: &[S]) -> GuestJob {
        GuestJob { files: Vec::new(), argv: argv.iter().map(|s| s.as_ref().to_string()).collect() }
    }

    /// Adds a host file, copied to `/work/<name>` in the guest.
    pub fn file(mut self, host: impl Into<PathBuf>, name: impl Into<String>) -> GuestJob {
        self.files.push((host.into(), name.into()));
        self
    }
}

/// What one job produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobResult {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Exit status as the guest shell reports it (128+N when killed by signal N).
    pub status: i32,
    /// The job ran past [`JobLimits::per_job`] and was interrupted (SIGINT,
    /// then SIGKILL 10 s later).
    pub timed_out: bool,
}

/// Limits beyond [`RunOptions`] (kept apart so `RunOptions { .. }` literals
/// stay valid).
#[derive(Debug, Clone, Default)]
pub struct JobLimits {
    /// Each job's own deadline, enforced in the guest: a job that hangs is
    /// interrupted and the later jobs still run. `None`: only the run's
    /// overall timeout applies.
    pub per_job: Option<Duration>,
}

/// How to run the guest.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Show the kernel console and progress on stderr.
    pub verbose: bool,
    /// Deadline for the whole run (boot + all jobs).
    pub timeout: Duration,
    /// Stream job stdout/stderr to the host's stdout/stderr as it arrives, and
    /// forward Ctrl-C to the running job.
    pub live: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { verbose: false, timeout: Duration::from_secs(300), live: false }
    }
}
