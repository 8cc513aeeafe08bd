//! qemu: boots one guest, runs the jobs, collects their output.
//!
//! Input: a [`Testbed`], the [`GuestJob`]s, [`RunOptions`].
//! Output: one [`JobResult`] per job, plus [`RunStats`] (boot and output
//! timings), or an error that ends with the tail of the kernel console.
//! Invariants: qemu always runs `-accel tcg -smp 2`, in its own process
//! group, dying with its parent; every wait is bounded by the run's deadline;
//! the run succeeds only when every job's stdout end marker, stderr end marker
//! and exit status arrived (the protocol is in `vm/mod.rs`); the kernel
//! console never mixes with job output and is saved to
//! `<cache>/last-console.log`.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::initramfs::{self, Channel, GuestSpec};
use super::kmod::{self, VirtioPlan};
use super::sigint::{self, SigintGuard};
use super::{GuestJob, JobLimits, JobResult, RunOptions, Testbed};

/// Timings of one run, measured on the host from qemu's spawn.
#[derive(Debug, Clone)]
pub struct RunStats {
    /// How job output left the guest.
    pub channel: Channel,
    /// Size of the initramfs handed to qemu.
    pub initramfs_bytes: u64,
    /// Spawn → the guest's /init said RSTAP-READY (channels open).
    pub boot_to_ready: Option<Duration>,
    /// Spawn → the first byte of job output (stdout or stderr).
    pub boot_to_first_output: Option<Duration>,
    /// Spawn → the last job's results complete.
    pub jobs_done: Option<Duration>,
    /// Spawn → qemu gone.
    pub total: Duration,
}

/// Boots one guest and runs `jobs` in order. See [`run_jobs_with_stats`].
pub fn run_jobs(tb: &Testbed, jobs: &[GuestJob], opts: &RunOptions) -> Result<Vec<JobResult>, String> {
    run_jobs_with_stats(tb, jobs, opts).map(|(r, _)| r)
}

const CON: usize = 0;
const OUT: usize = 1;
const CTL: usize = 3;
/// Socket order; stderr is index 2.
const CHANNEL_NAMES: [&str; 4] = ["con", "out", "err", "ctl"];

enum Ev {
    Data(usize, Vec<u8>),
    Eof,
}

/// Boots one guest, runs every job in order, returns each job's output and
/// exit status together with timings.
pub fn run_jobs_with_stats(
    tb: &Testbed,
    jobs: &[GuestJob],
    opts: &RunOptions,
) -> Result<(Vec<JobResult>, RunStats), String> {
    run_jobs_limited(tb, jobs, opts, &JobLimits::default())
}

/// [`run_jobs_with_stats`] with per-job limits.
pub fn run_jobs_limited(
    tb: &Testbed,
    jobs: &[GuestJob],
    opts: &RunOptions,
    limits: &JobLimits,
) -> Result<(Vec<JobResult>, RunStats), String> {
    run_jobs_or_hang(tb, jobs, opts, limits).map_err(|f| match f {
        RunFailure::Hung(h) => h.message,
        RunFailure::Other(m) => m,
    })
}

/// How long past [`JobLimits::per_job`] the host waits for a job's end
/// before it calls the guest hung: the guest's watchdog sends SIGINT at the
/// limit and SIGKILL 10 s later, so a live guest ends the job well within it.
pub const HANG_GRACE: Duration = Duration::from_secs(40);

/// A guest that stopped answering during one job (see [`HANG_GRACE`]).
#[derive(Debug)]
pub struct Hung {
    /// The job that was running.
    pub job: usize,
    /// The results of the jobs before it (complete), and what it printed.
    pub partial: Vec<JobResult>,
    /// What happened, with the tail of the kernel console.
    pub message: String,
}

/// Why a run failed.
#[derive(Debug)]
pub enum RunFailure {
    /// The guest stopped answering during a job; the earlier jobs are done.
    Hung(Hung),
    /// Anything else (boot, qemu, the whole run's deadline).
    Other(String),
}

