//! The testbed kernel's symbol table, read from the guest once.
//!
//! Debian's image packages ship a placeholder System.map, so pass 2 would
//! not know which functions the testbed kernel has. Input: a `Testbed`.
//! Output: `<image>/kallsyms`, the guest's `/proc/kallsyms` function
//! symbols (built-in kernel only), written once and reused. Invariants: the
//! file appears complete or not at all (written beside, then renamed).

use std::path::PathBuf;
use std::time::Duration;

use super::{run_jobs, GuestJob, RunOptions, Testbed};

/// The cached symbol table's path, reading it from a guest if needed.
pub fn symbol_table(tb: &Testbed, verbose: bool) -> Result<PathBuf, String> {
    let path = tb.image.join("kallsyms");
    if path.is_file() {
        return Ok(path);
    }
    if verbose {
        eprintln!("testbed: reading the kernel's symbol table from a guest (once)");
    }
    let job = GuestJob::cmd(&["sh", "-c", "grep -v '\\[' /proc/kallsyms | grep ' [tTwW] '"]);
    let opts = RunOptions { verbose, timeout: Duration::from_secs(300), live: false };
    let results = run_jobs(tb, &[job], &opts)?;
    let r = results.into_iter().next().ok_or("the testbed returned no result")?;
    if r.status != 0 || r.stdout.len() < 100_000 {
        return Err(format!(
            "could not read /proc/kallsyms in the testbed (status {}): {}",
            r.status,
            String::from_utf8_lossy(&r.stderr)
        ));
    }
    let tmp = tb.image.join(format!(".kallsyms.{}.tmp", std::process::id()));
    std::fs::write(&tmp, &r.stdout).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// The extracted image of `release` in the testbed cache, if it is there
/// (so that `-r RELEASE` without `--vm` also knows the testbed's symbols).
pub fn cached_image(release: &str) -> Option<PathBuf> {
    let cache = super::setup::cache_dir(&super::SetupOptions::default()).ok()?;
    let image = cache.join(release);
    image.join(".complete").is_file().then_some(image)
}
