//! Tokens of `$filter` and `$orderby` (docs/fidelity.md A.3): property paths (`provisioningStatusInfo/status`),
//! `'strings'` with `''` as the escaped quote, integers, and the unquoted literals Graph clients send —
//! DateTimeOffset (`2022-10-10T09:47:34Z`, `…34.1234567Z`, `…34+02:00`) and GUIDs.
//!
//! Design constraints: keywords are not decided here (a keyword is an identifier the parser recognises,
//! case-insensitively); a literal that starts like a date but is not a valid DateTimeOffset is an error
//! rather than a silent fall-back to other tokens; only integers are numbers (no field is fractional).

use super::ODataError;
use crate::parse::{Cursor, Span};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// One token kind; `Ident` holds a whole `a/b` path as written.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Ident(String),
    Str(String),
    Int(i64),
    /// Already converted to UTC.
    DateTime(OffsetDateTime),
    /// Lower-cased.
    Guid(String),
    LParen,
    RParen,
    Comma,
    Eof,
}

impl Tok {
    /// How an error message refers to this token.
    pub(super) fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("'{s}'"),
            Tok::Str(_) => "a string literal".into(),
            Tok::Int(i) => format!("'{i}'"),
            Tok::DateTime(_) => "a DateTimeOffset literal".into(),
            Tok::Guid(g) => format!("'{g}'"),
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::Comma => "','".into(),
            Tok::Eof => "the end of the expression".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) span: Span,
}

/// Splits `src` into tokens (without a trailing [`Tok::Eof`]).
pub(super) fn tokenize(src: &str) -> Result<Vec<Token>, ODataError> {
    let mut c = Cursor::new(src);
    let mut out = Vec::new();
    loop {
        c.skip_whitespace();
        let start = c.pos();
        let Some(ch) = c.peek() else { return Ok(out) };
        let tok = match ch {
            '(' | ')' | ',' => {
                c.bump();
                match ch {
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    _ => Tok::Comma,
                }
            }
            '\'' => string(&mut c)?,
            _ if is_guid(c.rest()) => {
                let guid = c.rest().get(..36).unwrap_or_default().to_ascii_lowercase();
                let mut n = 0;
                c.eat_while(|_| {
                    n += 1;
                    n <= 36
                });
                Tok::Guid(guid)
            }
            _ if looks_like_date(c.rest()) => {
                let text = c.eat_while(|ch| ch.is_ascii_alphanumeric() || matches!(ch, ':' | '.' | '+' | '-'));
                let dt = parse_datetime(text).ok_or_else(|| {
                    ODataError::syntax(
                        c.span_from(start),
                        format_args!(
                            "'{text}' is not a valid DateTimeOffset (expected e.g. 2022-10-10T09:47:34Z; \
                             a '+' offset must be sent as %2B in a URL)"
                        ),
                    )
                })?;
                Tok::DateTime(dt)
            }
            '-' | '0'..='9' => integer(&mut c)?,
            _ if is_ident_start(ch) => ident(&mut c)?,
            '=' | '!' | '<' | '>' | '&' | '|' => {
                return Err(ODataError::syntax(
                    Span::new(start, start + ch.len_utf8()),
                    format_args!("unexpected '{ch}' (OData operators are eq, ne, gt, ge, lt, le, and, or, not)"),
                ));
            }
            _ => {
                let span = Span::new(start, start + ch.len_utf8());
                return Err(ODataError::syntax(span, format_args!("unexpected character '{ch}'")));
            }
        };
        out.push(Token { tok, span: c.span_from(start) });
    }
}

fn is_ident_start(ch: char) -> bool {
    ch.is_alphabetic() || ch == '_'
}

fn is_ident_continue(ch: char) -> bool {
    ch.is_alphanumeric() || ch == '_'
}

/// `'…'` with `''` standing for one quote.
fn string(c: &mut Cursor<'_>) -> Result<Tok, ODataError> {
    let start = c.pos();
    c.bump();
    let mut s = String::new();
    loop {
        match c.bump() {
            None => return Err(ODataError::syntax(c.span_from(start), "unterminated string literal")),
            Some('\'') if c.eat('\'') => s.push('\''),
            Some('\'') => return Ok(Tok::Str(s)),
            Some(ch) => s.push(ch),
        }
    }
}

/// A path of identifiers joined by `/` (no spaces, as in OData).
fn ident(c: &mut Cursor<'_>) -> Result<Tok, ODataError> {
    let start = c.pos();
    loop {
        c.eat_while(is_ident_continue);
        if !c.eat('/') {
            break;
        }
        if !c.peek().is_some_and(is_ident_start) {
            return Err(ODataError::syntax(c.span_from(start), "expected a property name after '/'"));
        }
    }
    Ok(Tok::Ident(c.src().get(start..c.pos()).unwrap_or_default().to_owned()))
}

fn integer(c: &mut Cursor<'_>) -> Result<Tok, ODataError> {
    let start = c.pos();
    c.eat('-');
    let digits = c.eat_while(|ch| ch.is_ascii_digit());
    if digits.is_empty() {
        return Err(ODataError::syntax(c.span_from(start), "unexpected '-'"));
    }
    if c.peek().is_some_and(|ch| ch == '.' || is_ident_continue(ch)) {
        c.eat_while(|ch| ch == '.' || ch == '-' || is_ident_continue(ch));
        let whole = c.src().get(start..c.pos()).unwrap_or_default();
        return Err(ODataError::syntax(
            c.span_from(start),
            format_args!("'{whole}' is not a supported literal (numbers must be integers)"),
        ));
    }
    let text = c.src().get(start..c.pos()).unwrap_or_default();
    text.parse::<i64>()
        .map(Tok::Int)
        .map_err(|_| ODataError::syntax(c.span_from(start), format_args!("integer '{text}' is out of range")))
}

