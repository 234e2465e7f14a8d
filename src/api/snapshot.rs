//! `GET /_emulator/export` and `POST /_emulator/import` (README "Snapshots and seeding"): the whole durable
//! state as one versioned JSON document, and its replacement by a snapshot or a seed (`{"users": […]}`). The
//! document's format and checks are `control::snapshot`; these handlers only read the body (up to
//! `admin.import_limit_bytes`) and answer. Mounted with the rest of the control API (`api::admin`: admin token,
//! cross-site refusal).

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use utoipa::OpenApi;

use crate::api::extract::read_limited;
use crate::api::storage_failure;
use crate::control::lifecycle::{self, ImportError};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(utoipa::OpenApi)]
#[openapi(paths(export, import))]
struct SnapshotApi;

pub(super) fn openapi() -> utoipa::openapi::OpenApi {
    SnapshotApi::openapi()
}

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/_emulator/export", get(export)).route("/_emulator/import", post(import))
}

#[utoipa::path(
    get,
    path = "/_emulator/export",
    operation_id = "exportState",
    tag = "control",
    description = "The durable state as one snapshot document (`version` 1): jobs' saved run state and replaced schemas, directory users with their managers, waiting manager references, provisioning logs, staged requests not yet processed, and the SCIM service provider's resources. Two exports of the same state are byte-identical.",
    responses(
        (status = 200, description = "The snapshot document", content_type = "application/json"),
    ),
    security((), ("admin" = [])),
)]
async fn export(State(state): State<AppState>) -> Result<Response, ApiError> {
    let doc = lifecycle::export(&state).await.map_err(storage_failure)?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], doc).into_response())
}

#[utoipa::path(
    post,
    path = "/_emulator/import",
    operation_id = "importState",
    tag = "control",
    description = "Replace the state with a snapshot document's (as `GET /_emulator/export` writes it), or with a seed document `{\"users\": [...]}` of Graph user objects (a `manager` of `{\"id\": ...}` or `{\"employeeId\": ...}` names another user of the document). Everything the document leaves out is empty, and jobs take their configured state unless it names theirs. The whole document is checked first: a document that cannot be imported changes nothing.",
    request_body(content = serde_json::Value, content_type = "application/json", description = "A snapshot or seed document"),
    responses(
        (status = 204, description = "Imported"),
        (status = 400, description = "The document cannot be imported (the message names the problem); nothing changed", body = ref("#/components/schemas/GraphError")),
        (status = 413, description = "The document is larger than `admin.import_limit_bytes`", body = ref("#/components/schemas/GraphError")),
    ),
    security((), ("admin" = [])),
)]
async fn import(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Result<StatusCode, ApiError> {
    let body = read_limited(&headers, body, state.config.admin.import_limit_bytes).await?;
    match lifecycle::import(&state, &body).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(ImportError::Document(message)) => Err(ApiError::bad_request(message)),
        Err(ImportError::Store(e)) => Err(storage_failure(e)),
    }
}
