//! `GET` and `POST /_emulator/clock` (README "Virtual clock"): read and move the emulator's virtual time
//! (`clock::VirtualClock`: the system clock plus an offset). Everything that reads time follows it: token
//! expiry, quotas and the daily cap, log retention, `activityDateTime`, error dates. Mounted with the rest of
//! the control API (`api::admin`: admin token, cross-site refusal).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::OpenApi;

use crate::api::extract::GraphBytes;
use crate::clock::ClockReading;
use crate::control::{duration, lifecycle};
use crate::error::ApiError;
use crate::graph_time::{graph_datetime, parse_rfc3339};
use crate::state::AppState;

#[derive(utoipa::OpenApi)]
#[openapi(paths(read_clock, change_clock))]
struct ClockApi;

pub(super) fn openapi() -> utoipa::openapi::OpenApi {
    ClockApi::openapi()
}

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/_emulator/clock", get(read_clock).post(change_clock))
}

/// `{"mode", "now", "offsetSeconds"}`.
fn shown(reading: ClockReading) -> Json<Value> {
    Json(json!({
        "mode": if reading.offset.is_some() { "offset" } else { "system" },
        "now": graph_datetime(reading.now),
        "offsetSeconds": reading.offset.unwrap_or_default().whole_seconds(),
    }))
}

#[utoipa::path(
    get,
    path = "/_emulator/clock",
    operation_id = "readClock",
    tag = "control",
    description = "The virtual clock: `mode` (`system`, or `offset` once moved), `now`, and `offsetSeconds` from the system clock.",
    responses(
        (status = 200, description = "The clock", body = ref("#/components/schemas/Clock")),
    ),
    security((), ("admin" = [])),
)]
async fn read_clock(State(state): State<AppState>) -> Json<Value> {
    shown(state.clock.reading())
}

/// One of the three changes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Change {
    advance: Option<String>,
    set: Option<String>,
    mode: Option<String>,
}

const ONE_OF: &str =
    "Send one of {\"advance\": \"PT25H\"}, {\"set\": \"2027-01-01T00:00:00Z\"} or {\"mode\": \"system\"}.";

#[utoipa::path(
    post,
    path = "/_emulator/clock",
    operation_id = "changeClock",
    tag = "control",
    description = "Move the virtual clock: `{\"advance\": \"PT25H\"}` adds an ISO 8601 duration (weeks, days, hours, minutes, seconds; no sign) to the offset, `{\"set\": \"2027-01-01T00:00:00Z\"}` sets the offset so that now is that instant, `{\"mode\": \"system\"}` goes back to the system clock. Time keeps flowing from there. A move backwards also fills every job's quotas again.",
    request_body(content = serde_json::Value, content_type = "application/json", description = "One of `advance`, `set` or `mode`"),
    responses(
        (status = 200, description = "The clock after the change", body = ref("#/components/schemas/Clock")),
        (status = 400, description = "Not exactly one change, an invalid duration or date-time, or a time out of range", body = ref("#/components/schemas/GraphError")),
    ),
    security((), ("admin" = [])),
)]
async fn change_clock(State(state): State<AppState>, GraphBytes(body): GraphBytes) -> Result<Json<Value>, ApiError> {
    let change: Change = serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("{ONE_OF} ({e})")))?;
    let clock = &state.clock;
    let before = clock.now();
    let reading = match (change.advance, change.set, change.mode) {
        (Some(text), None, None) => {
            let by = duration::parse(&text).map_err(|e| ApiError::bad_request(e.to_string()))?;
            lifecycle::change_clock(&state, || clock.advance(by)).ok_or_else(|| {
                ApiError::bad_request(format!("Advancing the clock by '{text}' leaves the range of dates."))
            })?
        }
        (None, Some(text), None) => {
            let to = parse_rfc3339(&text)
                .ok_or_else(|| ApiError::bad_request(format!("'{text}' is not an RFC 3339 date-time.")))?;
            lifecycle::change_clock(&state, || Some(clock.set(to)))
                .ok_or_else(|| ApiError::bad_request(ONE_OF.to_owned()))?
        }
        (None, None, Some(mode)) if mode == "system" => lifecycle::change_clock(&state, || Some(clock.use_system()))
            .ok_or_else(|| ApiError::bad_request(ONE_OF.to_owned()))?,
        (None, None, Some(mode)) => {
            return Err(ApiError::bad_request(format!(
                "The mode '{mode}' cannot be set; \"system\" goes back to the system clock, advance or set moves it."
            )));
        }
        _ => return Err(ApiError::bad_request(ONE_OF.to_owned())),
    };
    crate::control::shared::share_clock(&state, reading.offset).await.map_err(crate::api::storage_failure)?;
    if reading.now < before && state.store.is_shared() {
        // The quotas held in the store fill again too (`lifecycle::change_clock` refilled this process's).
        let jobs = state.jobs.all().map(|j| j.id.clone()).collect();
        state.store.reset_quotas(jobs).await.map_err(crate::api::storage_failure)?;
    }
    Ok(shown(reading))
}
