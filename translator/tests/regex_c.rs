//! Userspace test of the regex matcher (runtime-c/rstap_regex.h) on the
//! tables the translator emits for it (translator/src/regex, through
//! templates/regex.c.tera), built with the host C compiler (the `cc`
//! crate) with -Wall -Wextra -Werror.
//!
//! Input: cases, each a regex, a subject and what `=~` must give: no
//! match, or matched(0), matched(1), ... (None: a group that took no part).
//! Output: one C program that runs every case twice (with captures, which
//! is leftmost-longest, and without, which stops at the first match) and
//! also asks the host C library's POSIX regexec (REG_EXTENDED) as an
//! independent oracle: both runs must agree with it on match / no match,
//! and the capturing run on the span of the whole match. Invariants: the
//! expected groups are POSIX's (leftmost-longest), written by hand.

mod hostc_common;

type Want = Option<&'static [Option<&'static str>]>;

const CASES: &[(&str, &str, Want)] = &[
    ("abc", "xabcx", Some(&[Some("abc")])),
    ("^abc", "xabc", None),
    ("abc$", "xabc", Some(&[Some("abc")])),
    ("a|ab", "abc", Some(&[Some("ab")])),
    ("(a|ab)(c|bcd)", "abcd", Some(&[Some("abcd"), Some("a"), Some("bcd")])),
    ("(a*)(b*)", "aabbb", Some(&[Some("aabbb"), Some("aa"), Some("bbb")])),
    ("x(y)?z", "xz", Some(&[Some("xz"), None])),
    ("[[:digit:]]+", "ab123c", Some(&[Some("123")])),
    ("[^a-c]+", "abcdefabc", Some(&[Some("def")])),
    ("a{2,3}", "aaaa", Some(&[Some("aaa")])),
    ("a{2}", "a", None),
    ("a{2,}b", "xaaaab", Some(&[Some("aaaab")])),
    ("(foo|foobar)baz", "foobarbaz", Some(&[Some("foobarbaz"), Some("foobar")])),
    ("", "anything", Some(&[Some("")])),
    ("^$", "", Some(&[Some("")])),
    ("^$", "x", None),
    ("\\.tar\\.(gz|bz2|xz)$", "/tmp/x.tar.bz2", Some(&[Some(".tar.bz2"), Some("bz2")])),
    ("(\\.tar\\.(gz|bz2|xz)|\\.zip|\\.tgz|\\.tbz)$", "/tmp/a.zip", Some(&[Some(".zip"), Some(".zip"), None])),
    ("(\\.tar\\.(gz|bz2|xz)|\\.zip|\\.tgz|\\.tbz)$", "/tmp/a.tar", None),
    ("AF_INET*", "AF_INET6", Some(&[Some("AF_INET")])),
    ("AF_INET*", "AF_UNIX", None),
    ("(a|b)*c", "ababc", Some(&[Some("ababc"), Some("b")])),
    (".", "", None),
    ("x*", "", Some(&[Some("")])),
    ("[]a]+", "b]a]b", Some(&[Some("]a]")])),
    ("colou?r", "my color", Some(&[Some("color")])),
    ("^(.*)/([^/]*)$", "/usr/lib/x.so", Some(&[Some("/usr/lib/x.so"), Some("/usr/lib"), Some("x.so")])),
    ("[[:upper:]][[:lower:]]+", "hello World", Some(&[Some("World")])),
    ("[[:space:]]+", "a \t b", Some(&[Some(" \t ")])),
    ("sd[a-z]$", "sdb", Some(&[Some("sdb")])),
    ("sd[a-z]$", "sdb1", None),
    ("b+|a+b+", "aaabbb", Some(&[Some("aaabbb")])),
    ("(a*)*b", "aaaaab", Some(&[Some("aaaaab"), Some("aaaaa")])),
    ("(ab|a)(bc|c)?", "abc", Some(&[Some("abc"), Some("ab"), Some("c")])),
    ("[.]", "a.b", Some(&[Some(".")])),
    ("a.c", "a\nc", Some(&[Some("a\nc")])),
    ("^(a|b)c$|^d", "dz", Some(&[Some("d"), None])),
];

fn c_str(s: &str) -> String {
    let mut o = String::from("\"");
    for b in s.bytes() {
        match b {
            b'"' | b'\\' => {
                o.push('\\');
                o.push(b as char);
            }
            0x20..=0x7e if b != b'?' => o.push(b as char),
            _ => o.push_str(&format!("\\{b:03o}")),
        }
    }
    o.push('"');
    o
}

const PRELUDE: &str = r#"
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <regex.h>
#define MAXSTRINGLEN 4096
#define __maybe_unused __attribute__((unused))
#include "rstap_regex.h"

static uint16_t scratch[RSTAP_RE_SCRATCH(512, RSTAP_RE_MAXSLOTS)];
static struct rstap_regex_last last;

