//! `POST /Bulk` (RFC 7644 §3.7): the body is refused with 413 above `maxPayloadSize` before it is buffered
//! (declared length) or as it streams in, and above `maxOperations` before anything runs; then the operations
//! run in one store turn and the BulkResponse is answered with the dialect's status (200, or IDCS's 201).

use axum::body::Body;
use axum::http::HeaderMap;

use super::context::{Scim, ScimResponse, json_body, storage_failure};
use crate::scim_server::bulk::BulkRequest;

#[utoipa::path(
    post,
    path = "/Bulk",
    operation_id = "bulk",
    tag = "SCIM",
    description = "A BulkRequest (RFC 7644 §3.7) run in one store turn, `bulkId` references resolved.",
    request_body(content_type = "application/scim+json", description = "A BulkRequest: `schemas`, `Operations` (`method`, `path`, `bulkId`, `version`, `data`), `failOnErrors`"),
    responses(
        (status = 200, description = "The BulkResponse (RFC 7644)", body = ref("#/components/schemas/ScimResource"), content_type = "application/scim+json"),
        (status = 201, description = "The BulkResponse (Oracle IDCS)", body = ref("#/components/schemas/ScimResource"), content_type = "application/scim+json"),
        (status = 400, description = "Not a BulkRequest", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 413, description = "The body exceeds `maxPayloadSize`", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 415, description = "A media type other than `application/scim+json` or `application/json`", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
    ),
    security(("graph" = []), ("idcs" = [])),
)]
pub async fn bulk(scim: Scim, headers: HeaderMap, body: Body) -> Result<ScimResponse, ScimResponse> {
    let limits = scim.service.limits;
    let body = json_body(&headers, body, limits.max_payload_bytes).await?;
    let request = BulkRequest::parse(&body.tree()?, limits.max_operations)?;
    let response = scim.service.bulk(request, scim.base.clone()).await.map_err(storage_failure)?;
    Ok(ScimResponse::json(scim.dialect.bulk_status(), &response))
}
