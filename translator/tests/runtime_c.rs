//! Userspace unit tests of the C runtime: the printf formatter
//! (runtime-c/rstap_format.h), statistics and histogram printing
//! (runtime-c/rstap_stat.h), compiled as shipped with the host C compiler
//! (found through the `cc` crate) against tests/runtime_c/shim.h, which
//! stands in for the kernel.
//!
//! Input: cases, each a few C statements that print through the runtime
//! into the shim's print buffer, and the bytes (and error) expected of
//! them. Output: one C program per test, built with -Wall -Wextra -Werror
//! (the runtime must compile without a warning), run once; its output
//! holds every case's bytes. Invariants: the expected values come from
//! SystemTap's documentation (man stap, the language reference, the
//! documented example outputs) or, for the number conversions the manual
//! leaves to C, from the host C library's printf; a mismatch names the
//! case and shows both sides.

mod hostc_common;
use hostc_common::root;

/// One case: its name, C statements, the bytes they must print and the
/// error they must raise (None: no error).
struct Case {
    name: String,
    code: String,
    want: Vec<u8>,
    error: Option<&'static str>,
}

fn case(name: &str, code: &str, want: &[u8]) -> Case {
    Case { name: name.to_string(), code: code.to_string(), want: want.to_vec(), error: None }
}

const PRELUDE: &str = r#"
#include "shim.h"
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"

static struct rstap_context_base ctx;

#define N(x) { .n = (int64_t)(x) }
#define S(x) { .s = (x) }
#define P(x) { .n = (int64_t)(uintptr_t)(x) }
#define FMT(f, ...) do { \
	const union rstap_fmt_arg a_[] = { N(0), ##__VA_ARGS__ }; \
	rstap_printf_args(&ctx, "here", f, a_ + 1, (int)(sizeof(a_) / sizeof(a_[0])) - 1); \
} while (0)
#define SFMT(f, ...) do { \
	char d_[MAXSTRINGLEN]; \
	const union rstap_fmt_arg a_[] = { N(0), ##__VA_ARGS__ }; \
	rstap_sprintf_args(&ctx, "here", d_, f, a_ + 1, (int)(sizeof(a_) / sizeof(a_[0])) - 1); \
	rstap_print_bytes(&ctx, d_, strlen(d_)); \
} while (0)
#define CLIB(f, v) do { \
	char d_[512]; \
	int n_ = snprintf(d_, sizeof(d_), f, v); \
	rstap_print_bytes(&ctx, d_, (size_t)n_); \
} while (0)
#define SEP() rstap_print_bytes(&ctx, "\x1f", 1)

/* A statistic with room for every bucket of a log histogram. */
struct test_stat {
	struct rstap_stat st;
	int64_t b[RSTAP_HIST_LOG_BUCKETS];
};

static __maybe_unused void add_n(const struct rstap_hist *h, struct test_stat *t, int64_t v, int n)
{
	while (n-- > 0)
		rstap_stat_add(h, &t->st, v);
}

static __maybe_unused void print_long(int64_t v)
{
	char d[32];
	int n = snprintf(d, sizeof(d), "%lld", (long long)v);

	rstap_print_bytes(&ctx, d, (size_t)n);
}

static void end_case(const char *name)
{
	printf("%s\n%zu\n", name, ctx.print_len);
	fwrite(ctx.print_buf, 1, ctx.print_len, stdout);
	printf("\n%s\n", ctx.last_error ? ctx.last_error : "-");
	ctx.print_len = 0;
	ctx.last_error = NULL;
}

static __maybe_unused const char mem[] = "abcdefgh\x01\xff";
static __maybe_unused const char long_text[] = "0123456789012345678901234567890123456789012345678901234567890123456789"
	"0123456789012345678901234567890123456789012345678901234567890123456789";
"#;

