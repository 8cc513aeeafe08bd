//! staprun: loads a module, streams its output, stops it, unloads it.
//!
//! Input: a `.ko` built by pass 4, optionally a `-c CMD` to start (held
//! until the probes are armed) or a `-x PID`. Output: the script's output on
//! stdout (or `-o FILE`, switched to the next file by the script's
//! `switch_file()`, by SIGUSR2 and by `-S SIZE[,N]`: see `output.rs`), its
//! errors and warnings on stderr, and an exit
//! status: 0 when the script ran without errors, 1 otherwise. Invariants:
//! whatever happens after the module was loaded, it is stopped (end probes
//! run) and unloaded before staprun returns; output already produced is
//! never thrown away; drops and truncated prints are reported. A stale
//! module of the same name (left by a staprun that was killed: its probes
//! are already disarmed, because the module stops itself when its reader
//! closes the proc file) is unloaded and the load retried; a module that
//! another staprun is still reading is left alone (its proc file is
//! exclusive: a second open fails with EBUSY).
//!
//! Test knob: `RSTAP_STAPRUN_READ_SIZE=N` reads the proc file N bytes at a
//! time (at least 8), so that tests can force reads that end mid-message.

use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Write};

use super::output::{Output, SwitchLimits};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const MSG_OUTPUT: u32 = 1;
const MSG_STDERR: u32 = 2;
const MSG_EXIT: u32 = 3;
const MSG_DONE: u32 = 4;
/// The script called system(CMD): run CMD under /bin/sh, not waited for.
const MSG_SYSTEM: u32 = 5;
/// The script called switch_file(): the output after it goes to the next file.
const MSG_SWITCH: u32 = 6;

#[derive(Debug, Clone, Default)]
pub struct StaprunOptions {
    pub module: PathBuf,
    pub output: Option<PathBuf>,
    /// -S SIZE[,N]: switch `output` to the next file at SIZE, keep N files.
    pub switch_limits: Option<SwitchLimits>,
    /// --framed-output: write output and switches as frames on stdout, for
    /// the testbed's host side to replay into `-o FILE` (output.rs).
    pub framed_output: bool,
    /// -c CMD: run under /bin/sh -c, started once the probes are armed.
    pub command: Option<String>,
    /// -x PID: the target process.
    pub target_pid: Option<i32>,
    pub verbose: u8,
}

static STOP_SIGNAL: AtomicBool = AtomicBool::new(false);
static CHILD_SIGNAL: AtomicBool = AtomicBool::new(false);
static SWITCH_SIGNAL: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop_signal(_sig: libc::c_int) {
    STOP_SIGNAL.store(true, Ordering::SeqCst);
}

extern "C" fn on_child_signal(_sig: libc::c_int) {
    CHILD_SIGNAL.store(true, Ordering::SeqCst);
}

extern "C" fn on_switch_signal(_sig: libc::c_int) {
    SWITCH_SIGNAL.store(true, Ordering::SeqCst);
}

extern "C" fn on_tick(_sig: libc::c_int) {}

fn install_handler(sig: libc::c_int, handler: extern "C" fn(libc::c_int)) {
    // SAFETY: a plain sigaction with an async-signal-safe handler that only
    // stores to an atomic; no SA_RESTART, so a blocked read returns EINTR.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = handler as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        sa.sa_flags = 0;
        libc::sigaction(sig, &sa, std::ptr::null_mut());
    }
}

