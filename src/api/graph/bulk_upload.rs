//! `POST /{v1.0|beta}/servicePrincipals/{spId}/synchronization/jobs/{jobId}/bulkUpload` — docs/fidelity.md A.1, row by
//! row and in that order: 405 → 401 → 403 → 404 → 429 → 413 → 400 (media type, JSON, schema) → room in
//! the staging queue (429, without `Retry-After` when the job cannot drain it) → stage durably (503 + `Retry-After` when
//! the store fails) → 202 with `Location`.

use axum::Extension;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};

use super::GraphVersion;
use crate::api::journal::UploadNote;
use crate::api::{BaseUrl, RequestIds};
use crate::auth::{Principal, roles};
use crate::control::report::FindingKind;
use crate::error::{ApiError, ErrorDetail};
use crate::provisioning::jobs::Job;
use crate::scim::bulk::{BulkOperation, Violation, parse_bulk_request};
use crate::state::AppState;
use crate::store::NewOperation;

const PATH: &str = "/{version}/servicePrincipals/{sp_id}/synchronization/jobs/{job_id}/bulkUpload";

/// The `Retry-After` of a 503 for a staging failure: long enough for a passing storage fault to clear.
const STAGING_RETRY_AFTER_SECS: u64 = 5;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PATH, upload_route())
        // The SDKs' generated `content.put()` targets the stream; only POST exists (docs/fidelity.md A.1 row 1).
        .route(&format!("{PATH}/$value"), upload_route())
}

fn upload_route() -> MethodRouter<AppState> {
    post(bulk_upload).fallback(|| async { ApiError::MethodNotAllowed { allow: "POST" } })
}

/// Stage a SCIM bulk request for the job's provisioning worker.
#[utoipa::path(
    post,
    path = "/{version}/servicePrincipals/{sp_id}/synchronization/jobs/{job_id}/bulkUpload",
    operation_id = "bulkUpload",
    tag = "bulkUpload",
    description = "Validates the SCIM BulkRequest and stages it durably; the job's worker processes it in arrival order. `…/bulkUpload/$value` is the same operation (the SDKs' `content.put()` target).",
    request_body(content = ref("#/components/schemas/BulkRequest"), content_type = "application/scim+json"),
    responses(
        (status = 202, description = "Accepted and durable; `Location` names the job's provisioning logs"),
        (status = 400, description = "`Invalid Data Format` (media type, JSON, SCIM shape, more than 50 operations), or an unreadable body", body = ref("#/components/schemas/GraphError")),
        (status = 403, description = "The token lacks `SynchronizationData-User.Upload`", body = ref("#/components/schemas/GraphError")),
        (status = 404, description = "Unknown service principal or job", body = ref("#/components/schemas/GraphError")),
        (status = 413, description = "The body is over the size limit", body = ref("#/components/schemas/GraphError")),
        (status = 429, description = "The job's request quota is used up, or the staging queue is full (`Retry-After`, or none while the job is paused or in quarantine)", body = ref("#/components/schemas/GraphError")),
        (status = 503, description = "The operations could not be staged; `Retry-After`", body = ref("#/components/schemas/GraphError")),
    ),
    security(("graph" = [])),
)]
async fn bulk_upload(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((version, sp_id, job_id)): Path<(String, String, String)>,
    principal: Principal,
    Extension(ids): Extension<RequestIds>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let version = GraphVersion::parse(&version)?;
    if !principal.has_any(roles::BULK_UPLOAD) {
        return Err(ApiError::Forbidden);
    }
    let job = state.jobs.find(&sp_id, &job_id).map_err(|e| ApiError::NotFound(e.0))?;
    let allowed = if state.store.is_shared() {
        job.limiter.check_shared(&state.store, &job.id).await.map_err(|e| {
            tracing::error!(job = %job.id, error = %e, "the shared quota could not be read");
            ApiError::Unavailable {
                message: "The job's quota could not be read; retry.".into(),
                retry_after_secs: Some(1),
            }
        })?
    } else {
        job.limiter.check()
    };
    allowed.map_err(|retry_after_secs| ApiError::Throttled { retry_after_secs })?;

    let body = crate::api::extract::read_limited(&headers, body, state.config.server.body_limit_bytes).await?;
    if !is_scim_json(&headers) {
        return Err(ApiError::InvalidDataFormat(vec![ErrorDetail::new(
            "UnsupportedMediaType",
            "The Content-Type header must be 'application/scim+json'.",
            "Content-Type",
        )]));
    }
    let ops = parse_bulk_request(&body).map_err(|v| ApiError::InvalidDataFormat(details(v)))?;

    let Some(reservation) = state.staging.try_reserve(ops.len()) else {
        return Err(queue_full(job));
    };
    // The staged request carries the HTTP request id: its log entries' cycleId (README "Request journal").
    let request_id = ids.request_id;
    let new: Vec<NewOperation<'_>> =
        ops.iter().map(|o| NewOperation { bulk_id: &o.bulk_id, external_id: &o.external_id, data: &o.data }).collect();
    // The reservation is given back when this returns early (a storage failure included).
    match state.store.stage(&job.id, &request_id, state.clock.now(), &new).await {
        Ok(seq) => job.note_staged(seq),
        Err(e) => {
            tracing::error!(job = %job.id, error = %e, "staging failed; answering 503");
            return Err(ApiError::Unavailable {
                message: "The operations could not be staged; retry later.".into(),
                retry_after_secs: Some(STAGING_RETRY_AFTER_SECS),
            });
        }
    }
    reservation.keep();
    state.metrics.staged(&job.id, ops.len());
    tracing::info!(job = %job.id, operations = ops.len(), "bulkUpload staged");
    job.wake.notify_one();

    let location = format!("{}/auditLogs/provisioning/?$filter=jobid%20eq%20'{}'", version.service_root(&base), job.id);
    let mut response = StatusCode::ACCEPTED.into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response.extensions_mut().insert(upload_note(&ops, job));
    Ok(response)
}

