//! Where a script's output goes: stdout, or `-o FILE` with file switching.
//!
//! Input: the script's output bytes in the order the module produced them,
//! and switch points between them (`switch_file()` in the script, SIGUSR2
//! to staprun, or `-S SIZE` when the next write would make the file larger
//! than SIZE). Output: the files. Naming, from SystemTap's documentation:
//! without `-S`, the first file is FILE and each switch opens FILE.1,
//! FILE.2, ... (staprun(8), "FILE SWITCHING BY SIGNAL"); with `-S` every
//! file carries a number suffix (the Beginners Guide's "File Flight
//! Recorder": files named FILE.[0-9]+), FILE.0 first. With `-S SIZE,N` at
//! most N files are kept: opening file k removes file k-N. Without `-o`
//! a switch does nothing (function::switch_file: "when output is sent to
//! file(s)").
//!
//! Invariants: bytes are written in order and never dropped; with `-S
//! SIZE` no file grows past SIZE bytes (a write that would overflow a file
//! that already holds something goes whole to the next file; one larger
//! than SIZE on its own is split at SIZE); a removed file is only ever one
//! this session created.
//!
//! The testbed (`--vm`) carries the same events out of the guest on the
//! job's stdout: staprun's `--framed-output` writes each output chunk and
//! each switch as a frame ([`write_frame`]), and the host replays the
//! frames into the files with [`replay_frames`].

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// `-S SIZE[,N]`: at most `size_bytes` per file, at most `keep` files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwitchLimits {
    pub size_bytes: u64,
    pub keep: Option<u64>,
}

/// The largest `-S` SIZE, in megabytes (1 TiB per file).
pub const MAX_SWITCH_MB: u64 = 1 << 20;
/// The largest `-S` N.
pub const MAX_SWITCH_FILES: u64 = 1 << 20;

/// Parses `-S SIZE[,N]` (SIZE in megabytes, N the files kept).
pub fn parse_switch_limits(s: &str) -> Result<SwitchLimits, String> {
    let num = |t: &str, what: &str, max: u64| -> Result<u64, String> {
        let t = t.trim();
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{what} must be a positive whole number, found {t:?} (expected SIZE[,N]: megabytes per output file, output files kept)"));
        }
        match t.parse::<u64>() {
            Ok(0) => Err(format!("{what} must be at least 1, found 0")),
            Ok(n) if n <= max => Ok(n),
            _ => Err(format!("{what} must be at most {max}, found {t}")),
        }
    };
    let (size, keep) = match s.split_once(',') {
        None => (s, None),
        Some((a, b)) => (a, Some(b)),
    };
    let size_mb = num(size, "the output file size (megabytes)", MAX_SWITCH_MB)?;
    let keep = keep.map(|k| num(k, "the number of output files", MAX_SWITCH_FILES)).transpose()?;
    Ok(SwitchLimits { size_bytes: size_mb << 20, keep })
}

/// The script's output: stdout, or the current file of `-o FILE`.
pub enum Output {
    Stdout(std::io::Stdout),
    Files(OutputFiles),
    /// `--framed-output`: frames on stdout for the host to replay.
    Framed(std::io::Stdout),
}

impl Output {
    /// Opens the first output file (FILE, or FILE.0 under `-S`).
    pub fn open(file: Option<&Path>, limits: Option<SwitchLimits>, framed: bool) -> Result<Output, String> {
        Ok(match (file, framed) {
            (_, true) => Output::Framed(std::io::stdout()),
            (Some(p), false) => Output::Files(OutputFiles::create(p, limits)?),
            (None, false) => Output::Stdout(std::io::stdout()),
        })
    }

    pub fn write_all(&mut self, data: &[u8]) -> Result<(), String> {
        match self {
            Output::Stdout(o) => o.write_all(data).map_err(|e| format!("ERROR: writing output: {e}")),
            Output::Files(f) => f.write_all(data),
            Output::Framed(o) => write_frame(o, FRAME_OUTPUT, data).map_err(|e| format!("ERROR: writing output: {e}")),
        }
    }

    /// Switches to the next file (a no-op on stdout).
    pub fn switch(&mut self) -> Result<(), String> {
        match self {
            Output::Stdout(_) => Ok(()),
            Output::Files(f) => f.switch(),
            Output::Framed(o) => write_frame(o, FRAME_SWITCH, &[]).map_err(|e| format!("ERROR: writing output: {e}")),
        }
    }

    pub fn flush(&mut self) {
        let _ = match self {
            Output::Stdout(o) | Output::Framed(o) => o.flush(),
            Output::Files(f) => f.file.flush(),
        };
    }
}

/// `-o FILE` and its successors.
pub struct OutputFiles {
    base: PathBuf,
    limits: Option<SwitchLimits>,
    /// The current file's number (0 is FILE itself without `-S`).
    index: u64,
    file: File,
    /// Bytes in the current file.
    written: u64,
}

