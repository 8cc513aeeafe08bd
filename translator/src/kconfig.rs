//! The target kernel's configuration, for the preprocessor's `CONFIG_*`
//! conditionals (`%( CONFIG_HAVE_HW_BREAKPOINT == "y" %? ... %)`).
//!
//! Input: a kernel release. Output: `CONFIG_NAME -> value` from the first
//! config file found: the testbed image's `boot/config-RELEASE`,
//! `/boot/config-RELEASE`, the headers' `.config` (`/lib/modules/RELEASE/
//! build`, `/usr/src/linux-headers-RELEASE`); empty when there is none
//! (every `CONFIG_*` then reads as unset, as before). Invariants: string
//! values lose their quotes (`CONFIG_X="a"` reads `a`); `# ... is not set`
//! lines and malformed lines are skipped.

use std::collections::HashMap;
use std::path::PathBuf;

/// Parses a kernel `.config`.
pub fn parse(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.trim().split_once('=')?;
            if !k.starts_with("CONFIG_") || k.contains(char::is_whitespace) {
                return None;
            }
            let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(v);
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

/// The configuration of `release`, or an empty map.
pub fn read(release: &str) -> HashMap<String, String> {
    if release.is_empty() || release.contains('/') {
        return HashMap::new();
    }
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(image) = crate::vm::kallsyms::cached_image(release) {
        candidates.push(image.join(format!("boot/config-{release}")));
    }
    candidates.push(PathBuf::from(format!("/boot/config-{release}")));
    candidates.push(PathBuf::from(format!("/lib/modules/{release}/build/.config")));
    candidates.push(PathBuf::from(format!("/usr/src/linux-headers-{release}/.config")));
    candidates
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|t| parse(&t))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_without_quotes_and_unset_lines_skipped() {
        let c = super::parse("# comment\nCONFIG_HAVE_HW_BREAKPOINT=y\nCONFIG_HZ=250\nCONFIG_LOCALVERSION=\"-cloud\"\n# CONFIG_KASAN is not set\nbad\n");
        assert_eq!(c.get("CONFIG_HAVE_HW_BREAKPOINT").map(String::as_str), Some("y"));
        assert_eq!(c.get("CONFIG_HZ").map(String::as_str), Some("250"));
        assert_eq!(c.get("CONFIG_LOCALVERSION").map(String::as_str), Some("-cloud"));
        assert_eq!(c.get("CONFIG_KASAN"), None);
        assert_eq!(c.len(), 3);
    }
}
