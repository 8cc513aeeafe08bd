//! How a run ends, seen from the user's terminal: Ctrl-C stops the script
//! cleanly (end probes run, status 0), `-o FILE` receives the output, and
//! errors give a non-zero status. Each test drives the real `stap --vm`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn ctrl_c_runs_end_probes_and_exits_cleanly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stap"))
        .args(["--vm", "-e"])
        .arg("global ticks; probe timer.ms(100) { ticks++; if (ticks == 1) println(\"running\") } probe end { println(\"end ran\") }")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn stap");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().expect("a first line").expect("read");
    assert_eq!(first, "running");
    // SAFETY: sending SIGINT to our own child, as a terminal's Ctrl-C would.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let deadline = Instant::now() + Duration::from_secs(120);
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let status = child.wait().unwrap();
    assert!(Instant::now() < deadline);
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(rest, vec!["end ran".to_string()], "stderr: {err}");
    assert_eq!(status.code(), Some(0), "stderr: {err}");
}

#[test]
fn output_file_receives_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("trace.txt");
    let o = Command::new(env!("CARGO_BIN_EXE_stap"))
        .args(["--vm", "-o"])
        .arg(&out)
        .args(["-e", "probe begin { printf(\"to the file %d\\n\", 42); exit() }"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "to the file 42\n");
}
