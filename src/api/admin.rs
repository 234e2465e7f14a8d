//! Emulator control surface (README "Using it from a test suite"): liveness, readiness, reset, and drain
//! (wait until a job has processed everything staged before the call); export/import (`api::snapshot`) and the
//! clock (`api::clock`) are mounted here, behind the same guards. Open on loopback by default;
//! `admin.token` makes `/_emulator/*` require `Authorization: Bearer <token>`.
//!
//! Cross-site rule: a web page the developer has open must not be able to reset the emulator behind their
//! back (a form or `fetch` posting to `http://127.0.0.1:8080/_emulator/reset` needs no CORS answer to do
//! harm). So `/_emulator/*` refuses, with 403, a request whose `Origin` is present and is not one of the
//! emulator's own public origins, or whose `Sec-Fetch-Site` is `cross-site` or `same-site` (a page on
//! another port of localhost is "same-site" yet another application). Test clients and curl send neither
//! header and are not affected; browsers send at least one on every cross-origin request.

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use utoipa::OpenApi;

use crate::api::openapi::{Envelope, answer_everywhere};
use crate::api::storage_failure;
use crate::error::{ApiError, TokenProblem};
use crate::state::AppState;

/// The probes' and the control API's part of the OpenAPI document (`api::openapi`). Every `/_emulator/*`
/// route sits behind the same two guards (`routes`), so their 401 and 403 are described once here.
pub(super) fn openapi() -> utoipa::openapi::OpenApi {
    let mut control = ControlApi::openapi();
    control.merge(super::faults::openapi());
    control.merge(super::journal::openapi());
    control.merge(super::report::openapi());
    control.merge(super::snapshot::openapi());
    control.merge(super::clock::openapi());
    control.merge(super::dashboard::session_openapi());
    let guarded = [
        (401, "`admin.token` is set and the request has no or another bearer token"),
        (403, "A request a browser sent for another site (`Origin` or `Sec-Fetch-Site`)"),
    ];
    for (status, description) in guarded {
        answer_everywhere(&mut control, status, description, Envelope::Graph);
    }
    let mut doc = ProbesApi::openapi();
    doc.merge(control);
    doc
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(health, ready))]
struct ProbesApi;

#[derive(utoipa::OpenApi)]
#[openapi(paths(reset, drain))]
struct ControlApi;

pub fn routes(state: &AppState) -> Router<AppState> {
    let control = Router::new()
        .route("/_emulator/reset", post(reset))
        .route("/_emulator/jobs/{job_id}/drain", post(drain))
        .merge(super::faults::routes())
        .merge(super::journal::routes())
        .merge(super::report::routes())
        .merge(super::snapshot::routes())
        .merge(super::clock::routes())
        .merge(super::dashboard::session_routes())
        .layer(axum::middleware::from_fn_with_state(state.clone(), require_admin_token))
        .layer(axum::middleware::from_fn_with_state(state.clone(), refuse_cross_site));
    Router::new().route("/health", get(health)).route("/ready", get(ready)).merge(control)
}

/// Whether `path` is a drain, which is bounded by its own `?timeout=` rather than the request timeout.
pub(super) fn is_drain(path: &str) -> bool {
    path.strip_prefix("/_emulator/jobs/")
        .and_then(|rest| rest.strip_suffix("/drain"))
        .is_some_and(|job| !job.contains('/'))
}

async fn require_admin_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let expected = &state.config.admin.token;
    if expected.is_empty() {
        return next.run(req).await;
    }
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .filter(|t| !t.is_empty());
    match given {
        None => ApiError::Unauthenticated(TokenProblem::Empty).into_response(),
        Some(t) if aws_lc_rs::constant_time::verify_slices_are_equal(t.as_bytes(), expected.as_bytes()).is_ok() => {
            next.run(req).await
        }
        Some(_) => ApiError::Unauthenticated(TokenProblem::InvalidAdminToken).into_response(),
    }
}

