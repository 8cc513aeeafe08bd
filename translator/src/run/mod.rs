//! Pass 5: running a built module.
//!
//! Input: the `.ko` of pass 4 and the run options (-o, -S, -c, -x). Output: the
//! script's output and the exit status. On a Linux host where we may load
//! modules, `staprun` runs in this process; `crate::vm` runs the same
//! `staprun` binary inside a qemu guest. Invariants: a host that cannot load
//! modules gets one clear message that points at `--vm`.

pub mod output;
pub mod staprun;

use std::path::Path;

pub use output::SwitchLimits;
pub use staprun::StaprunOptions;

/// Checks that this host can load modules at all, before trying.
pub fn host_can_load_modules() -> Result<(), String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("loading a kernel module needs root; run stap with sudo, or run the script in the qemu testbed with `stap --vm`".into());
    }
    if let Ok(v) = std::fs::read_to_string("/proc/sys/kernel/modules_disabled") {
        if v.trim() == "1" {
            return Err("this kernel has module loading disabled (kernel.modules_disabled=1); run the script in the qemu testbed with `stap --vm`".into());
        }
    }
    if !Path::new("/proc/modules").exists() {
        return Err("this kernel has no module support (/proc/modules is missing); run the script in the qemu testbed with `stap --vm`".into());
    }
    Ok(())
}

/// Runs a module on this host; returns the exit status.
pub fn run_on_host(opts: &StaprunOptions) -> Result<i32, String> {
    host_can_load_modules()?;
    Ok(staprun::run(opts))
}
