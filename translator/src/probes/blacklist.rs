//! The kernel functions probes may not touch.
//!
//! Input: a function symbol name (and, through `KernelSymbols`, the
//! no-probe section the kernel's symbol table places it in). Output: why it
//! may not be probed, or `None`. Invariants: no IO; the list is written here
//! (the kernel's own kprobe blacklist, /sys/kernel/debug/kprobes/blacklist,
//! is not readable at translation time, so its sections are read from the
//! symbol table instead: `.noinstr.text`, `.kprobes.text`, `.entry.text`,
//! `.irqentry.text`, `.cpuidle.text`, `.spinlock.text` and `.init.text`). A
//! probe named explicitly on a refused function is a located pass-2 error; a
//! wildcard skips it (counted, and reported with -v through
//! [`take_skip_report`]).
//!
//! What is listed, and why a probe there would hurt the kernel:
//! - locking (`_raw_spin_*`, `queued_spin_*`, ...): the runtime takes locks
//!   in every handler; a handler inside the lock code can spin on the lock
//!   its own CPU holds.
//! - timekeeping (`update_vsyscall`, `ktime_get*`, `timekeeping_*`, ...):
//!   inside the timekeeper's write section, `gettimeofday_ns()` waits for a
//!   sequence count that never settles.
//! - printk internals, kprobe and ftrace internals, the int3/debug trap
//!   path, NMI handling, context tracking and RCU's idle entry: the probe
//!   machinery itself runs there, or RCU is not watching.
//! - the runtime's own callees (string and copy helpers, vsnprintf, the
//!   stack unwinder, kallsyms lookups, udelay): every hit would be a
//!   re-entry that is only skipped.

use std::cell::RefCell;

/// Patterns (globs: `*` anywhere) and the reason for each group.
const LISTED: &[(&str, &[&str])] = &[
    (
        "locking: a handler could spin on a lock its own CPU holds",
        &[
            "_raw_spin_*", "_raw_read_*", "_raw_write_*", "do_raw_spin_*", "do_raw_read_*", "do_raw_write_*",
            "queued_spin_*", "queued_read_*", "queued_write_*", "native_queued_spin_*", "__pv_queued_spin_*",
            "__raw_spin_*", "lock_acquire*", "lock_release", "lock_acquired", "lock_contended", "__lock_acquire",
            "lockdep_*", "preempt_count_add", "preempt_count_sub", "rt_spin_*", "__rt_spin_*",
        ],
    ),
    (
        "timekeeping: a handler that reads the time would wait forever on the timekeeper's sequence count",
        &[
            "update_vsyscall*", "ktime_get*", "__ktime_get*", "timekeeping_*", "__timekeeping_*", "tk_*",
            "update_wall_time", "do_timer", "read_tsc", "native_sched_clock*", "sched_clock*", "local_clock*",
            "vdso_*", "update_vdso_*", "update_fast_timekeeper", "halt_fast_timekeeper", "ktime_*_fast_ns",
        ],
    ),
    (
        "printk internals: the probe's own error path prints",
        &[
            "printk*", "_printk*", "__printk*", "vprintk*", "console_*", "early_printk", "log_store", "prb_*",
            "serial8250_*", "univ8250_*", "devkmsg_*", "wake_up_klogd*", "defer_console_output",
        ],
    ),
    (
        "kprobe and ftrace internals: the probe machinery runs there",
        &[
            "kprobe_*", "*_kprobe", "*_kprobes", "kprobes_*", "*_kprobe_*", "kretprobe*", "*_kretprobe*",
            "arch_*kprobe*", "opt_pre_handler", "aggr_*_handler", "get_kprobe", "ftrace_*", "__ftrace_*",
            "*_ftrace_*", "rethook_*", "arch_rethook_*", "__fentry__", "text_poke*", "__text_poke*",
            "poke_int3_handler", "do_int3*", "exc_int3", "exc_debug*", "do_debug", "notify_die",
            "fixup_exception", "search_exception_tables", "search_*_extable*", "__x86_indirect_thunk*",
            "__x86_return_thunk", "int3_*", "unregister_die_notifier", "register_die_notifier",
        ],
    ),
    (
        "NMI handling: an NMI can interrupt the handler itself",
        &["nmi_*", "*_nmi", "*_nmi_*", "exc_nmi*", "default_do_nmi", "do_nmi", "perf_event_nmi_handler"],
    ),
    (
        "context tracking and RCU idle entry: RCU is not watching there",
        &["ct_*", "context_tracking_*", "rcu_is_watching", "rcu_irq_*", "rcu_nmi_*", "rcu_dynticks_*",
          "rcu_eqs_*", "rcu_idle_*", "rcu_user_*", "__ct_*", "irqentry_*", "enter_from_user_mode",
          "exit_to_user_mode*", "syscall_enter_from_user_mode*", "syscall_exit_to_user_mode*"],
    ),
    (
        "boot code: it never runs again once the kernel is up",
        &["startup_*", "secondary_startup_*", "start_cpu0", "x86_64_start_*", "early_*"],
    ),
    (
        "the rstap runtime calls it from every handler",
        &[
            "memcpy", "memset", "memmove", "memcmp", "__memcpy", "__memset", "__memmove", "strscpy*", "strnlen",
            "strlen", "strncmp", "strcmp", "vsnprintf", "vscnprintf", "snprintf", "scnprintf", "sprintf",
            "format_decode", "number", "string", "pointer", "jhash*", "copy_from_kernel_nofault*",
            "strncpy_from_kernel_nofault", "strncpy_from_user_nofault", "copy_from_user_nofault",
            "copy_to_user*", "_copy_to_user", "_copy_from_user", "__copy_user*", "copy_user_generic*",
            "copy_user_enhanced_fast_string", "copy_user_short_string",
            "__get_user_*", "__put_user_*", "rep_movs_alternative", "kallsyms_*", "sprint_symbol*",
            "__sprint_symbol", "lookup_symbol_*", "sprint_backtrace*", "unwind_*", "__unwind_start",
            "stack_trace_*", "arch_stack_walk*", "get_stack_info*", "in_task_stack", "in_entry_stack",
            "__this_cpu_preempt_check", "debug_smp_processor_id", "check_preemption_disabled",
            "preempt_schedule*", "__udelay", "__const_udelay", "__ndelay", "delay_tsc", "delay_loop",
            "delay_halt*", "native_save_fl", "native_irq_*", "arch_local_irq_*", "trace_hardirqs_*",
            "__rcu_read_lock", "__rcu_read_unlock", "in_lock_functions", "vzalloc", "__vmalloc_node*",
        ],
    ),
];

