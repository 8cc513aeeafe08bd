//! Unit tests of the regex parser and compiler: the programs of small
//! regexes instruction by instruction, byte sets, and every error with its
//! offset. Matching itself is tested on the C matcher
//! (translator/tests/regex_c.rs).

use super::parse::{parse, ByteSet, Node};
use super::{compile, Inst, MAX_INSTS};

fn err(re: &str) -> String {
    compile(re.as_bytes()).unwrap_err().to_string()
}

fn set_of(re: &str) -> ByteSet {
    match parse(re.as_bytes()).unwrap().node {
        Node::Set(s) => s,
        n => panic!("{re}: not a set: {n:?}"),
    }
}

fn members(s: &ByteSet) -> String {
    (1..=255u8).filter(|&b| s.contains(b)).map(|b| b as char).collect()
}

#[test]
fn literal_program() {
    let p = compile(b"ab").unwrap();
    assert_eq!(p.insts, vec![Inst::Save(0), Inst::Byte(b'a'), Inst::Byte(b'b'), Inst::Save(1), Inst::Match]);
    assert_eq!(p.groups, 0);
}

#[test]
fn alternation_and_group_program() {
    let p = compile(b"(a|b)c").unwrap();
    assert_eq!(
        p.insts,
        vec![
            Inst::Save(0),
            Inst::Save(2),
            Inst::Split(3, 5),
            Inst::Byte(b'a'),
            Inst::Jmp(6),
            Inst::Byte(b'b'),
            Inst::Save(3),
            Inst::Byte(b'c'),
            Inst::Save(1),
            Inst::Match
        ]
    );
    assert_eq!(p.groups, 1);
}

#[test]
fn star_plus_question() {
    assert_eq!(compile(b"a*").unwrap().insts[1..4], [Inst::Split(2, 4), Inst::Byte(b'a'), Inst::Jmp(1)]);
    assert_eq!(compile(b"a+").unwrap().insts[1..5], [Inst::Byte(b'a'), Inst::Split(3, 5), Inst::Byte(b'a'), Inst::Jmp(2)]);
    assert_eq!(compile(b"a?").unwrap().insts[1..3], [Inst::Split(2, 3), Inst::Byte(b'a')]);
}

#[test]
fn bounds_expand() {
    // a{2,4}: two copies, then two optional ones.
    let p = compile(b"a{2,4}").unwrap();
    assert_eq!(
        p.insts[1..7],
        [Inst::Byte(b'a'), Inst::Byte(b'a'), Inst::Split(4, 7), Inst::Byte(b'a'), Inst::Split(6, 7), Inst::Byte(b'a')]
    );
    assert_eq!(compile(b"a{3}").unwrap().insts.len(), 6);
    // a{2,}: two copies and a star.
    assert_eq!(compile(b"a{2,}").unwrap().insts[3..6], [Inst::Split(4, 6), Inst::Byte(b'a'), Inst::Jmp(3)]);
}

#[test]
fn anchors_and_any() {
    assert_eq!(compile(b"^.$").unwrap().insts[1..4], [Inst::Bol, Inst::Any, Inst::Eol]);
}

#[test]
fn brackets() {
    assert_eq!(members(&set_of("[a-dx]")), "abcdx");
    assert_eq!(members(&set_of("[]a]")), "]a");
    assert_eq!(members(&set_of("[a-]")), "-a");
    assert_eq!(members(&set_of("[[:digit:]_]")), "0123456789_");
    assert_eq!(members(&set_of("[[:xdigit:]]")), "0123456789ABCDEFabcdef");
    assert_eq!(members(&set_of("[[:space:]]")), "\t\n\u{b}\u{c}\r ");
    assert_eq!(members(&set_of("[\\n]")), "\\n");
    let neg = set_of("[^a-z]");
    assert!(!neg.contains(b'q') && neg.contains(b'A') && neg.contains(0xff) && !neg.contains(0));
    assert_eq!(members(&set_of("[^]]")).chars().count(), 254);
    // Equal sets share one table entry.
    assert_eq!(compile(b"[ab]x[ab]").unwrap().sets.len(), 1);
}

#[test]
fn escapes_are_literals() {
    assert_eq!(compile(b"\\.\\*").unwrap().insts[1..3], [Inst::Byte(b'.'), Inst::Byte(b'*')]);
}

#[test]
fn empty_regex_and_empty_alternative() {
    assert_eq!(compile(b"").unwrap().insts, vec![Inst::Save(0), Inst::Save(1), Inst::Match]);
    assert!(compile(b"a|").is_ok());
    assert!(compile(b"()").is_ok());
}

#[test]
fn errors_name_their_offset() {
    assert_eq!(err("(ab"), "unmatched `(` at offset 0 of the regular expression");
    assert_eq!(err("ab)"), "unmatched `)` at offset 2 of the regular expression");
    assert_eq!(err("x[a-"), "unmatched `[` at offset 1 of the regular expression");
    assert_eq!(err("*a"), "`*` has nothing before it to repeat at offset 0 of the regular expression");
    assert_eq!(err("a|+"), "`+` has nothing before it to repeat at offset 2 of the regular expression");
    assert_eq!(err("a{2,1}"), "the bound's maximum is less than its minimum at offset 1 of the regular expression");
    assert_eq!(err("a{x}"), "`{` must start a bound such as {2,5} (write `\\{` for a literal brace) at offset 1 of the regular expression");
    assert_eq!(err("a{2"), "expected `}` to end the bound at offset 3 of the regular expression");
    assert_eq!(err("a{256}"), "a repetition bound is larger than 255 at offset 1 of the regular expression");
    assert_eq!(err("[z-a]"), "a range's end comes before its start at offset 1 of the regular expression");
    assert_eq!(err("[[:alfa:]]"), "unknown character class `[:alfa:]` at offset 1 of the regular expression");
    assert_eq!(err("[[:alpha:"), "unterminated `[:`, `[.` or `[=` in a bracket expression at offset 1 of the regular expression");
    assert_eq!(err("a\\"), "trailing `\\` at offset 1 of the regular expression");
    assert_eq!(err("(a)\\1"), "back-references are not supported at offset 3 of the regular expression");
    assert_eq!(err("^*"), "an anchor cannot be repeated at offset 1 of the regular expression");
    assert_eq!(err("(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)"), "more than 9 groups (`(`) in a regular expression at offset 0 of the regular expression");
}

#[test]
fn size_is_bounded() {
    assert!(err("(abcdefgh){200}").starts_with("the regular expression is too large (more than 512 NFA instructions"));
    let p = compile(b"[a-z]{1,100}").unwrap();
    assert!(p.insts.len() <= MAX_INSTS);
    // Deep nesting is an error, not a stack overflow.
    let deep = "(".repeat(100) + &")".repeat(100);
    assert!(err(&deep).starts_with("groups are nested too deeply"));
}

#[test]
fn jump_targets_in_range() {
    for re in ["(a|b|c)*d", "x(y?z+){2,3}|^$", "[[:alpha:]]+([0-9]*|_)"] {
        let p = compile(re.as_bytes()).unwrap();
        let n = p.insts.len() as u16;
        for i in &p.insts {
            match *i {
                Inst::Split(x, y) => assert!(x < n && y < n, "{re}"),
                Inst::Jmp(x) => assert!(x < n, "{re}"),
                Inst::Set(k) => assert!((k as usize) < p.sets.len()),
                _ => {}
            }
        }
        assert_eq!(p.insts.last(), Some(&Inst::Match));
    }
}
