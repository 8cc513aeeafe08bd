//! Output file switching as a user meets it: `stap -o FILE` with the
//! script's `switch_file()` (FILE, FILE.1, ...), `-S SIZE[,N]` (FILE.0,
//! FILE.1, ..., each at most SIZE megabytes, the N newest kept), and the
//! command line's errors for bad `-S` arguments. The `--vm` tests drive the
//! real `stap --vm` (the guest's staprun frames the output, the host writes
//! the files: run/output.rs); testsuite/runok/switch_file_* run staprun's
//! own `-o`, `-S` and SIGUSR2 in the guest.

use std::path::Path;
use std::process::{Command, Output};

fn stap(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stap")).current_dir(dir).args(args).output().expect("run stap")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The file names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn bad_switch_limits_are_clear_errors() {
    let d = tempfile::tempdir().unwrap();
    let shape = "(expected SIZE[,N]: megabytes per output file, output files kept)";
    let cases = [
        ("0", "the output file size (megabytes) must be at least 1, found 0".to_string()),
        ("2,0", "the number of output files must be at least 1, found 0".to_string()),
        ("big", format!("the output file size (megabytes) must be a positive whole number, found \"big\" {shape}")),
        ("1,x", format!("the number of output files must be a positive whole number, found \"x\" {shape}")),
        ("1.5", format!("the output file size (megabytes) must be a positive whole number, found \"1.5\" {shape}")),
        ("1048577", "the output file size (megabytes) must be at most 1048576, found 1048577".to_string()),
        ("18446744073709551616", "the output file size (megabytes) must be at most 1048576, found 18446744073709551616".to_string()),
        ("1,2000000", "the number of output files must be at most 1048576, found 2000000".to_string()),
    ];
    for (value, why) in cases {
        let o = stap(d.path(), &["-o", "out", "-S", value, "-p1", "-e", "probe begin { }"]);
        assert_eq!(o.status.code(), Some(2), "-S {value}");
        assert_eq!(text(&o.stderr), format!("error: invalid value '{value}' for '-S <SIZE[,N]>': {why}\n\nFor more information, try '--help'.\n"));
        assert_eq!(text(&o.stdout), "");
    }
    let o = stap(d.path(), &["-S", "2,3", "-p1", "-e", "probe begin { }"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        text(&o.stderr),
        "error: -S SIZE[,N] limits the output files of -o FILE, and there is no -o: the output goes to stdout\n"
    );
    // Good values pass (pass 1 prints the script; nothing is written yet).
    let o = stap(d.path(), &["-o", "out", "-S", "1048576,1048576", "-p1", "-e", "probe begin { }"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stderr), "");
    assert_eq!(names(d.path()), Vec::<String>::new());
}

#[test]
fn switchfile_example_elaborates() {
    let ex = Path::new("/usr/share/systemtap/examples/io/switchfile.stp");
    if !ex.exists() {
        eprintln!("systemtap-doc is not installed: skipped");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let o = stap(d.path(), &["-p2", "-r", "0.0.0-semtest", ex.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("switch_file()"), "{}", text(&o.stdout));
}

#[test]
fn vm_switch_file_moves_the_output_to_file_dot_n() {
    let d = tempfile::tempdir().unwrap();
    let o = stap(
        d.path(),
        &[
            "--vm",
            "-o",
            "trace",
            "-e",
            "probe begin { println(\"first\"); switch_file(); println(\"second\"); switch_file() }\n\
             probe end { println(\"third, from end\") }\n\
             probe timer.ms(200) { exit() }",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "");
    assert_eq!(text(&o.stderr), "");
    assert_eq!(names(d.path()), ["trace", "trace.1", "trace.2"]);
    let read = |n: &str| std::fs::read_to_string(d.path().join(n)).unwrap();
    assert_eq!(read("trace"), "first\n");
    assert_eq!(read("trace.1"), "second\n");
    assert_eq!(read("trace.2"), "third, from end\n");
}

#[test]
fn vm_size_limit_numbers_the_files_and_keeps_the_newest() {
    // Each tick prints 80 lines of 101 bytes (one 8080-byte write); 129 of
    // them fit a 1 MiB file, the 130th goes to the next one.
    let d = tempfile::tempdir().unwrap();
    let o = stap(
        d.path(),
        &[
            "--vm",
            "-s",
            "4",
            "-o",
            "big",
            "-S",
            "1,2",
            "-e",
            "global n\n\
             probe timer.ms(1) { for (i = 0; i < 80; i++) printf(\"%0100d\\n\", n++); if (n >= 40000) exit() }",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stderr), "");
    let files = names(d.path());
    assert_eq!(files.len(), 2, "{files:?}");
    let first: u64 = files[0].strip_prefix("big.").and_then(|n| n.parse().ok()).expect("big.N");
    // 40000+ lines of 101 bytes are 4 MB: files .0 to .3 at least, .2 and .3 kept.
    assert!(first >= 2, "{files:?}");
    assert_eq!(files, [format!("big.{first}"), format!("big.{}", first + 1)]);
    let older = std::fs::read_to_string(d.path().join(&files[0])).unwrap();
    let newer = std::fs::read_to_string(d.path().join(&files[1])).unwrap();
    assert_eq!(older.len(), 129 * 8080, "a full file holds 129 writes");
    assert!(!newer.is_empty() && newer.len() <= 129 * 8080);
    // The lines run on without a gap: file k holds lines 129*80*k onwards.
    let lines: Vec<u64> = older.lines().chain(newer.lines()).map(|l| l.parse().unwrap()).collect();
    let start = first * 129 * 80;
    assert_eq!(lines, (start..start + lines.len() as u64).collect::<Vec<_>>());
    assert!(*lines.last().unwrap() >= 39999);
}
