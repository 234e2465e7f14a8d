//! The request journal's HTTP side (README "Request journal"): the middleware that records every answered
//! request (except `/health`, `/ready`, `/metrics`, `/openapi.json` and `/_emulator/*`) into `control::journal`,
//! feeds the client conformance report what only the answer shows, and writes the console's line for a
//! rejected request; and `GET`/`DELETE /_emulator/journal`. The dashboard's own requests (marked, see
//! `api::dashboard::is_marked`) are neither recorded nor reported: watching the emulator must not bury, or count
//! as, the requests of the code under test.
//!
//! Nothing a client sent as a secret is recorded or logged: the client id comes from the token's `appid`/`azp`
//! claim (read without trusting it, so a refused token still names its client) or from the token request's
//! `client_id`; the reason is the message the emulator itself answered with.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use utoipa::OpenApi;

use super::RequestIds;
use super::route_kind::{RouteKind, classify};
use crate::control::journal::{JournalEntry, JournalQuery, StatusFilter};
use crate::control::report::FindingKind;
use crate::error::{ApiError, ErrorReason, GraphError};
use crate::state::AppState;

/// The journal's part of the OpenAPI document.
pub(super) fn openapi() -> utoipa::openapi::OpenApi {
    JournalApi::openapi()
}

#[derive(OpenApi)]
#[openapi(paths(list, clear), components(schemas(JournalEntry, JournalPage)))]
struct JournalApi;

/// `{"value": [entry…]}`, newest first.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct JournalPage {
    value: Vec<JournalEntry>,
}

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/_emulator/journal", get(list).delete(clear))
}

/// Entries a `GET` returns when it gives no `limit`.
const DEFAULT_LIMIT: usize = 100;

/// A response note: the client a token request named (its form's `client_id`), set by the token endpoints.
#[derive(Debug, Clone)]
pub(crate) struct ClientNote(pub String);

/// A response note of an accepted bulkUpload: its operations' bulkIds and what the request showed about the
/// client (for the report).
#[derive(Debug, Clone, Default)]
pub(crate) struct UploadNote {
    pub bulk_ids: Vec<String>,
    pub findings: Vec<FindingKind>,
}

/// Records the request (see the module header).
pub(super) async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let kind = req.extensions().get::<RouteKind>().copied().unwrap_or_else(|| classify(req.uri().path()).kind);
    if matches!(kind, RouteKind::Health | RouteKind::Control | RouteKind::OpenApi)
        || super::dashboard::is_marked(req.headers())
    {
        return next.run(req).await;
    }
    let ids = req.extensions().get::<RequestIds>().cloned();
    let (method, path) = (req.method().to_string(), req.uri().path().to_owned());
    let bearer_client = bearer_client_id(req.headers());
    let (time, started) = (state.clock.now(), Instant::now());
    // An upload's client is remembered before the handler stages it: the engine may process the upload, and
    // note its findings for that client, before the answer comes back through here.
    if kind == RouteKind::BulkUpload
        && let Some(ids) = &ids
    {
        state.report.upload_sent(&ids.request_id, bearer_client.as_deref());
    }

    let response = next.run(req).await;

    let status = response.status();
    let (request_id, client_request_id) = ids.map(|i| (i.request_id, i.client_request_id)).unwrap_or_default();
    let client_id = response.extensions().get::<ClientNote>().map(|c| c.0.clone()).or(bearer_client);
    let client = client_id.as_deref();
    let graph_error = response.extensions().get::<GraphError>();
    let reason = (status.is_client_error() || status.is_server_error())
        .then(|| {
            graph_error.map(graph_reason).or_else(|| response.extensions().get::<ErrorReason>().map(|r| r.0.clone()))
        })
        .flatten();

    let report = &state.report;
    let retry_after = (status == StatusCode::TOO_MANY_REQUESTS).then(|| retry_after_secs(response.headers())).flatten();
    report.request(client, kind.as_str(), time, &request_id, retry_after);
    if kind == RouteKind::BulkUpload
        && let Some(err) = graph_error
    {
        for (code, finding) in [
            ("UnsupportedMediaType", FindingKind::WrongContentType),
            ("TooManyOperations", FindingKind::TooManyOperations),
        ] {
            if err.details.iter().any(|d| d.code == code) {
                report.note(client, finding, &request_id);
            }
        }
    }
    let upload = response.extensions().get::<UploadNote>();
    if let Some(upload) = upload {
        for finding in &upload.findings {
            report.note(client, *finding, &request_id);
        }
    }

    if let Some(reason) = &reason {
        tracing::info!(route = kind.as_str(), status = status.as_u16(), %reason, request_id, "request rejected");
    }
    crate::control::shared::record(
        &state,
        JournalEntry {
            time,
            method,
            path,
            route: kind.as_str().to_owned(),
            status: status.as_u16(),
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            request_id,
            client_request_id,
            client_id,
            reason,
            operations: upload.map(|u| u.bulk_ids.len()),
            bulk_ids: upload.map(|u| u.bulk_ids.clone()),
        },
    )
    .await;
    response
}

