//! `GET /_emulator/report` (README "Client conformance report"): the findings `control::report` collected, per
//! client id.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use utoipa::OpenApi;

use crate::control::report::{ClientFindings, Finding, FindingKind};
use crate::state::AppState;

/// The report's part of the OpenAPI document.
pub(super) fn openapi() -> utoipa::openapi::OpenApi {
    ReportApi::openapi()
}

#[derive(OpenApi)]
#[openapi(paths(report), components(schemas(ClientReport, ClientFindings, Finding, FindingKind)))]
struct ReportApi;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/_emulator/report", get(report))
}

/// `{"clients": [{"clientId", "findings": [{"kind", "count", "exampleRequestId", "advice"}]}]}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct ClientReport {
    clients: Vec<ClientFindings>,
}

#[utoipa::path(
    get,
    path = "/_emulator/report",
    operation_id = "report",
    tag = "control",
    description = "What each client did that the real service would punish or silently mishandle, with a request id to look up in the journal and advice.",
    responses(
        (status = 200, description = "The findings, by client id", body = ClientReport),
    ),
    security((), ("admin" = [])),
)]
async fn report(State(state): State<AppState>) -> Json<ClientReport> {
    Json(ClientReport { clients: state.report.clients() })
}
