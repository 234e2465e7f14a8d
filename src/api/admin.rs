//! Emulator control surface (DESIGN.md "Emulator control API"): liveness, readiness, reset, and drain
//! (wait until a job has processed everything staged before the call). Open on loopback by default;
//! `admin.token` makes `/_emulator/*` require `Authorization: Bearer <token>`.

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::api::storage_failure;
use crate::error::{ApiError, TokenProblem};
use crate::state::AppState;

pub fn routes(state: &AppState) -> Router<AppState> {
    let control = Router::new()
        .route("/_emulator/reset", post(reset))
        .route("/_emulator/jobs/{job_id}/drain", post(drain))
        .layer(axum::middleware::from_fn_with_state(state.clone(), require_admin_token));
    Router::new().route("/health", get(health)).route("/ready", get(ready)).merge(control)
}

async fn require_admin_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let expected = &state.config.admin.token;
    if expected.is_empty() {
        return next.run(req).await;
    }
    let given =
        req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if given == Some(expected.as_str()) {
        next.run(req).await
    } else {
        ApiError::Unauthenticated(TokenProblem::Empty).into_response()
    }
}

async fn health() -> impl IntoResponse {
    Json(json!({"status": "healthy"}))
}

async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    if state.is_ready() {
        (StatusCode::OK, Json(json!({"status": "ready"})))
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "starting"})))
    }
}

/// Empty the directory, logs and staged operations (configuration, jobs and keys stay).
async fn reset(State(state): State<AppState>) -> Result<StatusCode, ApiError> {
    let jobs: Vec<String> = state.jobs.all().map(|j| j.id.clone()).collect();
    let dropped = state.store.reset(jobs).await.map_err(storage_failure)?;
    state.staging.release(dropped.operations.values().sum());
    for job in state.jobs.all() {
        job.mark_through(dropped.through);
    }
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
    let target = state.store.newest_staged(&job.id).await.map_err(storage_failure)?.unwrap_or(0);
    let mut gate = job.watch_gate();
    // The worker records a batch's progress and the quarantine it caused in one step, so "quarantined before
    // reaching the target" is never a batch in between.
    let reached = gate.wait_for(|g| g.processed >= target || g.quarantined);
    let gate = match tokio::time::timeout(timeout, reached).await {
        Ok(Ok(gate)) => *gate,
        Ok(Err(_)) => return Err(ApiError::Unavailable("The job's worker stopped.".into())),
        Err(_) => return Err(ApiError::Timeout),
    };
    if gate.processed < target {
        return Err(ApiError::Conflict(format!("Job '{job_id}' is in quarantine; restart it before draining.")));
    }
    Ok(Json(json!({"jobId": job.id, "processed": job.processed_total(), "pending": 0})).into_response())
}