/// A Graph error's message, with its details (`Invalid Data Format: The Content-Type header must be …`).
fn graph_reason(err: &GraphError) -> String {
    let mut reason = err.message.clone();
    for (i, d) in err.details.iter().take(5).enumerate() {
        reason += if i == 0 { ": " } else { "; " };
        reason += &d.message;
        if !d.target.is_empty() {
            reason += &format!(" ({})", d.target);
        }
    }
    if err.details.len() > 5 {
        reason += &format!("; and {} more", err.details.len() - 5);
    }
    reason
}

/// `Retry-After` in seconds, when it is a number.
fn retry_after_secs(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()
}

/// The claims of a token payload that can name its client; serde skips every other claim without building it.
#[derive(serde::Deserialize)]
struct ClientClaims {
    appid: Option<serde_json::Value>,
    azp: Option<serde_json::Value>,
    client_id: Option<serde_json::Value>,
}

/// The `appid` (v1), `azp` (v2) or `client_id` (IDCS-style) claim of a bearer JWT, read without checking the
/// token: only a name for the journal and the report.
fn bearer_client_id(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let payload = URL_SAFE_NO_PAD.decode(token.trim().split('.').nth(1)?).ok()?;
    let claims: ClientClaims = serde_json::from_slice(&payload).ok()?;
    let id = [claims.appid, claims.azp, claims.client_id].into_iter().flatten().find_map(|claim| match claim {
        serde_json::Value::String(id) => Some(id),
        _ => None,
    })?;
    // A client id is a GUID or a short name; anything else is not shown.
    (!id.is_empty() && id.len() <= 100).then_some(id)
}

#[utoipa::path(
    get,
    path = "/_emulator/journal",
    operation_id = "journal",
    tag = "control",
    description = "The last requests the emulator answered, newest first (at most `journal.capacity`). Not recorded: `/health`, `/ready`, `/metrics`, `/openapi.json`, `/_emulator/*`, and the dashboard's own requests (header `X-Entra-Inbound-Dashboard`).",
    params(
        ("limit" = Option<String>, Query, description = "Most entries returned (default 100)"),
        ("route" = Option<String>, Query, description = "Only this surface: `bulkUpload`, `provisioningLogs`, `users`, `jobs`, `schema`, `token`, `discovery`, `scim`, `other`"),
        ("status" = Option<String>, Query, description = "Only this status (`429`) or class (`4xx`)"),
        ("since" = Option<String>, Query, description = "Only requests that arrived at or after this instant (RFC 3339)"),
    ),
    responses(
        (status = 200, description = "The entries", body = JournalPage),
        (status = 400, description = "A query parameter that cannot be read (the message names it)", body = ref("#/components/schemas/GraphError")),
    ),
    security((), ("admin" = [])),
)]
async fn list(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let query = parse_query(raw.as_deref())?;
    let entries = crate::control::shared::journal(&state, &query).await.map_err(super::storage_failure)?;
    Ok(Json(json!({"value": entries})).into_response())
}

