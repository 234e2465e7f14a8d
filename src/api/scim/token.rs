//! `POST /oauth2/v1/token`: Oracle IDCS's client-credentials grant, for SCIM clients of the `/admin/v1` dialect
//! (docs/fidelity.md#s6-authentication). The client authenticates with HTTP Basic (or `client_id` and
//! `client_secret` in the form) against the emulator's configured clients; `scope` must name
//! `urn:opc:idm:__myscopes__`. The answer is `{access_token, token_type, expires_in}`; errors are OAuth's
//! `{error, error_description}` (401 `invalid_client`, 400 otherwise).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::api::identity::token::{Form, basic_credentials};
use crate::auth::Credential;
use crate::auth::idcs::{MY_SCOPES, issue_idcs_token};
use crate::state::AppState;

/// IDCS's OAuth error answer (also the envelope of an injected fault on this endpoint, `api::faults`).
pub(in crate::api) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut r = (status, Json(json!({"error": error, "error_description": description}))).into_response();
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"IDCS\""));
    }
    r
}

#[utoipa::path(
    post,
    path = "/oauth2/v1/token",
    operation_id = "idcsToken",
    tag = "SCIM 2.0 (Oracle IDCS)",
    description = "Oracle IDCS's client-credentials grant for SCIM clients: HTTP Basic (or `client_id`/`client_secret` in the form), `scope=urn:opc:idm:__myscopes__`.",
    request_body(content = ref("#/components/schemas/TokenRequest"), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The access token", body = ref("#/components/schemas/TokenResponse")),
        (status = 400, description = "A missing or unsupported `grant_type`, or another `scope`", body = ref("#/components/schemas/OAuthError")),
        (status = 401, description = "Client authentication failed (`invalid_client`, `WWW-Authenticate: Basic`)", body = ref("#/components/schemas/OAuthError")),
    ),
)]
pub async fn token(axum::extract::State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let form = Form::read(&headers, &body);
    match form.get("grant_type") {
        Some("client_credentials") => {}
        Some(other) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("The grant type '{other}' is not supported; use client_credentials."),
            );
        }
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required (an application/x-www-form-urlencoded body).",
            );
        }
    }
    let scopes = form.get("scope").unwrap_or_default();
    if !scopes.split_whitespace().any(|s| s == MY_SCOPES) {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", &format!("The scope must be {MY_SCOPES}."));
    }
    let (client_id, secret) = match (basic_credentials(&headers), form.get("client_id"), form.get("client_secret")) {
        (Some((id, secret)), _, _) => (id, secret),
        (None, Some(id), Some(secret)) => (id.to_owned(), secret.to_owned()),
        _ => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Client authentication failed: send the client's id and secret with HTTP Basic.",
            );
        }
    };
    let now = state.clock.now();
    let check = crate::auth::AssertionCheck { audiences: &[], now_unix: now.unix_timestamp(), leeway_secs: 0 };
    let client = state.clients.find(&client_id);
    let Some(client) = client.filter(|c| c.authenticate(&Credential::Secret(secret), &check).is_ok()) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Client authentication failed.");
    };
    let lifetime = i64::try_from(state.config.auth.token_lifetime_secs).unwrap_or(3600);
    let config = client.config();
    match issue_idcs_token(state.validator.keys(), &config.client_id, &config.roles, now, lifetime) {
        Ok(access_token) => {
            let mut r = Json(json!({"access_token": access_token, "token_type": "Bearer", "expires_in": lifetime}))
                .into_response();
            r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "signing an IDCS token failed");
            oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "The token could not be signed.")
        }
    }
}
