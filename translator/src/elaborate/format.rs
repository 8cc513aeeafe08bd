//! printf format strings: parsed at translation time.
//!
//! Input: the format literal of `printf`/`sprintf`. Output: a list of
//! `FormatPiece`s and the type each conversion wants of its argument.
//! Invariants: only conversions the runtime (runtime-c/rstap_format.h)
//! prints are accepted; an unknown or incomplete conversion is an error
//! naming it. A `*` width or precision is `Some(STAR)`, and takes the
//! argument(s) just before the conversion's own (`arg - 1`, and `arg - 2`
//! when both are `*`), numbered in order like every other argument.

use crate::ir::{FormatPiece, Type};

/// A width or precision given as `*`: read from an argument at run time.
pub const STAR: u32 = u32::MAX;

/// How many `*` arguments precede a conversion's own argument.
pub fn star_count(width: Option<u32>, precision: Option<u32>) -> usize {
    (width == Some(STAR)) as usize + (precision == Some(STAR)) as usize
}

/// The format text the runtime reads back (and `-p2` shows): text with `%`
/// doubled, each conversion as `%[flags][width][.precision]conv`.
pub fn format_string(pieces: &[FormatPiece]) -> String {
    let mut fmt = String::new();
    for p in pieces {
        match p {
            FormatPiece::Text(t) => fmt.push_str(&t.replace('%', "%%")),
            FormatPiece::Conv { flags, width, precision, conv, .. } => {
                fmt.push('%');
                fmt.push_str(flags);
                match width {
                    Some(STAR) => fmt.push('*'),
                    Some(w) => fmt.push_str(&w.to_string()),
                    None => {}
                }
                match precision {
                    Some(STAR) => fmt.push_str(".*"),
                    Some(p) => fmt.push_str(&format!(".{p}")),
                    None => {}
                }
                // `?` (a print argument of a type not inferred) prints as a number.
                fmt.push(if *conv == '?' { 'd' } else { *conv });
            }
        }
    }
    fmt
}

/// Splits `fmt` into text and conversions. Conversions are numbered from
/// `first_arg` on. Returns the pieces and each conversion's argument type.
pub fn parse_format(fmt: &str, first_arg: usize) -> Result<(Vec<FormatPiece>, Vec<Type>), String> {
    let mut pieces = Vec::new();
    let mut types = Vec::new();
    let mut text = String::new();
    let mut chars = fmt.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch != '%' {
            text.push(ch);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            text.push('%');
            continue;
        }
        let mut flags = String::new();
        while let Some(&f) = chars.peek() {
            if "-+ #0".contains(f) {
                flags.push(f);
                chars.next();
            } else {
                break;
            }
        }
        let width = read_width(&mut chars, &mut types);
        let precision = if chars.peek() == Some(&'.') {
            chars.next();
            Some(read_width(&mut chars, &mut types).unwrap_or(0))
        } else {
            None
        };
        // Length modifiers are accepted and ignored: every number is 64-bit.
        while matches!(chars.peek(), Some('l') | Some('h') | Some('L') | Some('z') | Some('j')) {
            chars.next();
        }
        let conv = match chars.next() {
            Some(c) => c,
            None => return Err("format ends in the middle of a conversion".into()),
        };
        let ty = match conv {
            'd' | 'i' | 'u' | 'x' | 'X' | 'o' | 'c' | 'p' | 'm' | 'M' => Type::Long,
            'b' => {
                if !matches!(width, None | Some(1) | Some(2) | Some(4) | Some(8)) {
                    return Err("the width of `%b` must be 1, 2, 4 or 8 (bytes)".into());
                }
                Type::Long
            }
            's' => Type::String,
            other => return Err(format!("unsupported format conversion `%{other}`")),
        };
        if !text.is_empty() {
            pieces.push(FormatPiece::Text(std::mem::take(&mut text)));
        }
        pieces.push(FormatPiece::Conv {
            arg: first_arg + types.len(),
            flags,
            width,
            precision,
            conv,
        });
        types.push(ty);
    }
    if !text.is_empty() {
        pieces.push(FormatPiece::Text(text));
    }
    Ok((pieces, types))
}

/// A width or precision: digits, or `*` (which takes a long argument).
fn read_width(chars: &mut std::iter::Peekable<std::str::Chars>, types: &mut Vec<Type>) -> Option<u32> {
    if chars.peek() == Some(&'*') {
        chars.next();
        types.push(Type::Long);
        return Some(STAR);
    }
    read_number(chars)
}

fn read_number(chars: &mut std::iter::Peekable<std::str::Chars>) -> Option<u32> {
    let mut n: Option<u32> = None;
    while let Some(&d) = chars.peek() {
        if let Some(v) = d.to_digit(10) {
            n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(v).min(4096));
            chars.next();
        } else {
            break;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_text_and_conversions() {
        let (p, t) = parse_format("a %-5d b %s%%\n", 0).unwrap();
        assert_eq!(t, vec![Type::Long, Type::String]);
        assert_eq!(p.len(), 5);
        assert_eq!(p[0], FormatPiece::Text("a ".into()));
        assert_eq!(
            p[1],
            FormatPiece::Conv { arg: 0, flags: "-".into(), width: Some(5), precision: None, conv: 'd' }
        );
        assert_eq!(p[4], FormatPiece::Text("%\n".into()));
    }

    #[test]
    fn rejects_unknown_and_truncated() {
        assert!(parse_format("%q", 0).unwrap_err().contains("%q"));
        assert!(parse_format("abc %", 0).is_err());
    }

    #[test]
    fn star_takes_the_arguments_before_the_value() {
        let (p, t) = parse_format("%-*.*s|%*d", 0).unwrap();
        assert_eq!(t, vec![Type::Long, Type::Long, Type::String, Type::Long, Type::Long]);
        assert_eq!(
            p[0],
            FormatPiece::Conv { arg: 2, flags: "-".into(), width: Some(STAR), precision: Some(STAR), conv: 's' }
        );
        assert_eq!(p[2], FormatPiece::Conv { arg: 4, flags: "".into(), width: Some(STAR), precision: None, conv: 'd' });
        assert_eq!(format_string(&p), "%-*.*s|%*d");
        assert_eq!(star_count(Some(STAR), Some(STAR)), 2);
    }

    #[test]
    fn memory_and_binary_conversions() {
        let (p, t) = parse_format("%10.4m %.*M %4b %b 100%%", 0).unwrap();
        assert_eq!(t, vec![Type::Long; 5]);
        assert_eq!(format_string(&p), "%10.4m %.*M %4b %b 100%%");
        assert!(parse_format("%3b", 0).unwrap_err().contains("1, 2, 4 or 8"));
    }

    #[test]
    fn accepts_length_modifiers_and_precision() {
        let (p, t) = parse_format("%08.3lld", 2).unwrap();
        assert_eq!(t, vec![Type::Long]);
        assert_eq!(
            p[0],
            FormatPiece::Conv { arg: 2, flags: "0".into(), width: Some(8), precision: Some(3), conv: 'd' }
        );
    }
}
