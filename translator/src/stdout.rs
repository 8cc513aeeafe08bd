//! Standard output of the passes' results (`-l`, `-L`, `-p1`..`-p4`,
//! `--dump-*`).
//!
//! Input: the text to print. Output: the text on stdout. Invariants: a
//! reader that went away (`stap -l 'syscall.*' | head`) ends the output
//! quietly: the rest is dropped and stap exits as it would have, never
//! with a panic about a broken pipe; any other write error (a full disk
//! under `-p3 > file`) is an error message and exit status 1.

use std::io::{ErrorKind, Write};

fn check(r: std::io::Result<()>) -> bool {
    match r {
        Ok(()) => true,
        Err(e) if e.kind() == ErrorKind::BrokenPipe => false,
        Err(e) => {
            eprintln!("error: cannot write to standard output: {e}");
            std::process::exit(1);
        }
    }
}

/// Writes `text` as it is.
pub fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = check(out.write_all(text.as_bytes()).and_then(|()| out.flush()));
}

/// Writes each line with a newline; stops when the reader has gone.
pub fn print_lines<S: AsRef<str>>(lines: impl IntoIterator<Item = S>) {
    let mut out = std::io::stdout().lock();
    for l in lines {
        if !check(writeln!(out, "{}", l.as_ref())) {
            return;
        }
    }
    let _ = check(out.flush());
}
