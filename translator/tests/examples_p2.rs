//! The tapset library's yardstick as a ratchet: how many of the example
//! scripts of Debian's `systemtap-doc` package elaborate (`stap -p2`)
//! against the testbed's 6.1 kernel.
//!
//! Input: `/usr/share/systemtap/examples/*/*.meta` (each example is run
//! the way its `test_check:` line runs it, with its own arguments and
//! `-g`, `-p N` replaced by `-p2`; shell-driven examples and those that
//! need the host's /proc are skipped, as `../shared/tools/examples-p2`
//! does), the real `stap` binary, the testbed's kernel release and its
//! debuginfo. Output: a pass when at least `RATCHET` examples elaborate;
//! every failure's first error is printed either way.
//! Invariants: the count may only go up: when a change makes more
//! examples elaborate, raise `RATCHET` to the new count. The test is
//! skipped (with a message) only when systemtap-doc is absent and cannot
//! be installed.

use std::path::Path;
use std::process::{Command, Stdio};

use rstap::vm::{self, SetupOptions};

/// The number of examples that elaborated when this was last raised.
const RATCHET: usize = 152;

const EXAMPLES: &str = "/usr/share/systemtap/examples";

/// Runs every example with -p2; prints "OK NAME" / "FAIL NAME: first error"
/// lines. $1 is the stap binary, $2 the kernel release.
const RUNNER: &str = r#"
bin=$1; rel=$2; ex=/usr/share/systemtap/examples
err=$(mktemp)
for meta in "$ex"/*/*.meta; do
  line=$(grep -m1 '^test_check:' "$meta" | sed 's/^test_check: *//')
  [[ $line == stap* ]] || continue
  [[ $line == *'`'* ]] && continue
  args=${line#stap}
  args=$(sed -E 's/(^| )-([a-zA-Z]*)p ?[0-9]/\1-\2/g; s/(^| )-( |$)/\1/g' <<<"$args")
  if (cd "$(dirname "$meta")" && eval timeout 300 "$bin" -p2 -r "$rel" $args) </dev/null >/dev/null 2>"$err"; then
    echo "OK $(basename "$meta" .meta)"
  else
    echo "FAIL $(basename "$meta" .meta): $(grep -m1 -iE 'error' "$err" | cut -c1-160)"
  fi
done
rm -f "$err"
"#;

fn have_examples() -> bool {
    Path::new(EXAMPLES).is_dir()
}

#[test]
fn examples_elaborate_ratchet() {
    if !have_examples() {
        let _ = Command::new("apt-get")
            .args(["install", "-y", "-qq", "systemtap-doc"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    if !have_examples() {
        eprintln!("examples_p2: skipped: {EXAMPLES} is missing and `apt-get install systemtap-doc` did not provide it");
        return;
    }
    let tb = vm::setup_with(&SetupOptions::default()).expect("testbed setup");
    vm::dbg::fetch(&tb.cache, &tb.release, false).expect("the testbed kernel's debuginfo");
    let out = Command::new("bash")
        .args(["-c", RUNNER, "examples-p2", env!("CARGO_BIN_EXE_stap"), &tb.release])
        .stdin(Stdio::null())
        .output()
        .expect("run bash");
    let text = String::from_utf8_lossy(&out.stdout);
    let total = text.lines().filter(|l| l.starts_with("OK ") || l.starts_with("FAIL ")).count();
    let ok = text.lines().filter(|l| l.starts_with("OK ")).count();
    for l in text.lines().filter(|l| l.starts_with("FAIL ")) {
        eprintln!("{l}");
    }
    eprintln!("examples -p2: {ok}/{total} against {}", tb.release);
    assert!(total > 100, "only {total} examples were run (is systemtap-doc complete?)\n{text}");
    assert!(ok >= RATCHET, "examples -p2: {ok}/{total}, fewer than the {RATCHET} that elaborated before");
    if ok > RATCHET {
        eprintln!("examples_p2: {ok} now elaborate: raise RATCHET in tests/examples_p2.rs from {RATCHET} to {ok}");
    }
}

/// `stap --dump-functions` lists the library in SystemTap's format, and
/// every public tapset function carries a `/** sfunction NAME - ...` doc
/// comment right above it (what the reference is generated from).
#[test]
fn dump_functions_and_doc_comments() {
    let out = Command::new(env!("CARGO_BIN_EXE_stap")).arg("--dump-functions").output().expect("run stap");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listing = String::from_utf8_lossy(&out.stdout);
    for want in [
        "tokenize:string (input:string, delim:string)",
        "task_pid:long (task:long)",
        "ansi_clear_screen:unknown ()",
        "errno_str:string (err:long)",
        "MKDEV:long (major:long, minor:long)",
        "thread_indent:string (delta:long)",
    ] {
        assert!(listing.lines().any(|l| l == want), "--dump-functions lacks `{want}`:\n{listing}");
    }
    assert!(!listing.lines().any(|l| l.starts_with('_')), "helpers starting with _ are listed:\n{listing}");
    let aliases = Command::new(env!("CARGO_BIN_EXE_stap")).arg("--dump-probe-aliases").output().expect("run stap");
    let aliases = String::from_utf8_lossy(&aliases.stdout);
    assert!(aliases.lines().any(|l| l == "vfs.read = kernel.function(\"vfs_read\")"), "{aliases}");

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tapsets");
    let mut missing = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.retain(|p| p.extension().is_some_and(|x| x == "stp"));
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            let Some(rest) = l.strip_prefix("function ") else { continue };
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if name.starts_with('_') {
                continue;
            }
            let start = lines[..i].iter().rposition(|l| l.starts_with("/**"));
            let documented = i > 0
                && lines[i - 1].trim() == "*/"
                && start.is_some_and(|s| lines[s + 1].contains(&format!("sfunction {name} - ")));
            if !documented {
                missing.push(format!("{}:{}: {name}", f.display(), i + 1));
            }
        }
    }
    assert!(missing.is_empty(), "functions without a `/** sfunction NAME - ...` doc comment:\n{}", missing.join("\n"));
}
