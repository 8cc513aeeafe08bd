//! Unit tests of pass 1: precedence, literals and escapes, positional
//! arguments, preprocessor conditions, macros, depth limits and the
//! print/parse round trip. Each test parses a small text and compares the
//! printed (fully understood) form or the error message.

mod parse_common;
use parse_common::without_spans;

use rstap::diag::{render, Diagnostics, SourceMap};
use rstap::syntax::ast::{ExprKind, Item, StmtKind};
use rstap::glob::glob_match;
use rstap::syntax::preprocess::version_cmp;
use rstap::syntax::{ast, parse_text, print_expr, print_file, Macros, ParseOptions};
use std::cmp::Ordering;

fn opts() -> ParseOptions {
    parse_common::x86_64_6_1_options()
}

fn parse_with(o: &ParseOptions, text: &str) -> Result<ast::File, String> {
    let mut sources = SourceMap::new();
    let mut diags = Diagnostics::new();
    let mut macros = Macros::default();
    match parse_text(o, &mut macros, &mut sources, "t.stp", text, &mut diags) {
        Some(f) if !diags.has_errors() => Ok(f),
        _ => Err(render(&sources, &diags)),
    }
}

fn parse(text: &str) -> ast::File {
    parse_with(&opts(), text).unwrap_or_else(|e| panic!("parse failed:\n{}", e))
}

fn parse_err(text: &str) -> String {
    match parse_with(&opts(), text) {
        Ok(_) => panic!("expected an error for {:?}", text),
        Err(e) => e,
    }
}

/// The first expression statement of `probe begin { <expr> }`, printed with
/// every subexpression in parentheses.
fn expr_tree(expr: &str) -> String {
    let f = parse(&format!("probe begin {{ {} }}", expr));
    let Item::Probe(p) = &f.items[0] else { panic!("not a probe") };
    let StmtKind::Expr(e) = &p.body.stmts[0].kind else { panic!("not an expression") };
    tree(e)
}

fn tree(e: &ast::Expr) -> String {
    match &e.kind {
        ExprKind::Binary { lhs, rhs, .. } => {
            let op = print_expr(e);
            // The operator is what sits between the two printed operands.
            let l = print_expr(lhs);
            let r = print_expr(rhs);
            let mid = op
                .strip_prefix(&l)
                .and_then(|x| x.strip_suffix(&r))
                .map(|x| x.trim().trim_matches(|c| c == '(' || c == ')').trim().to_string())
                .unwrap_or_else(|| "?".into());
            format!("({} {} {})", tree(lhs), mid, tree(rhs))
        }
        ExprKind::Assign { target, value, .. } => format!("({} = {})", tree(target), tree(value)),
        ExprKind::Accumulate { target, value } => format!("({} <<< {})", tree(target), tree(value)),
        ExprKind::Ternary { cond, then, els } => format!("({} ? {} : {})", tree(cond), tree(then), tree(els)),
        ExprKind::In { keys, array } => {
            let k: Vec<String> = keys.iter().map(tree).collect();
            format!("([{}] in {})", k.join(", "), tree(array))
        }
        ExprKind::Unary { operand, op } => format!("({:?} {})", op, tree(operand)),
        _ => print_expr(e),
    }
}

#[test]
fn arithmetic_precedence() {
    assert_eq!(expr_tree("a + b * c"), "(a + (b * c))");
    assert_eq!(expr_tree("a * b + c"), "((a * b) + c)");
    assert_eq!(expr_tree("a - b - c"), "((a - b) - c)");
    assert_eq!(expr_tree("a << 1 + 2"), "(a << (1 + 2))");
    assert_eq!(expr_tree("a & b == c"), "(a & (b == c))");
    assert_eq!(expr_tree("a || b && c"), "(a || (b && c))");
    assert_eq!(expr_tree("a | b ^ c & d"), "(a | (b ^ (c & d)))");
}