/// [`run_jobs_limited`], telling a hung guest apart: with
/// [`JobLimits::per_job`] set, a job not ended [`HANG_GRACE`] after its
/// limit means the guest itself no longer works (a live guest's watchdog
/// would have killed the job); qemu is killed then, not at the deadline.
pub fn run_jobs_or_hang(
    tb: &Testbed,
    jobs: &[GuestJob],
    opts: &RunOptions,
    limits: &JobLimits,
) -> Result<(Vec<JobResult>, RunStats), RunFailure> {
    let other = RunFailure::Other;
    let now = Instant::now();
    // A huge timeout means "no timeout"; Instant + Duration would overflow.
    let deadline = now.checked_add(opts.timeout).unwrap_or(now + Duration::from_secs(100 * 365 * 86400));
    let (channel, modules) = choose_channel(tb, opts.verbose).map_err(other)?;
    remove_stale_dirs();
    let dir = tempfile::Builder::new()
        .prefix(&format!("rstap-vm-{}-", std::process::id()))
        .tempdir()
        .map_err(|e| other(format!("cannot create a temporary directory: {e}")))?;
    let nonce = format!("{:016x}", RandomState::new().build_hasher().finish());
    let cpio = dir.path().join("initramfs.cpio");
    initramfs::build(&cpio, &GuestSpec { jobs, channel, modules: &modules, nonce: &nonce, job_timeout: limits.per_job })
        .map_err(other)?;
    let initramfs_bytes = std::fs::metadata(&cpio).map(|m| m.len()).unwrap_or(0);

    let mut listeners = Vec::new();
    for name in CHANNEL_NAMES {
        let path = dir.path().join(format!("{name}.sock"));
        let l = UnixListener::bind(&path).map_err(|e| other(format!("cannot listen on {}: {e}", path.display())))?;
        l.set_nonblocking(true).map_err(|e| other(format!("socket setup: {e}")))?;
        listeners.push(l);
    }
    let mut cmd = qemu_command(tb, dir.path(), &cpio, channel);
    if opts.verbose {
        eprintln!("testbed: {} jobs, channel {:?}, initramfs {} KiB", jobs.len(), channel, initramfs_bytes / 1024);
        eprintln!("testbed: + {:?}", cmd);
    }
    let guard = if opts.live { SigintGuard::install() } else { None };
    let spawned = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| other(format!("cannot start qemu-system-x86_64: {e} (run the testbed setup)")))?;
    let qemu_stderr = child.stderr.take().map(|mut s| {
        thread::spawn(move || {
            let mut v = Vec::new();
            let _ = s.read_to_end(&mut v);
            v
        })
    });
    let mut run = Run {
        child,
        qemu_stderr,
        console: Vec::new(),
        console_log: tb.cache.join("last-console.log"),
        verbose: opts.verbose,
    };
    let streams = match accept_all(&listeners, &mut run, deadline) {
        Ok(s) => s,
        Err(e) => return Err(other(run.fail(&e))),
    };
    drop(listeners);
    let mut ctl_writer = match streams[CTL].try_clone() {
        Ok(w) => w,
        Err(e) => return Err(other(run.fail(&format!("socket clone: {e}")))),
    };
    let (tx, rx) = mpsc::channel();
    for (i, mut s) in streams.into_iter().enumerate() {
        let tx = tx.clone();
        thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        let _ = tx.send(Ev::Eof);
                        return;
                    }
                    Ok(n) => {
                        if tx.send(Ev::Data(i, buf[..n].to_vec())).is_err() {
                            return;
                        }
                    }
                }
            }
        });
    }
    drop(tx);

    let mut st = Collect::new(jobs.len(), &nonce, opts.live);
    let outcome = event_loop(&mut run, &rx, &mut st, &mut ctl_writer, guard.as_ref(), deadline, spawned, limits.per_job);
    drop(guard);
    let total = spawned.elapsed();
    run.save_console();
    match outcome {
        Ok(()) => {}
        Err(LoopError::Hung(job, what)) => {
            let message = run.fail(&what);
            st.results.truncate(job + 1);
            return Err(RunFailure::Hung(Hung { job, partial: st.results, message }));
        }
        Err(LoopError::Msg(e)) => return Err(other(run.fail(&e))),
    }
    let stats = RunStats {
        channel,
        initramfs_bytes,
        boot_to_ready: st.ready_at.map(|t| t - spawned),
        boot_to_first_output: st.first_output_at.map(|t| t - spawned),
        jobs_done: st.done_at.map(|t| t - spawned),
        total,
    };
    if opts.verbose {
        let f = |d: Option<Duration>| d.map(|d| format!("{:.2}s", d.as_secs_f64())).unwrap_or_else(|| "-".into());
        eprintln!(
            "testbed: guest ready {}, first output {}, jobs done {}, qemu gone {:.2}s",
            f(stats.boot_to_ready),
            f(stats.boot_to_first_output),
            f(stats.jobs_done),
            total.as_secs_f64()
        );
    }
    Ok((st.results, stats))
}