impl OutputFiles {
    pub fn create(base: &Path, limits: Option<SwitchLimits>) -> Result<OutputFiles, String> {
        let path = file_name(base, limits.is_some(), 0);
        let file = create(&path)?;
        Ok(OutputFiles { base: base.to_path_buf(), limits, index: 0, file, written: 0 })
    }

    /// The current file's path.
    pub fn current(&self) -> PathBuf {
        file_name(&self.base, self.limits.is_some(), self.index)
    }

    pub fn write_all(&mut self, mut data: &[u8]) -> Result<(), String> {
        if let Some(l) = self.limits {
            if self.written > 0 && self.written.saturating_add(data.len() as u64) > l.size_bytes {
                self.switch()?;
            }
            // One write larger than a whole file: split at SIZE.
            while data.len() as u64 > l.size_bytes {
                let (head, rest) = data.split_at(l.size_bytes as usize);
                self.put(head)?;
                self.switch()?;
                data = rest;
            }
        }
        self.put(data)
    }

    fn put(&mut self, data: &[u8]) -> Result<(), String> {
        if data.is_empty() {
            return Ok(());
        }
        self.file.write_all(data).map_err(|e| format!("ERROR: writing output file {}: {e}", self.current().display()))?;
        self.written += data.len() as u64;
        Ok(())
    }

    /// Closes the current file and opens the next one; with `-S SIZE,N`,
    /// removes the one that is now the N+1th newest.
    pub fn switch(&mut self) -> Result<(), String> {
        let _ = self.file.flush();
        let next = self.index + 1;
        let path = file_name(&self.base, self.limits.is_some(), next);
        self.file = create(&path)?;
        self.index = next;
        self.written = 0;
        if let Some(keep) = self.limits.and_then(|l| l.keep) {
            if next >= keep {
                let old = file_name(&self.base, true, next - keep);
                if let Err(e) = std::fs::remove_file(&old) {
                    if e.kind() != std::io::ErrorKind::NotFound {
                        eprintln!("WARNING: cannot remove the old output file {}: {e}", old.display());
                    }
                }
            }
        }
        Ok(())
    }
}

/// FILE.N (FILE itself for N = 0 without `-S`).
pub fn file_name(base: &Path, numbered: bool, index: u64) -> PathBuf {
    if index == 0 && !numbered {
        return base.to_path_buf();
    }
    let mut s = base.as_os_str().to_os_string();
    s.push(format!(".{index}"));
    PathBuf::from(s)
}

fn create(path: &Path) -> Result<File, String> {
    File::create(path).map_err(|e| format!("ERROR: cannot create output file {}: {e}", path.display()))
}

/// A frame of `--framed-output`: output bytes.
pub const FRAME_OUTPUT: u8 = b'O';
/// A frame of `--framed-output`: switch to the next file.
pub const FRAME_SWITCH: u8 = b'S';

/// One frame: its kind, the payload's length (u32, little endian), the payload.
pub fn write_frame(w: &mut impl Write, kind: u8, payload: &[u8]) -> std::io::Result<()> {
    let mut head = [0u8; 5];
    head[0] = kind;
    head[1..].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    w.write_all(&head)?;
    w.write_all(payload)
}

