//! Query-string handling the Graph read APIs share: decoding the `$` options ([`QueryOptions`]), turning
//! `$filter`/`$orderby`/`$top`/`$skiptoken` into a checked page request ([`page_query`]), refusals as 400s
//! ([`odata_error`]) and `@odata.nextLink` ([`next_link`]).
//!
//! Design decisions:
//! - Query strings are decoded like HTML forms / ASP.NET Core (Graph's stack): `+` is a space, then `%XX`.
//!   Python `requests` and `URLSearchParams` send spaces as `+`, Graph SDKs send `%20`; both work. The price:
//!   a literal `+` (a `+02:00` offset) must be sent as `%2B`, and the `$filter` parser's error message says
//!   so. Names are matched ASCII case-insensitively; options not starting with `$` are ignored (custom
//!   options); an unsupported `$` option or a repeated one → 400.
//! - `@odata.nextLink` repeats the request's options (re-encoded with `%20`) and carries the opaque keyset
//!   `$skiptoken`.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use crate::error::{ApiError, ErrorDetail};
use crate::odata::{
    FieldTable, KeyValue, ODataError, Ordering, PageQuery, parse_filter, parse_orderby, parse_top, skiptoken_of,
};

/// The decoded `$` query options of a request.
#[derive(Debug, Default)]
pub(super) struct QueryOptions {
    /// (canonical lowercase name, decoded value), each name once.
    options: Vec<(&'static str, String)>,
}

impl QueryOptions {
    /// Decodes `raw`; every `$` option must be one of `allowed` (lowercase) and appear once.
    pub(super) fn parse(raw: Option<&str>, allowed: &[&'static str]) -> Result<Self, ApiError> {
        let mut out = Self::default();
        for pair in raw.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode(name)?;
            if !name.starts_with('$') {
                continue;
            }
            let Some(canonical) = allowed.iter().copied().find(|a| a.eq_ignore_ascii_case(&name)) else {
                return Err(option_error(format!("The query parameter '{name}' is not supported."), &name));
            };
            if out.get(canonical).is_some() {
                let message = format!(
                    "Query option '{canonical}' was specified more than once, but it must be specified at most once."
                );
                return Err(option_error(message, canonical));
            }
            out.options.push((canonical, decode(value)?));
        }
        Ok(out)
    }

    /// The decoded value of option `name` (lowercase, e.g. `$filter`).
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.options.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }
}

fn decode(s: &str) -> Result<String, ApiError> {
    let spaced = s.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|v| v.into_owned())
        .map_err(|_| ApiError::bad_request("The query string is not valid UTF-8 after percent-decoding."))
}

fn option_error(message: String, target: &str) -> ApiError {
    let details = vec![ErrorDetail::new("BadRequest", message.clone(), target)];
    ApiError::BadRequest { message, details }
}

/// A refused query option → 400 `BadRequest` carrying its message (and its target in `details[0]`).
pub(super) fn odata_error(e: ODataError) -> ApiError {
    let details = e.target.map(|t| vec![ErrorDetail::new("BadRequest", e.message.clone(), t)]).unwrap_or_default();
    ApiError::BadRequest { message: e.message, details }
}

/// The page request of `$filter`, `$orderby`, `$top` (1..=`max_top`, default `default_top`) and `$skiptoken`.
pub(super) fn page_query(
    opts: &QueryOptions,
    fields: &FieldTable,
    ordering: &Ordering,
    default_top: u32,
    max_top: u32,
) -> Result<PageQuery, ApiError> {
    let filter =
        opts.get("$filter").filter(|f| !f.trim().is_empty()).map(parse_filter).transpose().map_err(odata_error)?;
    let order = match opts.get("$orderby") {
        Some(o) => parse_orderby(o, fields).map_err(odata_error)?,
        None => Vec::new(),
    };
    let top = opts.get("$top").map(|t| parse_top(t, max_top)).transpose().map_err(odata_error)?.unwrap_or(default_top);
    PageQuery::new(fields, ordering, filter, &order, opts.get("$skiptoken"), top).map_err(odata_error)
}

/// Query values in links: everything but RFC 3986 unreserved characters is escaped (spaces as `%20`).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// `{path}?{repeated options}&$skiptoken={token of keys}`.
pub(super) fn next_link(path: &str, opts: &QueryOptions, repeat: &[&str], keys: &[KeyValue]) -> String {
    let mut link = path.to_owned();
    let mut sep = '?';
    let token = skiptoken_of(keys);
    let repeated = repeat.iter().filter_map(|name| opts.get(name).map(|v| (*name, v)));
    for (name, value) in repeated.chain(std::iter::once(("$skiptoken", token.as_str()))) {
        link.push(sep);
        link.push_str(name);
        link.push('=');
        link.extend(utf8_percent_encode(value, QUERY_VALUE));
        sep = '&';
    }
    link
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: &[&str] = &["$filter", "$orderby", "$top", "$skiptoken"];

    #[test]
    fn options_decode_plus_and_percent_and_refuse_repeats() {
        let o = QueryOptions::parse(Some("$Filter=jobid+eq+'a%2Bb'&x=1&$top=5"), OPTIONS).unwrap();
        assert_eq!(o.get("$filter"), Some("jobid eq 'a+b'"));
        assert_eq!(o.get("$top"), Some("5"));
        assert!(QueryOptions::parse(Some("$top=1&$TOP=2"), OPTIONS).is_err());
        assert!(QueryOptions::parse(Some("$expand=x"), OPTIONS).is_err());
        assert!(QueryOptions::parse(Some("$top=%FF"), OPTIONS).is_err());
    }

    #[test]
    fn next_link_reencodes_repeated_options() {
        let o = QueryOptions::parse(Some("$filter=jobid%20eq%20'J'&$orderby=id"), OPTIONS).unwrap();
        let link = next_link("http://h/v1.0/auditLogs/provisioning", &o, &["$filter", "$top", "$orderby"], &[]);
        assert_eq!(
            link,
            "http://h/v1.0/auditLogs/provisioning?$filter=jobid%20eq%20%27J%27&$orderby=id&$skiptoken=W10"
        );
    }
}