/// What the journal and the client report learn from an accepted upload.
fn upload_note(ops: &[BulkOperation], job: &Job) -> UploadNote {
    let mut findings = Vec::new();
    let mut seen = std::collections::HashSet::with_capacity(ops.len());
    if !ops.iter().all(|o| seen.insert(o.external_id.as_str())) {
        findings.push(FindingKind::DuplicateExternalIdInRequest);
    }
    if job.is_paused() {
        findings.push(FindingKind::UploadToPausedJob);
    }
    UploadNote { bulk_ids: ops.iter().map(|o| o.bulk_id.clone()).collect(), findings }
}

/// The answer when the staging queue has no room: 429 with `Retry-After` while the job processes (the queue
/// drains), and 429 without it, saying why, when the job cannot drain what it staged (paused, or in
/// quarantine): retrying on a timer would only meet the same full queue.
fn queue_full(job: &Job) -> ApiError {
    if job.is_paused() {
        return ApiError::Blocked(format!(
            "The staging queue is full and job '{}' is paused: what it staged waits until the job is started, so retrying cannot help. Start the job, then send the request again.",
            job.id
        ));
    }
    if job.is_quarantined() {
        return ApiError::Blocked(format!(
            "The staging queue is full and job '{}' is in quarantine: it processes nothing until it is restarted, so retrying cannot help. Restart the job, then send the request again.",
            job.id
        ));
    }
    ApiError::Throttled { retry_after_secs: 1 }
}

/// `application/scim+json`, parameters such as `charset` allowed.
fn is_scim_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/scim+json"))
}

fn details(violations: Vec<Violation>) -> Vec<ErrorDetail> {
    violations
        .into_iter()
        .map(|v| ErrorDetail { code: v.code.to_owned(), message: v.message, target: v.target })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    use crate::auth::{SigningKeys, TokenRequest, issue_token, roles};
    use crate::clock::{Clock, SystemClock};
    use crate::config::Config;
    use crate::state::AppState;

    fn upload(config: &Config, token: &str) -> Request<Body> {
        let (sp, job) = (&config.service_principals[0].id, &config.service_principals[0].jobs[0].id);
        let body = include_str!("../../../tests/fixtures/example1.json");
        Request::post(format!("/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}/bulkUpload"))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/scim+json")
            .body(Body::from(body))
            .unwrap()
    }

    #[tokio::test]
    async fn a_failed_staging_answers_503_and_gives_its_queue_slots_back() {
        let mut config = Config::defaults().unwrap();
        // Exactly one request of example 1 (two operations) fits.
        config.staging.queue_capacity = 2;
        let state = AppState::new(config.clone(), Arc::new(SystemClock)).await.unwrap();
        let roles: Vec<String> = roles::ALL.iter().map(|r| (*r).to_owned()).collect();
        let token = issue_token(
            &SigningKeys::development().unwrap(),
            &TokenRequest {
                tenant_id: &config.tenant.id,
                client_id: &config.clients[0].client_id,
                client_display_name: "test",
                roles: &roles,
                audience: "https://graph.microsoft.com",
                now: SystemClock.now(),
                lifetime_secs: 600,
                auth_method: "1",
            },
        )
        .unwrap();
        let app = crate::app(state.clone());
        state.store.refuse_staging(true).unwrap();
        let refused = app.clone().oneshot(upload(&config, &token)).await.unwrap();
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(refused.headers()["retry-after"], "5", "a storage fault may pass: retry in a few seconds");
        let body = axum::body::to_bytes(refused.into_body(), 1 << 16).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], "ServiceUnavailable");
        assert_eq!(body["error"]["message"], "The operations could not be staged; retry later.");
        assert_eq!(state.staging.pending(), 0, "the failed request's reservation was given back");
        state.store.refuse_staging(false).unwrap();
        let accepted = app.oneshot(upload(&config, &token)).await.unwrap();
        assert_eq!(accepted.status(), StatusCode::ACCEPTED, "its two slots are free again");
        assert_eq!(state.staging.pending(), 2);
    }
}
