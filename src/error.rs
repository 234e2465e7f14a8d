//! The HTTP error boundary: one error type a handler can return, mapped to the Graph error envelope in one
//! place (docs/fidelity.md A.1: `{"error":{"code","message","details"?,"innerError":{"date","request-id","client-request-id"}}}`).
//!
//! Design constraint: `into_response` cannot see the request, yet the envelope must carry the request's ids
//! and the injected clock's date. So it attaches a [`GraphError`] extension to a body-less response and the
//! request-context middleware (`api::context`) renders the envelope. Nothing is logged here.

use std::borrow::Cow;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One entry of the envelope's `details[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    pub target: String,
}

impl ErrorDetail {
    pub fn new(code: &str, message: impl Into<String>, target: impl Into<String>) -> Self {
        Self { code: code.to_owned(), message: message.into(), target: target.into() }
    }
}

/// What the middleware needs to render a Graph error body.
#[derive(Debug, Clone)]
pub struct GraphError {
    pub code: Cow<'static, str>,
    pub message: String,
    pub details: Vec<ErrorDetail>,
}

/// Why an access token was refused (docs/fidelity.md A.1 row 2 messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    Empty,
    Malformed,
    InvalidSignature,
    Expired,
    InvalidAudience,
    InvalidIssuer,
    /// A bearer token on the control API (`/_emulator/*`) that is not `admin.token`.
    InvalidAdminToken,
}

impl TokenProblem {
    pub fn message(self) -> &'static str {
        match self {
            TokenProblem::Empty => "Access token is empty.",
            TokenProblem::Malformed => "CompactToken parsing failed with error code: 80049217",
            TokenProblem::InvalidSignature => "Invalid signature.",
            TokenProblem::Expired => "Access token has expired or is not yet valid.",
            TokenProblem::InvalidAudience => "Access token validation failure. Invalid audience.",
            TokenProblem::InvalidIssuer => "Access token validation failure. Invalid issuer.",
            TokenProblem::InvalidAdminToken => "The admin token is not valid.",
        }
    }
}

/// Errors a Graph-surface handler can answer with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("method not allowed")]
    MethodNotAllowed { allow: &'static str },
    #[error("unauthenticated: {0:?}")]
    Unauthenticated(TokenProblem),
    #[error("insufficient privileges")]
    Forbidden,
    #[error("cross-site request to the control API")]
    CrossSite,
    #[error("resource '{0}' not found")]
    NotFound(String),
    #[error("throttled for {retry_after_secs}s")]
    Throttled { retry_after_secs: u64 },
    /// A 429 that waiting alone does not clear (the message says what does): no `Retry-After`.
    #[error("too many requests: {0}")]
    Blocked(String),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("request header fields too large")]
    HeadersTooLarge,
    #[error("invalid data format")]
    InvalidDataFormat(Vec<ErrorDetail>),
    #[error("bad request: {message}")]
    BadRequest { message: String, details: Vec<ErrorDetail> },
    /// A 400 of the directory surfaces, whose code is `Request_BadRequest`.
    #[error("bad directory request: {0}")]
    RequestBadRequest(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("no route for {0}")]
    NoRoute(String),
    #[error("request timed out")]
    Timeout,
    #[error("service unavailable: {message}")]
    Unavailable { message: String, retry_after_secs: Option<u64> },
    #[error("internal error: {0}")]
    Internal(String),
    /// An answer a fault rule asked for (`/_emulator/faults`): any error status, its code and message.
    #[error("injected fault: {status} {code}")]
    Injected { status: StatusCode, code: String, message: String, retry_after_secs: Option<u64> },
}

