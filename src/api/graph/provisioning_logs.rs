//! `GET /{v1.0|beta}/auditLogs/provisioning[/]` and `GET /{v}/auditLogs/provisioning/{id}` — spec A.3 and
//! Part B §2.1–§2.2: `$filter`, `$orderby`, `$top` (default 100, max 1000) and `$skiptoken` keyset paging
//! with `@odata.nextLink`. Also the query-string handling the users API shares ([`QueryOptions`]).
//!
//! Design constraints and decisions:
//! - The trailing-slash list route exists because bulkUpload's `Location` header
//!   (`…/auditLogs/provisioning/?$filter=jobid%20eq%20'{jobId}'`) must work as-is; axum treats
//!   `/x` and `/x/` as different routes.
//! - Query strings are decoded like HTML forms / ASP.NET Core (Graph's stack): `+` is a space, then
//!   `%XX`. Python `requests` and `URLSearchParams` send spaces as `+`, Graph SDKs send `%20`; both
//!   work. The price: a literal `+` (a `+02:00` offset) must be sent as `%2B`, and the `$filter`
//!   parser's error message says so. Names are matched ASCII case-insensitively; options not
//!   starting with `$` are ignored (custom options); an unsupported `$` option or a repeated one → 400.
//! - Order checks: 401 (extractor) → 403 (`AuditLog.Read.All`) → 400 (options) → 404/200.
//! - Rows are rendered as v1.0 documents (`log_render::document`); beta adds the deprecated `action` and
//!   `statusInfo` (§2.1).
//! - `@odata.nextLink` repeats the request's `$filter`/`$top`/`$orderby` (re-encoded with `%20`) and
//!   carries the opaque keyset `$skiptoken`, on the path without the trailing slash.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::Json;
use axum::routing::{MethodRouter, get};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde_json::{Map, Value, json};

use super::GraphVersion;
use crate::auth::{Principal, roles};
use crate::error::{ApiError, ErrorDetail};
use crate::odata::{ODataError, PROVISIONING_LOG_FIELDS, parse_filter, parse_orderby, parse_top, skiptoken};
use crate::provisioning::log_render;
use crate::state::AppState;
use crate::store::StoreError;
use crate::store::log_query::{self, LogQuery, StoredLog};

const LIST: &str = "/{version}/auditLogs/provisioning";
const DEFAULT_TOP: u32 = 100;
const MAX_TOP: u32 = 1000;
const LIST_OPTIONS: &[&str] = &["$filter", "$orderby", "$top", "$skiptoken"];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(LIST, get_only(get(list)))
        .route(&format!("{LIST}/"), get_only(get(list)))
        .route(&format!("{LIST}/{{id}}"), get_only(get(get_entry)))
}

/// Other methods get Graph's 405 envelope with `Allow: GET`.
pub(super) fn get_only(route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    route.fallback(|| async { ApiError::MethodNotAllowed { allow: "GET" } })
}

async fn list(
    State(state): State<AppState>,
    Path(version): Path<String>,
    principal: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let version = GraphVersion::parse(&version)?;
    if !principal.has_any(&[roles::AUDIT_LOG_READ]) {
        return Err(ApiError::Forbidden);
    }
    let opts = QueryOptions::parse(raw.as_deref(), LIST_OPTIONS)?;
    let filter =
        opts.get("$filter").filter(|f| !f.trim().is_empty()).map(parse_filter).transpose().map_err(odata_error)?;
    let order = match opts.get("$orderby") {
        Some(o) => parse_orderby(o, &PROVISIONING_LOG_FIELDS).map_err(odata_error)?,
        None => Vec::new(),
    };
    let top = opts.get("$top").map(|t| parse_top(t, MAX_TOP)).transpose().map_err(odata_error)?.unwrap_or(DEFAULT_TOP);
    let after = opts.get("$skiptoken").map(skiptoken::decode).transpose().map_err(odata_error)?;
    let query = LogQuery::new(filter.as_ref(), &order, after.as_deref(), top).map_err(odata_error)?;

    let page = state.store.call(move |c| log_query::list(c, &query)).await.map_err(store_error)?;
    let base = format!("{}/{}", state.base_url, version.as_str());
    let value: Vec<Value> = documents(page.entries).await?.into_iter().map(|e| for_version(e, version)).collect();
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(format!("{base}/$metadata#auditLogs/provisioning")));
    body.insert("value".into(), Value::Array(value));
    if let Some(keys) = page.next {
        let link = next_link(&format!("{base}/auditLogs/provisioning"), &opts, &["$filter", "$top", "$orderby"], &keys);
        body.insert("@odata.nextLink".into(), json!(link));
    }
    Ok(Json(Value::Object(body)))
}