/// `8-4-4-4-12` hex digits not followed by an identifier character.
fn is_guid(rest: &str) -> bool {
    let b = rest.as_bytes();
    if b.len() < 36 {
        return false;
    }
    let shape = (0..36).all(|i| match i {
        8 | 13 | 18 | 23 => b[i] == b'-',
        _ => b[i].is_ascii_hexdigit(),
    });
    shape && !rest.get(36..).and_then(|r| r.chars().next()).is_some_and(is_ident_continue)
}

/// `YYYY-MM-` at the start: commit to a DateTimeOffset literal.
fn looks_like_date(rest: &str) -> bool {
    let b = rest.as_bytes();
    b.len() >= 8
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
}

/// OData `dateTimeOffsetValue`: `YYYY-MM-DDThh:mm[:ss[.fffffff…]](Z|±hh:mm)`, converted to UTC.
/// Fractions beyond nanoseconds are truncated.
pub(super) fn parse_datetime(s: &str) -> Option<OffsetDateTime> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<u32> {
        let part = b.get(from..from + len)?;
        part.iter().try_fold(0u32, |acc, d| d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0')))
    };
    let sep = |at: usize, want: &[u8]| b.get(at).is_some_and(|c| want.contains(c));
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt") && sep(13, b":")) {
        return None;
    }
    let (hour, minute) = (num(11, 2)?, num(14, 2)?);
    let (mut i, mut second, mut nanos) = (16, 0, 0);
    if sep(i, b":") {
        second = num(i + 1, 2)?;
        i += 3;
        if sep(i, b".") {
            i += 1;
            let first = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                if i - first < 9 {
                    nanos = nanos * 10 + u32::from(b[i] - b'0');
                }
                i += 1;
            }
            if i == first {
                return None;
            }
            nanos *= 10u32.pow(9u32.saturating_sub((i - first) as u32));
        }
    }
    let offset = match b.get(i)? {
        b'Z' | b'z' => {
            i += 1;
            UtcOffset::UTC
        }
        sign @ (b'+' | b'-') => {
            let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if !sep(i + 3, b":") || oh > 23 || om > 59 {
                return None;
            }
            i += 6;
            let m = if *sign == b'-' { -1 } else { 1 };
            UtcOffset::from_hms(m * oh as i8, m * om as i8, 0).ok()?
        }
        _ => return None,
    };
    if i != b.len() {
        return None;
    }
    let date = Date::from_calendar_date(year as i32, Month::try_from(month as u8).ok()?, day as u8).ok()?;
    let time = Time::from_hms_nano(hour as u8, minute as u8, second as u8, nanos).ok()?;
    PrimitiveDateTime::new(date, time).assume_offset(offset).checked_to_offset(UtcOffset::UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn kinds(src: &str) -> Vec<Tok> {
        tokenize(src).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn lexes_the_logs_filter_forms() {
        assert_eq!(
            kinds("statusInfo/status eq 'fail''ure' and activityDateTime ge 2022-10-10T09:47:34Z"),
            vec![
                Tok::Ident("statusInfo/status".into()),
                Tok::Ident("eq".into()),
                Tok::Str("fail'ure".into()),
                Tok::Ident("and".into()),
                Tok::Ident("activityDateTime".into()),
                Tok::Ident("ge".into()),
                Tok::DateTime(datetime!(2022-10-10 09:47:34 UTC)),
            ]
        );
        assert_eq!(
            kinds("(-42,A0B1C2D3-0000-4000-8000-00000000000F)"),
            vec![
                Tok::LParen,
                Tok::Int(-42),
                Tok::Comma,
                Tok::Guid("a0b1c2d3-0000-4000-8000-00000000000f".into()),
                Tok::RParen
            ]
        );
    }

    #[test]
    fn datetime_literals() {
        let ok = [
            ("2022-10-10T09:47:34Z", datetime!(2022-10-10 09:47:34 UTC)),
            ("2022-10-10T09:47Z", datetime!(2022-10-10 09:47 UTC)),
            ("2022-10-10T09:47:34.1234567Z", datetime!(2022-10-10 09:47:34.1234567 UTC)),
            ("2022-10-10T09:47:34.123456789999Z", datetime!(2022-10-10 09:47:34.123456789 UTC)),
            ("2022-10-10T09:47:34.5+02:00", datetime!(2022-10-10 07:47:34.5 UTC)),
            ("2022-10-10T01:00:00-03:30", datetime!(2022-10-10 04:30 UTC)),
        ];
        for (src, want) in ok {
            assert_eq!(parse_datetime(src), Some(want), "{src}");
        }
        for bad in [
            "2022-10-10",
            "2022-13-10T00:00:00Z",
            "2022-02-30T00:00:00Z",
            "2022-10-10T24:00:00Z",
            "2022-10-10T09:47:34",
            "2022-10-10T09:47:34.Z",
            "2022-10-10T09:47:34+2:00",
            "2022-10-10T09:47:34+24:00",
            "2022-10-10T09:47:34ZZ",
            "9999-12-31T23:59:59-05:00",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
            assert!(tokenize(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lexer_errors_carry_positions() {
        for (src, pos) in [
            ("jobId = 'x'", 6),
            ("a eq 'open", 5),
            ("x eq 1.5", 5),
            ("a/ eq 1", 0),
            ("a eq 99999999999999999999", 5),
            ("a § b", 2),
        ] {
            let e = tokenize(src).unwrap_err();
            assert_eq!(e.span.map(|s| s.start), Some(pos), "{src}: {e}");
            assert!(e.message.contains(&format!("position {pos}")), "{src}: {e}");
        }
    }
}
