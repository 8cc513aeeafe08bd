//! The stap command line as a user meets it: -p stops after a pass and
//! prints that pass's result, -v times the passes, -k keeps the build
//! directory and says where, -m names the module, arguments reach $1/@1;
//! -w / -W, the flags scripts carry that rstap accepts without acting on
//! them (each says so), --dump-functions / --dump-probe-aliases, and
//! pass-1 rejections as the command line shows them.

mod headers_common;
use headers_common::headers_release;
use std::process::{Command, Output};

fn stap(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stap")).current_dir(dir).args(args).output().expect("run stap")
}

#[test]
fn p1_prints_the_script_back() {
    let d = tempfile::tempdir().unwrap();
    let o = stap(d.path(), &["-p1", "-e", "global n;probe begin{n=1+2*3;printf(\"%d\\n\",n)}"]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("global n"), "{out}");
    assert!(out.contains("n = 1 + 2 * 3"), "{out}");
    assert!(out.contains("printf(\"%d\\n\", n)"), "{out}");
}

#[test]
fn arguments_fill_positionals() {
    let d = tempfile::tempdir().unwrap();
    let o = stap(d.path(), &["-p1", "-e", "probe begin { printf(\"%d %s\\n\", $1, @2) }", "42", "word"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("printf(\"%d %s\\n\", 42, \"word\")"));
}

#[test]
fn p3_prints_kernel_c() {
    let d = tempfile::tempdir().unwrap();
    let o = stap(d.path(), &["-p3", "-m", "cli_p3", "-e", "probe begin { println(\"hi\") }"]);
    assert_eq!(o.status.code(), Some(0));
    let c = String::from_utf8_lossy(&o.stdout);
    assert!(c.contains("#include \"rstap_runtime.h\""));
    assert!(c.contains("MODULE_LICENSE(\"GPL\");"));
    assert!(c.contains("proc_create(\"rstap_cli_p3\""));
}

#[test]
fn v_times_each_pass() {
    let d = tempfile::tempdir().unwrap();
    let o = stap(d.path(), &["-v", "-p3", "-e", "probe begin { exit() }"]);
    let e = String::from_utf8_lossy(&o.stderr);
    for pass in ["Pass 1: parsed user script", "Pass 2: analyzed script", "Pass 3: translated to C"] {
        assert!(e.contains(pass), "{e}");
    }
    assert!(!e.contains("Pass 4"), "{e}");
}

#[test]
fn bad_module_name_is_rejected() {
    let d = tempfile::tempdir().unwrap();
    let o = stap(d.path(), &["-p3", "-m", "bad-name", "-e", "probe begin { }"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("invalid module name `bad-name`"));
}

#[test]
fn p4_with_m_leaves_the_module_here_and_k_keeps_the_build() {
    let Some(rel) = headers_release() else {
        panic!("no kernel headers under /usr/src: run scripts/test, which installs the testbed's");
    };
    let d = tempfile::tempdir().unwrap();
    let o = stap(d.path(), &["-p4", "-k", "-r", &rel, "-m", "cli_hello", "-e", "probe begin { println(\"hi\") }"]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{e}");
    assert_eq!(String::from_utf8_lossy(&o.stdout), "cli_hello.ko\n");
    assert!(d.path().join("cli_hello.ko").is_file());
    let kept = e
        .lines()
        .find_map(|l| l.strip_prefix("Keeping temporary directory \"").and_then(|r| r.strip_suffix('"')))
        .unwrap_or_else(|| panic!("no kept directory in: {e}"));
    assert!(std::path::Path::new(kept).join("cli_hello.c").is_file());
    assert!(!e.contains("warning:"), "{e}");
    std::fs::remove_dir_all(kept).unwrap();
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const UNUSED: &str = "global unused; probe begin { exit() }";

#[test]
fn warnings_are_shown_by_default_dropped_by_w_and_errors_with_capital_w() {
    let d = tempfile::tempdir().unwrap();
    let o = stap(d.path(), &["-p2", "-e", UNUSED]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o.stderr).starts_with("warning: eliding unused variable `unused`\n"), "{}", text(&o.stderr));
    let o = stap(d.path(), &["-w", "-p2", "-e", UNUSED]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(text(&o.stderr), "");
    let o = stap(d.path(), &["-W", "-p2", "-e", UNUSED]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(o.stdout, b"");
    assert_eq!(
        text(&o.stderr),
        "error: eliding unused variable `unused`\n  ┌─ <input>:1:8\n  │\n1 │ global unused; probe begin { exit() }\n  \
         │        ^^^^^^\n  │\n  = warnings are errors (-W)\n\n"
    );
}

#[test]
fn flags_scripts_carry_are_accepted_and_say_they_do_nothing() {
    // -T, -u and --suppress-handler-errors act (runok timeout_*,
    // suppress_*, semok alias_unread_locals_u); they are accepted here
    // without a note. -S acts too (tests/switch_file.rs).
    let d = tempfile::tempdir().unwrap();
    let args = [
        "-u", "-t", "-q", "-P", "--ldd", "--all-modules", "--suppress-handler-errors", "-T", "10", "-p1", "-e",
        "probe begin { exit() }",
    ];
    let o = stap(d.path(), &args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "probe begin {\n    exit();\n}\n");
    assert_eq!(
        text(&o.stderr),
        "WARNING: option -t has no effect in rstap: no per-probe timing report is collected\n"
    );
    // The ones that only tune SystemTap's own workings say so with -v.
    let o = stap(d.path(), &["-v", "-u", "-q", "-P", "--ldd", "--all-modules", "-p1", "-e", "probe begin { }"]);
    assert_eq!(o.status.code(), Some(0));
    let e = text(&o.stderr);
    let notes: Vec<&str> = e.lines().filter(|l| l.starts_with("WARNING: option")).collect();
    assert_eq!(
        notes,
        [
            "WARNING: option --all-modules has no effect in rstap: module symbols are read when a probe needs them",
            "WARNING: option -q has no effect in rstap: rstap prints no progress without -v",
            "WARNING: option -P has no effect in rstap: probes are placed where DWARF says the prologue ends",
            "WARNING: option --ldd has no effect in rstap: rstap probes no user-space libraries",
        ]
    );
    let o = stap(d.path(), &["-u", "-q", "-P", "--ldd", "--all-modules", "-p1", "-e", "probe begin { }"]);
    assert_eq!(text(&o.stderr), "");
}

#[test]
fn bad_switch_size_and_timeout_are_rejected() {
    let d = tempfile::tempdir().unwrap();
    for (flag, value) in [("-S", "0"), ("-S", "1,x"), ("-S", "big"), ("-T", "0"), ("-T", "soon")] {
        let o = stap(d.path(), &["-o", "out", flag, value, "-p1", "-e", "probe begin { }"]);
        assert_eq!(o.status.code(), Some(2), "{flag} {value}");
        let e = text(&o.stderr);
        assert!(e.starts_with(&format!("error: invalid value '{value}' for '{flag} ")), "{e}");
    }
}

#[test]
fn dump_functions_and_aliases_list_the_public_library() {
    let d = tempfile::tempdir().unwrap();
    let lib = d.path().join("lib");
    std::fs::create_dir(&lib).unwrap();
    std::fs::write(
        lib.join("context.stp"),
        "function pid:long () { return 1 }\n\
         function kernel_string:string (addr:long, n) { return \"\" }\n\
         function __helper(x) { return x }\n\
         private function hidden() { }\n\
         probe my.open = begin { name = \"open\" }\n\
         probe my.open.return = end { }\n\
         private probe my.secret = begin { }\n",
    )
    .unwrap();
    let run = |flag: &str| {
        Command::new(env!("CARGO_BIN_EXE_stap")).current_dir(d.path()).env("RSTAP_TAPSET_DIR", &lib).arg(flag).output().unwrap()
    };
    let o = run("--dump-functions");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "kernel_string:string (addr:long, n:unknown)\npid:long ()\n");
    let o = run("--dump-probe-aliases");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "my.open = begin\nmy.open.return = end\n");
    let o = run("--dump-probe-types");
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(text(&o.stderr), "WARNING: option --dump-probe-types has no effect in rstap yet: it lists nothing\n");
}

#[test]
fn pass_one_rejects_an_empty_script_and_embedded_c_without_g() {
    let d = tempfile::tempdir().unwrap();
    let o = stap(d.path(), &["-p1", "-e", "# nothing\n"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        "error: the script is empty after preprocessing: it has no probe, function or global\n  ┌─ <input>:1:1\n  │\n1 │ # nothing\n  │ ^\n\n"
    );
    // -p1: pass 2 (which also checks this) never runs.
    let o = stap(d.path(), &["-p1", "-e", "%{ int x; %} probe begin { }"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).starts_with("error: embedded C code needs guru mode (-g)\n"), "{}", text(&o.stderr));
    let o = stap(d.path(), &["-g", "-p1", "-e", "%{ int x; %} probe begin { }"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}

#[test]
fn repeated_options_take_the_last_value_as_systemtaps_getopt_does() {
    let d = tempfile::tempdir().unwrap();
    let script = "probe begin { println(1 + 2) }";
    // -p: the last one says which pass to stop after (-p1 prints the
    // script back, -p2 the elaborated listing with "# probes").
    let o = stap(d.path(), &["-p2", "-p1", "-e", script]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "probe begin {\n    println(1 + 2);\n}\n");
    let o = stap(d.path(), &["-p1", "-p2", "-r", "0.0.0-semtest", "-e", script]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).starts_with("# probes\n"), "{}", text(&o.stdout));
    // A repeated flag is the flag; -o and -m take their last value.
    let o = stap(d.path(), &["-g", "-g", "-w", "-w", "-p1", "-o", "a.txt", "-o", "b.txt", "-m", "x", "-m", "y", "-e", script]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    // -D collects every value.
    let o = stap(d.path(), &["-p1", "-DA=1", "-DB=2", "-e", script]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    // A second -e is SystemTap's error.
    let o = stap(d.path(), &["-p1", "-e", script, "-e", script]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(text(&o.stderr), "Only one script can be given on the command line.\n");
}

/// `stap ... | head -0`: the reader is gone before the first line. Every
/// command that prints a result (-l, -p1, -p2, -p3, --dump-functions) ends
/// quietly, with status 0 and no panic about a broken pipe.
#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    use std::process::Stdio;
    let script = "probe begin { exit() }";
    let cases: &[&[&str]] = &[
        &["-l", "syscall.*"],
        &["-p1", "-e", script],
        &["-p2", "-e", script],
        &["-p3", "-e", script],
        &["--dump-functions"],
    ];
    for args in cases {
        let mut child = Command::new(env!("CARGO_BIN_EXE_stap"))
            .args(["-r", "0.0.0-semtest"])
            .args(*args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run stap");
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!((out.status.code(), err.as_ref()), (Some(0), ""), "stap {args:?}");
    }
}
