//! Shared parser toolkit for the three small grammars of the emulator (the Entra expression language,
//! OData `$filter` and SCIM filters): byte spans, one error type that names its position, and a depth
//! guard so every recursive-descent parser refuses hostile nesting instead of overflowing the stack.
//!
//! Design constraints: no allocation on the happy path of [`Cursor`], errors carry byte offsets into the
//! original input so HTTP layers can quote `position N` to clients.

use std::fmt;

/// Nesting limit shared by every recursive parser (kanidm caps SCIM filters at 128; we stay below).
pub const MAX_DEPTH: usize = 64;

/// A half-open byte range `[start, end)` into the parsed input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }

    /// The smallest span covering both `self` and `other`.
    pub fn join(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// A parse failure at a byte position, with a human message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    pub span: Span,
    pub message: String,
}

impl ParseError {
    pub fn new(span: Span, message: impl Into<String>) -> Self {
        Self { span, message: message.into() }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at position {}", self.message, self.span.start)
    }
}

/// Counts recursion depth; `enter` fails once [`MAX_DEPTH`] is exceeded.
#[derive(Debug, Default)]
pub struct DepthGuard {
    depth: usize,
}

impl DepthGuard {
    /// Enter one nesting level; `at` is where the nested construct starts (for the error).
    pub fn enter(&mut self, at: Span) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::new(at, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    pub fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }
}

/// A character cursor over `&str` that tracks the byte offset.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(src: &'a str) -> Self {
        Self { src, pos: 0 }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn src(&self) -> &'a str {
        self.src
    }

    pub fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    pub fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    pub fn peek_nth(&self, n: usize) -> Option<char> {
        self.rest().chars().nth(n)
    }

    pub fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    pub fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    pub fn eat_while(&mut self, mut f: impl FnMut(char) -> bool) -> &'a str {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if !f(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
        &self.src[start..self.pos]
    }

    pub fn skip_whitespace(&mut self) {
        self.eat_while(char::is_whitespace);
    }

    pub fn is_eof(&self) -> bool {
        self.pos >= self.src.len()
    }

    pub fn span_from(&self, start: usize) -> Span {
        Span::new(start, self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_guard_refuses_past_the_limit() {
        let mut g = DepthGuard::default();
        for _ in 0..MAX_DEPTH {
            g.enter(Span::default()).unwrap();
        }
        assert!(g.enter(Span::new(3, 4)).is_err());
    }

    #[test]
    fn cursor_tracks_multibyte_offsets() {
        let mut c = Cursor::new("äb");
        assert_eq!(c.bump(), Some('ä'));
        assert_eq!(c.pos(), 2);
        assert_eq!(c.eat_while(|c| c == 'b'), "b");
        assert!(c.is_eof());
    }
}
