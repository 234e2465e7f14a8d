//! HTTP for the SCIM 2.0 service provider (`crate::scim_server`): the same routes under `/scim/v2` (RFC 7644)
//! and `/admin/v1` (Oracle IDCS), each nested router carrying its [`Dialect`], plus IDCS's token endpoint
//! `POST /oauth2/v1/token` (docs/fidelity.md#s1-scim-20-service-provider).
//!
//! Every answer is `application/scim+json`, errors included (RFC 7644 §3.12), with no Graph envelope: an
//! unknown path under either prefix is a SCIM 404, a method a route does not serve a SCIM 405 with `Allow`.

mod bulk;
mod context;
mod discovery;
mod resources;
pub(super) mod token;

use axum::routing::{MethodRouter, get, post};
use axum::{Extension, Router};
use utoipa::OpenApi;

use self::context::ScimResponse;
use crate::api::openapi::{Envelope, answer_everywhere};
use crate::scim_server::dialect::Dialect;
use crate::scim_server::error::ScimError;
use crate::state::AppState;

/// The SCIM service provider's part of the OpenAPI document (`api::openapi`): the same annotated routes under
/// each dialect's base path, operation ids and tags per dialect, plus IDCS's token endpoint.
pub(super) fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = IdcsTokenApi::openapi();
    for (dialect, prefix, tag) in
        [(Dialect::Rfc7644, "scim", "SCIM 2.0 (RFC 7644)"), (Dialect::Idcs, "idcs", "SCIM 2.0 (Oracle IDCS)")]
    {
        let mut routes = ScimApi::openapi();
        // Every SCIM route needs a bearer token with the SCIM permission.
        answer_everywhere(&mut routes, 401, "No or invalid bearer token", Envelope::Scim);
        answer_everywhere(
            &mut routes,
            403,
            "The token lacks the SCIM read (or, for changes, write) permission",
            Envelope::Scim,
        );
        crate::api::openapi::rename_operations(&mut routes, prefix, tag);
        doc = doc.nest(dialect.base_path(), routes);
    }
    doc
}

/// The routes of one dialect, relative to its base path.
#[derive(OpenApi)]
#[openapi(paths(
    discovery::service_provider_config,
    discovery::resource_types,
    discovery::resource_type,
    discovery::schemas,
    discovery::schema,
    bulk::bulk,
    resources::search_all,
    resources::list,
    resources::create,
    resources::search,
    resources::get,
    resources::replace,
    resources::patch,
    resources::delete,
))]
struct ScimApi;

#[derive(OpenApi)]
#[openapi(paths(token::token))]
struct IdcsTokenApi;

pub fn routes() -> Router<AppState> {
    Router::new()
        .nest(Dialect::Rfc7644.base_path(), dialect_routes(Dialect::Rfc7644))
        .nest(Dialect::Idcs.base_path(), dialect_routes(Dialect::Idcs))
        .route("/oauth2/v1/token", only(post(token::token), "POST"))
}

/// A SCIM error as an answer (for fault rules, `api::faults`).
pub(super) fn error_response(e: &ScimError) -> axum::response::Response {
    axum::response::IntoResponse::into_response(ScimResponse::error(e))
}

/// Other methods get a SCIM 405 naming the allowed ones.
fn only(route: MethodRouter<AppState>, allow: &'static str) -> MethodRouter<AppState> {
    route.fallback(move || async move { ScimResponse::error_with_allow(&ScimError::method_not_allowed(allow), allow) })
}

fn dialect_routes(dialect: Dialect) -> Router<AppState> {
    Router::new()
        .route("/ServiceProviderConfig", only(get(discovery::service_provider_config), "GET"))
        .route("/ResourceTypes", only(get(discovery::resource_types), "GET"))
        .route("/ResourceTypes/{name}", only(get(discovery::resource_type), "GET"))
        .route("/Schemas", only(get(discovery::schemas), "GET"))
        .route("/Schemas/{id}", only(get(discovery::schema), "GET"))
        .route("/Bulk", only(post(bulk::bulk), "POST"))
        .route("/.search", only(post(resources::search_all), "POST"))
        .route("/{collection}", only(get(resources::list).post(resources::create), "GET, POST"))
        .route("/{collection}/.search", only(post(resources::search), "POST"))
        .route(
            "/{collection}/{id}",
            only(
                get(resources::get).put(resources::replace).patch(resources::patch).delete(resources::delete),
                "GET, PUT, PATCH, DELETE",
            ),
        )
        .fallback(|| async { ScimResponse::error(&ScimError::not_found("No SCIM endpoint at this path.")) })
        .layer(Extension(dialect))
}