/* One case: our answer with and without captures, and glibc's. */
static void run(const char *name, const struct rstap_re_prog *cap,
		const struct rstap_re_prog *plain, const char *re, const char *s)
{
	regex_t r;
	regmatch_t m[1];
	int ours = rstap_re_exec(cap, s, scratch, &last);
	int quick = rstap_re_exec(plain, s, scratch, NULL);
	int libc;
	int k;

	if (regcomp(&r, re, REG_EXTENDED)) {
		printf("%s\x1e" "libc-rejects\x1d", name);
		return;
	}
	libc = regexec(&r, s, 1, m, 0) == 0;
	printf("%s\x1e%d %d %d", name, ours, quick, libc);
	if (libc && ours)
		printf(" %d %d %d %d", (int)m[0].rm_so, (int)m[0].rm_eo, last.slots[0], last.slots[1]);
	printf("\x1e");
	if (ours) {
		for (k = 0; k <= last.ngroups; k++) {
			if (last.slots[2 * k] < 0)
				printf("-");
			else
				printf("=%.*s", last.slots[2 * k + 1] - last.slots[2 * k], last.str + last.slots[2 * k]);
			printf("\x1f");
		}
	}
	printf("\x1d");
	regfree(&r);
}
"#;

fn build_and_run(src: &str, name: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    String::from_utf8_lossy(&hostc_common::build_and_run(dir.path(), name, src, &[], &[])).into_owned()
}

fn program(cases: &[(&str, String)]) -> String {
    let mut src = String::from(PRELUDE);
    let mut main = String::from("int main(void)\n{\n");
    let mut seen = Vec::new();
    for (i, (re, subject)) in cases.iter().enumerate() {
        let mut names = Vec::new();
        for captures in [true, false] {
            let t = rstap::regex::c_table::render(re, captures).unwrap_or_else(|e| panic!("{re}: {e}"));
            if !seen.contains(&t.name) {
                src.push_str(&t.code);
                seen.push(t.name.clone());
            }
            names.push(t.name);
        }
        main.push_str(&format!("\trun(\"case{i}\", &{}, &{}, {}, {});\n", names[0], names[1], c_str(re), c_str(subject)));
    }
    main.push_str("\treturn 0;\n}\n");
    src + &main
}

#[test]
fn matcher_agrees_with_posix_and_the_expected_groups() {
    let cases: Vec<(&str, String)> = CASES.iter().map(|(re, s, _)| (*re, s.to_string())).collect();
    let out = build_and_run(&program(&cases), "cases");
    let lines: Vec<&str> = out.split('\x1d').filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), CASES.len(), "{out}");
    let mut failures = Vec::new();
    for (i, ((re, s, want), line)) in CASES.iter().zip(&lines).enumerate() {
        let parts: Vec<&str> = line.split('\x1e').collect();
        assert_eq!(parts[0], format!("case{i}"));
        let nums: Vec<i64> = parts[1].split(' ').map(|n| n.parse().unwrap_or(-99)).collect();
        let groups: Vec<Option<String>> = parts[2]
            .split('\x1f')
            .filter(|g| !g.is_empty())
            .map(|g| g.strip_prefix('=').map(str::to_string))
            .collect();
        let want_match = want.is_some() as i64;
        let mut bad = Vec::new();
        if nums[..3] != [want_match, want_match, want_match] {
            bad.push(format!("match (ours, ours without captures, libc) = {:?}, want {want_match}", &nums[..3]));
        }
        if nums.len() == 7 && nums[3..5] != nums[5..7] {
            bad.push(format!("whole match at {:?}, libc's at {:?}", &nums[5..7], &nums[3..5]));
        }
        if let Some(w) = want {
            let w: Vec<Option<String>> = w.iter().map(|g| g.map(str::to_string)).collect();
            if groups != w {
                bad.push(format!("groups {groups:?}, want {w:?}"));
            }
        }
        if !bad.is_empty() {
            failures.push(format!("{re:?} =~ {s:?}: {}", bad.join("; ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A regex that backtracking matchers take exponential time on finishes
/// (the work is linear in the string), and a long string is scanned to
/// its end.
#[test]
fn pathological_regex_is_linear() {
    let long_a = "a".repeat(4000);
    let cases = vec![("(a*)*b", long_a.clone()), ("(a|aa)+$", long_a.clone()), ("(x+x+)+y", "x".repeat(4000)), ("a{1,50}b", long_a + "b")];
    let started = std::time::Instant::now();
    let out = build_and_run(&program(&cases), "long");
    let lines: Vec<&str> = out.split('\x1d').filter(|l| !l.is_empty()).collect();
    let matched: Vec<&str> = lines.iter().map(|l| l.split('\x1e').nth(1).unwrap_or("").get(..5).unwrap_or("")).collect();
    assert_eq!(matched, ["0 0 0", "1 1 1", "0 0 0", "1 1 1"], "{out}");
    assert!(started.elapsed().as_secs() < 60);
}
