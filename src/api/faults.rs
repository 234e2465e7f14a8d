//! Fault injection's HTTP side (README "Faults"): `/_emulator/faults` (list, replace, add, remove the rules of
//! `control::faults`) and the middleware that applies them. A hit rule delays the request by `latencyMs`, then
//! answers `status` in the real envelope of the surface it hit — the Graph error, the AADSTS error of the token
//! endpoints, the SCIM error — with `Retry-After` on a 429 or 503; without a `status` the request then goes on.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use utoipa::OpenApi;

use super::route_kind::{RouteKind, classify};
use super::{RequestIds, storage_failure};
use crate::auth::OAuthError;
use crate::control::faults::{Faults, Hit, Rule};
use crate::control::shared;
use crate::error::{ApiError, NeedsChallenge};
use crate::scim_server::error::ScimError;
use crate::state::AppState;

/// The `Retry-After` of an injected 429 or 503.
pub const RETRY_AFTER_SECS: u64 = 1;

/// Most rules in force at once.
const MAX_RULES: usize = 100;

/// The faults API's part of the OpenAPI document.
pub(super) fn openapi() -> utoipa::openapi::OpenApi {
    FaultsApi::openapi()
}

#[derive(OpenApi)]
#[openapi(paths(list, replace, add, clear, remove), components(schemas(Rule, RuleSet, RuleList)))]
struct FaultsApi;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/_emulator/faults", get(list).put(replace).post(add).delete(clear))
        .route("/_emulator/faults/{id}", delete(remove))
}

/// `PUT`'s body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RuleSet {
    rules: Vec<Rule>,
}

/// `{"value": [rule…]}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct RuleList {
    value: Vec<Rule>,
}

/// Applies the first rule that hits this request (see the module header). The dashboard's own requests are
/// never hit: a rule with `times` is meant for the client under test, not for the page watching it.
pub(super) async fn inject(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !state.faults.armed() || super::dashboard::is_marked(req.headers()) {
        return next.run(req).await;
    }
    let classified = classify(req.uri().path());
    let surface = match classified.kind {
        RouteKind::BulkUpload
        | RouteKind::ProvisioningLogs
        | RouteKind::Users
        | RouteKind::Jobs
        | RouteKind::Schema
        | RouteKind::Token
        | RouteKind::Scim => classified.kind,
        _ => return next.run(req).await,
    };
    let Some(hit) = state.faults.hit(surface.as_str(), classified.job_id) else {
        return next.run(req).await;
    };
    if !shared::claim(&state, &hit).await {
        return next.run(req).await;
    }
    if hit.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(hit.latency_ms)).await;
    }
    match hit.status.and_then(|s| StatusCode::from_u16(s).ok()) {
        Some(status) => {
            let ids = req.extensions().get::<RequestIds>().cloned();
            let idcs_token = req.uri().path() == IDCS_TOKEN_PATH;
            answer(&state, ids, if idcs_token { Envelope::IdcsToken } else { Envelope::Of(surface) }, status, &hit)
        }
        None => next.run(req).await,
    }
}

/// IDCS's token endpoint: a `token` rule answers there in IDCS's OAuth shape, not Entra's AADSTS one.
const IDCS_TOKEN_PATH: &str = "/oauth2/v1/token";

/// Whose error shape an injected answer takes.
#[derive(Debug, Clone, Copy)]
enum Envelope {
    /// The surface's own: AADSTS for Entra's token endpoints, SCIM, or Graph.
    Of(RouteKind),
    IdcsToken,
}

/// The injected answer in the envelope of the surface.
fn answer(state: &AppState, ids: Option<RequestIds>, envelope: Envelope, status: StatusCode, hit: &Hit) -> Response {
    let message = format!("Injected by the emulator's fault rule '{}' (/_emulator/faults).", hit.rule_id);
    let retry_after =
        matches!(status, StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE).then_some(RETRY_AFTER_SECS);
    let surface = match envelope {
        Envelope::IdcsToken => RouteKind::Token,
        Envelope::Of(surface) => surface,
    };
    let mut response = match (envelope, surface) {
        (Envelope::IdcsToken, _) => super::scim::token::oauth_error(status, oauth_error_for(status), &message),
        (_, RouteKind::Token) => {
            let ids = ids.unwrap_or_else(|| RequestIds { request_id: String::new(), client_request_id: String::new() });
            let code = hit.error_code.as_deref().and_then(|c| c.parse().ok()).unwrap_or(INJECTED_AADSTS);
            let error = OAuthError { status: status.as_u16(), error: oauth_error_for(status), code, message };
            super::identity::oauth_error(state, &ids, &error)
        }
        (_, RouteKind::Scim) => super::scim::error_response(&ScimError::new(status.as_u16(), None, message)),
        _ => {
            let code = hit.error_code.clone().unwrap_or_else(|| graph_code_for(status).to_owned());
            let mut response =
                ApiError::Injected { status, code, message, retry_after_secs: retry_after }.into_response();
            if status == StatusCode::UNAUTHORIZED {
                // Graph's 401 carries the challenge; the context middleware writes it.
                response.extensions_mut().insert(NeedsChallenge);
            }
            return response;
        }
    };
    if let Some(secs) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// The AADSTS code of an injected token-endpoint error when the rule gives no numeric `errorCode`: AADSTS90033,
/// Entra's "a transient error has occurred, try again".
const INJECTED_AADSTS: u32 = 90033;

/// The OAuth `error` for a status (RFC 6749 §5.2; `temporarily_unavailable` for throttling and server errors).
fn oauth_error_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "invalid_client",
        403 => "unauthorized_client",
        429 | 500..=599 => "temporarily_unavailable",
        _ => "invalid_request",
    }
}

