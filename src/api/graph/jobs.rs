//! Synchronization jobs (docs/fidelity.md B.3): list and get the Graph `synchronizationJob`, `start`, `pause`,
//! `restart` with `criteria.resetScope`, and `provisionOnDemand` (not supported for API-driven apps).
//! Reading needs `Synchronization.Read.All` or `.ReadWrite.All`; changing needs `.ReadWrite.All`.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{GraphVersion, get_only, json_body};
use crate::api::extract::GraphBytes;
use crate::api::{BaseUrl, storage_failure};
use crate::auth::{Principal, roles};
use crate::error::ApiError;
use crate::provisioning::jobs::Job;
use crate::provisioning::status::ResetScope;
use crate::state::AppState;

pub(super) const JOBS: &str = "/{version}/servicePrincipals/{sp_id}/synchronization/jobs";

pub fn routes() -> Router<AppState> {
    let post_only = |r: axum::routing::MethodRouter<AppState>| {
        r.fallback(|| async { ApiError::MethodNotAllowed { allow: "POST" } })
    };
    Router::new()
        .route(JOBS, get_only(get(list)))
        .route(&format!("{JOBS}/{{job_id}}"), get_only(get(get_job)))
        .route(&format!("{JOBS}/{{job_id}}/start"), post_only(post(start)))
        .route(&format!("{JOBS}/{{job_id}}/pause"), post_only(post(pause)))
        .route(&format!("{JOBS}/{{job_id}}/restart"), post_only(post(restart)))
        .route(&format!("{JOBS}/{{job_id}}/provisionOnDemand"), post_only(post(provision_on_demand)))
}

/// What a caller wants to do with a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    Read,
    Write,
}

fn require(principal: &Principal, access: Access) -> Result<(), ApiError> {
    let allowed: &[&str] = match access {
        Access::Read => &[roles::SYNC_READ, roles::SYNC_READ_WRITE],
        Access::Write => &[roles::SYNC_READ_WRITE],
    };
    if principal.has_any(allowed) { Ok(()) } else { Err(ApiError::Forbidden) }
}

/// The checks every job endpoint makes, in the Graph order: version (404) → permission (403) → the job (404
/// naming the missing id). The 401 came earlier, from the `Principal` extractor.
pub(super) fn job_for(
    state: &AppState,
    (version, sp_id, job_id): &(String, String, String),
    principal: &Principal,
    access: Access,
) -> Result<(GraphVersion, Arc<Job>), ApiError> {
    let version = GraphVersion::parse(version)?;
    require(principal, access)?;
    let job = state.jobs.find(sp_id, job_id).map(Arc::clone).map_err(|e| ApiError::NotFound(e.0))?;
    Ok((version, job))
}

async fn job_json(state: &AppState, job: &Job) -> Result<Value, ApiError> {
    let users = state.store.count_users().await.map_err(storage_failure)?;
    let paused = job.is_paused();
    let status = job.with_status(|s| s.to_json(paused, users));
    Ok(json!({
        "id": job.id,
        "templateId": job.config.template_id,
        "schedule": {
            "expiration": null,
            "interval": "PT40M",
            "state": if paused { "Paused" } else { "Active" },
        },
        "status": status,
        "synchronizationJobSettings": [
            {"name": "QuarantineTooManyDeletesThreshold", "value": job.config.deletion_threshold.to_string()},
        ],
    }))
}

async fn save(state: &AppState, job: &Job) -> Result<(), ApiError> {
    state.save_job_state(job).await.map_err(storage_failure)
}

