//! The runtime's limits and the ranges a script may set them to.
//!
//! Input: the `-D NAME=VALUE` list of the command line, an array's declared
//! size, a timer's interval. Output: `Ok`, or a message that names the
//! limit, the value given and the range allowed. Invariants: every limit the
//! runtime reads from a `-D` (runtime-c/rstap_config.h) has one row in
//! [`LIMITS`]; a value outside its range never reaches the C compiler (the
//! #error lines in rstap_config.h repeat the C-side bounds for modules built
//! by hand). Names that are not limits are left alone here.
//!
//! Why these ceilings:
//! - MAXSTRINGLEN 4096: strings live in the per-CPU context and maps (not on
//!   the 16 KiB kernel stack, which holds only fixed 512-byte error lines),
//!   but each string temporary of every function frame and each string key of
//!   every map entry costs MAXSTRINGLEN bytes: 4 KiB keeps a 2048-entry map of
//!   one string key at 8 MiB.
//! - MAXNESTING 256: frames are preallocated per CPU (MAXNESTING + 1 of
//!   them); the C recursion of script functions is further bounded at run
//!   time by RSTAP_STACK_BUDGET bytes of kernel stack (4 KiB by default, at
//!   most 8 KiB of the 16 KiB stack), whatever MAXNESTING says.
//! - MAXACTION 1,000,000 (MAXACTION_INTERRUPTIBLE 10,000,000): a handler runs
//!   with preemption off; at a few ns per action that stays well under the
//!   kernel's soft-lockup and RCU-stall thresholds.
//! - MAXMAPENTRIES and `global a[N]` 1,048,576: maps are preallocated at load.
//! - MAXTRYLOCK 100,000 tries of TRYLOCKDELAY (at most 1000 us): a bounded wait.

/// One limit: its name, its meaning (for the message) and its range.
pub struct Limit {
    pub name: &'static str,
    pub what: &'static str,
    pub min: i64,
    pub max: i64,
}

/// The largest array a script may declare or set MAXMAPENTRIES to.
pub const MAX_MAP_ENTRIES: u64 = 1 << 20;

/// The longest timer interval: one day, in nanoseconds.
pub const TIMER_MAX_NS: u64 = 86_400 * 1_000_000_000;

/// The outstanding returns one `.return` probe may track (`.maxactive(N)`,
/// `-DKRETACTIVE=N`): each is a preallocated kretprobe instance.
pub const KRETACTIVE_RANGE: (i64, i64) = (1, 4096);

pub const LIMITS: &[Limit] = &[
    Limit { name: "MAXSTRINGLEN", what: "the size of a string value, in bytes", min: 16, max: 4096 },
    Limit { name: "MAXACTION", what: "the statements one probe handler may run", min: 1, max: 1_000_000 },
    Limit { name: "MAXACTION_INTERRUPTIBLE", what: "the statements a begin/end handler may run", min: 1, max: 10_000_000 },
    Limit { name: "MAXNESTING", what: "the depth of nested function calls", min: 0, max: 256 },
    Limit { name: "MAXMAPENTRIES", what: "the entries of an array", min: 1, max: MAX_MAP_ENTRIES as i64 },
    Limit { name: "MAXERRORS", what: "the run-time errors tolerated before the script stops", min: 0, max: 100_000 },
    Limit { name: "MAXSKIPPED", what: "the skipped probe hits tolerated before the script stops", min: 0, max: 1_000_000 },
    Limit { name: "MAXTRYLOCK", what: "the tries to take a global's lock", min: 0, max: 100_000 },
    Limit { name: "TRYLOCKDELAY", what: "the wait between two lock tries, in microseconds", min: 0, max: 1000 },
    Limit { name: "KRETACTIVE", what: "the outstanding returns a .return probe tracks", min: KRETACTIVE_RANGE.0, max: KRETACTIVE_RANGE.1 },
    Limit { name: "MAXBACKTRACE", what: "the frames of a back trace", min: 1, max: 256 },
    Limit { name: "RSTAP_STACK_BUDGET", what: "the kernel stack script function calls may use, in bytes", min: 512, max: 8192 },
    Limit { name: "RSTAP_PRINT_BUFSIZE", what: "the print buffer of one probe handler, in bytes", min: 256, max: 65536 },
    Limit { name: "RSTAP_RING_BUFSIZE", what: "the output buffer, in bytes (stap -s MB)", min: 4096, max: 1 << 32 },
];