#[utoipa::path(
    delete,
    path = "/_emulator/journal",
    operation_id = "clearJournal",
    tag = "control",
    description = "Empty the journal.",
    responses(
        (status = 204, description = "Emptied"),
    ),
    security((), ("admin" = [])),
)]
async fn clear(State(state): State<AppState>, _body: Bytes) -> Result<StatusCode, ApiError> {
    crate::control::shared::clear_journal(&state).await.map_err(super::storage_failure)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The surfaces a `route` filter may name.
const ROUTE_NAMES: &[RouteKind] = &[
    RouteKind::BulkUpload,
    RouteKind::ProvisioningLogs,
    RouteKind::Users,
    RouteKind::Jobs,
    RouteKind::Schema,
    RouteKind::Token,
    RouteKind::Discovery,
    RouteKind::Scim,
    RouteKind::Other,
];

fn parse_query(raw: Option<&str>) -> Result<JournalQuery, ApiError> {
    let mut query = JournalQuery { limit: DEFAULT_LIMIT, ..JournalQuery::default() };
    for (k, v) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match &*k {
            "limit" => {
                query.limit = v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    ApiError::bad_request(format!("The limit '{v}' is not a whole number greater than 0."))
                })?;
            }
            "route" => {
                let known = ROUTE_NAMES.iter().map(|k| k.as_str()).find(|name| *name == v);
                let name = known.ok_or_else(|| {
                    let names: Vec<&str> = ROUTE_NAMES.iter().map(|k| k.as_str()).collect();
                    ApiError::bad_request(format!("The route '{v}' is not one of {}.", names.join(", ")))
                })?;
                query.route = Some(name.to_owned());
            }
            "status" => {
                query.status = Some(StatusFilter::parse(&v).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "The status '{v}' is neither an HTTP status (429) nor a class (4xx)."
                    ))
                })?);
            }
            "since" => {
                let since = time::OffsetDateTime::parse(&v, &time::format_description::well_known::Rfc3339);
                query.since = Some(since.map_err(|_| {
                    ApiError::bad_request(format!(
                        "The since '{v}' is not an RFC 3339 date and time (2025-01-15T10:00:00Z)."
                    ))
                })?);
            }
            _ => {}
        }
    }
    Ok(query)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn jwt(claims: serde_json::Value) -> String {
        format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(claims.to_string()))
    }

    #[test]
    fn the_client_is_the_tokens_appid_or_azp_and_nothing_else_of_it() {
        let mut headers = HeaderMap::new();
        let mut with = |value: String| {
            headers.insert(header::AUTHORIZATION, HeaderValue::from_str(&value).unwrap());
            bearer_client_id(&headers)
        };
        assert_eq!(with(format!("Bearer {}", jwt(json!({"appid": "a1", "azp": "a2"})))).as_deref(), Some("a1"));
        assert_eq!(with(format!("bearer {}", jwt(json!({"azp": "a2"})))).as_deref(), Some("a2"));
        assert_eq!(with(format!("Bearer {}", jwt(json!({"sub": "x"})))), None);
        assert_eq!(with("Bearer not-a-jwt".into()), None);
        assert_eq!(with("Basic YTpi".into()), None);
    }

    #[test]
    fn graph_reasons_carry_their_details() {
        let err = GraphError {
            code: "BadRequest".into(),
            message: "Invalid Data Format".into(),
            details: vec![crate::error::ErrorDetail::new("UnsupportedMediaType", "Wrong type.", "Content-Type")],
        };
        assert_eq!(graph_reason(&err), "Invalid Data Format: Wrong type. (Content-Type)");
    }

    #[test]
    fn query_parameters_are_checked_and_named() {
        let q = parse_query(Some("limit=5&route=bulkUpload&status=4xx&since=2025-01-15T10:00:00Z")).unwrap();
        assert_eq!((q.limit, q.route.as_deref()), (5, Some("bulkUpload")));
        for (raw, named) in
            [("limit=0", "limit"), ("route=nope", "route"), ("status=abc", "status"), ("since=x", "since")]
        {
            let Err(ApiError::BadRequest { message, .. }) = parse_query(Some(raw)) else { panic!("{raw}") };
            assert!(message.starts_with(&format!("The {named} ")), "{message}");
        }
    }
}
