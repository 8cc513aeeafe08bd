//! sigint: counts the host's Ctrl-C presses while a live guest run is going,
//! and makes child processes die with their parent.
//!
//! Input: SIGINT deliveries to this process. Output: [`SigintGuard::hits`].
//! Invariants: the handler only bumps an atomic (async-signal-safe); the
//! previous disposition is restored when the guard drops. std already links
//! the C library, so `signal` and `prctl` are declared here instead of adding
//! the `libc` crate.

use std::sync::atomic::{AtomicUsize, Ordering};

static HITS: AtomicUsize = AtomicUsize::new(0);

const SIGINT: i32 = 2;
const SIGKILL: i32 = 9;
const SIG_ERR: usize = usize::MAX;
const PR_SET_PDEATHSIG: i32 = 1;

extern "C" {
    fn signal(signum: i32, handler: usize) -> usize;
    fn prctl(option: i32, ...) -> i32;
}

extern "C" fn on_sigint(_sig: i32) {
    HITS.fetch_add(1, Ordering::SeqCst);
}

/// While alive, SIGINT is counted instead of killing the process.
pub struct SigintGuard {
    old: usize,
}

impl SigintGuard {
    /// Installs the counting handler; `None` if the kernel refused.
    pub fn install() -> Option<SigintGuard> {
        HITS.store(0, Ordering::SeqCst);
        let handler = on_sigint as extern "C" fn(i32) as usize;
        // SAFETY: the handler only touches an atomic.
        let old = unsafe { signal(SIGINT, handler) };
        if old == SIG_ERR {
            None
        } else {
            Some(SigintGuard { old })
        }
    }

    /// Ctrl-C presses since `install`.
    pub fn hits(&self) -> usize {
        HITS.load(Ordering::SeqCst)
    }
}

impl Drop for SigintGuard {
    fn drop(&mut self) {
        // SAFETY: restores the disposition `signal` returned.
        unsafe {
            signal(SIGINT, self.old);
        }
    }
}

/// For `CommandExt::pre_exec`: the child gets SIGKILL when the spawning
/// thread of its parent dies, so no qemu outlives an interrupted host.
pub fn die_with_parent() -> std::io::Result<()> {
    // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe.
    let r = unsafe { prctl(PR_SET_PDEATHSIG, SIGKILL as std::os::raw::c_ulong) };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
