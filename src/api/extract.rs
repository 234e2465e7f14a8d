//! Extractors that validate at the edge (CONTRIBUTING.md code rule 3): the authenticated [`Principal`], and request
//! bodies whose rejections keep the Graph error envelope ([`GraphBytes`]).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use http_body_util::{BodyExt, Limited};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::state::AppState;

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        state.validator.validate(header, state.clock.now().unix_timestamp()).map_err(ApiError::Unauthenticated)
    }
}

/// A request body read with the Graph error shape: over axum's body limit → 413 `RequestEntityTooLarge`.
#[derive(Debug)]
pub struct GraphBytes(pub axum::body::Bytes);

impl axum::extract::FromRequest<AppState> for GraphBytes {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match axum::body::Bytes::from_request(req, state).await {
            Ok(bytes) => Ok(GraphBytes(bytes)),
            Err(rejection) if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::PayloadTooLarge)
            }
            Err(rejection) => Err(ApiError::bad_request(format!("The request body could not be read: {rejection}"))),
        }
    }
}

/// Read at most `limit` bytes; a declared or actual larger body is 413 without buffering all of it.
pub(crate) async fn read_limited(
    headers: &HeaderMap,
    body: axum::body::Body,
    limit: usize,
) -> Result<bytes::Bytes, ApiError> {
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::PayloadTooLarge);
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(ApiError::PayloadTooLarge),
        Err(e) => Err(ApiError::bad_request(format!("The request body could not be read: {e}"))),
    }
}
