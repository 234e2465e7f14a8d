//! OData query options for the Graph read APIs: `$filter`, `$orderby`, `$top`, `$select` and
//! `$skiptoken` (spec Part A.3 "Provisioning logs query", A.3b "Users read API", Part B §2.1–2.2).
//!
//! Module map:
//! - `lexer` — tokens of `$filter`/`$orderby`: paths `a/b`, `'strings'`, integers, unquoted
//!   DateTimeOffset and GUID literals.
//! - `filter` — the `$filter` AST and its recursive-descent parser ([`parse_filter`]).
//! - `sql` — translation of a [`Filter`] to parameterised SQL over a [`FieldTable`] allow-list, the
//!   `ORDER BY` clause and the keyset predicate for paging ([`keyset_sql`]), and [`datetime_key`].
//! - `fields` — [`FieldTable`]s: [`PROVISIONING_LOG_FIELDS`] and [`USER_FIELDS`].
//! - `query` — [`parse_orderby`], [`parse_top`], [`parse_select`].
//! - [`skiptoken`] — the opaque `$skiptoken` (keyset values of the last row of a page).
//!
//! Design constraints:
//! - Nothing from a request ever reaches SQL text: property names are resolved against the caller's
//!   allow-list (whose SQL expressions are trusted `'static` strings) and every value is a `?` parameter.
//! - Never panic on input: input length is capped ([`MAX_QUERY_OPTION_LEN`]) and nesting is capped by
//!   [`crate::parse::DepthGuard`]; every failure is an [`ODataError`] the HTTP layer turns into a
//!   400 `BadRequest` carrying its message.
//! - Property names, keywords, operators and function names are case-insensitive (`jobid`, `EQ`,
//!   `Contains`); values are case-sensitive unless the field is [`FieldKind::TextNoCase`].

mod fields;
mod filter;
mod lexer;
mod query;
pub mod skiptoken;
mod sql;

#[cfg(test)]
mod tests;

use crate::parse::{ParseError, Span};

pub use fields::{Field, FieldKind, FieldTable, OpSet, PROVISIONING_LOG_FIELDS, USER_FIELDS};
pub use filter::{Filter, parse_filter};
pub use query::{OrderBy, parse_orderby, parse_select, parse_top};
pub use sql::{SqlFragment, datetime_key, keyset_sql, order_by_sql};

/// Longest accepted value of any query option, in bytes (after URL decoding).
pub const MAX_QUERY_OPTION_LEN: usize = 4096;

/// A query option the emulator refuses; the HTTP layer answers 400 `BadRequest` with `message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ODataError {
    /// Client-facing message (already a full sentence).
    pub message: String,
    /// The offending property, operator, function or query option, as the client wrote it.
    pub target: Option<String>,
    /// Where in the option's value the problem is (byte offsets), when known.
    pub span: Option<Span>,
}

impl ODataError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), target: None, span: None }
    }

    pub(crate) fn with_target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    pub(crate) fn at(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    /// A syntax error at `span`; the message quotes the byte position like Graph does.
    pub(crate) fn syntax(span: Span, detail: impl std::fmt::Display) -> Self {
        Self::new(format!("Syntax error at position {}: {detail}.", span.start)).at(span)
    }
}

impl From<ParseError> for ODataError {
    fn from(e: ParseError) -> Self {
        Self::syntax(e.span, e.message)
    }
}

/// Refuses option values longer than [`MAX_QUERY_OPTION_LEN`].
pub(crate) fn check_len(src: &str, option: &str) -> Result<(), ODataError> {
    if src.len() > MAX_QUERY_OPTION_LEN {
        return Err(ODataError::new(format!(
            "The {option} value is too long ({} bytes; the limit is {MAX_QUERY_OPTION_LEN}).",
            src.len()
        ))
        .with_target(option));
    }
    Ok(())
}