/// The kernel's name for a module file: its stem, with `-` as `_`.
pub fn module_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().replace('-', "_"))
        .unwrap_or_default()
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn insert_module(image: &[u8], params: &str) -> Result<(), i32> {
    let params = CString::new(params).map_err(|_| libc::EINVAL)?;
    // SAFETY: image and params outlive the call; init_module copies both.
    let rc = unsafe { libc::syscall(libc::SYS_init_module, image.as_ptr(), image.len(), params.as_ptr()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(errno())
    }
}

fn remove_module(name: &str) -> Result<(), i32> {
    let cname = CString::new(name).map_err(|_| libc::EINVAL)?;
    for _ in 0..50 {
        // SAFETY: a NUL-terminated name; O_NONBLOCK fails instead of waiting.
        let rc = unsafe { libc::syscall(libc::SYS_delete_module, cname.as_ptr(), libc::O_NONBLOCK) };
        if rc == 0 {
            return Ok(());
        }
        let e = errno();
        if e != libc::EAGAIN && e != libc::EBUSY && e != libc::EINTR {
            return Err(e);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(libc::EBUSY)
}

fn explain_insert_error(e: i32, module: &Path) -> String {
    let why = match e {
        libc::EPERM => "permission denied: loading a module needs root (CAP_SYS_MODULE), or the kernel forbids module loading (lockdown, modules_disabled)".to_string(),
        libc::EEXIST => format!("a module named {} is already loaded; unload it with `rmmod {}` or pick another name with -m", module_name(module), module_name(module)),
        libc::ENOEXEC => "invalid module format: the module was built for another kernel (check `uname -r` against -r)".to_string(),
        libc::EKEYREJECTED | libc::EBADMSG => "the kernel requires signed modules (secure boot / lockdown)".to_string(),
        libc::ENOENT => "the kernel could not resolve a symbol the module needs (see dmesg)".to_string(),
        libc::ENOSYS => "this kernel was built without module support".to_string(),
        libc::ENOMEM => "out of memory: the module's preallocated arrays and buffers do not fit (lower MAXMAPENTRIES, MAXSTRINGLEN, the array sizes or -s)".to_string(),
        other => std::io::Error::from_raw_os_error(other).to_string(),
    };
    format!("ERROR: Couldn't insert module '{}': {}", module.display(), why)
}

/// Unloads a module named `name` that a killed staprun left behind.
/// Err(None): it is not an rstap module (no `/proc/rstap_NAME`): leave it
/// and report EEXIST. Err(Some(why)): it is in use or could not be removed.
fn remove_stale(name: &str) -> Result<(), Option<String>> {
    let path = format!("/proc/rstap_{name}");
    if !Path::new(&path).exists() {
        return Err(None);
    }
    // Opening and closing the proc file stops the module if it was not
    // stopped yet (a staprun killed before it opened the file).
    match std::fs::OpenOptions::new().read(true).write(true).open(&path) {
        Ok(f) => drop(f),
        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
            return Err(Some(format!(
                "a module named {name} is already loaded and another staprun is running it; stop that one first, or pick another name with -m"
            )))
        }
        Err(e) => return Err(Some(format!("a stale module named {name} is loaded and {path} cannot be opened: {e}"))),
    }
    remove_module(name).map_err(|e| {
        Some(format!(
            "a stale module named {name} is loaded and cannot be removed: {}; remove it with `rmmod {name}`",
            std::io::Error::from_raw_os_error(e)
        ))
    })
}

/// The proc file read size: 64 KiB, or `RSTAP_STAPRUN_READ_SIZE` (tests).
fn read_size() -> usize {
    std::env::var("RSTAP_STAPRUN_READ_SIZE")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .map(|n| n.clamp(8, 65536))
        .unwrap_or(65536)
}

/// A child started by fork, held before exec until `release`.
struct HeldChild {
    pid: libc::pid_t,
    gate: libc::c_int,
}

/// The shell text for `-c CMD`: a simple command is exec'd by the shell,
/// so that target() is the command's own pid, not the shell's.
pub fn shell_command(command: &str) -> String {
    let compound = command.contains([';', '|', '&', '(', ')', '\n', '`', '{', '}'])
        || command.contains("$(");
    let first = command.split_whitespace().next().unwrap_or("");
    let keyword = ["if", "for", "while", "until", "case", "exec", "!"].contains(&first) || first.contains('=');
    if compound || keyword || first.is_empty() {
        command.to_string()
    } else {
        format!("exec {command}")
    }
}

fn spawn_held(command: &str) -> Result<HeldChild, String> {
    let sh = CString::new("/bin/sh").unwrap();
    let dash_c = CString::new("-c").unwrap();
    let cmd = CString::new(shell_command(command)).map_err(|_| "the -c command contains a NUL byte".to_string())?;
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: fds has room for the two descriptors pipe() writes.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(format!("cannot create a pipe: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: after fork the child only calls async-signal-safe functions
    // (close, read, execv, _exit) on data prepared before the fork.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!("cannot fork: {}", std::io::Error::last_os_error()));
    }
    if pid == 0 {
        unsafe {
            libc::close(fds[1]);
            let mut b = 0u8;
            let n = libc::read(fds[0], &mut b as *mut u8 as *mut libc::c_void, 1);
            if n != 1 {
                libc::_exit(127);
            }
            libc::close(fds[0]);
            let argv = [sh.as_ptr(), dash_c.as_ptr(), cmd.as_ptr(), std::ptr::null()];
            libc::execv(sh.as_ptr(), argv.as_ptr());
            libc::_exit(127);
        }
    }
    // SAFETY: closing our copy of the read end.
    unsafe { libc::close(fds[0]) };
    Ok(HeldChild { pid, gate: fds[1] })
}

impl HeldChild {
    fn release(&mut self) {
        if self.gate >= 0 {
            let b = 1u8;
            // SAFETY: writing one byte to our pipe end, then closing it.
            unsafe {
                libc::write(self.gate, &b as *const u8 as *const libc::c_void, 1);
                libc::close(self.gate);
            }
            self.gate = -1;
        }
    }

    fn abandon(&mut self) {
        if self.gate >= 0 {
            // Closing the gate unreleased makes the child exit 127 unrun.
            unsafe { libc::close(self.gate) };
            self.gate = -1;
        }
        let mut status = 0;
        unsafe { libc::waitpid(self.pid, &mut status, 0) };
    }

    /// Some(exit status) once the child has exited.
    fn poll_exit(&self) -> Option<i32> {
        let mut status = 0;
        // SAFETY: waitpid on our own child with WNOHANG.
        let rc = unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG) };
        if rc == self.pid {
            Some(status)
        } else {
            None
        }
    }
}

/// The session's closing WARNING lines (errors, cut prints, lost messages).
fn print_end_warnings(c: &Counters) {
    if c.errors > 0 || c.skipped > 0 {
        eprintln!("WARNING: Number of errors: {}, skipped probes: {}", c.errors, c.skipped);
    }
    if c.truncated > 0 {
        eprintln!(
            "WARNING: {} print(s) were cut because they did not fit the print buffer (RSTAP_PRINT_BUFSIZE); split them into smaller prints.",
            c.truncated
        );
    }
    if c.dropped > 0 {
        eprintln!(
            "WARNING: There were {} transport failures. Try stap -s to increase the buffer size.",
            c.dropped
        );
    }
}

#[derive(Default, Debug)]
struct Counters {
    errors: u64,
    skipped: u64,
    dropped: u64,
    truncated: u64,
    /// The module was built with -w: no WARNING lines at the end either.
    nowarn: bool,
}

fn parse_done(payload: &[u8]) -> Counters {
    let mut c = Counters::default();
    for part in String::from_utf8_lossy(payload).split_whitespace() {
        if let Some((k, v)) = part.split_once('=') {
            let v = v.parse().unwrap_or(0);
            match k {
                "errors" => c.errors = v,
                "skipped" => c.skipped = v,
                "dropped" => c.dropped = v,
                "truncated" => c.truncated = v,
                "nowarn" => c.nowarn = v != 0,
                _ => {}
            }
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::output::OutputFiles;

    fn message(ty: u32, payload: &[u8]) -> Vec<u8> {
        let mut m = ty.to_ne_bytes().to_vec();
        m.extend_from_slice(&(payload.len() as u32).to_ne_bytes());
        m.extend_from_slice(payload);
        m
    }

    /// The module's stream, read `step` bytes at a time as the proc file
    /// hands it out, into `-o FILE` (with `-S` when `limits`).
    fn replay(stream: &[u8], step: usize, base: &Path, limits: Option<SwitchLimits>) -> Vec<u32> {
        let mut out = Output::Files(OutputFiles::create(base, limits).unwrap());
        let mut others = Vec::new();
        let mut pending = Vec::new();
        for chunk in stream.chunks(step) {
            pending.extend_from_slice(chunk);
            let (messages, used) = whole_messages(&pending);
            for (ty, payload) in messages {
                if !to_output(&mut out, ty, payload).unwrap() {
                    others.push(ty);
                }
            }
            pending.drain(..used);
        }
        assert!(pending.is_empty());
        out.flush();
        others
    }

    #[test]
    fn switch_messages_split_the_output_where_the_module_sent_them() {
        let mut stream = Vec::new();
        stream.extend(message(MSG_OUTPUT, b"before the switch\n"));
        stream.extend(message(MSG_SWITCH, b""));
        stream.extend(message(MSG_STDERR, b"WARNING: on stderr\n"));
        stream.extend(message(MSG_OUTPUT, b"after it\n"));
        stream.extend(message(MSG_SWITCH, b""));
        stream.extend(message(MSG_OUTPUT, b"third file\n"));
        stream.extend(message(MSG_DONE, b"errors=0"));
        for step in [8, 13, 64, 4096] {
            let d = tempfile::tempdir().unwrap();
            let base = d.path().join("o");
            assert_eq!(replay(&stream, step, &base, None), [MSG_STDERR, MSG_DONE]);
            let read = |n: &str| std::fs::read_to_string(d.path().join(n)).unwrap();
            assert_eq!(read("o"), "before the switch\n", "read size {step}");
            assert_eq!(read("o.1"), "after it\n");
            assert_eq!(read("o.2"), "third file\n");
            assert!(!d.path().join("o.3").exists());
            // Under -S the same stream starts at o.0.
            let base = d.path().join("s");
            replay(&stream, step, &base, Some(SwitchLimits { size_bytes: 1 << 20, keep: Some(2) }));
            assert!(!d.path().join("s.0").exists(), "-S 1,2 keeps the 2 newest");
            assert_eq!(read("s.1"), "after it\n");
            assert_eq!(read("s.2"), "third file\n");
        }
    }

    #[test]
    fn simple_commands_are_execed() {
        assert_eq!(shell_command("dd if=/proc/version of=/dev/null"), "exec dd if=/proc/version of=/dev/null");
        assert_eq!(shell_command("cat /proc/version >/dev/null"), "exec cat /proc/version >/dev/null");
        assert_eq!(shell_command("ls; ls"), "ls; ls");
        assert_eq!(shell_command("ls | wc"), "ls | wc");
        assert_eq!(shell_command("A=1 ls"), "A=1 ls");
        assert_eq!(shell_command("exec ls"), "exec ls");
    }
}

/// The whole messages at the start of `pending` (type and payload each)
/// and how many bytes they take; a message cut short waits for more.
fn whole_messages(pending: &[u8]) -> (Vec<(u32, &[u8])>, usize) {
    let mut messages = Vec::new();
    let mut off = 0;
    while pending.len() - off >= 8 {
        let ty = u32::from_ne_bytes(pending[off..off + 4].try_into().unwrap());
        let len = u32::from_ne_bytes(pending[off + 4..off + 8].try_into().unwrap()) as usize;
        if pending.len() - off - 8 < len {
            break;
        }
        messages.push((ty, &pending[off + 8..off + 8 + len]));
        off += 8 + len;
    }
    (messages, off)
}

/// An OUTPUT message's payload goes to the output, a SWITCH switches its
/// file; false for the other types.
fn to_output(out: &mut Output, ty: u32, payload: &[u8]) -> Result<bool, String> {
    match ty {
        MSG_OUTPUT => out.write_all(payload)?,
        MSG_SWITCH => out.switch()?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// Runs a module to completion; returns the process exit status.
pub fn run(opts: &StaprunOptions) -> i32 {
    match run_inner(opts) {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("{msg}");
            1
        }
    }
}

fn run_inner(opts: &StaprunOptions) -> Result<i32, String> {
    let name = module_name(&opts.module);
    let image = std::fs::read(&opts.module)
        .map_err(|e| format!("ERROR: cannot read module {}: {e}", opts.module.display()))?;
    let mut out = Output::open(opts.output.as_deref(), opts.switch_limits, opts.framed_output)?;
    let mut child = match &opts.command {
        Some(cmd) => Some(spawn_held(cmd).map_err(|e| format!("ERROR: {e}"))?),
        None => None,
    };
    let target = child.as_ref().map(|c| c.pid).or(opts.target_pid).unwrap_or(0);
    install_handler(libc::SIGINT, on_stop_signal);
    install_handler(libc::SIGTERM, on_stop_signal);
    install_handler(libc::SIGHUP, on_stop_signal);
    install_handler(libc::SIGCHLD, on_child_signal);
    // staprun(8): SIGUSR2 switches -o FILE to the next file (and is
    // ignored, not fatal, when the output is stdout).
    install_handler(libc::SIGUSR2, on_switch_signal);
    // A tick that interrupts the blocking read, so that a signal that came
    // just before read() started is still seen within 100 ms.
    install_handler(libc::SIGALRM, on_tick);
    // SAFETY: setitimer with a valid, fully initialised itimerval.
    unsafe {
        let tick = libc::timeval { tv_sec: 0, tv_usec: 100_000 };
        let it = libc::itimerval { it_interval: tick, it_value: tick };
        libc::setitimer(libc::ITIMER_REAL, &it, std::ptr::null_mut());
    }

    let params = format!("rstap_target={target}");
    let mut inserted = insert_module(&image, &params);
    if inserted == Err(libc::EEXIST) {
        match remove_stale(&name) {
            Ok(()) => {
                if opts.verbose > 0 {
                    eprintln!("staprun: removed a stale module {name}");
                }
                inserted = insert_module(&image, &params);
            }
            Err(Some(why)) => {
                if let Some(c) = child.as_mut() {
                    c.abandon();
                }
                return Err(format!("ERROR: Couldn't insert module '{}': {why}", opts.module.display()));
            }
            Err(None) => {}
        }
    }
    if let Err(e) = inserted {
        if let Some(c) = child.as_mut() {
            c.abandon();
        }
        return Err(explain_insert_error(e, &opts.module));
    }
    if opts.verbose > 0 {
        eprintln!("staprun: module {name} loaded");
    }
    let result = drive(opts, &name, &mut out, child.as_mut());
    out.flush();
    if let Some(c) = child.as_mut() {
        // The command never started if the probes failed to arm.
        if c.gate >= 0 {
            c.abandon();
        }
    }
    if let Err(e) = remove_module(&name) {
        eprintln!(
            "ERROR: Couldn't remove module '{name}': {}; remove it with `rmmod {name}`",
            std::io::Error::from_raw_os_error(e)
        );
        return Ok(1);
    }
    if opts.verbose > 0 {
        eprintln!("staprun: module {name} unloaded");
    }
    result
}

/// Start, stream, stop, drain. Returns the exit status.
fn drive(opts: &StaprunOptions, name: &str, out: &mut Output, mut child: Option<&mut HeldChild>) -> Result<i32, String> {
    let path = format!("/proc/rstap_{name}");
    let mut proc_file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(&path)
        .map_err(|e| format!("ERROR: cannot open {path}: {e}"))?;
    let mut control = proc_file.try_clone().map_err(|e| format!("ERROR: cannot dup {path}: {e}"))?;
    let started = control.write(b"start");
    let mut failed = false;
    let mut stopper: Option<std::thread::JoinHandle<()>> = None;
    match started {
        Ok(_) => {
            if let Some(c) = child.as_mut() {
                c.release();
            }
        }
        Err(e) => {
            failed = true;
            if opts.verbose > 0 {
                eprintln!("staprun: start failed: {e}");
            }
        }
    }
    let mut stop_requested = false;
    let request_stop = |stopper: &mut Option<std::thread::JoinHandle<()>>, control: &File| {
        if stopper.is_none() {
            let mut c = control.try_clone().expect("dup of the control file");
            *stopper = Some(std::thread::spawn(move || {
                let _ = c.write(b"stop");
            }));
        }
    };
    if failed {
        request_stop(&mut stopper, &control);
        stop_requested = true;
    }
    let mut counters = Counters::default();
    let mut commands: Vec<std::process::Child> = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; read_size()];
    let mut child_status: Option<i32> = None;
    loop {
        // A SIGUSR2 (it interrupts the read) switches between the messages
        // written before it and those read after.
        if SWITCH_SIGNAL.swap(false, Ordering::SeqCst) {
            out.switch()?;
        }
        if !stop_requested && STOP_SIGNAL.load(Ordering::SeqCst) {
            stop_requested = true;
            request_stop(&mut stopper, &control);
        }
        if CHILD_SIGNAL.swap(false, Ordering::SeqCst) || child_status.is_none() {
            if let Some(c) = child.as_ref() {
                if c.gate < 0 && child_status.is_none() {
                    if let Some(st) = c.poll_exit() {
                        child_status = Some(st);
                        if !stop_requested {
                            stop_requested = true;
                            request_stop(&mut stopper, &control);
                        }
                    }
                }
            }
        }
        let n = match proc_file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("ERROR: reading {path}: {e}")),
        };
        pending.extend_from_slice(&buf[..n]);
        let (messages, used) = whole_messages(&pending);
        for (ty, payload) in messages {
            if to_output(out, ty, payload)? {
                continue;
            }
            match ty {
                MSG_STDERR => {
                    out.flush();
                    let _ = std::io::stderr().write_all(payload);
                }
                MSG_EXIT => {
                    if !stop_requested {
                        stop_requested = true;
                        request_stop(&mut stopper, &control);
                    }
                }
                MSG_DONE => counters = parse_done(payload),
                MSG_SYSTEM => {
                    out.flush();
                    let cmd = String::from_utf8_lossy(payload).into_owned();
                    match std::process::Command::new("/bin/sh").arg("-c").arg(&cmd).stdin(std::process::Stdio::null()).spawn() {
                        Ok(c) => commands.push(c),
                        Err(e) => eprintln!("WARNING: system({cmd:?}): {e}"),
                    }
                }
                _ => {}
            }
        }
        pending.drain(..used);
        out.flush();
    }
    if let Some(t) = stopper.take() {
        let _ = t.join();
    }
    reap_commands(&mut commands);
    drop(control);
    drop(proc_file);
    // stap -w (the module says nowarn=1): no WARNING lines; the counters
    // still decide the exit status.
    if !counters.nowarn {
        print_end_warnings(&counters);
    }
    Ok(if failed || counters.errors > 0 { 1 } else { 0 })
}

/// Gives the commands of system() up to a second to finish (so that their
/// output comes before the session's end), then leaves the rest running.
fn reap_commands(commands: &mut Vec<std::process::Child>) {
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    while !commands.is_empty() && std::time::Instant::now() < deadline {
        commands.retain_mut(|c| !matches!(c.try_wait(), Ok(Some(_)) | Err(_)));
        if !commands.is_empty() {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