/// 403 for requests a browser sends on behalf of another site (see the module header).
async fn refuse_cross_site(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // The listeners' own addresses or configured public URLs, never the request's `Host`: a DNS-rebound page sends
    // its own name as both `Host` and `Origin`.
    let config = &state.config;
    let own = std::iter::once(config.public_base_url()).chain(config.public_tls_base_url()).map(|url| origin_of(&url));
    if is_cross_site(req.headers(), &own.collect::<Vec<_>>()) {
        return ApiError::CrossSite.into_response();
    }
    next.run(req).await
}

fn is_cross_site(headers: &HeaderMap, own_origins: &[String]) -> bool {
    let fetch_site = headers.get("sec-fetch-site").map(|v| v.as_bytes().to_ascii_lowercase());
    if fetch_site.is_some_and(|site| site == b"cross-site" || site == b"same-site") {
        return true;
    }
    headers.get(header::ORIGIN).is_some_and(|origin| {
        let origin = origin.to_str().map(origin_of).unwrap_or_default();
        !own_origins.contains(&origin)
    })
}

/// `scheme://host[:port]` of a URL, lower-cased, without the scheme's default port (as browsers send it).
fn origin_of(url: &str) -> String {
    let url = url.trim().to_ascii_lowercase();
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url.as_str()));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = match scheme {
        "http" => authority.strip_suffix(":80").unwrap_or(authority),
        "https" => authority.strip_suffix(":443").unwrap_or(authority),
        _ => authority,
    };
    format!("{scheme}://{authority}")
}

#[utoipa::path(
    get,
    path = "/health",
    operation_id = "health",
    tag = "control",
    description = "Liveness: the process answers.",
    responses(
        (status = 200, description = "`{\"status\": \"healthy\"}`", body = ref("#/components/schemas/Status")),
    ),
)]
async fn health() -> impl IntoResponse {
    Json(json!({"status": "healthy"}))
}

#[utoipa::path(
    get,
    path = "/ready",
    operation_id = "ready",
    tag = "control",
    description = "Readiness: the state is open and the workers run.",
    responses(
        (status = 200, description = "`{\"status\": \"ready\"}`", body = ref("#/components/schemas/Status")),
        (status = 503, description = "`{\"status\": \"starting\"}`", body = ref("#/components/schemas/Status")),
    ),
)]
async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    if state.is_ready() {
        (StatusCode::OK, Json(json!({"status": "ready"})))
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "starting"})))
    }
}

#[utoipa::path(
    post,
    path = "/_emulator/reset",
    operation_id = "reset",
    tag = "control",
    description = "Back to a fresh start with the same configuration: the directory, the logs, the staged operations and the SCIM service provider's resources are emptied; every job takes its configured run state and schema again, with an empty status, its counters at zero and its quotas full; the clock goes back to system time.",
    responses(
        (status = 204, description = "Reset"),
    ),
    security((), ("admin" = [])),
)]
/// Back to a fresh start with the same configuration (`control::lifecycle::reset`).
async fn reset(State(state): State<AppState>) -> Result<StatusCode, ApiError> {
    crate::control::lifecycle::reset(&state).await.map_err(storage_failure)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `?timeout=SECONDS` (default 30, at most an hour).
fn drain_timeout(raw: Option<&str>) -> Result<Duration, ApiError> {
    let mut secs = 30;
    for (k, v) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        if k == "timeout" {
            secs = v
                .parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("The timeout '{v}' is not a whole number of seconds.")))?;
        }
    }
    Ok(Duration::from_secs(secs.min(3600)))
}