#[utoipa::path(
    get,
    path = "/{version}/servicePrincipals/{sp_id}/synchronization/jobs",
    operation_id = "listSynchronizationJobs",
    tag = "jobs",
    description = "The service principal's synchronization jobs.",
    responses(
        (status = 200, description = "The jobs", body = ref("#/components/schemas/GraphCollection")),
        (status = 403, description = "The token lacks `Synchronization.Read.All` and `Synchronization.ReadWrite.All`", body = ref("#/components/schemas/GraphError")),
        (status = 404, description = "Unknown service principal", body = ref("#/components/schemas/GraphError")),
    ),
    security(("graph" = [])),
)]
async fn list(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((version, sp_id)): Path<(String, String)>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    let version = GraphVersion::parse(&version)?;
    require(&principal, Access::Read)?;
    let jobs = state.jobs.of_service_principal(&sp_id).map_err(|e| ApiError::NotFound(e.0))?;
    let mut value = Vec::with_capacity(jobs.len());
    for job in jobs {
        value.push(job_json(&state, job).await?);
    }
    Ok(Json(json!({
        "@odata.context": format!("{}/$metadata#servicePrincipals('{sp_id}')/synchronization/jobs", version.service_root(&base)),
        "value": value,
    })))
}

#[utoipa::path(
    get,
    path = "/{version}/servicePrincipals/{sp_id}/synchronization/jobs/{job_id}",
    operation_id = "getSynchronizationJob",
    tag = "jobs",
    description = "One synchronization job: schedule, status, counters.",
    responses(
        (status = 200, description = "The synchronizationJob", body = ref("#/components/schemas/GraphEntity")),
        (status = 403, description = "The token lacks `Synchronization.Read.All` and `Synchronization.ReadWrite.All`", body = ref("#/components/schemas/GraphError")),
        (status = 404, description = "Unknown service principal or job", body = ref("#/components/schemas/GraphError")),
    ),
    security(("graph" = [])),
)]
async fn get_job(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(path): Path<(String, String, String)>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    let (version, job) = job_for(&state, &path, &principal, Access::Read)?;
    let mut body = json!({
        "@odata.context": format!(
            "{}/$metadata#servicePrincipals('{}')/synchronization/jobs/$entity",
            version.service_root(&base),
            job.service_principal_id
        ),
    });
    if let (Some(obj), Value::Object(job)) = (body.as_object_mut(), job_json(&state, &job).await?) {
        obj.extend(job);
    }
    Ok(Json(body))
}

#[utoipa::path(
    post,
    path = "/{version}/servicePrincipals/{sp_id}/synchronization/jobs/{job_id}/start",
    operation_id = "startSynchronizationJob",
    tag = "jobs",
    description = "Start (or resume) the job.",
    responses(
        (status = 204, description = "Started"),
        (status = 403, description = "The token lacks `Synchronization.ReadWrite.All`", body = ref("#/components/schemas/GraphError")),
        (status = 404, description = "Unknown service principal or job", body = ref("#/components/schemas/GraphError")),
    ),
    security(("graph" = [])),
)]
async fn start(
    State(state): State<AppState>,
    Path(path): Path<(String, String, String)>,
    principal: Principal,
) -> Result<StatusCode, ApiError> {
    let (_, job) = job_for(&state, &path, &principal, Access::Write)?;
    let _change = job.changes.lock().await;
    job.set_paused(false);
    save(&state, &job).await?;
    job.wake.notify_one();
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/{version}/servicePrincipals/{sp_id}/synchronization/jobs/{job_id}/pause",
    operation_id = "pauseSynchronizationJob",
    tag = "jobs",
    description = "Pause the job: uploads are still accepted and wait.",
    responses(
        (status = 204, description = "Paused"),
        (status = 403, description = "The token lacks `Synchronization.ReadWrite.All`", body = ref("#/components/schemas/GraphError")),
        (status = 404, description = "Unknown service principal or job", body = ref("#/components/schemas/GraphError")),
    ),
    security(("graph" = [])),
)]
async fn pause(
    State(state): State<AppState>,
    Path(path): Path<(String, String, String)>,
    principal: Principal,
) -> Result<StatusCode, ApiError> {
    let (_, job) = job_for(&state, &path, &principal, Access::Write)?;
    let _change = job.changes.lock().await;
    job.set_paused(true);
    save(&state, &job).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The reset scope of a restart body; an empty body means the portal's default restart.
fn reset_scope(body: &[u8]) -> Result<ResetScope, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(ResetScope::default_restart());
    }
    let v = json_body(body)?;
    match v.pointer("/criteria/resetScope") {
        None | Some(Value::Null) => Ok(ResetScope::default_restart()),
        Some(Value::String(s)) => ResetScope::parse(s).map_err(|flag| {
            ApiError::bad_request(format!(
                "The value '{flag}' is not a valid synchronizationJobRestartScope (None, ConnectorDataStore, Escrows, Watermark, QuarantineState, Full, ForceDeletes)."
            ))
        }),
        Some(_) => Err(ApiError::bad_request("criteria.resetScope must be a string of flag names.")),
    }
}

