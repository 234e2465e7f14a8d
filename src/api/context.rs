//! Request context middleware: gives every request a `request-id` (and echoes or mints `client-request-id`),
//! sets both on every response, and renders Graph error envelopes with those ids and the injected clock's
//! date (see `crate::error` for why rendering happens here).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use super::BaseUrl;
use crate::error::{GraphError, NeedsChallenge, envelope, inner_error_date};
use crate::state::AppState;

static REQUEST_ID: HeaderName = HeaderName::from_static("request-id");
static CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("client-request-id");

/// The ids of the current request, available to handlers as an extension.
#[derive(Debug, Clone)]
pub struct RequestIds {
    pub request_id: String,
    pub client_request_id: String,
}

pub async fn request_context(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let client_request_id = req
        .headers()
        .get(&CLIENT_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 200)
        .map(str::to_owned)
        .unwrap_or_else(|| request_id.clone());
    let ids = RequestIds { request_id, client_request_id };
    req.extensions_mut().insert(ids.clone());
    let base = BaseUrl::of(req.extensions(), req.uri(), req.headers(), &state.config);

    let mut response = next.run(req).await;

    if let Some(err) = response.extensions_mut().remove::<GraphError>() {
        let date = inner_error_date(state.clock.now());
        let body = envelope(&err, &date, &ids.request_id, &ids.client_request_id);
        *response.body_mut() = Body::from(body.to_string());
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response.headers_mut().remove(header::CONTENT_LENGTH);
    }
    if response.extensions().get::<NeedsChallenge>().is_some() {
        let challenge = format!(
            "Bearer realm=\"\", authorization_uri=\"{base}/{}/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
            state.config.tenant.id
        );
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
    }
    let headers = response.headers_mut();
    for (name, value) in [(&REQUEST_ID, &ids.request_id), (&CLIENT_REQUEST_ID, &ids.client_request_id)] {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name.clone(), v);
        }
    }
    response
}
