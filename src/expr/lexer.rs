//! Tokens of the expression language (docs/fidelity.md B.5): names, `"strings"` with `\"`/`\\` escapes,
//! `[attribute]` references (which may nest a SCIM filter: `[emails[type eq "work"].value]`), numbers
//! (`7`, `-10`, `&HF7`), `( , )` and the comparison operators `= <> > >= < <=`.
//!
//! Design constraints: one pass over the input with [`Cursor`]; every token and every error carries a
//! byte span. A backslash before any other character is kept literally, so a regex written with single
//! backslashes (`"\d+"`) still means what its author intended.

use super::ast::CmpOp;
use crate::parse::{Cursor, ParseError, Span};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    Ident(String),
    Str(String),
    Number(String),
    /// The trimmed text between the outer brackets and its byte offset in the source.
    Attr(String, usize),
    LParen,
    RParen,
    Comma,
    Op(CmpOp),
    Eof,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) span: Span,
}

/// Splits `src` into tokens, ending with [`Tok::Eof`].
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, ParseError> {
    let mut c = Cursor::new(src);
    let mut out = Vec::new();
    loop {
        c.skip_whitespace();
        let start = c.pos();
        let Some(ch) = c.peek() else {
            out.push(Token { tok: Tok::Eof, span: c.span_from(start) });
            return Ok(out);
        };
        let tok = match ch {
            '(' | ')' | ',' => {
                c.bump();
                match ch {
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    _ => Tok::Comma,
                }
            }
            '"' => Tok::Str(string(&mut c)?),
            '[' => attribute(&mut c)?,
            '=' | '<' | '>' => Tok::Op(operator(&mut c)),
            '&' => hex(&mut c)?,
            '-' | '0'..='9' => number(&mut c)?,
            ch if ch.is_alphabetic() || ch == '_' => {
                Tok::Ident(c.eat_while(|ch| ch.is_alphanumeric() || ch == '_').to_owned())
            }
            other => {
                c.bump();
                return Err(ParseError::new(c.span_from(start), format!("unexpected character '{other}'")));
            }
        };
        out.push(Token { tok, span: c.span_from(start) });
    }
}

fn string(c: &mut Cursor<'_>) -> Result<String, ParseError> {
    let start = c.pos();
    c.bump(); // opening quote
    let mut s = String::new();
    loop {
        match c.bump() {
            None => {
                return Err(ParseError::new(c.span_from(start), "unterminated string constant"));
            }
            Some('"') => return Ok(s),
            Some('\\') => match c.peek() {
                Some(esc @ ('"' | '\\')) => {
                    c.bump();
                    s.push(esc);
                }
                _ => s.push('\\'),
            },
            Some(ch) => s.push(ch),
        }
    }
}

/// `[ … ]` with balanced inner brackets; quoted strings inside a filter may contain `]`.
fn attribute(c: &mut Cursor<'_>) -> Result<Tok, ParseError> {
    let start = c.pos();
    c.bump(); // '['
    let inner_start = c.pos();
    let mut depth = 1usize;
    let mut in_quote = false;
    while let Some(ch) = c.bump() {
        match ch {
            '\\' if in_quote => {
                c.bump();
            }
            '"' => in_quote = !in_quote,
            '[' if !in_quote => depth += 1,
            ']' if !in_quote => {
                depth -= 1;
                if depth == 0 {
                    let raw = &c.src()[inner_start..c.pos() - 1];
                    let lead = raw.len() - raw.trim_start().len();
                    let name = raw.trim();
                    if name.is_empty() {
                        return Err(ParseError::new(c.span_from(start), "empty attribute name"));
                    }
                    return Ok(Tok::Attr(name.to_owned(), inner_start + lead));
                }
            }
            _ => {}
        }
    }
    Err(ParseError::new(c.span_from(start), "unterminated attribute reference: missing ']'"))
}

fn operator(c: &mut Cursor<'_>) -> CmpOp {
    match c.bump() {
        Some('<') if c.eat('>') => CmpOp::Ne,
        Some('<') if c.eat('=') => CmpOp::Le,
        Some('<') => CmpOp::Lt,
        Some('>') if c.eat('=') => CmpOp::Ge,
        Some('>') => CmpOp::Gt,
        _ => CmpOp::Eq,
    }
}

/// `&H` followed by hex digits (VB hexadecimal literal, used by `BitAnd`).
fn hex(c: &mut Cursor<'_>) -> Result<Tok, ParseError> {
    let start = c.pos();
    c.bump(); // '&'
    if !(c.eat('H') || c.eat('h')) {
        return Err(ParseError::new(c.span_from(start), "expected a hexadecimal literal such as &HFF"));
    }
    let digits = c.eat_while(|ch| ch.is_ascii_hexdigit());
    if digits.is_empty() || c.peek().is_some_and(|ch| ch.is_alphanumeric()) {
        return Err(ParseError::new(c.span_from(start), "invalid hexadecimal literal"));
    }
    Ok(Tok::Number(c.src()[start..c.pos()].to_owned()))
}

/// `-?digits(.digits)?`
fn number(c: &mut Cursor<'_>) -> Result<Tok, ParseError> {
    let start = c.pos();
    c.eat('-');
    let int = c.eat_while(|ch| ch.is_ascii_digit());
    if int.is_empty() {
        return Err(ParseError::new(c.span_from(start), "expected a number after '-'"));
    }
    if c.peek() == Some('.') && c.peek_nth(1).is_some_and(|ch| ch.is_ascii_digit()) {
        c.bump();
        c.eat_while(|ch| ch.is_ascii_digit());
    }
    if c.peek().is_some_and(|ch| ch.is_alphanumeric() || ch == '_') {
        c.eat_while(|ch| ch.is_alphanumeric() || ch == '_');
        return Err(ParseError::new(c.span_from(start), "invalid number"));
    }
    Ok(Tok::Number(c.src()[start..c.pos()].to_owned()))
}
