//! The request-head limit the emulator answers itself (issue 15): at most [`MAX_HEADER_FIELDS`] header
//! fields and [`MAX_HEADER_BYTES`] of names and values. A larger head is answered 431
//! `RequestHeaderFieldsTooLarge` with the Graph error envelope, like every other error.
//!
//! Design constraint: hyper refuses heads it cannot buffer with a 431 of its own, without a body, before
//! any router sees them. So the server raises hyper's ceilings ([`HYPER_MAX_HEADER_FIELDS`], and for
//! HTTP/2 [`HYPER_MAX_HEADER_LIST_BYTES`]; HTTP/1.1 heads are buffered up to about 400 KiB) well above these
//! limits: only heads several times too large still get hyper's bare answer.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Most header fields a request may carry (hyper's own default ceiling).
pub const MAX_HEADER_FIELDS: usize = 100;

/// Most bytes of header names and values a request may carry: 64 KiB.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// hyper's HTTP/1.1 ceiling on header fields, above [`MAX_HEADER_FIELDS`].
pub(crate) const HYPER_MAX_HEADER_FIELDS: usize = 256;

/// hyper's HTTP/2 ceiling on a header list (its default is 16 KiB), above [`MAX_HEADER_BYTES`].
pub(crate) const HYPER_MAX_HEADER_LIST_BYTES: u32 = 256 * 1024;

/// Answers 431 for a request over the limits; passes every other request on.
pub(crate) async fn limit_headers(req: Request, next: Next) -> Response {
    let headers = req.headers();
    let bytes: usize = headers.iter().map(|(name, value)| name.as_str().len() + value.len()).sum();
    if headers.len() > MAX_HEADER_FIELDS || bytes > MAX_HEADER_BYTES {
        return ApiError::HeadersTooLarge.into_response();
    }
    next.run(req).await
}
