//! The kernel headers that tests building modules (`-p4`) use: any
//! installed `/usr/src/linux-headers-REL` with a Makefile (scripts/test
//! installs the testbed's). Input: /usr/src. Output: the newest such REL.

use std::path::Path;

/// The newest installed kernel headers' release, if any.
pub fn headers_release() -> Option<String> {
    let mut rels: Vec<String> = std::fs::read_dir("/usr/src")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("linux-headers-") && !n.ends_with("-common"))
        .map(|n| n.trim_start_matches("linux-headers-").to_string())
        .filter(|r| Path::new(&format!("/usr/src/linux-headers-{r}/Makefile")).is_file())
        .collect();
    rels.sort();
    rels.pop()
}
