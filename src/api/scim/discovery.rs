//! `GET /ServiceProviderConfig`, `/ResourceTypes[/{name}]`, `/Schemas[/{id}]` (RFC 7644 §4).

use axum::extract::Path;

use super::context::{Scim, ScimResponse};
use crate::scim_server::discovery;

pub async fn service_provider_config(scim: Scim) -> ScimResponse {
    ScimResponse::json(200, &discovery::service_provider_config(scim.dialect, &scim.service.limits, &scim.base))
}

pub async fn resource_types(scim: Scim) -> ScimResponse {
    ScimResponse::json(200, &discovery::resource_types(&scim.base))
}

pub async fn resource_type(scim: Scim, Path(name): Path<String>) -> Result<ScimResponse, ScimResponse> {
    Ok(ScimResponse::json(200, &discovery::resource_type_named(&name, &scim.base)?))
}

pub async fn schemas(scim: Scim) -> ScimResponse {
    ScimResponse::json(200, &discovery::schemas(&scim.base))
}

pub async fn schema(scim: Scim, Path(id): Path<String>) -> Result<ScimResponse, ScimResponse> {
    Ok(ScimResponse::json(200, &discovery::schema_named(&id, &scim.base)?))
}