/// Compiles `cases` into one program (with `defines`), runs it and checks
/// every case; panics listing all mismatches.
fn run_cases(test: &str, defines: &[&str], cases: &[Case]) {
    let results = run_program(test, defines, cases);
    let mut failures = Vec::new();
    for (c, (name, got, err)) in cases.iter().zip(&results) {
        assert_eq!(&c.name, name);
        let err_want = c.error.unwrap_or("-");
        if *got != c.want || err != err_want {
            failures.push(format!(
                "case {name}:\n  want {:?} (error {err_want})\n  got  {:?} (error {err})",
                String::from_utf8_lossy(&c.want),
                String::from_utf8_lossy(got)
            ));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases fail:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

/// Splits the program's output: per case "NAME\nLEN\n" LEN bytes "\nERROR\n".
fn parse_results(mut out: &[u8]) -> Vec<(String, Vec<u8>, String)> {
    fn line<'a>(out: &mut &'a [u8]) -> &'a [u8] {
        let i = out.iter().position(|&b| b == b'\n').expect("a line");
        let l = &out[..i];
        *out = &out[i + 1..];
        l
    }
    let mut v = Vec::new();
    while !out.is_empty() {
        let name = String::from_utf8_lossy(line(&mut out)).into_owned();
        let len: usize = String::from_utf8_lossy(line(&mut out)).parse().unwrap();
        let bytes = out[..len].to_vec();
        out = &out[len + 1..];
        let err = String::from_utf8_lossy(line(&mut out)).into_owned();
        v.push((name, bytes, err));
    }
    v
}

/// A C string literal of `s`.
fn c_lit(s: &str) -> String {
    let mut o = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// printf with a format and arguments (C initialisers such as `N(1)`, `S("x")`).
fn fmt(name: &str, format: &str, args: &str, want: &[u8]) -> Case {
    let comma = if args.is_empty() { "" } else { ", " };
    case(name, &format!("\t\tFMT({}{comma}{args});", c_lit(format)), want)
}

/// The same through sprintf (MAXSTRINGLEN-bounded).
fn sfmt(name: &str, format: &str, args: &str, want: &[u8]) -> Case {
    let comma = if args.is_empty() { "" } else { ", " };
    case(name, &format!("\t\tSFMT({}{comma}{args});", c_lit(format)), want)
}

#[test]
fn documented_printf_examples() {
    let mut cases = vec![
        // man stap, printf examples.
        fmt(
            "man_mixed",
            "%c is %s; %x or %X or %p; %d or %u\n",
            "N(97), S(\"alice\"), N(0x1234abcd), N(0x1234abcd), N(0x1234abcd), N(-1), N(-1)",
            b"a is alice; 1234abcd or 1234ABCD or 0x1234abcd; -1 or 18446744073709551615\n",
        ),
        fmt("man_alt", "%#o %#x %#X\n", "N(1), N(2), N(3)", b"01 0x2 0X3\n"),
        fmt("man_alt_c", "%#c %#c %#c\n", "N(0), N(9), N(42)", b"\\000 \\t *\n"),
        fmt("man_4b", "%4b", "N(0x1234abcd)", &[0xcd, 0xab, 0x34, 0x12]),
        fmt("man_b_default_8", "%b", "N(0x0102030405060708)", &[8, 7, 6, 5, 4, 3, 2, 1]),
        fmt("b1", "%1b", "N(0x141)", b"A"),
        fmt("b2", "%2b", "N(0x4241)", b"AB"),
        fmt("b8", "%8b", "N(-1)", &[0xff; 8]),
        // %m / %M: precision bytes of memory (default 1), width pads.
        fmt("man_2m", "2 bytes at %p: %2m", "P(0x1234abcd), P(mem)", b"2 bytes at 0x1234abcd: ab"),
        fmt("m_default_1", "[%m]", "P(mem)", b"[a]"),
        fmt("m_width_is_size", "[%3m][%2M]", "P(mem), P(mem)", b"[abc][6162]"),
        fmt("man_10_4m", "[%10.4m]", "P(mem)", b"[      abcd]"),
        fmt("m_left", "[%-6.2m]", "P(mem)", b"[ab    ]"),
        fmt("man_10_4M", "[%10.4M]", "P(mem)", b"[  61626364]"),
        fmt("M_left", "[%-6.2M]", "P(mem)", b"[6162  ]"),
        fmt("M_default_1", "[%M]", "P(mem)", b"[61]"),
        fmt("man_star_M", "[%.*M]", "N(10), P(mem)", b"[616263646566676801ff]"),
        fmt("m_raw_bytes", "%.10m", "P(mem)", b"abcdefgh\x01\xff"),
        fmt("m_user", "[%#.3m]", "P(mem)", b"[abc]"),
        // Flags the issue names, which the kernel's snprintf would warn about.
        fmt("alt_c_escapes", "%#c%#c%#c%#c%#c", "N(10), N(92), N(39), N(34), N(200)", b"\\n\\\\\\'\\\"\\310"),
        fmt("alt_c_named", "%#c%#c%#c%#c%#c%#c", "N(7), N(8), N(12), N(13), N(11), N(127)", b"\\a\\b\\f\\r\\v\\177"),
        fmt("alt_c_width", "[%#5c][%-#5c]", "N(10), N(10)", b"[   \\n][\\n   ]"),
        fmt("alt_d_no_effect", "%#d %#i", "N(42), N(-42)", b"42 -42"),
        fmt("left_alt_x", "[%-#5x]", "N(10)", b"[0xa  ]"),
        fmt("alt_x_zero_pad", "[%#08x]", "N(255)", b"[0x0000ff]"),
        fmt("plus_s", "[%+s][% s][%#s][%0s]", "S(\"x\"), S(\"y\"), S(\"z\"), S(\"w\")", b"[x][y][z][w]"),
        fmt("plus_u", "%+u % u %+x", "N(5), N(5), N(255)", b"5 5 ff"),
        fmt("plus_d", "%+d % d %+d % d", "N(5), N(5), N(-5), N(-5)", b"+5  5 -5 -5"),
        fmt("c_plain", "[%c][%3c][%-3c]", "N(65), N(66), N(67)", b"[A][  B][C  ]"),
        fmt("c_nul", "[%c]", "N(0)", b"[\0]"),
        fmt("c_low_byte", "%c", "N(0x141)", b"A"),
        fmt("percent", "100%% %d%%", "N(5)", b"100% 5%"),
        fmt("no_args", "plain text\n", "", b"plain text\n"),
        // 64-bit longs.
        fmt("int64_min", "%d %u %x %o", "N(INT64_MIN), N(INT64_MIN), N(INT64_MIN), N(INT64_MIN)",
            b"-9223372036854775808 9223372036854775808 8000000000000000 1000000000000000000000"),
        fmt("int64_max", "%d %X", "N(INT64_MAX), N(INT64_MAX)", b"9223372036854775807 7FFFFFFFFFFFFFFF"),
        fmt("minus_one_hex", "%x %o", "N(-1), N(-1)", b"ffffffffffffffff 1777777777777777777777"),
        fmt("length_modifiers", "%lld %ld %hd %llx", "N(-3), N(4), N(5), N(255)", b"-3 4 5 ff"),
        // The number rules of the Linux vsprintf SystemTap formats with.
        fmt("alt_x_of_0", "%#x %#X", "N(0), N(0)", b"0x0 0X0"),
        fmt("alt_o_of_0", "%#o %#o", "N(0), N(8)", b"00 010"),
        fmt("alt_o_precision", "%#.3o", "N(1)", b"0001"),
        fmt("prec_0_of_0", "[%.0d][%.0x]", "N(0), N(0)", b"[0][0]"),
        fmt("zero_with_precision", "[%08.3d][%-08.3d]", "N(5), N(5)", b"[00000005][005     ]"),
        fmt("zero_negative", "[%08d][%+08d]", "N(-42), N(42)", b"[-0000042][+0000042]"),
        // %p: 0x and the hex digits.
        fmt("p_zero", "%p", "N(0)", b"0x0"),
        fmt("p_width", "[%20p][%-20p]", "N(0xffffffff81000000), N(1)", b"[  0xffffffff81000000][0x1                 ]"),
        fmt("p_zero_pad", "[%018p]", "N(0x1234)", b"[0x0000000000001234]"),
        // '*' widths and precisions, from the arguments.
        fmt("star_width", "[%*d]", "N(6), N(42)", b"[    42]"),
        fmt("star_negative_width", "[%*d]", "N(-6), N(42)", b"[42    ]"),
        fmt("star_both", "[%-*.*s]", "N(8), N(2), S(\"hello\")", b"[he      ]"),
        fmt("star_prec_negative", "[%.*s]", "N(-1), S(\"hello\")", b"[hello]"),
        fmt("star_width_capped", "%*d", "N(1000000000), N(1)", &{
            let mut v = vec![b' '; 4095];
            v.push(b'1');
            v
        }),
        // Strings.
        fmt("s_width_prec", "[%5s][%-5s][%.2s][%5.1s][%s]", "S(\"ab\"), S(\"ab\"), S(\"abc\"), S(\"abc\"), S(\"\")", b"[   ab][ab   ][ab][    a][]"),
        fmt("s_null_is_empty", "[%s]", "S(NULL)", b"[]"),
        fmt("missing_args", "[%d][%s]", "", b"[0][]"),
        // Output longer than the formatter's chunk goes out whole.
        fmt("long_printf", "%300s", "S(\"x\")", &{
            let mut v = vec![b' '; 299];
            v.push(b'x');
            v
        }),
        // sprintf: the same rules, cut at MAXSTRINGLEN - 1 bytes.
        sfmt("sprintf_rules", "%08.3d|%+d|% d|%#x", "N(5), N(5), N(5), N(0)", b"00000005|+5| 5|0x0"),
        sfmt("sprintf_truncates", "%s%s", "S(long_text), S(long_text)", &b"01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567"[..127]),
        sfmt("sprintf_width_truncates", "%200d", "N(7)", &[b' '; 127]),
    ];
    let mut fault = fmt("m_fault", "before %4m after", "N(16)", b"");
    fault.error = Some("kernel read fault at 0x0000000000000010 (addr)");
    cases.push(fault);
    let mut ufault = fmt("m_user_fault", "[%#M]", "N(4096)", b"");
    ufault.error = Some("user read fault at 0x0000000000001000 (addr)");
    cases.push(ufault);
    let mut sfault = sfmt("sprintf_fault", "x%Mx", "N(0)", b"");
    sfault.error = Some("kernel read fault at 0x0000000000000000 (addr)");
    cases.push(sfault);
    run_cases("documented_printf_examples", &[], &cases);
}

/// Integer conversions without '#', and without the two places where the
/// Linux rules differ from C's ('0' with a precision; precision 0 of 0),
/// print what the C library's printf prints for a long long.
#[test]
fn numbers_match_c_printf() {
    let values: &[(&str, i64)] = &[("0", 0), ("m1", -1), ("42", 42), ("min", i64::MIN), ("max", i64::MAX), ("big", 1234567890123)];
    let flag_sets = ["", "-", "+", " ", "0", "-+", "+0", " 0", "- ", "-0", "+ "];
    let widths = ["", "1", "5", "25"];
    let precs = ["", ".0", ".3", ".21"];
    // One C table, run by one loop: thousands of cases compile in a moment.
    let mut table = String::new();
    let mut count = 0;
    for conv in ['d', 'i', 'u', 'x', 'X', 'o'] {
        for flags in flag_sets {
            for w in widths {
                for p in precs {
                    for (_, v) in values {
                        if (flags.contains('0') && !p.is_empty()) || (p == ".0" && *v == 0) {
                            continue;
                        }
                        let lit = if *v == i64::MIN { "INT64_MIN".to_string() } else { format!("{v}LL") };
                        let signed = "di".contains(conv) as u8;
                        table.push_str(&format!(
                            "\t\t{{ {}, {}, {lit}, {signed} }},\n",
                            c_lit(&format!("%{flags}{w}{p}{conv}")),
                            c_lit(&format!("%{flags}{w}{p}ll{conv}"))
                        ));
                        count += 1;
                    }
                }
            }
        }
    }
    let mut stable = String::new();
    for flags in ["", "-"] {
        for w in widths {
            for p in ["", ".0", ".1", ".4"] {
                for s in ["", "a", "hello world"] {
                    stable.push_str(&format!("\t\t{{ {}, {} }},\n", c_lit(&format!("%{flags}{w}{p}s")), c_lit(s)));
                    count += 1;
                }
            }
            stable.push_str(&format!("\t\t{{ {}, NULL }},\n", c_lit(&format!("%{flags}{w}c"))));
            count += 1;
        }
    }
    assert!(count > 1000, "{count} generated cases");
    // Rows that disagree print rstap's text, the format and the C library's.
    let code = format!(
        r#"		static const struct {{ const char *ours, *clib; int64_t v; int is_signed; }} nums[] = {{
{table}		}};
		static const struct {{ const char *f, *s; }} strs[] = {{
{stable}		}};
		char theirs[512];
		size_t i, bad = 0;

		for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {{
			const union rstap_fmt_arg a = {{ .n = nums[i].v }};
			size_t at = ctx.print_len;

			rstap_printf_args(&ctx, "here", nums[i].ours, &a, 1);
			if (nums[i].is_signed)
				snprintf(theirs, sizeof(theirs), nums[i].clib, (long long)nums[i].v);
			else
				snprintf(theirs, sizeof(theirs), nums[i].clib, (unsigned long long)nums[i].v);
			if (ctx.print_len - at == strlen(theirs) && !memcmp(ctx.print_buf + at, theirs, strlen(theirs))) {{
				ctx.print_len = at;
				continue;
			}}
			bad++;
			rstap_print_bytes(&ctx, " <- ", 4);
			rstap_print_bytes(&ctx, nums[i].ours, strlen(nums[i].ours));
			rstap_print_bytes(&ctx, " C: ", 4);
			rstap_print_bytes(&ctx, theirs, strlen(theirs));
			rstap_print_bytes(&ctx, "\n", 1);
		}}
		for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {{
			union rstap_fmt_arg a;
			size_t at = ctx.print_len;

			if (strs[i].s) {{
				a.s = strs[i].s;
				snprintf(theirs, sizeof(theirs), strs[i].f, strs[i].s);
			}} else {{
				a.n = 'q';
				snprintf(theirs, sizeof(theirs), strs[i].f, 'q');
			}}
			rstap_printf_args(&ctx, "here", strs[i].f, &a, 1);
			if (ctx.print_len - at == strlen(theirs) && !memcmp(ctx.print_buf + at, theirs, strlen(theirs))) {{
				ctx.print_len = at;
				continue;
			}}
			bad++;
			rstap_print_bytes(&ctx, " <- ", 4);
			rstap_print_bytes(&ctx, strs[i].f, strlen(strs[i].f));
			rstap_print_bytes(&ctx, " C: ", 4);
			rstap_print_bytes(&ctx, theirs, strlen(theirs));
			rstap_print_bytes(&ctx, "\n", 1);
		}}
		if (!bad)
			rstap_print_bytes(&ctx, "all agree", 9);"#
    );
    run_cases("numbers_match_c_printf", &[], &[case("numbers", &code, b"all agree")]);
}