/// Removes `rstap-vm-<pid>-*` scratch dirs (tens of MB each) left behind by
/// runs whose process died (killed by Ctrl-C, say), so /tmp does not fill up.
fn remove_stale_dirs() {
    let tmp = std::env::temp_dir();
    let Ok(entries) = std::fs::read_dir(&tmp) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix("rstap-vm-")) else { continue };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else { continue };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

fn choose_channel(tb: &Testbed, verbose: bool) -> Result<(Channel, kmod::ModuleList), String> {
    let forced = std::env::var("RSTAP_TESTBED_CHANNEL").unwrap_or_default();
    match forced.as_str() {
        "serial" => return Ok((Channel::Serial, Vec::new())),
        "" | "virtio" => {}
        other => return Err(format!("RSTAP_TESTBED_CHANNEL={other:?}: expected `virtio` or `serial`")),
    }
    match kmod::plan_virtio(&tb.image, &tb.release) {
        VirtioPlan::BuiltIn => Ok((Channel::Virtio, Vec::new())),
        VirtioPlan::Modules(m) => Ok((Channel::Virtio, m)),
        VirtioPlan::Unavailable(why) if forced.is_empty() => {
            if verbose {
                eprintln!("testbed: no virtio console ({why}); using serial ports");
            }
            Ok((Channel::Serial, Vec::new()))
        }
        VirtioPlan::Unavailable(why) => Err(format!("RSTAP_TESTBED_CHANNEL=virtio, but {why}")),
    }
}

fn qemu_command(tb: &Testbed, dir: &Path, cpio: &Path, channel: Channel) -> Command {
    // cryptomgr.notests and the kdf108 initcall (its own self-test, 0.4 s under
    // TCG per initcall_debug) cost boot time and test nothing of ours.
    let mut append =
        String::from("console=ttyS0 panic=-1 quiet cryptomgr.notests initcall_blacklist=crypto_kdf108_init");
    if let Ok(extra) = std::env::var("RSTAP_TESTBED_CMDLINE") {
        append.push(' ');
        append.push_str(&extra);
    }
    let sock = |name: &str| format!("socket,id={name},path={}", dir.join(format!("{name}.sock")).display());
    // `-display none -monitor none` rather than `-nographic`: no monitor or
    // serial muxed on stdio, so qemu never touches the user's terminal.
    let mut c = Command::new("qemu-system-x86_64");
    c.args(["-accel", "tcg", "-smp", "2", "-m", "1024M", "-nodefaults", "-display", "none", "-monitor", "none"])
        .arg("-no-reboot")
        .arg("-kernel")
        .arg(&tb.vmlinuz)
        .arg("-initrd")
        .arg(cpio)
        .args(["-append", &append])
        .args(["-chardev", &sock("con"), "-serial", "chardev:con"]);
    match channel {
        Channel::Serial => {
            for name in ["out", "err", "ctl"] {
                c.args(["-chardev", &sock(name), "-serial", &format!("chardev:{name}")]);
            }
        }
        Channel::Virtio => {
            c.args(["-device", "virtio-serial-pci,id=vser"]);
            for name in ["out", "err", "ctl"] {
                c.args([
                    "-chardev",
                    &sock(name),
                    "-device",
                    &format!("virtserialport,bus=vser.0,chardev={name},name=rstap.{name}"),
                ]);
            }
        }
    }
    if let Ok(extra) = std::env::var("RSTAP_TESTBED_QEMU_ARGS") {
        c.args(extra.split_whitespace());
    }
    c.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    c.process_group(0);
    // SAFETY: die_with_parent only calls prctl, which is async-signal-safe.
    unsafe {
        c.pre_exec(sigint::die_with_parent);
    }
    c
}

