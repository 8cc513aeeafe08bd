//! Pass 2 rejects bad uses of arrays and statistics with located errors:
//! type conflicts of keys and values, arity mismatches, arrays used as
//! scalars, local arrays, modifying an array inside its own foreach,
//! conflicting histograms.

use std::process::{Command, Output};

fn stap_p2(script: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stap")).args(["-p2", "-e", script]).output().expect("run stap")
}

/// Runs pass 2 on `script`, expects failure, returns stderr.
fn rejects(script: &str) -> String {
    let o = stap_p2(script);
    let e = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "expected an error for {script:?}, got:\n{e}");
    e
}

fn accepts(script: &str) {
    let o = stap_p2(script);
    assert_eq!(o.status.code(), Some(0), "{script:?}: {}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn good_arrays_and_statistics_elaborate() {
    accepts("global a, b[10], w%[5], s, h probe begin { a[1, \"x\"] = 2; b[\"k\"] .= \"v\"; w[3]++; s <<< 1; h[1] <<< 2; foreach ([i, j-] in a limit 3) println(i, j); foreach (v = k in b+) println(k, v); print(@hist_log(s)); println(@count(h[1]), [1, \"x\"] in a); delete a; delete b[\"k\"] }");
}

#[test]
fn key_type_conflict_names_the_key_and_place() {
    let e = rejects("global a probe begin { a[1] = 1; a[\"x\"] = 2 }");
    assert!(e.contains("type mismatch for key 1 of array `a`: it is string here but long elsewhere"), "{e}");
    assert!(e.contains("<input>:1:36"), "{e}");
}

#[test]
fn value_type_conflict() {
    let e = rejects("global a probe begin { a[1] = 1; a[2] = \"x\" }");
    assert!(e.contains("type mismatch for the elements of array `a`"), "{e}");
}

#[test]
fn arity_mismatch() {
    let e = rejects("global a probe begin { a[1] = 1; a[1, 2] = 2 }");
    assert!(e.contains("array `a` used with 2 keys here but 1 elsewhere"), "{e}");
}

#[test]
fn array_used_as_scalar() {
    let e = rejects("global a probe begin { a[1] = 1; println(a) }");
    assert!(e.contains("array `a` used as a scalar"), "{e}");
}

#[test]
fn statistic_used_as_value() {
    let e = rejects("global s probe begin { s <<< 1; println(s + 1) }");
    assert!(e.contains("statistic `s` used as a value"), "{e}");
    let e = rejects("global s probe begin { s[1] <<< 1; println(s[1]) }");
    assert!(e.contains("statistic `s` used as a value"), "{e}");
}

#[test]
fn statistic_and_value_conflict() {
    let e = rejects("global s probe begin { s[1] = 1; s[2] <<< 1 }");
    assert!(e.contains("type mismatch for the elements of array `s`"), "{e}");
}

#[test]
fn local_arrays_are_not_allowed() {
    let e = rejects("probe begin { a[1] = 1 }");
    assert!(e.contains("array locals not supported, missing global declaration?"), "{e}");
}

#[test]
fn foreach_key_types_flow_into_the_loop_variables() {
    let e = rejects("global a probe begin { a[\"x\"] = 1; foreach (k in a) println(k + 1) }");
    assert!(e.contains("`k`"), "{e}");
}

#[test]
fn modifying_the_iterated_array_is_an_error() {
    let e = rejects("global a probe begin { a[1] = 1; foreach (k in a) a[k + 1] = 2 }");
    assert!(e.contains("variable `a` modified during `foreach` iteration"), "{e}");
    let e = rejects("global a probe begin { a[1] = 1; foreach (k in a) delete a[k] }");
    assert!(e.contains("variable `a` modified during `foreach` iteration"), "{e}");
}

#[test]
fn two_histogram_kinds_conflict() {
    let e = rejects("global s probe begin { s <<< 1; print(@hist_log(s)); print(@hist_linear(s, 0, 10, 1)) }");
    assert!(e.contains("printed with two different histograms"), "{e}");
}

#[test]
fn hist_linear_needs_literals_and_a_positive_interval() {
    let e = rejects("global s probe begin { s <<< 1; n = 2; print(@hist_linear(s, 0, 10, n)) }");
    assert!(e.contains("@hist_linear needs literal numbers"), "{e}");
    let e = rejects("global s probe begin { s <<< 1; print(@hist_linear(s, 0, 10, 0)) }");
    assert!(e.contains("interval of @hist_linear must be positive"), "{e}");
}

#[test]
fn foreach_sort_column_must_exist() {
    let e = rejects("global a probe begin { a[1] = 1; foreach ([k] in a) println(k); foreach ([x, y+] in a) println(x) }");
    assert!(e.contains("array `a` used with 2 keys here but 1 elsewhere"), "{e}");
}

#[test]
fn slice_must_match_the_foreach_keys() {
    let e = rejects("global a probe begin { a[1, 2] = 1; foreach ([k] in a[*, 2]) println(k) }");
    assert!(e.contains("the slice has 2 keys but foreach binds 1"), "{e}");
}

#[test]
fn slice_key_types_are_checked() {
    let e = rejects("global a probe begin { a[1, 2] = 1; delete a[*, \"x\"] }");
    assert!(e.contains("type mismatch for key 2 of array `a`"), "{e}");
}

#[test]
fn unused_globals_are_warnings() {
    let o = stap_p2("global a[10], b probe begin { }");
    let e = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(0), "{e}");
    assert!(e.contains("warning: eliding unused variable `a`"), "{e}");
    assert!(e.contains("warning: eliding unused variable `b`"), "{e}");
}