/// Builds and runs the cases; returns (name, bytes, error) of each.
fn run_program(test: &str, defines: &[&str], cases: &[Case]) -> Vec<(String, Vec<u8>, String)> {
    let dir = tempfile::tempdir().unwrap();
    let mut src = String::from(PRELUDE);
    src.push_str("int main(void)\n{\n");
    for c in cases {
        src.push_str(&format!("\t{{\n{}\n\t}}\n\tend_case(\"{}\");\n", c.code, c.name));
    }
    src.push_str("\treturn 0;\n}\n");
    let extra = root().join("translator/tests/runtime_c");
    let stdout = hostc_common::build_and_run(dir.path(), test, &src, &[&extra], defines);
    let results = parse_results(&stdout);
    assert_eq!(results.len(), cases.len(), "every case reports");
    for (c, (name, _, _)) in cases.iter().zip(&results) {
        assert_eq!(&c.name, name);
    }
    results
}

/// A statistic case: `hist` initialises `struct rstap_hist h`, `adds` are
/// (value, times) added in order, `then` prints (C statements over h and t).
fn stat(name: &str, hist: &str, adds: &[(i64, u32)], then: &str, want: &[u8]) -> Case {
    let mut code = format!("\t\tstatic const struct rstap_hist h = {{ {hist} }};\n\t\tstatic struct test_stat t;\n\n\t\tmemset(&t, 0, sizeof(t));\n\t\t(void)h;\n");
    for (v, n) in adds {
        let lit = if *v == i64::MIN { "INT64_MIN".to_string() } else { format!("{v}LL") };
        code.push_str(&format!("\t\tadd_n(&h, &t, {lit}, {n});\n"));
    }
    code.push_str("\t\t");
    code.push_str(then);
    case(name, &code, want)
}

