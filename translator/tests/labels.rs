//! `kernel.function("PATTERN").label("LPATTERN")` and relative statements
//! (`FUNC@FILE+N`) against the testbed's 6.1 kernel (its DWARF), as a user
//! sees them: `-l`/`-L` lines, the `-p2` probe point, `!` and `?`
//! alternatives, and the exact errors. 6.1's `join_session_keyring`
//! (security/keys/process_keys.c, declared at line 836) has the labels
//! `error3:` (897), `error2:` (899) and `error:` (901); its `__do_sys_chdir`
//! (fs/open.c:508) has `retry:` (513), `dput_and_out:` (524), `out:` (530).

use std::process::{Command, Output};

fn stap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stap")).args(args).output().expect("run stap")
}

fn stdout_lines(o: &Output) -> Vec<String> {
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).lines().map(String::from).collect()
}

/// The `# probes` section of a `-p2` listing: each probe's point line.
fn probe_points(o: &Output) -> Vec<String> {
    stdout_lines(o)
        .into_iter()
        .skip_while(|l| l != "# probes")
        .skip(1)
        .filter(|l| !l.starts_with(['{', '}', '\t', ' ', '#']))
        .collect()
}

#[test]
fn labels_are_listed_with_their_line_and_variables() {
    let o = stap(&["--vm", "-L", "kernel.function(\"join_session_keyring\").label(\"*\")"]);
    let vars = "$name:char const* $old:struct cred const* $new:struct cred* $keyring:struct key* $ret:long int $serial:long int";
    assert_eq!(
        stdout_lines(&o),
        [
            format!("kernel.function(\"join_session_keyring@security/keys/process_keys.c:897\").label(\"error3\") {vars}"),
            format!("kernel.function(\"join_session_keyring@security/keys/process_keys.c:899\").label(\"error2\") {vars}"),
            format!("kernel.function(\"join_session_keyring@security/keys/process_keys.c:901\").label(\"error\") {vars}"),
        ]
    );
    let o = stap(&["--vm", "-l", "kernel.function(\"__do_sys_ch*\").label(\"*out\")"]);
    assert_eq!(
        stdout_lines(&o),
        [
            "kernel.function(\"__do_sys_chdir@fs/open.c:524\").label(\"dput_and_out\")",
            "kernel.function(\"__do_sys_chdir@fs/open.c:530\").label(\"out\")",
            "kernel.function(\"__do_sys_chroot@fs/open.c:579\").label(\"dput_and_out\")",
            "kernel.function(\"__do_sys_chroot@fs/open.c:585\").label(\"out\")",
        ]
    );
}

#[test]
fn a_label_probe_elaborates_with_its_point_and_variables() {
    let o = stap(&["--vm", "-p2", "-e", "probe kernel.function(\"join_session_keyring\").label(\"error2\") { println(pp(), \" \", $keyring, \" \", $new->usage->counter) }"]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let probes = &out[out.find("# probes").expect(&out)..];
    assert_eq!(
        probes,
        "# probes\nkernel.function(\"join_session_keyring@security/keys/process_keys.c:899\").label(\"error2\") /* kprobe on join_session_keyring */\n{\n\t{\n\t\tprintf(\"%s%s%d%s%d\\n\", pp(), \" \", $keyring, \" \", $new->usage->counter)\n\t}\n}\n"
    );
}

#[test]
fn relative_statement_lines_count_from_the_declaration() {
    // 836 + 40 = 876, a line with code; both spellings of the offset.
    for p in ["join_session_keyring@*+40", "join_session_keyring@security/keys/process_keys.c+40", "join_session_keyring@*:+40"] {
        let o = stap(&["--vm", "-l", &format!("kernel.statement(\"{p}\")")]);
        assert_eq!(stdout_lines(&o), ["kernel.statement(\"join_session_keyring@security/keys/process_keys.c:876\")"], "{p}");
    }
    // 836 + 44 = 880 has no code: the error names the lines nearby.
    let o = stap(&["--vm", "-p2", "-e", "probe kernel.statement(\"join_session_keyring@*+44\") { }"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "error: no kernel statement matches \"join_session_keyring@*+44\" in the debuginfo (no line records for security/keys/process_keys.c:880 in a matching function; lines with code nearby: 876 879 885)\n  ┌─ <input>:1:14\n  │\n1 │ probe kernel.statement(\"join_session_keyring@*+44\") { }\n  │              ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n\n"
    );
}

/// `!` (sufficient): the first alternative that resolves is the only one
/// probed, as in cve-2016-0728.stp's `statement(...+44) !, ....label("error2")`.
#[test]
fn sufficient_alternatives_stop_at_the_first_that_resolves() {
    let script = |n: u32| {
        format!("probe kernel.statement(\"join_session_keyring@*+{n}\") !, kernel.function(\"join_session_keyring\").label(\"error2\") {{ println(pp()) }}")
    };
    assert_eq!(
        probe_points(&stap(&["--vm", "-p2", "-e", &script(44)])),
        ["kernel.function(\"join_session_keyring@security/keys/process_keys.c:899\").label(\"error2\") /* kprobe on join_session_keyring */"]
    );
    assert_eq!(
        probe_points(&stap(&["--vm", "-p2", "-e", &script(40)])),
        ["kernel.statement(\"join_session_keyring@security/keys/process_keys.c:876\") /* kprobe on join_session_keyring */"]
    );
}

#[test]
fn an_unknown_label_is_a_located_error_unless_optional() {
    let o = stap(&["--vm", "-p2", "-e", "probe kernel.function(\"join_session_keyring\").label(\"nope\") { }"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "error: no label matches \"nope\" in kernel function \"join_session_keyring\" (labels there: error3, error2, error)\n  ┌─ <input>:1:47\n  │\n1 │ probe kernel.function(\"join_session_keyring\").label(\"nope\") { }\n  │                                               ^^^^^^^^^^^^^\n\n"
    );
    // A function that does not exist: the function's error, at the function.
    let o = stap(&["--vm", "-p2", "-e", "probe kernel.function(\"no_such_fn_xyz\").label(\"out\") { }"]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.starts_with("error: no kernel function matches \"no_such_fn_xyz\" in the debuginfo\n  ┌─ <input>:1:14\n"), "{e}");
    let o = stap(&["--vm", "-p2", "-e", "probe kernel.function(\"join_session_keyring\").label(\"nope\") ?, begin { println(pp()) }"]);
    assert_eq!(probe_points(&o), ["begin /* begin */"]);
}