/// The error message of a 4xx/5xx answer whose body is not a Graph error (the AADSTS and SCIM envelopes), set
/// on the response for the request journal and the console.
#[derive(Debug, Clone)]
pub struct ErrorReason(pub String);

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest { message: message.into(), details: Vec::new() }
    }

    fn parts(&self) -> (StatusCode, Cow<'static, str>, String) {
        let (status, code, message) = match self {
            ApiError::MethodNotAllowed { .. } => (
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "The requested HTTP method is not supported for this resource.".into(),
            ),
            ApiError::Unauthenticated(p) => {
                (StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", p.message().into())
            }
            ApiError::Forbidden => (
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.".into(),
            ),
            ApiError::CrossSite => (
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                "The emulator control API refuses requests sent by web pages of other sites (Origin or Sec-Fetch-Site header).".into(),
            ),
            ApiError::NotFound(id) => (
                StatusCode::NOT_FOUND,
                "Request_ResourceNotFound",
                format!(
                    "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
                ),
            ),
            ApiError::Throttled { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", "Too many requests.".into())
            }
            ApiError::Blocked(m) => (StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", m.clone()),
            ApiError::PayloadTooLarge => {
                (StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLarge", "The request body is too large.".into())
            }
            ApiError::HeadersTooLarge => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "RequestHeaderFieldsTooLarge",
                format!(
                    "The request header fields are too large: at most {} fields and {} KiB are accepted.",
                    crate::api::headers::MAX_HEADER_FIELDS,
                    crate::api::headers::MAX_HEADER_BYTES / 1024
                ),
            ),
            ApiError::InvalidDataFormat(_) => (StatusCode::BAD_REQUEST, "BadRequest", "Invalid Data Format".into()),
            ApiError::BadRequest { message, .. } => (StatusCode::BAD_REQUEST, "BadRequest", message.clone()),
            ApiError::RequestBadRequest(m) => (StatusCode::BAD_REQUEST, "Request_BadRequest", m.clone()),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, "Conflict", m.clone()),
            ApiError::NoRoute(path) => {
                (StatusCode::NOT_FOUND, "NotFound", format!("Resource not found for the segment '{path}'."))
            }
            ApiError::Timeout => (StatusCode::REQUEST_TIMEOUT, "RequestTimeout", "The request timed out.".into()),
            ApiError::Unavailable { message, .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable", message.clone())
            }
            ApiError::Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError", "An internal server error occurred.".into())
            }
            ApiError::Injected { status, code, message, .. } => return (*status, code.clone().into(), message.clone()),
        };
        (status, code.into(), message)
    }
}

/// The `WWW-Authenticate` challenge of a 401, set by the context middleware (it knows the authority).
#[derive(Debug, Clone, Copy)]
pub struct NeedsChallenge;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = self.parts();
        let details = match &self {
            ApiError::InvalidDataFormat(d) | ApiError::BadRequest { details: d, .. } => d.clone(),
            _ => Vec::new(),
        };
        let mut response = status.into_response();
        let headers = response.headers_mut();
        match &self {
            ApiError::MethodNotAllowed { allow } => {
                headers.insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            ApiError::Throttled { retry_after_secs }
            | ApiError::Unavailable { retry_after_secs: Some(retry_after_secs), .. }
            | ApiError::Injected { retry_after_secs: Some(retry_after_secs), .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from((*retry_after_secs).max(1)));
            }
            ApiError::Unauthenticated(_) => {
                response.extensions_mut().insert(NeedsChallenge);
            }
            _ => {}
        }
        response.extensions_mut().insert(GraphError { code, message, details });
        response
    }
}

/// Graph's `innerError.date` form: `YYYY-MM-DDTHH:MM:SS` (no fraction, no zone).
pub fn inner_error_date(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Render the Graph envelope for `err`.
pub fn envelope(err: &GraphError, date: &str, request_id: &str, client_request_id: &str) -> serde_json::Value {
    let mut error = serde_json::json!({
        "code": err.code,
        "message": err.message,
    });
    if !err.details.is_empty() {
        error["details"] = serde_json::to_value(&err.details).unwrap_or_default();
    }
    error["innerError"] = serde_json::json!({
        "date": date,
        "request-id": request_id,
        "client-request-id": client_request_id,
    });
    serde_json::json!({ "error": error })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn inner_error_date_has_no_fraction_or_zone() {
        assert_eq!(inner_error_date(datetime!(2019-10-04 07:43:59.123 UTC)), "2019-10-04T07:43:59");
    }

    #[test]
    fn throttled_sets_retry_after_of_at_least_one_second() {
        let r = ApiError::Throttled { retry_after_secs: 0 }.into_response();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");
    }

    #[test]
    fn envelope_omits_empty_details() {
        let e = GraphError { code: "BadRequest".into(), message: "x".into(), details: vec![] };
        let v = envelope(&e, "d", "r", "c");
        assert!(v["error"].get("details").is_none());
        assert_eq!(v["error"]["innerError"]["request-id"], "r");
    }
}
