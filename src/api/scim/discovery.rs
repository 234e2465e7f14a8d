//! `GET /ServiceProviderConfig`, `/ResourceTypes[/{name}]`, `/Schemas[/{id}]` (RFC 7644 §4).

use axum::extract::Path;

use super::context::{Scim, ScimResponse};
use crate::scim_server::discovery;

#[utoipa::path(
    get,
    path = "/ServiceProviderConfig",
    operation_id = "getServiceProviderConfig",
    tag = "SCIM",
    description = "The service provider's configuration (RFC 7644 §5).",
    responses(
        (status = 200, description = "ServiceProviderConfig", body = ref("#/components/schemas/ScimResource"), content_type = "application/scim+json"),
    ),
    security(("graph" = []), ("idcs" = [])),
)]
pub async fn service_provider_config(scim: Scim) -> ScimResponse {
    ScimResponse::json(200, &discovery::service_provider_config(scim.dialect, &scim.service.limits, &scim.base))
}

#[utoipa::path(
    get,
    path = "/ResourceTypes",
    operation_id = "listResourceTypes",
    tag = "SCIM",
    description = "The resource types.",
    responses(
        (status = 200, description = "The resource types", body = ref("#/components/schemas/ScimListResponse"), content_type = "application/scim+json"),
    ),
    security(("graph" = []), ("idcs" = [])),
)]
pub async fn resource_types(scim: Scim) -> ScimResponse {
    ScimResponse::json(200, &discovery::resource_types(&scim.base))
}

#[utoipa::path(
    get,
    path = "/ResourceTypes/{name}",
    operation_id = "getResourceType",
    tag = "SCIM",
    description = "One resource type.",
    responses(
        (status = 200, description = "The resource type", body = ref("#/components/schemas/ScimResource"), content_type = "application/scim+json"),
        (status = 404, description = "No such resource type", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
    ),
    security(("graph" = []), ("idcs" = [])),
)]
pub async fn resource_type(scim: Scim, Path(name): Path<String>) -> Result<ScimResponse, ScimResponse> {
    Ok(ScimResponse::json(200, &discovery::resource_type_named(&name, &scim.base)?))
}

#[utoipa::path(
    get,
    path = "/Schemas",
    operation_id = "listSchemas",
    tag = "SCIM",
    description = "The schemas.",
    responses(
        (status = 200, description = "The schemas", body = ref("#/components/schemas/ScimListResponse"), content_type = "application/scim+json"),
    ),
    security(("graph" = []), ("idcs" = [])),
)]
pub async fn schemas(scim: Scim) -> ScimResponse {
    ScimResponse::json(200, &discovery::schemas(&scim.base))
}

#[utoipa::path(
    get,
    path = "/Schemas/{id}",
    operation_id = "getSchema",
    tag = "SCIM",
    description = "One schema, by URN.",
    responses(
        (status = 200, description = "The schema", body = ref("#/components/schemas/ScimResource"), content_type = "application/scim+json"),
        (status = 404, description = "No such schema", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
    ),
    security(("graph" = []), ("idcs" = [])),
)]
pub async fn schema(scim: Scim, Path(id): Path<String>) -> Result<ScimResponse, ScimResponse> {
    Ok(ScimResponse::json(200, &discovery::schema_named(&id, &scim.base)?))
}