/// The qemu child and what is needed to explain its failure.
struct Run {
    child: Child,
    qemu_stderr: Option<JoinHandle<Vec<u8>>>,
    console: Vec<u8>,
    console_log: std::path::PathBuf,
    verbose: bool,
}

impl Run {
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn save_console(&self) {
        let _ = std::fs::write(&self.console_log, &self.console);
    }

    /// Kills qemu and builds the error: `what`, qemu's stderr, console tail.
    fn fail(&mut self, what: &str) -> String {
        self.kill();
        self.save_console();
        let mut msg = format!("testbed: {what}");
        if let Some(h) = self.qemu_stderr.take() {
            if let Ok(e) = h.join() {
                let e = String::from_utf8_lossy(&e);
                if !e.trim().is_empty() {
                    msg.push_str(&format!("\nqemu said: {}", e.trim()));
                }
            }
        }
        let tail = tail_lines(&self.console, 30);
        if tail.is_empty() {
            msg.push_str("\n(the kernel console is empty)");
        } else if !self.verbose {
            msg.push_str(&format!("\n--- last lines of the kernel console ---\n{tail}\n---"));
        }
        msg.push_str(&format!("\n(full kernel console: {})", self.console_log.display()));
        msg
    }
}

fn tail_lines(b: &[u8], n: usize) -> String {
    let s = String::from_utf8_lossy(b).replace('\r', "");
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(n)..].join("\n")
}