#[utoipa::path(
    post,
    path = "/_emulator/jobs/{job_id}/drain",
    operation_id = "drain",
    tag = "control",
    description = "Wait until every operation staged before the call is processed and logged.",
    params(
        ("timeout" = Option<String>, Query, description = "Seconds to wait (default 30, at most 3600)"),
    ),
    responses(
        (status = 200, description = "Drained", body = ref("#/components/schemas/Drained")),
        (status = 400, description = "`timeout` is not a whole number of seconds", body = ref("#/components/schemas/GraphError")),
        (status = 404, description = "Unknown job", body = ref("#/components/schemas/GraphError")),
        (status = 408, description = "The timeout passed first", body = ref("#/components/schemas/GraphError")),
        (status = 409, description = "The job is paused, or in quarantine", body = ref("#/components/schemas/GraphError")),
        (status = 503, description = "The job's worker stopped", body = ref("#/components/schemas/GraphError")),
    ),
    security((), ("admin" = [])),
)]
/// 200 once every operation staged before the call is processed and logged; 408 on timeout; 409 if the job
/// is paused, or is quarantined before it got there.
async fn drain(
    State(state): State<AppState>,
    Path(job_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let timeout = drain_timeout(raw.as_deref())?;
    let job = state.jobs.by_id(&job_id).map_err(|e| ApiError::NotFound(e.0))?.clone();
    if job.is_paused() {
        return Err(ApiError::Conflict(format!("Job '{job_id}' is paused; start it before draining.")));
    }
    let target = job.drain_target(state.store.newest_staged(&job.id).await.map_err(storage_failure)?);
    let mut gate = job.watch_gate();
    // The worker records a batch's progress and the quarantine it caused in one step, so "quarantined before
    // reaching the target" is never a batch in between.
    let reached = async {
        loop {
            tokio::select! {
                reached = async { gate.wait_for(|g| g.processed >= target || g.quarantined).await.map(|g| *g) } => {
                    return reached;
                }
                // Several processes on one database: another one may hold the job; its progress and status are in
                // the store (each batch's notice brings them sooner).
                () = poll_store(&state) => crate::provisioning::worker::take_on(&state, &job).await,
            }
        }
    };
    let gate = match tokio::time::timeout(timeout, reached).await {
        Ok(Ok(gate)) => gate,
        Ok(Err(_)) => {
            return Err(ApiError::Unavailable { message: "The job's worker stopped.".into(), retry_after_secs: None });
        }
        Err(_) => return Err(ApiError::Timeout),
    };
    if gate.processed < target {
        return Err(ApiError::Conflict(format!("Job '{job_id}' is in quarantine; restart it before draining.")));
    }
    Ok(Json(json!({"jobId": job.id, "processed": job.processed_total(), "pending": 0})).into_response())
}

/// Sleeps for the store's poll interval (several processes on one database), or forever.
async fn poll_store(state: &AppState) {
    match state.store.poll_interval() {
        Some(interval) => tokio::time::sleep(interval).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (axum::http::HeaderName::from_static(k), HeaderValue::from_static(v))).collect()
    }

    #[test]
    fn only_a_drain_is_bounded_by_its_own_timeout() {
        assert!(is_drain("/_emulator/jobs/API2AAD.x.y/drain"));
        assert!(!is_drain("/_emulator/jobs/a/b/drain"));
        assert!(!is_drain("/_emulator/reset"));
        assert!(!is_drain("/v1.0/servicePrincipals/a/synchronization/jobs/b/drain"));
    }

    #[test]
    fn origins_compare_as_browsers_send_them() {
        assert_eq!(origin_of("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(origin_of("HTTP://Entra:80/base/"), "http://entra");
        assert_eq!(origin_of("https://localhost:443"), "https://localhost");
        assert_eq!(origin_of("null"), "://null");
    }

    #[test]
    fn cross_site_is_what_a_browser_marks_as_another_site() {
        let own = vec![origin_of("http://127.0.0.1:8080"), origin_of("https://localhost:8443")];
        let refused = [
            headers(&[("origin", "http://evil.example")]),
            headers(&[("origin", "http://127.0.0.1:3000")]),
            headers(&[("origin", "null")]),
            headers(&[("sec-fetch-site", "cross-site")]),
            headers(&[("sec-fetch-site", "same-site")]),
            headers(&[("sec-fetch-site", "same-origin"), ("origin", "http://localhost:8080")]),
        ];
        for h in &refused {
            assert!(is_cross_site(h, &own), "{h:?}");
        }
        let allowed = [
            headers(&[]),
            headers(&[("origin", "http://127.0.0.1:8080")]),
            headers(&[("origin", "https://localhost:8443")]),
            headers(&[("sec-fetch-site", "same-origin")]),
            headers(&[("sec-fetch-site", "none")]),
        ];
        for h in &allowed {
            assert!(!is_cross_site(h, &own), "{h:?}");
        }
    }
}
