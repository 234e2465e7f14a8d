//! `GET /metrics` (README "Metrics", docs/fidelity.md#emulator-surfaces): the Prometheus text of
//! `crate::control::metrics`, and the middleware that counts every request by surface and status.
//!
//! Open like `/health`: no admin token, no cross-site check (it changes nothing and tells nothing a client
//! could not count itself), so a Prometheus server scrapes it without credentials. A request is counted under
//! its surface (`route_kind::classify`), never its raw path, so the number of series stays bounded whatever
//! paths clients send.

use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa::OpenApi;

use super::route_kind::classify;
use super::storage_failure;
use crate::control::metrics::{JobReading, RunState};
use crate::error::ApiError;
use crate::state::AppState;

/// The Prometheus text exposition format, version 0.0.4.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// This route's part of the OpenAPI document (`api::openapi`).
pub(super) fn openapi() -> utoipa::openapi::OpenApi {
    MetricsApi::openapi()
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(metrics))]
struct MetricsApi;

/// `GET /metrics`; any other method is answered 405 in the Graph envelope.
pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics).fallback(|| async { ApiError::MethodNotAllowed { allow: "GET" } }))
}

/// Counts the request under its surface and status once its response is ready (before it is sent). The
/// outermost layer: it classifies the request once and leaves the surface (`RouteKind`) in its extensions for
/// the layers inside (the journal).
pub(super) async fn observe(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let kind = classify(req.uri().path()).kind;
    req.extensions_mut().insert(kind);
    let response = next.run(req).await;
    state.metrics.observe_request(kind.as_str(), response.status().as_u16(), started.elapsed());
    response
}

#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "control",
    description = "Prometheus metrics in the text exposition format: requests by surface and status with their latency, \
        operations staged and processed by action and status, queue depth and run state per job, throttled requests, \
        engine batch latency (README \"Metrics\").",
    responses(
        (status = 200, description = "The metrics", content_type = "text/plain; version=0.0.4", body = String),
    ),
)]
async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let mut readings = Vec::new();
    for job in state.jobs.all() {
        let queued = state.store.backlog(&job.id, job.applied_through()).await.map_err(storage_failure)?;
        let state = RunState::of(job.is_paused(), job.is_quarantined());
        readings.push(JobReading { job_id: &job.id, queued, state });
    }
    let text = state.metrics.render(readings);
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static(TEXT_FORMAT))], text).into_response())
}