#[test]
fn concatenation_is_left_associative_and_below_additive() {
    assert_eq!(expr_tree("a . b . c"), "((a . b) . c)");
    assert_eq!(expr_tree("a . b + c"), "(a . (b + c))");
    assert_eq!(expr_tree("a . b == c"), "((a . b) == c)");
}

#[test]
fn assignment_is_right_associative() {
    assert_eq!(expr_tree("x = y = z"), "(x = (y = z))");
    assert_eq!(expr_tree("x .= y . z"), "(x = (y . z))");
    assert_eq!(expr_tree("s <<< a + 1"), "(s <<< (a + 1))");
    assert_eq!(expr_tree("x = a ? b : c"), "(x = (a ? b : c))");
    assert_eq!(expr_tree("a ? b : c ? d : e"), "(a ? b : (c ? d : e))");
}

#[test]
fn membership_sits_between_bitand_and_comparison() {
    // Unary binds tighter than `in`: `!a in b` is `(!a) in b`.
    assert_eq!(expr_tree("!a in b"), "([(Not a)] in b)");
    assert_eq!(expr_tree("a == b in c"), "([(a == b)] in c)");
    assert_eq!(expr_tree("a & b in c"), "(a & ([b] in c))");
    assert_eq!(expr_tree("[a, b] in c && d"), "(([a, b] in c) && d)");
    assert_eq!(expr_tree("[a, *] in c"), "([a, *] in c)");
}

#[test]
fn unary_and_crement() {
    assert_eq!(expr_tree("-a * b"), "((Neg a) * b)");
    assert_eq!(expr_tree("!a++"), "(Not (PostInc a))");
    assert_eq!(expr_tree("++a[1]"), "(PreInc a[1])");
    assert_eq!(expr_tree("~-a"), "(BitNot (Neg a))");
    assert_eq!(expr_tree("a - -1"), "(a - -1)");
    assert_eq!(expr_tree("a =~ \"x\" && b !~ \"y\""), "((a =~ \"x\") && (b !~ \"y\"))");
}

fn first_number(text: &str) -> i64 {
    let f = parse(&format!("global g = {}", text));
    let Item::Global(g) = &f.items[0] else { panic!() };
    match &g.init {
        Some(ast::Literal::Number(n)) => *n,
        other => panic!("not a number: {:?}", other),
    }
}

fn first_string(text: &str) -> String {
    let f = parse(&format!("global g = {}", text));
    let Item::Global(g) = &f.items[0] else { panic!() };
    match &g.init {
        Some(ast::Literal::String(s)) => s.clone(),
        other => panic!("not a string: {:?}", other),
    }
}

#[test]
fn numbers() {
    assert_eq!(first_number("42"), 42);
    assert_eq!(first_number("0x1F"), 31);
    assert_eq!(first_number("017"), 15);
    assert_eq!(first_number("0"), 0);
    assert_eq!(first_number("-5"), -5);
    assert_eq!(first_number("-9223372036854775808"), i64::MIN);
    // Values above 2**63 wrap, as in SystemTap.
    assert_eq!(first_number("0xffffffffffffffff"), -1);
    assert!(parse_err("global g = 08").contains("invalid number `08`"));
    assert!(parse_err("global g = 0x").contains("invalid number"));
    assert!(parse_err("global g = 99999999999999999999").contains("invalid number"));
}

