//! The Graph surfaces under `/{v1.0|beta}/…`.

mod bulk_upload;
mod jobs;
mod provisioning_logs;
mod query;
mod schema;
mod user_count;
mod users;

use axum::Router;
use axum::routing::MethodRouter;
use utoipa::OpenApi;

use crate::api::BaseUrl;
use crate::api::openapi::Envelope;
use crate::error::ApiError;
use crate::state::AppState;

/// The Graph surfaces' part of the OpenAPI document (`api::openapi`), with the aliases the router serves with
/// the same handler: bulkUpload's `/$value` and the logs list with a trailing slash.
pub(super) fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = GraphApi::openapi();
    // Every Graph route needs a bearer token.
    crate::api::openapi::answer_everywhere(&mut doc, 401, "No or invalid access token", Envelope::Graph);
    let bulk_upload = "/{version}/servicePrincipals/{sp_id}/synchronization/jobs/{job_id}/bulkUpload";
    crate::api::openapi::alias(&mut doc, bulk_upload, &format!("{bulk_upload}/$value"), "Value");
    crate::api::openapi::alias(
        &mut doc,
        "/{version}/auditLogs/provisioning",
        "/{version}/auditLogs/provisioning/",
        "Slash",
    );
    doc
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    bulk_upload::bulk_upload,
    provisioning_logs::list,
    provisioning_logs::get_entry,
    users::list,
    users::get_user,
    users::get_manager,
    user_count::count,
    jobs::list,
    jobs::get_job,
    jobs::start,
    jobs::pause,
    jobs::restart,
    jobs::provision_on_demand,
    schema::get_schema,
    schema::put_schema,
    schema::parse_expression,
    schema::functions,
    schema::filter_operators,
))]
struct GraphApi;

pub fn routes() -> Router<AppState> {
    bulk_upload::routes()
        .merge(provisioning_logs::routes())
        .merge(users::routes())
        .merge(user_count::routes())
        .merge(jobs::routes())
        .merge(schema::routes())
}

/// Other methods get Graph's 405 envelope with `Allow: GET`.
pub(super) fn get_only(route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    route.fallback(|| async { ApiError::MethodNotAllowed { allow: "GET" } })
}

/// A JSON request body, or 400 saying why it is not one.
pub(super) fn json_body(body: &[u8]) -> Result<serde_json::Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("The request body is not valid JSON: {e}.")))
}

/// The Graph API version segment; it is mirrored into links the emulator returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphVersion {
    V1,
    Beta,
}

impl GraphVersion {
    pub fn parse(segment: &str) -> Result<Self, ApiError> {
        match segment {
            "v1.0" => Ok(GraphVersion::V1),
            "beta" => Ok(GraphVersion::Beta),
            other => Err(ApiError::NoRoute(format!("/{other}"))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GraphVersion::V1 => "v1.0",
            GraphVersion::Beta => "beta",
        }
    }

    /// `{base}/{version}`, the OData service root every Graph link in a response starts with.
    pub(super) fn service_root(self, base: &BaseUrl) -> String {
        format!("{base}/{}", self.as_str())
    }
}