fn values(v: &[i64]) -> Vec<(i64, u32)> {
    v.iter().map(|&x| (x, 1)).collect()
}

const VAR: &str = "print_long(rstap_stat_variance(&h, &t.st));";

#[test]
fn statistics() {
    let var = |shift: u8| format!(".kind = RSTAP_HIST_NONE, .variance = 1, .shift = {shift}");
    let cases = vec![
        // man stap, STATISTICS: 1..5 with bit-shift 1 is 2 (exact: 2.5).
        stat("man_variance_shift_1", &var(1), &values(&[1, 2, 3, 4, 5]), VAR, b"2"),
        // Welford's algorithm in integers (man stap): without a shift the
        // running mean stays 1 (each delta / count truncates to 0), so the
        // sum of squared deviations is 0+1+4+9+16 = 30, over 4: 7. (The
        // manual prints 12 there, which no integer Welford computation of
        // these values gives.)
        stat("variance_shift_0", &var(0), &values(&[1, 2, 3, 4, 5]), VAR, b"7"),
        // Means 5, 3, 5, 5; M2 8, 32, 36; 36 / 3.
        stat("variance_5193", &var(0), &values(&[5, 1, 9, 3]), VAR, b"12"),
        // Values << 2: means 20, 12, 20, 18; M2 128, 512, 560; 560/3 = 186, >> 4 = 11 (exact 11.67).
        stat("variance_5193_shift_2", &var(2), &values(&[5, 1, 9, 3]), VAR, b"11"),
        // Means -4, 0; M2 = 8 * 4 = 32.
        stat("variance_symmetric", &var(0), &values(&[-4, 4]), VAR, b"32"),
        // Exact 4.57: without a shift the truncated means give 9, with 8 bits 4.
        stat("variance_shift_precision", &var(0), &values(&[2, 4, 4, 4, 5, 5, 7, 9]), VAR, b"9"),
        stat("variance_shift_8", &var(8), &values(&[2, 4, 4, 4, 5, 5, 7, 9]), VAR, b"4"),
        // Exact 76.33 (mean -2.67).
        stat("variance_negative_values", &var(3), &values(&[-5, -10, 7]), VAR, b"76"),
        stat("variance_large", &var(0), &values(&[100, 200, 300, 1000]), VAR, b"166666"),
        stat("variance_one_value", &var(0), &values(&[7]), VAR, b"0"),
        stat("variance_equal_values", &var(4), &[(9, 100)], VAR, b"0"),
        // Two CPUs' statistics merged (Chan's formula) at shift 4: {1,2,3} and {4,5}: 2 (exact 2.5).
        case(
            "variance_merged",
            "\t\tstatic const struct rstap_hist h = { .kind = RSTAP_HIST_NONE, .variance = 1, .shift = 4 };\n\
             \t\tstatic struct test_stat a, b, m;\n\
             \t\tadd_n(&h, &a, 1, 1); add_n(&h, &a, 2, 1); add_n(&h, &a, 3, 1);\n\
             \t\tadd_n(&h, &b, 4, 1); add_n(&h, &b, 5, 1);\n\
             \t\trstap_stat_merge(&h, &m.st, &a.st); rstap_stat_merge(&h, &m.st, &b.st);\n\
             \t\tprint_long(rstap_stat_variance(&h, &m.st)); rstap_print_bytes(&ctx, \" \", 1); print_long(m.st.count);",
            b"2 5",
        ),
        // @avg is the integer quotient, rounded toward zero like C's `/`.
        stat("avg_truncates", ".kind = RSTAP_HIST_NONE", &values(&[-3, -4]), "print_long(rstap_stat_avg(&t.st));", b"-3"),
        stat("avg_positive", ".kind = RSTAP_HIST_NONE", &values(&[1, 2, 2]), "print_long(rstap_stat_avg(&t.st));", b"1"),
        stat(
            "count_sum_min_max",
            ".kind = RSTAP_HIST_NONE",
            &values(&[5, -7, 12, 0]),
            "print_long(t.st.count); print_long(t.st.sum); print_long(t.st.min); print_long(t.st.max);",
            b"410-712",
        ),
        // man stap: @hist_linear(x, 1, 3, 1) over -100, 1, 2, 3, 100 has an
        // out-of-range-low bucket, 3 payload buckets, an out-of-range-high one.
        stat(
            "man_linear_buckets",
            ".kind = RSTAP_HIST_LINEAR, .start = 1, .stop = 3, .interval = 1, .nb = 5",
            &values(&[-100, 1, 2, 3, 100]),
            "for (int i = 0; i < h.nb; i++) print_long(t.b[i]);",
            b"11111",
        ),
        // man stap: the buckets one by one, 0 (below) to N + 1 (above); 0 outside.
        stat(
            "man_linear_bucket_index",
            ".kind = RSTAP_HIST_LINEAR, .start = 1, .stop = 3, .interval = 1, .nb = 5",
            &[(-100, 1), (1, 2), (2, 3), (3, 4), (100, 5)],
            "for (int i = -1; i <= 5; i++) print_long(rstap_hist_bucket(&h, &t.st, i));\n\t\tprint_long(rstap_hist_bucket(&h, NULL, 1));",
            b"01234500",
        ),
        // start..stop is inclusive: stop is in the last payload bucket, and
        // (man stap) the overflow bucket counts the samples above stop.
        stat(
            "linear_stop_inclusive",
            ".kind = RSTAP_HIST_LINEAR, .start = 0, .stop = 100, .interval = 10, .nb = 13",
            &values(&[100, 101, 109, 110, -1, 0, 9]),
            "for (int i = 0; i < h.nb; i++) print_long(t.b[i]);",
            b"1200000000013",
        ),
        stat(
            "log_buckets",
            ".kind = RSTAP_HIST_LOG, .nb = RSTAP_HIST_LOG_BUCKETS",
            &[],
            "int64_t v[] = { 0, 1, 2, 3, 4, 7, 8, -1, -2, -3, INT64_MIN, INT64_MAX, 1LL << 62 };\n\
             \t\tfor (int i = 0; i < 13; i++) { print_long(rstap_hist_log_index(v[i])); rstap_print_bytes(&ctx, \",\", 1); }",
            b"64,65,66,66,67,67,68,63,62,62,0,127,127,",
        ),
        // @hist_log(s)[i]: the count of log bucket i (64 is 0, 64 + k holds
        // 2^(k-1)..2^k - 1, 64 - k the negatives); 0 outside 0..127.
        stat(
            "log_bucket_index",
            LOG,
            &[(0, 1), (1, 2), (2, 1), (3, 2), (-1, 4), (1000, 5), (i64::MAX, 6)],
            "int64_t i[] = { -1, 0, 63, 64, 65, 66, 74, 127, 128 };\n\
             \t\tfor (int k = 0; k < 9; k++) { print_long(rstap_hist_bucket(&h, &t.st, i[k])); rstap_print_bytes(&ctx, \",\", 1); }",
            b"0,0,4,1,2,3,5,6,0,",
        ),
    ];
    run_cases("statistics", &[], &cases);
}