/// Replays the frames of a guest staprun's `--framed-output` into `-o
/// FILE` (with `limits`). A frame cut short (the guest died mid-write)
/// keeps the part that arrived; bytes that are not frames at all are an
/// error after everything before them was written.
pub fn replay_frames(frames: &[u8], base: &Path, limits: Option<SwitchLimits>) -> Result<(), String> {
    let mut out = OutputFiles::create(base, limits)?;
    let mut rest = frames;
    while !rest.is_empty() {
        if rest.len() < 5 {
            return Err(format!("the guest's output ends inside a frame header ({} bytes)", rest.len()));
        }
        let len = u32::from_le_bytes(rest[1..5].try_into().unwrap()) as usize;
        let payload = &rest[5..5 + len.min(rest.len() - 5)];
        match rest[0] {
            FRAME_OUTPUT => out.write_all(payload)?,
            FRAME_SWITCH => out.switch()?,
            k => return Err(format!("the guest's output holds an unknown frame kind {k:#04x}")),
        }
        rest = &rest[5 + payload.len()..];
    }
    let _ = out.file.flush();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).unwrap_or_else(|e| format!("<{e}>"))
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn limits_parse_in_megabytes_and_reject_bad_values() {
        assert_eq!(parse_switch_limits("2"), Ok(SwitchLimits { size_bytes: 2 << 20, keep: None }));
        assert_eq!(parse_switch_limits("1,3"), Ok(SwitchLimits { size_bytes: 1 << 20, keep: Some(3) }));
        let e = |s| parse_switch_limits(s).unwrap_err();
        assert_eq!(e("0"), "the output file size (megabytes) must be at least 1, found 0");
        assert_eq!(e("1,0"), "the number of output files must be at least 1, found 0");
        assert_eq!(
            e("big"),
            "the output file size (megabytes) must be a positive whole number, found \"big\" (expected SIZE[,N]: megabytes per output file, output files kept)"
        );
        assert_eq!(
            e("1,"),
            "the number of output files must be a positive whole number, found \"\" (expected SIZE[,N]: megabytes per output file, output files kept)"
        );
        assert_eq!(
            e("-1"),
            "the output file size (megabytes) must be a positive whole number, found \"-1\" (expected SIZE[,N]: megabytes per output file, output files kept)"
        );
        assert_eq!(e("1048577"), "the output file size (megabytes) must be at most 1048576, found 1048577");
        assert_eq!(e("99999999999999999999999"), "the output file size (megabytes) must be at most 1048576, found 99999999999999999999999");
        assert_eq!(e("1,2,3"), "the number of output files must be a positive whole number, found \"2,3\" (expected SIZE[,N]: megabytes per output file, output files kept)");
    }

    #[test]
    fn switches_go_to_file_dot_n_after_file() {
        let d = tempfile::tempdir().unwrap();
        let base = d.path().join("foo");
        let mut o = OutputFiles::create(&base, None).unwrap();
        o.write_all(b"one\n").unwrap();
        o.switch().unwrap();
        o.write_all(b"two\n").unwrap();
        o.switch().unwrap();
        o.write_all(b"three\n").unwrap();
        drop(o);
        assert_eq!(names(d.path()), ["foo", "foo.1", "foo.2"]);
        assert_eq!(read(&base), "one\n");
        assert_eq!(read(&d.path().join("foo.1")), "two\n");
        assert_eq!(read(&d.path().join("foo.2")), "three\n");
    }

    #[test]
    fn with_a_size_limit_every_file_is_numbered_and_at_most_size() {
        let d = tempfile::tempdir().unwrap();
        let base = d.path().join("log");
        let mut o = OutputFiles::create(&base, Some(SwitchLimits { size_bytes: 10, keep: None })).unwrap();
        o.write_all(b"aaaa\n").unwrap();
        o.write_all(b"bbbb\n").unwrap(); // exactly 10: stays
        o.write_all(b"c\n").unwrap(); // would be 12: next file
        o.switch().unwrap(); // switch_file() also numbers on
        o.write_all(b"0123456789abcdefghijXY").unwrap(); // larger than a file: split
        drop(o);
        assert_eq!(names(d.path()), ["log.0", "log.1", "log.2", "log.3", "log.4"]);
        assert_eq!(read(&d.path().join("log.0")), "aaaa\nbbbb\n");
        assert_eq!(read(&d.path().join("log.1")), "c\n");
        assert_eq!(read(&d.path().join("log.2")), "0123456789");
        assert_eq!(read(&d.path().join("log.3")), "abcdefghij");
        assert_eq!(read(&d.path().join("log.4")), "XY");
    }

    #[test]
    fn at_most_n_files_are_kept_the_oldest_removed() {
        let d = tempfile::tempdir().unwrap();
        let base = d.path().join("out");
        // A file of an earlier run with a number this run does not reach stays.
        std::fs::write(d.path().join("out.9"), "old run\n").unwrap();
        let mut o = OutputFiles::create(&base, Some(SwitchLimits { size_bytes: 4, keep: Some(2) })).unwrap();
        for line in ["l0\n", "l1\n", "l2\n", "l3\n", "l4\n"] {
            o.write_all(line.as_bytes()).unwrap();
        }
        drop(o);
        assert_eq!(names(d.path()), ["out.3", "out.4", "out.9"]);
        assert_eq!(read(&d.path().join("out.3")), "l3\n");
        assert_eq!(read(&d.path().join("out.4")), "l4\n");
        let mut o = OutputFiles::create(&base, Some(SwitchLimits { size_bytes: 4, keep: Some(1) })).unwrap();
        o.write_all(b"x\n").unwrap();
        o.switch().unwrap();
        o.write_all(b"y\n").unwrap();
        drop(o);
        assert_eq!(names(d.path()), ["out.1", "out.3", "out.4", "out.9"]);
        assert_eq!(read(&d.path().join("out.1")), "y\n");
    }

    #[test]
    fn frames_replay_into_the_same_files() {
        let d = tempfile::tempdir().unwrap();
        let base = d.path().join("vm");
        let mut f = Vec::new();
        write_frame(&mut f, FRAME_OUTPUT, b"before\n").unwrap();
        write_frame(&mut f, FRAME_SWITCH, b"").unwrap();
        write_frame(&mut f, FRAME_OUTPUT, b"after\n").unwrap();
        write_frame(&mut f, FRAME_SWITCH, b"").unwrap();
        write_frame(&mut f, FRAME_OUTPUT, b"last line, cut").unwrap();
        let cut = &f[..f.len() - 5];
        replay_frames(cut, &base, None).unwrap();
        assert_eq!(names(d.path()), ["vm", "vm.1", "vm.2"]);
        assert_eq!(read(&base), "before\n");
        assert_eq!(read(&d.path().join("vm.1")), "after\n");
        assert_eq!(read(&d.path().join("vm.2")), "last line");
        let e = replay_frames(b"Xhello", &d.path().join("bad"), None).unwrap_err();
        assert_eq!(e, "the guest's output holds an unknown frame kind 0x58");
    }
}