/// An integer as C would read it in a `#define`: decimal, or 0x hex, with an
/// optional sign and an optional `L`/`U` suffix.
fn parse_c_integer(text: &str) -> Option<i64> {
    let t = text.trim().trim_end_matches(['u', 'U', 'l', 'L']);
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let v = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()?
    } else {
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        t.parse::<i64>().ok()?
    };
    Some(if neg { -v } else { v })
}

/// Checks every `-D` that sets a limit. Err: the first bad one, explained.
pub fn check_defines(defines: &[String]) -> Result<(), String> {
    for d in defines {
        let (name, value) = match d.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v)),
            None => (d.trim(), None),
        };
        let Some(limit) = LIMITS.iter().find(|l| l.name == name) else {
            continue;
        };
        let Some(value) = value else {
            return Err(format!("-D{name} needs a value: -D{name}=N, {} ({} to {})", limit.what, limit.min, limit.max));
        };
        let Some(n) = parse_c_integer(value) else {
            return Err(format!(
                "-D{name}={value} is not a number: {name} is {} ({} to {})",
                limit.what, limit.min, limit.max
            ));
        };
        if n < limit.min || n > limit.max {
            return Err(format!(
                "-D{name}={value} is out of range: {name} is {}, from {} to {}",
                limit.what, limit.min, limit.max
            ));
        }
        if name == "RSTAP_RING_BUFSIZE" && (n as u64).count_ones() != 1 {
            return Err(format!("-D{name}={value} is not a power of two"));
        }
    }
    Ok(())
}

/// Checks a declared array size (`global a[N]`). Err: the message.
pub fn check_array_size(name: &str, size: u64) -> Result<(), String> {
    if size > MAX_MAP_ENTRIES {
        return Err(format!("array `{name}` is declared with {size} entries, more than the limit of {MAX_MAP_ENTRIES}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(d: &str) -> Result<(), String> {
        check_defines(&[d.to_string()])
    }

    #[test]
    fn a_huge_string_length_is_refused_with_its_range() {
        assert_eq!(
            check("MAXSTRINGLEN=32768").unwrap_err(),
            "-DMAXSTRINGLEN=32768 is out of range: MAXSTRINGLEN is the size of a string value, in bytes, from 16 to 4096"
        );
        assert!(check("MAXSTRINGLEN=4096").is_ok());
        assert!(check("MAXSTRINGLEN=15").is_err());
    }

    #[test]
    fn every_limit_is_checked_at_both_ends() {
        for l in LIMITS {
            assert!(check(&format!("{}={}", l.name, l.max + 1)).is_err(), "{}", l.name);
            assert!(check(&format!("{}={}", l.name, l.min - 1)).is_err(), "{}", l.name);
            if l.name != "RSTAP_RING_BUFSIZE" {
                assert!(check(&format!("{}={}", l.name, l.max)).is_ok(), "{}", l.name);
                assert!(check(&format!("{}={}", l.name, l.min)).is_ok(), "{}", l.name);
            }
        }
    }

    #[test]
    fn values_must_be_numbers() {
        assert_eq!(
            check("MAXACTION=lots").unwrap_err(),
            "-DMAXACTION=lots is not a number: MAXACTION is the statements one probe handler may run (1 to 1000000)"
        );
        assert!(check("MAXACTION=1000 + 1").is_err());
        assert!(check("MAXACTION").is_err());
        assert!(check("MAXACTION=0x10").is_ok());
        assert!(check("MAXACTION=100L").is_ok());
        assert!(check("MAXNESTING=-1").is_err());
        assert!(check("RSTAP_RING_BUFSIZE=100000").is_err());
        assert!(check("RSTAP_RING_BUFSIZE=1048576").is_ok());
    }

    #[test]
    fn other_defines_are_not_limits() {
        assert!(check("MY_FLAG").is_ok());
        assert!(check("DEBUG=anything").is_ok());
    }

    #[test]
    fn array_sizes_have_a_ceiling() {
        assert!(check_array_size("a", 1 << 20).is_ok());
        assert_eq!(
            check_array_size("a", 4294967297).unwrap_err(),
            "array `a` is declared with 4294967297 entries, more than the limit of 1048576"
        );
    }
}
