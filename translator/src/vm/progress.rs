//! progress: what the testbed setup tells a user at a terminal while apt
//! installs packages and downloads the kernel image or its -dbg package.
//!
//! Input: a [`ProgressTo`] (where progress goes: stderr when it is a
//! terminal, nowhere, or a file for tests). Output: one-line notes
//! (`testbed: installing ...`) and the child's stdout for apt, so that apt
//! draws its own download meter (`45% [1 linux-image-... 30.2 MB/68.5 MB
//! 44%]`) and, with `Dpkg::Progress-Fancy`, its install bar.
//! Invariants: when stderr is not a terminal (CI, pipes, `2>log`) and no
//! file is given, nothing is printed and apt's stdout is captured, never
//! shown; a note is always one whole line.

use std::fs::File;
use std::io::{IsTerminal, Write};
use std::process::Stdio;
use std::sync::Arc;

/// Where setup progress goes.
#[derive(Debug, Clone, Default)]
pub enum ProgressTo {
    /// To stderr when stderr is a terminal; otherwise nowhere.
    #[default]
    Auto,
    /// Nowhere.
    Off,
    /// To this file (tests: a stand-in's "terminal").
    File(Arc<File>),
}

/// The resolved sink of one setup run.
#[derive(Debug, Clone)]
pub struct Progress {
    out: Option<Out>,
}

#[derive(Debug, Clone)]
enum Out {
    Stderr,
    File(Arc<File>),
}

impl Progress {
    pub fn new(to: &ProgressTo) -> Progress {
        let out = match to {
            ProgressTo::Auto => std::io::stderr().is_terminal().then_some(Out::Stderr),
            ProgressTo::Off => None,
            ProgressTo::File(f) => Some(Out::File(f.clone())),
        };
        Progress { out }
    }

    /// Is progress shown at all?
    pub fn enabled(&self) -> bool {
        self.out.is_some()
    }

    /// Prints `testbed: MSG` as one line (nothing when disabled).
    pub fn say(&self, msg: &str) {
        let line = format!("testbed: {msg}\n");
        match &self.out {
            None => {}
            Some(Out::Stderr) => {
                let _ = std::io::stderr().lock().write_all(line.as_bytes());
            }
            Some(Out::File(f)) => {
                let _ = (&**f).write_all(line.as_bytes());
            }
        }
    }

    /// The stdout to give apt: the progress sink (apt sees a terminal and
    /// draws its meter) or a pipe whose text is only kept for errors.
    pub fn child_stdout(&self) -> Stdio {
        let dup = match &self.out {
            None => None,
            Some(Out::Stderr) => {
                use std::os::fd::AsFd;
                std::io::stderr().as_fd().try_clone_to_owned().ok().map(Stdio::from)
            }
            Some(Out::File(f)) => f.try_clone().ok().map(Stdio::from),
        };
        dup.unwrap_or_else(Stdio::piped)
    }
}

/// `68512345` -> `68.5 MB` (decimal units, as apt prints them).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1000.0;
    let mut unit = 0;
    while v >= 1000.0 && unit + 1 < UNITS.len() {
        v /= 1000.0;
        unit += 1;
    }
    if v >= 100.0 {
        format!("{v:.0} {}", UNITS[unit])
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_apt() {
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(68_512_345), "68.5 MB");
        assert_eq!(human_size(281_000_000), "281 MB");
        assert_eq!(human_size(1_700_000_000), "1.7 GB");
    }

    #[test]
    fn off_is_off() {
        let p = Progress::new(&ProgressTo::Off);
        assert!(!p.enabled());
    }
}