/// Purge what was staged before the restart (the batch in hand finishes), then reset per the scope.
#[utoipa::path(
    post,
    path = "/{version}/servicePrincipals/{sp_id}/synchronization/jobs/{job_id}/restart",
    operation_id = "restartSynchronizationJob",
    tag = "jobs",
    description = "Restart the job: what was staged before is dropped, then state is reset per `criteria.resetScope` (an empty body: the portal's default restart).",
    request_body(content_type = "application/json", description = "Optional: `{\"criteria\": {\"resetScope\": \"Watermark, Escrows\"}}`"),
    responses(
        (status = 204, description = "Restarted"),
        (status = 400, description = "The body is not JSON, or `criteria.resetScope` is not a list of synchronizationJobRestartScope flags", body = ref("#/components/schemas/GraphError")),
        (status = 413, description = "The body is over the size limit", body = ref("#/components/schemas/GraphError")),
        (status = 403, description = "The token lacks `Synchronization.ReadWrite.All`", body = ref("#/components/schemas/GraphError")),
        (status = 404, description = "Unknown service principal or job", body = ref("#/components/schemas/GraphError")),
    ),
    security(("graph" = [])),
)]
async fn restart(
    State(state): State<AppState>,
    Path(path): Path<(String, String, String)>,
    principal: Principal,
    GraphBytes(body): GraphBytes,
) -> Result<StatusCode, ApiError> {
    let (_, job) = job_for(&state, &path, &principal, Access::Write)?;
    let _change = job.changes.lock().await;
    let scope = reset_scope(&body)?;
    let purged = state.store.purge_staged(&job.id).await.map_err(storage_failure)?;
    state.staging.release(purged.operations);
    job.mark_through(purged.through);
    job.with_status(|s| s.restart(&scope));
    save(&state, &job).await?;
    job.wake.notify_one();
    tracing::info!(job = %job.id, purged = purged.operations, ?scope, "job restarted");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/{version}/servicePrincipals/{sp_id}/synchronization/jobs/{job_id}/provisionOnDemand",
    operation_id = "provisionOnDemand",
    tag = "jobs",
    description = "Not supported for API-driven provisioning apps, as in Entra: always 400 once the caller and job are valid.",
    responses(
        (status = 400, description = "Provision on demand is not supported for API-driven provisioning apps", body = ref("#/components/schemas/GraphError")),
        (status = 403, description = "The token lacks `Synchronization.ReadWrite.All`", body = ref("#/components/schemas/GraphError")),
        (status = 404, description = "Unknown service principal or job", body = ref("#/components/schemas/GraphError")),
    ),
    security(("graph" = [])),
)]
async fn provision_on_demand(
    State(state): State<AppState>,
    Path(path): Path<(String, String, String)>,
    principal: Principal,
) -> Result<StatusCode, ApiError> {
    job_for(&state, &path, &principal, Access::Write)?;
    Err(ApiError::bad_request(
        "Provision on demand is not supported for API-driven provisioning apps. Send the user's record to the job's bulkUpload endpoint instead.",
    ))
}