fn accept_all(listeners: &[UnixListener], run: &mut Run, deadline: Instant) -> Result<Vec<UnixStream>, String> {
    let limit = deadline.min(Instant::now() + Duration::from_secs(60));
    let mut got: Vec<Option<UnixStream>> = listeners.iter().map(|_| None).collect();
    loop {
        for (i, l) in listeners.iter().enumerate() {
            if got[i].is_none() {
                if let Ok((s, _)) = l.accept() {
                    s.set_nonblocking(false).map_err(|e| format!("socket setup: {e}"))?;
                    got[i] = Some(s);
                }
            }
        }
        if got.iter().all(|g| g.is_some()) {
            return Ok(got.into_iter().flatten().collect());
        }
        if let Ok(Some(status)) = run.child.try_wait() {
            return Err(format!("qemu exited ({status}) before connecting its channels"));
        }
        if Instant::now() >= limit {
            return Err("qemu did not connect its channels in time".into());
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Splits one output channel into per-job pieces at the end markers.
struct Deframer {
    prefix: Vec<u8>,
    job: usize,
    pending: Vec<u8>,
}

enum Piece {
    Data(usize, Vec<u8>),
    End(usize),
}

impl Deframer {
    fn new(nonce: &str) -> Self {
        Deframer { prefix: format!("\x01RSTAP-END-{nonce}-").into_bytes(), job: 0, pending: Vec::new() }
    }

    fn marker(&self) -> Vec<u8> {
        let mut m = self.prefix.clone();
        m.extend_from_slice(self.job.to_string().as_bytes());
        m.push(1);
        m
    }

    fn push(&mut self, data: &[u8], out: &mut Vec<Piece>) {
        self.pending.extend_from_slice(data);
        loop {
            let marker = self.marker();
            if let Some(pos) = find(&self.pending, &marker) {
                let rest = self.pending.split_off(pos + marker.len());
                let mut head = std::mem::replace(&mut self.pending, rest);
                head.truncate(pos);
                if !head.is_empty() {
                    out.push(Piece::Data(self.job, head));
                }
                out.push(Piece::End(self.job));
                self.job += 1;
                continue;
            }
            // Hold back a tail that could be the start of the marker.
            let keep = (1..marker.len().min(self.pending.len() + 1))
                .rev()
                .find(|&k| self.pending.ends_with(&marker[..k]))
                .unwrap_or(0);
            let emit = self.pending.len() - keep;
            if emit > 0 {
                let rest = self.pending.split_off(emit);
                let head = std::mem::replace(&mut self.pending, rest);
                out.push(Piece::Data(self.job, head));
            }
            return;
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        match hay[i..=hay.len() - needle.len()].iter().position(|&b| b == first) {
            None => return None,
            Some(p) => {
                i += p;
                if &hay[i..i + needle.len()] == needle {
                    return Some(i);
                }
                i += 1;
            }
        }
    }
    None
}

/// What the host has received so far.
struct Collect {
    results: Vec<JobResult>,
    out_done: Vec<bool>,
    err_done: Vec<bool>,
    status: Vec<Option<i32>>,
    out: Deframer,
    err: Deframer,
    ctl_line: Vec<u8>,
    live: bool,
    ready_at: Option<Instant>,
    first_output_at: Option<Instant>,
    done_at: Option<Instant>,
}

impl Collect {
    fn new(n: usize, nonce: &str, live: bool) -> Self {
        Collect {
            results: vec![JobResult::default(); n],
            out_done: vec![false; n],
            err_done: vec![false; n],
            status: vec![None; n],
            out: Deframer::new(nonce),
            err: Deframer::new(nonce),
            ctl_line: Vec::new(),
            live,
            ready_at: None,
            first_output_at: None,
            done_at: None,
        }
    }

    fn complete(&self) -> bool {
        (0..self.results.len()).all(|i| self.out_done[i] && self.err_done[i] && self.status[i].is_some())
    }

    /// First job that is not complete, for error messages.
    fn pending_job(&self) -> Option<usize> {
        (0..self.results.len()).find(|&i| !(self.out_done[i] && self.err_done[i] && self.status[i].is_some()))
    }

    fn output(&mut self, chan: usize, data: &[u8]) {
        let mut pieces = Vec::new();
        if chan == OUT {
            self.out.push(data, &mut pieces);
        } else {
            self.err.push(data, &mut pieces);
        }
        for p in pieces {
            match p {
                Piece::Data(job, bytes) => {
                    if job >= self.results.len() {
                        continue;
                    }
                    if self.first_output_at.is_none() {
                        self.first_output_at = Some(Instant::now());
                    }
                    if self.live {
                        if chan == OUT {
                            let mut o = std::io::stdout().lock();
                            let _ = o.write_all(&bytes);
                            let _ = o.flush();
                        } else {
                            let mut o = std::io::stderr().lock();
                            let _ = o.write_all(&bytes);
                            let _ = o.flush();
                        }
                    }
                    let r = &mut self.results[job];
                    if chan == OUT {
                        r.stdout.extend_from_slice(&bytes);
                    } else {
                        r.stderr.extend_from_slice(&bytes);
                    }
                }
                Piece::End(job) if job < self.results.len() => {
                    if chan == OUT {
                        self.out_done[job] = true;
                    } else {
                        self.err_done[job] = true;
                    }
                }
                Piece::End(_) => {}
            }
        }
    }

    /// Handles control bytes; returns an error the guest reported.
    fn control(&mut self, data: &[u8], verbose: bool) -> Result<(), String> {
        self.ctl_line.extend_from_slice(data);
        while let Some(nl) = self.ctl_line.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.ctl_line.drain(..=nl).collect();
            let line = String::from_utf8_lossy(&line).trim().to_string();
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["RSTAP-READY"] => self.ready_at = Some(Instant::now()),
                ["RSTAP-JOB", n, "EXIT", s] => {
                    if let (Ok(n), Ok(s)) = (n.parse::<usize>(), s.parse::<i32>()) {
                        if n < self.status.len() {
                            self.status[n] = Some(s);
                            self.results[n].status = s;
                        }
                    }
                }
                ["RSTAP-JOB", n, "TIMEOUT"] => {
                    if let Ok(n) = n.parse::<usize>() {
                        if n < self.results.len() {
                            self.results[n].timed_out = true;
                        }
                    }
                }
                ["RSTAP-DONE"] => {}
                ["RSTAP-ERROR", ..] => return Err(format!("the guest failed: {}", &line["RSTAP-ERROR".len()..].trim())),
                _ => {
                    if verbose && !line.is_empty() {
                        eprintln!("testbed: unexpected control line {line:?}");
                    }
                }
            }
        }
        Ok(())
    }
}

/// Why the event loop gave up.
enum LoopError {
    /// The guest stopped answering during this job (the message says how).
    Hung(usize, String),
    Msg(String),
}

impl From<String> for LoopError {
    fn from(m: String) -> Self {
        LoopError::Msg(m)
    }
}

#[allow(clippy::too_many_arguments)]
fn event_loop(
    run: &mut Run,
    rx: &Receiver<Ev>,
    st: &mut Collect,
    ctl: &mut UnixStream,
    guard: Option<&SigintGuard>,
    deadline: Instant,
    spawned: Instant,
    per_job: Option<Duration>,
) -> Result<(), LoopError> {
    // The job running now and since when (the guest runs them in order).
    let mut current: Option<(usize, Instant)> = None;
    let mut interrupts_seen = 0;
    let mut int_pending = false;
    let mut bye_at: Option<Instant> = None;
    let mut exited_at: Option<Instant> = None;
    let mut exit_status = None;
    let mut open = CHANNEL_NAMES.len();
    loop {
        if let Some(g) = guard {
            while interrupts_seen < g.hits() {
                interrupts_seen += 1;
                if interrupts_seen == 1 {
                    if run.verbose {
                        eprintln!("testbed: Ctrl-C: sending SIGINT to the guest job (again to kill the guest)");
                    }
                    int_pending = true;
                } else {
                    return Err(LoopError::Msg("interrupted: a second Ctrl-C killed the guest".into()));
                }
            }
        }
        // The guest reads its control channel only once /init is ready.
        if int_pending && st.ready_at.is_some() {
            int_pending = false;
            let _ = ctl.write_all(b"INT\n");
        }
        let now = Instant::now();
        if let (Some(limit), Some(_), Some(j)) = (per_job, st.ready_at, st.pending_job()) {
            match current {
                Some((c, since)) if c == j => {
                    if now - since > limit + HANG_GRACE {
                        let watchdog = if st.results[j].timed_out {
                            "its watchdog reported the job over its limit, but the job never ended"
                        } else {
                            "not even its watchdog reported back"
                        };
                        return Err(LoopError::Hung(
                            j,
                            format!(
                                "the guest stopped answering during job {j}: it ran {:.0}s, {:.0}s past its limit, and {watchdog}",
                                (now - since).as_secs_f64(),
                                (now - since - limit).as_secs_f64()
                            ),
                        ));
                    }
                }
                _ => current = Some((j, now)),
            }
        }
        if now >= deadline {
            let what = match st.pending_job() {
                Some(j) if st.ready_at.is_some() => format!("job {j}"),
                Some(_) => "the boot".to_string(),
                None => "the poweroff".to_string(),
            };
            let mut msg = format!("timed out after {:.1}s waiting for {what}", (now - spawned).as_secs_f64());
            if let Some(j) = st.pending_job() {
                for (name, bytes) in [("stdout", &st.results[j].stdout), ("stderr", &st.results[j].stderr)] {
                    if !bytes.is_empty() {
                        msg.push_str(&format!("\n--- job {j} {name} so far (tail) ---\n{}", tail_lines(bytes, 10)));
                    }
                }
            }
            return Err(LoopError::Msg(msg));
        }
        let wait = Duration::from_millis(50).min(deadline - now);
        match rx.recv_timeout(wait) {
            Ok(Ev::Data(CON, b)) => {
                if run.verbose {
                    let mut e = std::io::stderr().lock();
                    let _ = e.write_all(&b);
                    let _ = e.flush();
                }
                run.console.extend_from_slice(&b);
            }
            Ok(Ev::Data(CTL, b)) => st.control(&b, run.verbose)?,
            Ok(Ev::Data(chan, b)) => st.output(chan, &b),
            Ok(Ev::Eof) => open -= 1,
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => open = 0,
        }
        if bye_at.is_none() && st.complete() {
            st.done_at = Some(Instant::now());
            let _ = ctl.write_all(b"BYE\n");
            bye_at = Some(Instant::now());
        }
        if exited_at.is_none() {
            if let Ok(Some(status)) = run.child.try_wait() {
                exited_at = Some(Instant::now());
                exit_status = Some(status);
            }
        }
        if let Some(t) = bye_at {
            if exited_at.is_none() && t.elapsed() > Duration::from_secs(5) {
                run.kill(); // the guest ignored BYE; its results are complete anyway
                exited_at = Some(Instant::now());
            }
        }
        if let Some(t) = exited_at {
            // Drain what the channels still carry, then judge.
            if open == 0 || t.elapsed() > Duration::from_secs(3) {
                if st.complete() {
                    if st.done_at.is_none() {
                        st.done_at = Some(Instant::now());
                    }
                    return Ok(());
                }
                let status = exit_status.map(|s| s.to_string()).unwrap_or_else(|| "killed".into());
                return Err(LoopError::Msg(match st.pending_job() {
                    Some(j) if st.ready_at.is_some() => {
                        format!("the guest stopped (qemu {status}) before job {j} finished")
                    }
                    _ => format!("the guest stopped (qemu {status}) before its /init was ready"),
                }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(chunks: &[&[u8]]) -> Vec<(usize, Vec<u8>, bool)> {
        let mut d = Deframer::new("abc");
        let mut pieces = Vec::new();
        for c in chunks {
            d.push(c, &mut pieces);
        }
        let mut out: Vec<(usize, Vec<u8>, bool)> = Vec::new();
        for p in pieces {
            match p {
                Piece::Data(j, b) => {
                    while out.len() <= j {
                        out.push((out.len(), Vec::new(), false));
                    }
                    out[j].1.extend(b);
                }
                Piece::End(j) => {
                    while out.len() <= j {
                        out.push((out.len(), Vec::new(), false));
                    }
                    out[j].2 = true;
                }
            }
        }
        out
    }

    #[test]
    fn deframer_splits_jobs_across_chunk_boundaries() {
        let stream = b"hello\n\x01RSTAP-END-abc-0\x01\x01RSTAP-END-abc-1\x01x\x01y\x01RSTAP-END-abc-2\x01tail";
        for split in 0..stream.len() {
            let (a, b) = stream.split_at(split);
            let got = collect(&[a, b]);
            assert_eq!(got[0], (0, b"hello\n".to_vec(), true), "split {split}");
            assert_eq!(got[1], (1, Vec::new(), true), "split {split}");
            assert_eq!(got[2], (2, b"x\x01y".to_vec(), true), "split {split}");
        }
        // byte by byte
        let chunks: Vec<&[u8]> = stream.chunks(1).collect();
        let got = collect(&chunks);
        assert_eq!(got[2], (2, b"x\x01y".to_vec(), true));
    }

    #[test]
    fn deframer_ignores_other_markers() {
        let got = collect(&[b"\x01RSTAP-END-abd-0\x01\x01RSTAP-END-abc-1\x01\x01RSTAP-END-abc-0\x01"]);
        assert_eq!(got[0].1, b"\x01RSTAP-END-abd-0\x01\x01RSTAP-END-abc-1\x01".to_vec());
        assert!(got[0].2);
    }
}
