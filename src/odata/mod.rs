//! OData query options for the Graph read APIs: `$filter`, `$orderby`, `$top`, `$select` and
//! `$skiptoken` (docs/fidelity.md, A.3 "Provisioning logs query" and A.3b "Users read API").
//!
//! Module map:
//! - `lexer` — tokens of `$filter`/`$orderby`: paths `a/b`, `'strings'`, integers, unquoted
//!   DateTimeOffset and GUID literals.
//! - `filter` — the `$filter` tree and its recursive-descent parser ([`parse_filter`]).
//! - `check` — [`Filter::check`]: properties, operators and literal types against a [`FieldTable`].
//! - `fields` — [`FieldTable`]s: [`PROVISIONING_LOG_FIELDS`] and [`USER_FIELDS`], and their orderings.
//! - `query` — [`parse_orderby`], [`parse_top`], [`parse_select`].
//! - `page` — [`PageQuery`]: a checked filter, a total order and the keyset position, for the store.
//! - [`skiptoken`] — the opaque `$skiptoken` (keyset values of the last row of a page).
//!
//! Design constraints:
//! - This module never builds SQL: it hands the store a checked query tree ([`PageQuery`]), and the store
//!   translates it over its own column allow-list (`crate::store`).
//! - Never panic on input: input length is capped ([`MAX_QUERY_OPTION_LEN`]) and nesting is capped by
//!   [`crate::parse::DepthGuard`]; every failure is an [`ODataError`] the HTTP layer turns into a
//!   400 `BadRequest` carrying its message.
//! - Property names, keywords, operators and function names are case-insensitive (`jobid`, `EQ`,
//!   `Contains`); values are case-sensitive unless the field is [`FieldKind::TextNoCase`].

mod check;
mod fields;
mod filter;
mod lexer;
mod page;
mod query;
pub mod skiptoken;

#[cfg(test)]
pub(crate) mod tests;

use crate::parse::{ParseError, Span};

pub use fields::{
    Field, FieldKind, FieldTable, OpSet, PROVISIONING_LOG_FIELDS, PROVISIONING_LOG_ORDER, USER_FIELDS, USER_ORDER,
};
pub use filter::{CmpOp, Expr, Filter, Func, Lit, Literal, Path, parse_filter};
pub use page::{KeyValue, Ordering, PageQuery, skiptoken_of};
pub use query::{OrderBy, parse_orderby, parse_select, parse_top};

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