/// Kernel symbols that are not functions: section markers and padding.
fn is_marker(name: &str) -> bool {
    name.starts_with("__pfx_")
        || name.starts_with("__cfi_")
        || name.ends_with("_text_start")
        || name.ends_with("_text_end")
        || matches!(name, "_text" | "_stext" | "_etext" | "_sinittext" | "_einittext")
}

/// Why `name` (a kernel function symbol, without a module prefix) may not
/// be probed, by name alone.
pub fn refused(name: &str) -> Option<String> {
    if let Some((base, rest)) = name.split_once('.') {
        for part in ["cold", "part"] {
            if rest == part || rest.starts_with(&format!("{part}.")) {
                return Some(format!("it is a .{part} fragment of {base}, not a function entry"));
            }
        }
    }
    if is_marker(name) {
        return Some("it is a section marker or padding, not a function".into());
    }
    for (why, patterns) in LISTED {
        if patterns.iter().any(|p| crate::glob::glob_match(p, name)) {
            return Some(format!("it is on rstap's list of functions probes may not touch ({why})"));
        }
    }
    None
}

/// Why a section the symbol table places a function in cannot be probed.
pub fn section_reason(section: &str) -> String {
    match section {
        ".init.text" => "it is __init code, freed once the kernel has booted".into(),
        _ => format!("it is in {section}, which the kernel does not allow probes in"),
    }
}

thread_local! {
    static SKIPS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Records that a wildcard skipped `skipped` of its `matched` matches.
pub fn record_skips(point: &str, matched: usize, skipped: usize, example: &str) {
    if skipped > 0 {
        SKIPS.with(|s| {
            s.borrow_mut().push(format!(
                "{point}: skipped {skipped} of {matched} matching functions that cannot be probed (e.g. {example})"
            ))
        });
    }
}

/// The skip lines recorded so far (for -v), emptied.
pub fn take_skip_report() -> Vec<String> {
    SKIPS.with(|s| std::mem::take(&mut *s.borrow_mut()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_and_listed_functions_are_refused() {
        assert_eq!(refused("rcu_gp_kthread.cold").unwrap(), "it is a .cold fragment of rcu_gp_kthread, not a function entry");
        assert!(refused("foo.part.0").unwrap().contains(".part fragment"));
        assert!(refused("foo.isra.0").is_none());
        assert!(refused("update_vsyscall").unwrap().contains("timekeeping"));
        assert!(refused("_raw_spin_lock_irqsave").unwrap().contains("locking"));
        assert!(refused("ktime_get_real_ts64").is_some());
        assert!(refused("__pfx_vfs_read").is_some());
        assert!(refused("ksys_read").is_none());
        assert!(refused("vfs_read").is_none());
        assert!(refused("schedule").is_none());
        assert!(refused("rcu_gp_kthread").is_none());
        assert!(refused("do_sys_openat2").is_none());
        // The runtime's user-copy routines, not every function named copy_user_*.
        assert!(refused("copy_user_generic_string").unwrap().contains("rstap runtime"));
        assert!(refused("copy_user_huge_page").is_none());
    }

    #[test]
    fn skips_are_reported_once() {
        take_skip_report();
        record_skips("kprobe.function(\"x*\")", 3, 1, "x.cold");
        record_skips("kprobe.function(\"y*\")", 3, 0, "");
        assert_eq!(take_skip_report(), vec!["kprobe.function(\"x*\"): skipped 1 of 3 matching functions that cannot be probed (e.g. x.cold)"]);
        assert!(take_skip_report().is_empty());
    }
}