async fn get_entry(
    State(state): State<AppState>,
    Path((version, id)): Path<(String, String)>,
    principal: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let version = GraphVersion::parse(&version)?;
    if !principal.has_any(&[roles::AUDIT_LOG_READ]) {
        return Err(ApiError::Forbidden);
    }
    QueryOptions::parse(raw.as_deref(), &[])?;
    let key = id.clone();
    let entry = state.store.call(move |c| log_query::get(c, &key)).await.map_err(store_error)?;
    let Some(entry) = entry else {
        return Err(ApiError::NotFound(id));
    };
    let entry = documents(vec![entry]).await?.pop().unwrap_or_default();
    let mut body = Map::new();
    let context = format!("{}/{}/$metadata#auditLogs/provisioning/$entity", state.base_url, version.as_str());
    body.insert("@odata.context".into(), json!(context));
    if let Value::Object(fields) = for_version(entry, version) {
        body.extend(fields);
    }
    Ok(Json(Value::Object(body)))
}

/// The v1.0 documents of stored entries, rendered off the async threads (a page holds up to 1,000).
async fn documents(entries: Vec<StoredLog>) -> Result<Vec<Value>, ApiError> {
    tokio::task::spawn_blocking(move || entries.into_iter().map(log_render::document).collect::<Result<Vec<_>, _>>())
        .await
        .map_err(|e| store_error(StoreError::Task(e.to_string())))?
        .map_err(store_error)
}

/// The stored v1.0 document, plus beta's deprecated `action` and `statusInfo` on beta (§2.1).
fn for_version(mut doc: Value, version: GraphVersion) -> Value {
    if version == GraphVersion::V1 {
        return doc;
    }
    let Some(obj) = doc.as_object_mut() else {
        return doc;
    };
    let action = obj.get("provisioningAction").cloned().unwrap_or(Value::Null);
    let info = obj.get("provisioningStatusInfo");
    let status = info.and_then(|i| i.get("status")).cloned().unwrap_or(Value::Null);
    let status_info = match info.and_then(|i| i.get("errorInformation")).filter(|e| e.is_object()) {
        Some(err) => json!({
            "@odata.type": "#microsoft.graph.statusDetails",
            "status": status,
            "errorCategory": err.get("errorCategory"),
            "errorCode": err.get("errorCode"),
            "reason": err.get("reason"),
            "additionalDetails": err.get("additionalDetails"),
            "recommendedAction": err.get("recommendedAction"),
        }),
        None => json!({"@odata.type": "#microsoft.graph.statusBase", "status": status}),
    };
    obj.insert("action".into(), action);
    obj.insert("statusInfo".into(), status_info);
    doc
}

/// The decoded `$` query options of a request (see the module docs for the decoding rules).
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

pub(super) fn store_error(e: StoreError) -> ApiError {
    tracing::error!(error = %e, "reading the store failed");
    ApiError::Internal(e.to_string())
}

/// Query values in links: everything but RFC 3986 unreserved characters is escaped (spaces as `%20`).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// `{path}?{repeated options}&$skiptoken={token of keys}`.
pub(super) fn next_link(path: &str, opts: &QueryOptions, repeat: &[&str], keys: &[Value]) -> String {
    let mut link = path.to_owned();
    let mut sep = '?';
    let token = skiptoken::encode(keys);
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

    #[test]
    fn options_decode_plus_and_percent_and_refuse_repeats() {
        let o = QueryOptions::parse(Some("$Filter=jobid+eq+'a%2Bb'&x=1&$top=5"), LIST_OPTIONS).unwrap();
        assert_eq!(o.get("$filter"), Some("jobid eq 'a+b'"));
        assert_eq!(o.get("$top"), Some("5"));
        assert!(QueryOptions::parse(Some("$top=1&$TOP=2"), LIST_OPTIONS).is_err());
        assert!(QueryOptions::parse(Some("$expand=x"), LIST_OPTIONS).is_err());
        assert!(QueryOptions::parse(Some("$top=%FF"), LIST_OPTIONS).is_err());
    }

    #[test]
    fn next_link_reencodes_repeated_options() {
        let o = QueryOptions::parse(Some("$filter=jobid%20eq%20'J'&$orderby=id"), LIST_OPTIONS).unwrap();
        let link = next_link("http://h/v1.0/auditLogs/provisioning", &o, &["$filter", "$top", "$orderby"], &[]);
        assert_eq!(
            link,
            "http://h/v1.0/auditLogs/provisioning?$filter=jobid%20eq%20%27J%27&$orderby=id&$skiptoken=W10"
        );
    }

    #[test]
    fn beta_adds_deprecated_action_and_status_info() {
        let doc = json!({"provisioningAction": "create", "provisioningStatusInfo": {"status": "failure",
            "errorInformation": {"errorCode": "E", "errorCategory": "nonServiceFailure", "reason": "r"}}});
        let beta = for_version(doc.clone(), GraphVersion::Beta);
        assert_eq!(beta["action"], "create");
        assert_eq!(beta["statusInfo"]["@odata.type"], "#microsoft.graph.statusDetails");
        assert_eq!(beta["statusInfo"]["errorCode"], "E");
        assert_eq!(beta["statusInfo"]["recommendedAction"], Value::Null);
        assert_eq!(for_version(doc.clone(), GraphVersion::V1), doc);
    }
}
