//! The module cache as a user meets it: a second -p4 of the same script
//! uses the cached module; a cached module whose bytes no longer match
//! its recorded SHA-256 is not used (a warning, then a fresh build); a
//! cache directory owned by someone else is refused with a clear error.

mod headers_common;
use headers_common::headers_release;
use std::path::Path;
use std::process::{Command, Output};

fn p4(cache: &Path, rel: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stap"))
        .env("RSTAP_CACHE_DIR", cache)
        .args(["-p4", "-v", "-r", rel, "-e", "probe begin { println(\"cached\") exit() }"])
        .output()
        .expect("run stap")
}

#[test]
fn cached_modules_are_checked_before_use() {
    let Some(rel) = headers_release() else {
        panic!("no kernel headers under /usr/src: run scripts/test, which installs the testbed's");
    };
    let cache = tempfile::tempdir().unwrap();
    let first = p4(cache.path(), &rel);
    let err = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(0), "{err}");
    assert!(err.contains("compiled C into module"), "{err}");
    let ko = String::from_utf8(first.stdout).unwrap().trim().to_string();
    assert!(ko.starts_with(&cache.path().join("modules").display().to_string()), "{ko}");
    let recorded = std::fs::read_to_string(format!("{ko}.sha256")).unwrap();
    assert_eq!(recorded.trim().len(), 64);

    let second = p4(cache.path(), &rel);
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("using cached module"), "{err}");
    assert_eq!(String::from_utf8_lossy(&second.stdout).trim(), ko);

    let mut bytes = std::fs::read(&ko).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&ko, &bytes).unwrap();
    let third = p4(cache.path(), &rel);
    let err = String::from_utf8_lossy(&third.stderr);
    assert_eq!(third.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!("WARNING: the cached module {ko} does not match its recorded SHA-256; building it again")),
        "{err}"
    );
    assert!(err.contains("compiled C into module"), "{err}");
    assert_ne!(std::fs::read(&ko).unwrap(), bytes, "the rebuilt module replaced the tampered one");
}

#[test]
fn a_cache_owned_by_another_user_is_refused() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: giving a directory to another user needs root");
        return;
    }
    let Some(rel) = headers_release() else {
        panic!("no kernel headers under /usr/src: run scripts/test, which installs the testbed's");
    };
    let cache = tempfile::tempdir().unwrap();
    let modules = cache.path().join("modules");
    std::fs::create_dir(&modules).unwrap();
    std::os::unix::fs::chown(&modules, Some(65534), Some(65534)).unwrap();
    let o = p4(cache.path(), &rel);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!(
            "ERROR: refusing the cache directory {}: it is owned by uid 65534, not by the user running stap (uid 0); what it holds would be loaded into the kernel",
            modules.display()
        )),
        "{err}"
    );
    assert!(o.stdout.is_empty());
}
