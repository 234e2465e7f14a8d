//! `POST /Bulk` (RFC 7644 §3.7): the body is refused with 413 above `maxPayloadSize` before it is buffered
//! (declared length) or as it streams in, and above `maxOperations` before anything runs; then the operations
//! run in one store turn and the BulkResponse is answered with the dialect's status (200, or IDCS's 201).

use axum::body::Body;
use axum::http::HeaderMap;

use super::context::{Scim, ScimResponse, json_body, storage_failure};
use crate::scim_server::bulk::BulkRequest;

pub async fn bulk(scim: Scim, headers: HeaderMap, body: Body) -> Result<ScimResponse, ScimResponse> {
    let limits = scim.service.limits;
    let body = json_body(&headers, body, limits.max_payload_bytes).await?;
    let request = BulkRequest::parse(&body, limits.max_operations)?;
    let response = scim.service.bulk(request, scim.base.clone()).await.map_err(storage_failure)?;
    Ok(ScimResponse::json(scim.dialect.bulk_status(), &response))
}