#[test]
fn string_escapes() {
    assert_eq!(first_string(r#""a\nb\tc""#), "a\nb\tc");
    assert_eq!(first_string(r#""q\"q\\""#), "q\"q\\");
    assert_eq!(first_string(r#""\101\x42\0""#), "AB\0");
    assert_eq!(first_string(r#""\033[1m""#), "\x1b[1m");
    // Unknown escapes keep their backslash (regular expressions need it).
    assert_eq!(first_string(r#""a\.b""#), "a\\.b");
    // Adjacent literals are glued, as in C.
    assert_eq!(first_string(r#""ab" "cd"  "e""#), "abcde");
    assert!(parse_err("global g = \"abc\n\"").contains("unterminated string literal"));
}

#[test]
fn printed_strings_reparse_to_the_same_value() {
    for s in ["plain", "a\nb", "tab\there", "quote\"back\\slash", "\x01\x7f", "é ü"] {
        let text = format!("global g = {}", rstap::syntax::lexer::quote(s));
        assert_eq!(first_string(&text.replace("global g = ", "")), s);
    }
}

#[test]
fn positional_arguments() {
    let mut o = opts();
    o.args = vec!["42".into(), "vfs_read".into(), "-3".into()];
    let f = parse_with(&o, "probe kernel.function(@2) { x = $1 + $3; y = @1; n = $#; m = @# }").unwrap();
    let printed = print_file(&f);
    assert!(printed.contains("kernel.function(\"vfs_read\")"), "{}", printed);
    assert!(printed.contains("x = 42 + -3;"), "{}", printed);
    assert!(printed.contains("y = \"42\";"), "{}", printed);
    assert!(printed.contains("n = 3;"), "{}", printed);
    assert!(printed.contains("m = \"3\";"), "{}", printed);
    // `$2` not a number: inserted as tokens.
    let f = parse_with(&o, "probe begin { $2() }").unwrap();
    assert!(print_file(&f).contains("vfs_read();"));
    let e = parse_with(&o, "probe begin { print($4) }").unwrap_err();
    assert!(e.contains("script argument `$4` is out of range: the script was given 3 arguments"), "{}", e);
    assert!(e.contains("t.stp:1:21"), "{}", e);
}

#[test]
fn preprocessor_conditions() {
    let cases = [
        ("kernel_v >= \"2.6.32\"", true),
        ("kernel_v < \"6.1\"", false),
        ("kernel_v == \"6.1.0\"", true),
        ("kernel_vr == \"6.1.*\"", true),
        ("kernel_vr != \"5.*\"", true),
        ("arch == \"x86_64\"", true),
        ("arch == \"i?86\"", false),
        ("arch == \"x86_6[0-9]\"", true),
        ("runtime == \"kernel\"", true),
        ("systemtap_v >= \"4.0\"", true),
        ("systemtap_privilege == \"stapdev\"", true),
        ("guru_mode == 1", true),
        ("CONFIG_X == \"y\"", true),
        ("CONFIG_M == \"m\"", true),
        ("CONFIG_MISSING == \"\"", true),
        ("CONFIG_NUM > 100", true),
        ("$# == 0", true),
        ("@# == \"0\"", true),
        ("1 < 2", true),
        ("\"a\" == \"b\"", false),
        ("arch == \"arm\" || kernel_v > \"3.0\" && runtime == \"kernel\"", true),
        ("arch == \"arm\" && kernel_v > \"3.0\" || runtime == \"dyninst\"", false),
    ];
    let mut o = opts();
    o.kconfig.insert("CONFIG_X".into(), "y".into());
    o.kconfig.insert("CONFIG_M".into(), "m".into());
    o.kconfig.insert("CONFIG_NUM".into(), "512".into());
    for (cond, want) in cases {
        let text = format!("probe begin {{ x = %( {} %? 1 %: 2 %) }}", cond);
        let f = parse_with(&o, &text).unwrap_or_else(|e| panic!("{}: {}", cond, e));
        let got = print_file(&f).contains("x = 1;");
        assert_eq!(got, want, "condition {}", cond);
    }
    // Nested, and the `%:` branch optional.
    let f = parse("probe begin { %( arch == \"x86_64\" %? %( kernel_v < \"3\" %? a() %: b() %) %) %( arch == \"arm\" %? c() %) }");
    let printed = print_file(&f);
    assert!(printed.contains("b();") && !printed.contains("a();") && !printed.contains("c();"), "{}", printed);
    // The untaken branch need not parse.
    parse("%( arch == \"ia64\" %? **ERROR** %) probe begin {}");
}

#[test]
fn version_and_glob_helpers() {
    assert_eq!(version_cmp("2.6.32", "6.1"), Ordering::Less);
    assert_eq!(version_cmp("6.1.0", "6.1"), Ordering::Greater);
    assert_eq!(version_cmp("2.6.9", "2.6.10"), Ordering::Less);
    assert_eq!(version_cmp("4.0", "4.0"), Ordering::Equal);
    assert!(glob_match("i?86", "i686"));
    assert!(!glob_match("i?86", "x86_64"));
    assert!(glob_match("*", ""));
    assert!(glob_match("2.6.*smp", "2.6.13-1smp"));
    assert!(glob_match("[!a]b", "cb"));
    assert!(!glob_match("[!a]b", "ab"));
}

#[test]
fn macros() {
    let f = parse(
        "@define add(a, b) %( ((@a) + (@b)) %)\n@define two %( 2 %)\nprobe begin { x = @add(@two, f(1, 2)) }",
    );
    assert!(print_file(&f).contains("x = 2 + f(1, 2);"), "{}", print_file(&f));
    let e = parse_err("@define r %( @r %)\nprobe begin { x = @r }");
    assert!(e.contains("macro `@r` invokes itself"), "{}", e);
    let e = parse_err("@define m(a) %( @a %)\nprobe begin { x = @m(1, 2) }");
    assert!(e.contains("macro `@m` takes 1 argument, but 2 were given"), "{}", e);
    let e = parse_err("probe begin { x = @nope(1) }");
    assert!(e.contains("unknown macro or operator `@nope`"), "{}", e);
}

#[test]
fn macros_are_visible_to_later_files() {
    let o = opts();
    let mut sources = SourceMap::new();
    let mut macros = Macros::default();
    let mut diags = Diagnostics::new();
    parse_text(&o, &mut macros, &mut sources, "lib.stpm", "@define seven %( 7 %)", &mut diags).unwrap();
    let f = parse_text(&o, &mut macros, &mut sources, "u.stp", "probe begin { x = @seven }", &mut diags).unwrap();
    assert!(print_file(&f).contains("x = 7;"));
    assert!(!diags.has_errors());
    // A `.stp` file's own macros are local to it, and do not replace a
    // library macro for later files.
    parse_text(&o, &mut macros, &mut sources, "a.stp", "@define seven %( 8 %) @define mine %( 1 %) probe begin { x = @seven }", &mut diags).unwrap();
    let f = parse_text(&o, &mut macros, &mut sources, "b.stp", "probe begin { x = @seven }", &mut diags).unwrap();
    assert!(print_file(&f).contains("x = 7;"));
    assert!(parse_text(&o, &mut macros, &mut sources, "c.stp", "probe begin { x = @mine }", &mut diags).is_none());
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let n = 100_000;
    for text in [
        format!("probe begin {{ x = {}1{} }}", "(".repeat(n), ")".repeat(n)),
        format!("probe begin {}{}", "{".repeat(n), "}".repeat(n)),
        format!("probe begin {{ x = {}1 }}", "-".repeat(n)),
        format!("probe begin {{ x = {}1 }}", "! ".repeat(n)),
        format!("probe begin {{ {} x = 1 }}", "if (a) ".repeat(n)),
        format!("probe begin {{ x = {}1 }}", "a ? b : ".repeat(n)),
    ] {
        let e = parse_err(&text);
        assert!(e.contains("nesting too deep"), "{}", &e[..e.len().min(300)]);
    }
    // Nesting within the cap parses, even past what the caller's stack
    // (2 MiB for a test thread) would hold in a debug build.
    parse(&format!("probe begin {{ x = {}1{} }}", "(".repeat(100), ")".repeat(100)));
    parse(&format!("probe begin {{ x = {}1{} }}", "(".repeat(990), ")".repeat(990)));
    parse(&format!("probe begin {{ x = {}1{} }}", "1 + (".repeat(990), ")".repeat(990)));
    parse(&format!("probe begin {{ x = {}1 }}", "- ".repeat(990)));
    parse(&format!("probe begin {{ {} x = 1 }}", "if (a) ".repeat(990)));
    parse(&format!("probe begin {{ x = {}1 }}", "a ? b : ".repeat(990)));
    let deep_macros: String = (0..150).map(|k| format!("@define m{} %( @m{} %)\n", k + 1, k)).collect();
    parse(&format!("@define m0 %( 1 %)\n{}probe begin {{ x = @m150 }}", deep_macros));
}

#[test]
fn garbage_never_panics() {
    let pieces = [
        "probe", "begin", "{", "}", "(", ")", "[", "]", "%(", "%?", "%:", "%)", "@define", "@x", "$1",
        "\"s", "/*", "%{", "x", "=", "foreach", "in", "->", "$v", "@cast", ",", ";", "-", "1", "#",
        "global", "function", "f", ":", "long", "?", "!", "if", "else", "try", "catch", "<<<", "@hist_log",
    ];
    // A deterministic pseudo-random walk over the pieces.
    let mut seed: u64 = 0x2545F4914F6CDD1D;
    for _ in 0..3000 {
        let mut text = String::new();
        let len = (seed % 24) as usize;
        for _ in 0..len {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            text.push_str(pieces[(seed % pieces.len() as u64) as usize]);
            text.push(' ');
        }
        let _ = parse_with(&opts(), &text);
        seed = seed.wrapping_add(0x9E3779B97F4A7C15);
    }
}


#[test]
fn round_trip() {
    let text = r#"
global a[100], b%[10], c = -5, d = "x\ty", w%
private global p
probe begin, timer.ms(100)?, kernel.function("vfs_*").return! if (c > 0), syscall.* {
    x = a + b * c - -d . "s" . e ? f : g
    y = (a ? b : c) = 5
    if (!x in a) next else if ([x, *] in a) { delete a[*, 1] } else break
    foreach (v- = [k1, k2] in a[*, 5] limit 10) printf("%d\n", v)
    foreach (k in b @sum +) continue
    foreach (k in @hist_linear(s, 0, 10, 2)) print(@hist_linear(s, 0, 10, 2)[k])
    for (;;) { i++; --j }
    while (i < 10) i += 1
    try { error("x") } catch (msg) { println(msg) }
    try { } catch { }
    s <<< 5; z = @count(s) + @variance(s, 3) + @avg(s)
    t = $var->f->g[2] + $p$ . $q$$ . $$parms . &$v->x + @cast(p, "task_struct", "kernel")->pid
    u = @var("jiffies@kernel/time.c")->x + @defined($x) + @entry($y) + @perf("cycles")
    w = task_current()->pid + (x)->y + @const("X") + @probewrite(x) + @kregister(1)
}
function r() { return }
probe a.b = c.d { x = 1 }, { y = 2 }
probe e += f { }
private function g:long (x:long, y:string, z) { return x }
function h() %{ /* pure */ STAP_RETVALUE = 1; %}
%{ #include <linux/sched.h> %}
"#;
    let first = parse(text);
    let printed = print_file(&first);
    let second = parse(&printed);
    assert_eq!(without_spans(&first), without_spans(&second), "printed:\n{}", printed);
    assert_eq!(printed, print_file(&second));
}

#[test]
fn brace_expansion_is_a_product() {
    let f = parse("probe vfs.{a.{b,c},d}.e { }");
    assert!(print_file(&f).starts_with("probe vfs.a.b.e, vfs.a.c.e, vfs.d.e {"), "{}", print_file(&f));
    let f = parse("probe {kernel,module(\"ext4\")}.function(\"f\").{call,return}? { }");
    assert!(
        print_file(&f).starts_with(
            "probe kernel.function(\"f\").call?, kernel.function(\"f\").return?, \
             module(\"ext4\").function(\"f\").call?, module(\"ext4\").function(\"f\").return? {"
        ),
        "{}",
        print_file(&f)
    );
    let f = parse("probe kernel.{function(\"a\")?, function(\"b\")} { }");
    assert!(print_file(&f).starts_with("probe kernel.function(\"a\")?, kernel.function(\"b\") {"));
    let e = parse_err("probe a.{b,c,d,e,f,g,h,i,j,k}.{b,c,d,e,f,g,h,i,j,k}.{b,c,d,e,f,g,h,i,j,k}.{b,c,d,e,f,g,h,i,j,k}.{b,c,d,e,f,g,h,i,j,k} { }");
    assert!(e.contains("brace expansion yields more than 10000 probe points"), "{}", e);
}

#[test]
fn statements_and_separators() {
    let f = parse("probe begin { a = 1 b = 2; c = 3;; if (a) b++ else c-- }");
    let Item::Probe(p) = &f.items[0] else { panic!() };
    let kinds: Vec<&str> = p
        .body
        .stmts
        .iter()
        .map(|s| match s.kind {
            StmtKind::Expr(_) => "expr",
            StmtKind::Empty => "empty",
            StmtKind::If { .. } => "if",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["expr", "expr", "expr", "empty", "if"]);
    // `a` then `-1` on the next line is still `a - 1`, as in SystemTap.
    let f = parse("probe begin { x = a\n-1 }");
    assert!(print_file(&f).contains("x = a - 1;"));
}

#[test]
fn probe_point_from_an_argument() {
    let mut o = opts();
    o.args = vec!["syscall.open*".into(), "kernel.function(\"vfs_*\").return".into()];
    let f = parse_with(&o, "probe $1, $2 { }").unwrap();
    assert!(
        print_file(&f).starts_with("probe syscall.open*, kernel.function(\"vfs_*\").return {"),
        "{}",
        print_file(&f)
    );
}

#[test]
fn several_errors_are_reported() {
    let e = parse_err("probe begin { x = }\nprobe end { y = ( }\nfunction f( { }\n");
    assert_eq!(e.matches("error:").count(), 3, "{}", e);
}

#[test]
fn mutated_scripts_never_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testsuite/parseok");
    let Ok(entries) = std::fs::read_dir(&dir) else { return };
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let inserts = ["(", ")", "{", "}", "%(", "%)", "\"", "/*", "@", "$", ",", ";", "[", "]", "->", "?", ":"];
    for e in entries.flatten() {
        let Ok(text) = std::fs::read_to_string(e.path()) else { continue };
        let chars: Vec<char> = text.chars().collect();
        for _ in 0..60 {
            let at = (next() as usize) % (chars.len() + 1);
            let mut m: String = chars[..at].iter().collect();
            match next() % 3 {
                0 => {}
                1 => m.push_str(inserts[(next() as usize) % inserts.len()]),
                _ => {
                    m.push_str(inserts[(next() as usize) % inserts.len()]);
                    m.extend(chars[at..].iter());
                }
            }
            if next() % 2 == 0 && at < chars.len() {
                m.extend(chars[at + 1..].iter());
            }
            let _ = parse_with(&opts(), &m);
        }
    }
}

#[test]
fn empty_runtime_and_version_have_defaults() {
    let o = ParseOptions::default();
    let f = parse_with(&o, "probe begin { x = %( runtime == \"kernel\" && systemtap_v >= \"4.0\" %? 1 %: 2 %) }").unwrap();
    assert!(print_file(&f).contains("x = 1;"));
}

#[test]
fn deep_trees_print_and_reparse() {
    let n = 300;
    let text = format!("probe begin {{ x = {}1{} }}", "1 + (".repeat(n), ")".repeat(n));
    let f = parse(&text);
    let printed = print_file(&f);
    let again = parse(&printed);
    assert_eq!(print_file(&again), printed);
}

#[test]
fn probe_points_print_as_written() {
    let f = parse("probe kernel.function(\"vfs_read\").return?, timer.ms(-5)! if (x > 1) { }");
    let Item::Probe(p) = &f.items[0] else { panic!() };
    let printed: Vec<String> = p.points.iter().map(rstap::syntax::print_probe_point).collect();
    assert_eq!(printed, ["kernel.function(\"vfs_read\").return?", "timer.ms(-5)! if (x > 1)"]);
}