const PRINT: &str = "rstap_hist_print(&ctx, &h, &t.st);";
const LOG: &str = ".kind = RSTAP_HIST_LOG, .nb = RSTAP_HIST_LOG_BUCKETS";

fn linear(start: i64, stop: i64, interval: i64) -> String {
    format!(".kind = RSTAP_HIST_LINEAR, .start = {start}, .stop = {stop}, .interval = {interval}, .nb = {}", (stop - start) / interval + 3)
}

#[test]
fn histograms() {
    let cases = vec![
        // The language reference, @hist_linear: print(@hist_linear(reads, 0, 10240, 200)).
        stat("langref_linear", &linear(0, 10240, 200), &[(0, 1650), (200, 8), (1400, 1)], PRINT, LANGREF_LINEAR.as_bytes()),
        // The language reference, @hist_log.
        stat("langref_log", LOG, &[(32, 254), (64, 3), (128, 2), (256, 2), (512, 4), (1024, 16689)], PRINT, LANGREF_LOG.as_bytes()),
        // systemtap-doc's examples (bitesize-nd): the documented output of tar.
        stat(
            "example_bitesize",
            LOG,
            &[(4096, 1645), (8192, 836), (16384, 1394), (32768, 532), (65536, 180), (131072, 219)],
            PRINT,
            EXAMPLE_BITESIZE.as_bytes(),
        ),
        // Under- and overflow rows, the last natural bucket (stop) and a value past it.
        stat("linear_out_of_range", &linear(0, 50, 10), &values(&[5, 15, 15, 25, 50, 51, -3]), PRINT, LINEAR_OUT_OF_RANGE.as_bytes()),
        // Negative log buckets, and rows of both signs around 0.
        stat("log_negative", LOG, &values(&[-5]), PRINT, LOG_NEGATIVE.as_bytes()),
        stat("log_minus_one", LOG, &values(&[-1, -1]), PRINT, LOG_MINUS_ONE.as_bytes()),
        stat("empty_prints_nothing", LOG, &[], PRINT, b""),
        // sprint(@hist_*): the same text, cut at MAXSTRINGLEN - 1 bytes; sprintln adds "\n".
        stat(
            "sprint_cut",
            &linear(0, 50, 10),
            &values(&[5, 15, 15, 25, 50, 51, -3]),
            "char d[MAXSTRINGLEN];\n\t\trstap_hist_sprint(d, &h, &t.st, 0);\n\t\trstap_print_bytes(&ctx, d, strlen(d));",
            &LINEAR_OUT_OF_RANGE.as_bytes()[..127],
        ),
        stat(
            "sprintln_short",
            LOG,
            &[],
            "char d[MAXSTRINGLEN];\n\t\trstap_hist_sprint(d, &h, &t.st, 1);\n\t\trstap_print_bytes(&ctx, d, strlen(d));",
            b"\n",
        ),
    ];
    run_cases("histograms", &[], &cases);
}

