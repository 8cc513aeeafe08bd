//! printf format strings: parsed at translation time.
//!
//! Input: the format literal of `printf`/`sprintf`. Output: a list of
//! `FormatPiece`s and the type each conversion wants of its argument.
//! Invariants: only conversions the runtime can print are accepted; an
//! unknown or incomplete conversion is an error naming it.

use crate::ir::{FormatPiece, Type};

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
        let width = read_number(&mut chars);
        let precision = if chars.peek() == Some(&'.') {
            chars.next();
            Some(read_number(&mut chars).unwrap_or(0))
        } else {
            None
        };
        if chars.peek() == Some(&'*') {
            return Err("dynamic width `*` in a format is not supported".into());
        }
        // Length modifiers are accepted and ignored: every number is 64-bit.
        while matches!(chars.peek(), Some('l') | Some('h') | Some('L') | Some('z') | Some('j')) {
            chars.next();
        }
        let conv = match chars.next() {
            Some(c) => c,
            None => return Err("format ends in the middle of a conversion".into()),
        };
        let ty = match conv {
            'd' | 'i' | 'u' | 'x' | 'X' | 'o' | 'c' | 'p' => Type::Long,
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
    fn accepts_length_modifiers_and_precision() {
        let (p, t) = parse_format("%08.3lld", 2).unwrap();
        assert_eq!(t, vec![Type::Long]);
        assert_eq!(
            p[0],
            FormatPiece::Conv { arg: 2, flags: "0".into(), width: Some(8), precision: Some(3), conv: 'd' }
        );
    }
}