/// The Graph error code Graph answers with a status.
fn graph_code_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "BadRequest",
        401 => "InvalidAuthenticationToken",
        403 => "Authorization_RequestDenied",
        404 => "Request_ResourceNotFound",
        405 => "MethodNotAllowed",
        408 => "RequestTimeout",
        409 => "Conflict",
        412 => "PreconditionFailed",
        413 => "RequestEntityTooLarge",
        429 => "TooManyRequests",
        501 => "NotImplemented",
        502 => "BadGateway",
        503 => "ServiceUnavailable",
        504 => "GatewayTimeout",
        500..=599 => "InternalServerError",
        _ => "BadRequest",
    }
}

/// A rule-API body as JSON of type `T`, or 400 naming what is wrong.
fn read<T: serde::de::DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let body = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        _ => ApiError::bad_request(format!("The request body could not be read: {e}")),
    })?;
    serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("The fault rule is not valid: {e}.")))
}

#[utoipa::path(
    get,
    path = "/_emulator/faults",
    operation_id = "listFaults",
    tag = "control",
    description = "The fault rules in force; `times` is what is left of each.",
    responses(
        (status = 200, description = "The rules", body = RuleList),
    ),
    security((), ("admin" = [])),
)]
async fn list(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let rules = shared::fault_rules(&state).await.map_err(storage_failure)?;
    Ok(Json(json!({"value": rules})))
}

#[utoipa::path(
    put,
    path = "/_emulator/faults",
    operation_id = "replaceFaults",
    tag = "control",
    description = "Replace every rule with `rules` (all are checked first: a bad one changes nothing).",
    request_body(content = RuleSet, content_type = "application/json"),
    responses(
        (status = 200, description = "The new rules, with their ids", body = RuleList),
        (status = 400, description = "A rule that is not valid (the message names the field)", body = ref("#/components/schemas/GraphError")),
        (status = 413, description = "The body is over 2 MiB", body = ref("#/components/schemas/GraphError")),
    ),
    security((), ("admin" = [])),
)]
async fn replace(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let set: RuleSet = read(body)?;
    if set.rules.len() > MAX_RULES {
        return Err(ApiError::bad_request(format!("At most {MAX_RULES} fault rules are kept; 'rules' has more.")));
    }
    let rules = shared::change_faults(&state, |faults| faults.replace(set.rules))
        .await
        .map_err(storage_failure)?
        .map_err(|e| ApiError::bad_request(e.0))?;
    Ok(Json(json!({"value": rules})))
}

#[utoipa::path(
    post,
    path = "/_emulator/faults",
    operation_id = "addFault",
    tag = "control",
    description = "Add one rule (after those in force).",
    request_body(content = Rule, content_type = "application/json"),
    responses(
        (status = 201, description = "The rule, with its id", body = Rule),
        (status = 400, description = "The rule is not valid (the message names the field), or there are already 100 rules", body = ref("#/components/schemas/GraphError")),
        (status = 413, description = "The body is over 2 MiB", body = ref("#/components/schemas/GraphError")),
    ),
    security((), ("admin" = [])),
)]
async fn add(State(state): State<AppState>, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    let rule: Rule = read(body)?;
    let added = shared::change_faults(&state, |faults| {
        if faults.list().len() >= MAX_RULES {
            return Err(format!("At most {MAX_RULES} fault rules are kept; delete one first."));
        }
        faults.add(rule).map_err(|e| e.0)
    });
    let rule = added.await.map_err(storage_failure)?.map_err(ApiError::bad_request)?;
    Ok((StatusCode::CREATED, Json(rule)).into_response())
}

#[utoipa::path(
    delete,
    path = "/_emulator/faults",
    operation_id = "clearFaults",
    tag = "control",
    description = "Remove every rule.",
    responses(
        (status = 204, description = "Removed"),
    ),
    security((), ("admin" = [])),
)]
async fn clear(State(state): State<AppState>) -> Result<StatusCode, ApiError> {
    shared::change_faults(&state, Faults::reset).await.map_err(storage_failure)?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete,
    path = "/_emulator/faults/{id}",
    operation_id = "removeFault",
    tag = "control",
    description = "Remove one rule.",
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No rule has this id", body = ref("#/components/schemas/GraphError")),
    ),
    security((), ("admin" = [])),
)]
async fn remove(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let removed = shared::change_faults(&state, |faults| faults.remove(&id)).await.map_err(storage_failure)?;
    if removed { Ok(StatusCode::NO_CONTENT) } else { Err(ApiError::NotFound(id)) }
}