/// The language reference: "-DHIST_ELISION=3 and the histogram has 10
/// consecutive empty buckets, the first 3 and last 3 empty buckets will be
/// printed and the middle 4 empty buckets will be represented by a tilde";
/// 0 removes all empty buckets, a negative number disables removal.
#[test]
fn histogram_elision_setting() {
    let data = &[(0, 1), (11, 2)];
    run_cases("elision_3", &["HIST_ELISION=3"], &[stat("elision_3", &linear(0, 20, 1), data, PRINT, ELISION_3.as_bytes())]);
    run_cases("elision_0", &["HIST_ELISION=0"], &[stat("elision_0", &linear(0, 20, 1), data, PRINT, ELISION_0.as_bytes())]);
    run_cases("elision_off", &["HIST_ELISION=-1"], &[stat("elision_off", &linear(0, 20, 1), data, PRINT, ELISION_OFF.as_bytes())]);
}

const LANGREF_LINEAR: &str = "value |-------------------------------------------------- count\n    0 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@ 1650\n  200 |                                                      8\n  400 |                                                      0\n  600 |                                                      0\n      ~\n 1000 |                                                      0\n 1200 |                                                      0\n 1400 |                                                      1\n 1600 |                                                      0\n 1800 |                                                      0\n\n";
const LANGREF_LOG: &str = "value |-------------------------------------------------- count\n    8 |                                                       0\n   16 |                                                       0\n   32 |                                                     254\n   64 |                                                       3\n  128 |                                                       2\n  256 |                                                       2\n  512 |                                                       4\n 1024 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@  16689\n 2048 |                                                       0\n 4096 |                                                       0\n\n";
const EXAMPLE_BITESIZE: &str = " value |-------------------------------------------------- count\n  1024 |                                                      0\n  2048 |                                                      0\n  4096 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@  1645\n  8192 |@@@@@@@@@@@@@@@@@@@@@@@@@                           836\n 16384 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@         1394\n 32768 |@@@@@@@@@@@@@@@@                                    532\n 65536 |@@@@@                                               180\n131072 |@@@@@@                                              219\n262144 |                                                      0\n524288 |                                                      0\n\n";
const LINEAR_OUT_OF_RANGE: &str = "value |-------------------------------------------------- count\n   <0 |@                                                  1\n    0 |@                                                  1\n   10 |@@                                                 2\n   20 |@                                                  1\n   30 |                                                   0\n   40 |                                                   0\n   50 |@                                                  1\n  >50 |@                                                  1\n\n";
const LOG_NEGATIVE: &str = "value |-------------------------------------------------- count\n  -16 |                                                   0\n   -8 |                                                   0\n   -4 |@                                                  1\n   -2 |                                                   0\n   -1 |                                                   0\n\n";
const LOG_MINUS_ONE: &str = "value |-------------------------------------------------- count\n   -4 |                                                   0\n   -2 |                                                   0\n   -1 |@@                                                 2\n    0 |                                                   0\n    1 |                                                   0\n\n";
const ELISION_3: &str = "value |-------------------------------------------------- count\n    0 |@                                                  1\n    1 |                                                   0\n    2 |                                                   0\n    3 |                                                   0\n      ~\n    8 |                                                   0\n    9 |                                                   0\n   10 |                                                   0\n   11 |@@                                                 2\n   12 |                                                   0\n   13 |                                                   0\n   14 |                                                   0\n\n";
const ELISION_0: &str = "value |-------------------------------------------------- count\n    0 |@                                                  1\n      ~\n   11 |@@                                                 2\n\n";
const ELISION_OFF: &str = "value |-------------------------------------------------- count\n    0 |@                                                  1\n    1 |                                                   0\n    2 |                                                   0\n    3 |                                                   0\n    4 |                                                   0\n    5 |                                                   0\n    6 |                                                   0\n    7 |                                                   0\n    8 |                                                   0\n    9 |                                                   0\n   10 |                                                   0\n   11 |@@                                                 2\n   12 |                                                   0\n   13 |                                                   0\n\n";
