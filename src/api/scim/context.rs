//! What every SCIM handler starts from: the caller (a Graph bearer token or an IDCS-style token, checked for
//! the permission the request needs), the dialect and its base URL, the engine; request bodies read within
//! `maxPayloadSize` while streaming; and SCIM answers (`application/scim+json`, errors as RFC 7644 §3.12 bodies).

use axum::body::{Body, Bytes};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Limited};
use serde_json::Value;

use crate::api::links::BaseUrl;
use crate::auth::idcs::validate_idcs_token;
use crate::auth::roles;
use crate::scim::record::{Record, owned, parse_body};
use crate::scim_server::dialect::Dialect;
use crate::scim_server::error::{ScimError, ScimType};
use crate::scim_server::{Limits, ScimService};
use crate::state::AppState;

pub const SCIM_JSON: &str = "application/scim+json";

/// A SCIM answer.
#[derive(Debug)]
pub struct ScimResponse(pub Response);

impl ScimResponse {
    /// `body` as `application/scim+json` with `status`.
    pub fn json(status: u16, body: &Value) -> Self {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
        let mut r = (status, body.to_string()).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
        ScimResponse(r)
    }

    pub fn error(e: &ScimError) -> Self {
        let mut r = Self::json(e.status, &e.body());
        r.0.extensions_mut().insert(crate::error::ErrorReason(e.detail.clone()));
        if e.status == 401 {
            r.0.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"SCIM\""));
        }
        r
    }

    pub fn error_with_allow(e: &ScimError, allow: &'static str) -> Self {
        let mut r = Self::error(e);
        r.0.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allow));
        r
    }

    /// Sets a header (values that are not valid header text are left out).
    pub fn with_header(mut self, name: header::HeaderName, value: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.0.headers_mut().insert(name, v);
        }
        self
    }
}

impl IntoResponse for ScimResponse {
    fn into_response(self) -> Response {
        self.0
    }
}

impl From<ScimError> for ScimResponse {
    fn from(e: ScimError) -> Self {
        ScimResponse::error(&e)
    }
}

/// A storage failure as a SCIM 500, logged here once with its cause.
pub fn storage_failure(e: crate::store::StoreError) -> ScimResponse {
    tracing::error!(error = %e, "SCIM storage failed; answering 500");
    ScimResponse::error(&ScimError::internal())
}

/// The authenticated, authorised context of a SCIM request.
#[derive(Debug, Clone)]
pub struct Scim {
    pub dialect: Dialect,
    /// The dialect's base URL on the listener the request came in on (`api::links`): `http://host:port/scim/v2`.
    pub base: String,
    pub service: ScimService,
}

fn limits(state: &AppState) -> Limits {
    let c = &state.config.scim;
    Limits { max_operations: c.max_operations, max_payload_bytes: c.max_payload_bytes, max_results: c.max_results }
}

impl FromRequestParts<AppState> for Scim {
    type Rejection = ScimResponse;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let dialect = parts.extensions.get::<Dialect>().copied().unwrap_or(Dialect::Rfc7644);
        let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let now = state.clock.now().unix_timestamp();
        let principal = match state.validator.validate(header, now) {
            Ok(p) => p,
            Err(_) => {
                let token = header.and_then(|h| h.split_once(' ')).filter(|(s, _)| s.eq_ignore_ascii_case("bearer"));
                let leeway = i64::try_from(state.config.auth.leeway_secs).unwrap_or(i64::MAX);
                token
                    .and_then(|(_, t)| {
                        validate_idcs_token(state.validator.keys(), t.trim(), &state.config.tenant.id, now, leeway)
                    })
                    .ok_or_else(|| ScimResponse::error(&ScimError::unauthorized()))?
            }
        };
        let reads = matches!(parts.method, Method::GET | Method::HEAD)
            || (parts.method == Method::POST && parts.uri.path().ends_with("/.search"));
        let needed = if reads { roles::SCIM_READ } else { roles::SCIM_WRITE };
        if !principal.has_any(needed) {
            return Err(ScimResponse::error(&ScimError::forbidden()));
        }
        let origin = BaseUrl::of(&parts.extensions, &parts.uri, &parts.headers, &state.config);
        let base = format!("{origin}{}", dialect.base_path());
        Ok(Scim { dialect, base, service: ScimService::new(state.store.clone(), state.clock.clone(), limits(state)) })
    }
}

/// A request's JSON body, read within `maxPayloadSize` (a larger `Content-Length` is refused before reading, a
/// body growing past it while streaming is refused there), of a JSON media type; [`JsonBody::tree`] parses it.
pub async fn json_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<JsonBody, ScimError> {
    let too_large = || ScimError::too_large(format!("The request body exceeds maxPayloadSize ({limit} bytes)."));
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return Err(too_large()),
        Err(e) => {
            return Err(ScimError::bad_request(
                ScimType::InvalidSyntax,
                format!("The request body could not be read: {e}"),
            ));
        }
    };
    let media = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).and_then(|v| v.split(';').next());
    if let Some(media) = media.map(str::trim).filter(|m| !m.is_empty()) {
        let json = media.eq_ignore_ascii_case(SCIM_JSON) || media.eq_ignore_ascii_case("application/json");
        if !json {
            return Err(ScimError::new(
                415,
                None,
                format!("The media type '{media}' is not supported; send {SCIM_JSON}."),
            ));
        }
    }
    Ok(JsonBody(bytes))
}

/// A JSON request body as read, not yet parsed.
pub struct JsonBody(Bytes);

impl JsonBody {
    /// The body parsed into the borrowed tree (serde_json stops at 128 levels of nesting): writes normalise
    /// straight from it, copying only what they keep.
    pub fn tree(&self) -> Result<Record<'_>, ScimError> {
        parse_body(&self.0).map_err(|e| ScimError::bad_request(ScimType::InvalidSyntax, e.to_string()))
    }

    /// The body parsed, then turned into the owned tree with every map sized up front (about a fifth cheaper
    /// than parsing into the order-preserving maps directly); of members sharing a name the last counts, as
    /// [`tree`](Self::tree)'s readers take it.
    pub fn value(&self) -> Result<Value, ScimError> {
        self.tree().map(|tree| owned(&tree))
    }
}

/// The query string's pairs.
pub fn query_pairs(req_query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(req_query.unwrap_or_default().as_bytes()).into_owned().collect()
}
