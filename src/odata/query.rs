//! `$orderby`, `$top` and `$select` (docs/fidelity.md A.3: default order `activityDateTime desc, id`, page 100,
//! max 1000; A.3b: `$select` of unknown properties → 400).
//!
//! Design constraints and decisions:
//! - `$orderby` items are `path [asc|desc]` (case-insensitive), comma-separated; a property may appear
//!   once and must be `sortable` in the caller's [`FieldTable`]. A blank value means "no ordering
//!   requested" (the caller applies its default).
//! - `$top` must be an integer from 1 to `max`; anything else is refused (not clamped), with the
//!   wording Graph's directory uses for bad page sizes.
//! - `$select` returns the canonical spelling of each name, in request order, without duplicates;
//!   `*` selects everything allowed; a blank value selects nothing (the caller's default set).

use super::lexer::{Tok, Token, tokenize};
use super::{FieldTable, ODataError, check_len};

/// One `$orderby` key: a canonical property name (see [`crate::odata::Field::name`]) and its direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderBy {
    pub property: &'static str,
    pub descending: bool,
}

/// Parses `$orderby`, e.g. `activityDateTime desc, id`.
///
/// ```
/// # use entra_inbound::odata::{parse_orderby, OrderBy, PROVISIONING_LOG_FIELDS};
/// let o = parse_orderby("ActivityDateTime DESC", &PROVISIONING_LOG_FIELDS).unwrap();
/// assert_eq!(o, [OrderBy { property: "activityDateTime", descending: true }]);
/// ```
pub fn parse_orderby(src: &str, fields: &FieldTable) -> Result<Vec<OrderBy>, ODataError> {
    check_len(src, "$orderby")?;
    let with_target = |e: ODataError| if e.target.is_none() { e.with_target("$orderby") } else { e };
    let mut toks = tokenize(src).map_err(with_target)?.into_iter().peekable();
    let mut out: Vec<OrderBy> = Vec::new();
    while let Some(t) = toks.next() {
        let Tok::Ident(name) = t.tok else {
            let found = t.tok.describe();
            return Err(with_target(ODataError::syntax(
                t.span,
                format_args!("expected a property name but found {found}"),
            )));
        };
        let Some(field) = fields.lookup(&name) else {
            let entity = fields.entity();
            return Err(ODataError::new(format!("Could not find a property named '{name}' on type '{entity}'."))
                .with_target(name)
                .at(t.span));
        };
        if !field.sortable {
            return Err(ODataError::new(format!("Ordering by '{}' is not supported.", field.name))
                .with_target(name)
                .at(t.span));
        }
        if out.iter().any(|o| o.property == field.name) {
            return Err(ODataError::new(format!("Duplicate property '{}' in $orderby.", field.name))
                .with_target(name)
                .at(t.span));
        }
        let mut descending = false;
        if let Some(Token { tok: Tok::Ident(dir), span }) = toks.next_if(|t| matches!(t.tok, Tok::Ident(_))) {
            if dir.eq_ignore_ascii_case("desc") {
                descending = true;
            } else if !dir.eq_ignore_ascii_case("asc") {
                let found = format_args!("expected 'asc', 'desc' or ',' but found '{dir}'");
                return Err(with_target(ODataError::syntax(span, found)));
            }
        }
        out.push(OrderBy { property: field.name, descending });
        match toks.next() {
            None => break,
            Some(t) if t.tok == Tok::Comma && toks.peek().is_some() => {}
            Some(t) => {
                let found = t.tok.describe();
                let what = if t.tok == Tok::Comma {
                    "a property name after ','".to_owned()
                } else {
                    format!("',' but found {found}")
                };
                return Err(with_target(ODataError::syntax(t.span, format_args!("expected {what}"))));
            }
        }
    }
    Ok(out)
}

/// Parses `$top`: an integer in `1..=max`.
///
/// ```
/// # use entra_inbound::odata::parse_top;
/// assert_eq!(parse_top("100", 1000), Ok(100));
/// assert!(parse_top("1001", 1000).is_err());
/// ```
pub fn parse_top(src: &str, max: u32) -> Result<u32, ODataError> {
    let s = src.trim();
    let n = if s.bytes().all(|b| b.is_ascii_digit()) { s.parse::<u32>().ok() } else { None };
    match n {
        Some(n) if (1..=max).contains(&n) => Ok(n),
        _ => {
            let shown: String = s.chars().take(40).collect();
            Err(ODataError::new(format!(
                "Invalid page size specified: '{shown}'. Must be between 1 and {max} inclusive."
            ))
            .with_target("$top"))
        }
    }
}

/// Parses `$select` against `allowed` (canonical names), case-insensitively.
///
/// ```
/// # use entra_inbound::odata::parse_select;
/// let s = parse_select("employeeid, DisplayName", &["displayName", "employeeId"]).unwrap();
/// assert_eq!(s, ["employeeId", "displayName"]);
/// ```
pub fn parse_select(src: &str, allowed: &[&str]) -> Result<Vec<String>, ODataError> {
    check_len(src, "$select")?;
    let mut out: Vec<String> = Vec::new();
    if src.trim().is_empty() {
        return Ok(out);
    }
    for item in src.split(',') {
        let name = item.trim();
        let names: Vec<&str> = match name {
            "" => return Err(ODataError::new("The $select value has an empty property name.").with_target("$select")),
            "*" => allowed.to_vec(),
            _ => match allowed.iter().find(|a| a.eq_ignore_ascii_case(name)) {
                Some(a) => vec![*a],
                None => {
                    return Err(
                        ODataError::new(format!("Property '{name}' is not supported in $select.")).with_target(name)
                    );
                }
            },
        };
        for n in names {
            if !out.iter().any(|o| o == n) {
                out.push(n.to_owned());
            }
        }
    }
    Ok(out)
}
