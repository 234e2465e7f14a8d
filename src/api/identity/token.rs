//! `POST /{tenant}/oauth2/v2.0/token` (`scope=`) and the v1 `POST /{tenant}/oauth2/token` (`resource=`): the
//! client-credentials grant (docs/fidelity.md A.5) with `client_secret` in the form or HTTP Basic, or a
//! `client_assertion` (private_key_jwt).
//!
//! Checks, in order (each with its AADSTS error, see `auth::aadsts`): tenant → form (only
//! `application/x-www-form-urlencoded` bodies are read, so a JSON body lacks `grant_type`, as on Entra) →
//! `grant_type` → `client_id` → `scope`/`resource` present → the client exists → its credential → the scope or
//! resource names Microsoft Graph. Only then is a token minted: a v1 Graph app token whose `roles` are the
//! client's configured permissions and whose `aud` follows the request's form (`https://graph.microsoft.com` or
//! the Graph app id `00000003-…`). v1 answers carry numbers as strings, as Entra's v1 endpoint does.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::percent_decode_str;
use serde_json::json;

use super::{Tenant, no_store, oauth_error, resolve_tenant};
use crate::api::{BaseUrl, RequestIds};
use crate::auth::{AssertionCheck, Credential, JWT_BEARER, OAuthError, TokenRequest, issue_token};
use crate::state::AppState;

const GRAPH_URL: &str = "https://graph.microsoft.com";
const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    V1,
    V2,
}

#[utoipa::path(
    post,
    path = "/{tenant}/oauth2/v2.0/token",
    operation_id = "tokenV2",
    tag = "identity",
    description = "Client-credentials grant of the v2.0 endpoint: `scope={resource}/.default`; a client secret (form or HTTP Basic) or a certificate assertion (private_key_jwt). Issues v1 Graph app tokens.",
    request_body(content = ref("#/components/schemas/TokenRequest"), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The access token (`Cache-Control: no-store`)", body = ref("#/components/schemas/TokenResponse")),
        (status = 400, description = "A missing or invalid parameter, unknown tenant or client, `common`/`organizations`, a bad scope, resource or assertion (AADSTS errors)", body = ref("#/components/schemas/OAuthError")),
        (status = 401, description = "No, a wrong or an unverifiable client credential (`invalid_client`)", body = ref("#/components/schemas/OAuthError")),
        (status = 413, description = "The body is over 2 MiB", body = ref("#/components/schemas/OAuthError")),
    ),
)]
pub(super) async fn token_v2(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(segment): Path<String>,
    Extension(ids): Extension<RequestIds>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let client = body.as_ref().ok().and_then(|b| named_client(&headers, b));
    let result = read_body(body).and_then(|body| grant(&state, &base, &segment, Endpoint::V2, &headers, &body));
    with_client(respond(&state, &ids, result), client)
}

#[utoipa::path(
    post,
    path = "/{tenant}/oauth2/token",
    operation_id = "tokenV1",
    tag = "identity",
    description = "Client-credentials grant of the v1 endpoint: `resource=` instead of `scope=`; numbers as strings, plus `expires_on`, `not_before`, `resource`.",
    request_body(content = ref("#/components/schemas/TokenRequest"), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The access token (`Cache-Control: no-store`)", body = ref("#/components/schemas/TokenResponse")),
        (status = 400, description = "A missing or invalid parameter, unknown tenant or client, `common`/`organizations`, a bad scope, resource or assertion (AADSTS errors)", body = ref("#/components/schemas/OAuthError")),
        (status = 401, description = "No, a wrong or an unverifiable client credential (`invalid_client`)", body = ref("#/components/schemas/OAuthError")),
        (status = 413, description = "The body is over 2 MiB", body = ref("#/components/schemas/OAuthError")),
    ),
)]
pub(super) async fn token_v1(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(segment): Path<String>,
    Extension(ids): Extension<RequestIds>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let client = body.as_ref().ok().and_then(|b| named_client(&headers, b));
    let result = read_body(body).and_then(|body| grant(&state, &base, &segment, Endpoint::V1, &headers, &body));
    with_client(respond(&state, &ids, result), client)
}

/// The request body, or the AADSTS error for one that is too large (axum's default limit, 2 MiB) or unreadable.
fn read_body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, OAuthError> {
    body.map_err(|rejection| {
        OAuthError::unreadable_body(rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE)
    })
}

fn respond(state: &AppState, ids: &RequestIds, result: Result<serde_json::Value, OAuthError>) -> Response {
    match result {
        Ok(body) => no_store(Json(body).into_response()),
        Err(e) => oauth_error(state, ids, &e),
    }
}

/// The client a token request names (form `client_id`, else HTTP Basic), for the request journal.
fn named_client(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    let form = Form::read(headers, body);
    let id = form.get("client_id").map(str::to_owned).or_else(|| basic_credentials(headers).map(|(id, _)| id))?;
    (!id.is_empty() && id.len() <= 100).then_some(id)
}

fn with_client(mut response: Response, client: Option<String>) -> Response {
    if let Some(client) = client {
        response.extensions_mut().insert(crate::api::journal::ClientNote(client));
    }
    response
}

/// The form's parameters; the first occurrence of a name wins.
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    pub(crate) fn read(headers: &HeaderMap, body: &[u8]) -> Self {
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
        Form(if is_form { form_urlencoded::parse(body).into_owned().collect() } else { Vec::new() })
    }

    /// A non-empty parameter.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| OAuthError::missing_parameter(name))
    }
}

/// `Authorization: Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
    Some((unescape(id), unescape(secret)))
}

fn grant(
    state: &AppState,
    base: &BaseUrl,
    segment: &str,
    endpoint: Endpoint,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<serde_json::Value, OAuthError> {
    if resolve_tenant(state, segment)? == Tenant::Any {
        return Err(OAuthError::tenantless_endpoint());
    }
    let form = Form::read(headers, body);
    let grant_type = form.require("grant_type")?;
    if grant_type != "client_credentials" {
        return Err(OAuthError::unsupported_grant_type(grant_type));
    }
    let basic = basic_credentials(headers);
    let client_id = match (form.get("client_id"), &basic) {
        (Some(id), _) => id,
        (None, Some((id, _))) if !id.is_empty() => id.as_str(),
        _ => return Err(OAuthError::missing_parameter("client_id")),
    };
    let target = form.require(match endpoint {
        Endpoint::V2 => "scope",
        Endpoint::V1 => "resource",
    })?;
    let client = state.clients.find(client_id).ok_or_else(|| OAuthError::unknown_client(client_id, segment))?;

    let credential = if let Some(assertion) = form.get("client_assertion") {
        if form.get("client_assertion_type") != Some(JWT_BEARER) {
            return Err(OAuthError::missing_parameter("client_assertion_type"));
        }
        Credential::Assertion(assertion.to_owned())
    } else if let Some(secret) = form.get("client_secret") {
        Credential::Secret(secret.to_owned())
    } else if let Some((_, secret)) = basic {
        Credential::Secret(secret)
    } else {
        Credential::None
    };
    let now = state.clock.now();
    let audiences = token_endpoints(state, base, segment);
    let check = AssertionCheck {
        audiences: &audiences,
        now_unix: now.unix_timestamp(),
        leeway_secs: i64::try_from(state.config.auth.leeway_secs).unwrap_or(i64::MAX),
    };
    let method = client.authenticate(&credential, &check)?;

    let audience = match endpoint {
        Endpoint::V2 => audience_for_scope(target, segment)?,
        Endpoint::V1 => graph_audience(target).ok_or_else(|| OAuthError::unknown_resource(target, segment))?,
    };
    let config = client.config();
    let lifetime = i64::try_from(state.config.auth.token_lifetime_secs).unwrap_or(3599);
    let access_token = issue_token(
        state.validator.keys(),
        &TokenRequest {
            tenant_id: &state.config.tenant.id,
            client_id: &config.client_id,
            client_display_name: &config.display_name,
            roles: &config.roles,
            audience,
            now,
            lifetime_secs: lifetime,
            auth_method: method.appidacr(),
        },
    )
    .map_err(|e| {
        tracing::error!(error = %e, "signing a token failed");
        OAuthError::server_error()
    })?;
    Ok(match endpoint {
        Endpoint::V2 => json!({
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": access_token,
        }),
        Endpoint::V1 => json!({
            "token_type": "Bearer",
            "expires_in": lifetime.to_string(),
            "ext_expires_in": lifetime.to_string(),
            "expires_on": (now.unix_timestamp() + lifetime).to_string(),
            "not_before": now.unix_timestamp().to_string(),
            "resource": target,
            "access_token": access_token,
        }),
    })
}

/// The emulator's token endpoint URLs a client assertion's `aud` may name: on the base URL the client reached
/// (where the discovery document it read put the endpoint) or either listener's own, v1 and v2, the tenant by id,
/// default domain or the segment used.
fn token_endpoints(state: &AppState, reached: &BaseUrl, segment: &str) -> Vec<String> {
    let config = &state.config;
    let listeners = std::iter::once(config.public_base_url()).chain(config.public_tls_base_url());
    let bases = std::iter::once(reached.to_string()).chain(listeners);
    let tenant = &config.tenant;
    let mut out = Vec::new();
    for base in bases {
        for t in [tenant.id.as_str(), tenant.default_domain.as_str(), segment] {
            for path in ["oauth2/v2.0/token", "oauth2/token"] {
                let url = format!("{base}/{t}/{path}");
                if !out.contains(&url) {
                    out.push(url);
                }
            }
        }
    }
    out
}

/// The client-credentials flow takes exactly one `{resource}/.default` scope, and the resource must be Graph.
fn audience_for_scope(scope: &str, tenant: &str) -> Result<&'static str, OAuthError> {
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    let [single] = scopes.as_slice() else {
        return Err(OAuthError::invalid_scope(&format!(
            "The scope '{scope}' is not valid. A client credentials request takes a single '/.default' scope."
        )));
    };
    let Some(resource) = single.strip_suffix("/.default") else {
        return Err(OAuthError::invalid_scope(&format!(
            "The scope '{single}' is not valid. The scope requested for client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
        )));
    };
    graph_audience(resource).ok_or_else(|| OAuthError::unknown_resource(resource, tenant))
}

/// Graph's `aud` for a resource given as its URL (any case, trailing slashes allowed) or its app id.
fn graph_audience(resource: &str) -> Option<&'static str> {
    let r = resource.trim_end_matches('/');
    if r.eq_ignore_ascii_case(GRAPH_URL) {
        Some(GRAPH_URL)
    } else if r.eq_ignore_ascii_case(GRAPH_APP_ID) {
        Some(GRAPH_APP_ID)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_map_to_graph_audiences() {
        assert_eq!(audience_for_scope("https://graph.microsoft.com/.default", "t"), Ok(GRAPH_URL));
        assert_eq!(audience_for_scope("HTTPS://Graph.Microsoft.com//.default", "t"), Ok(GRAPH_URL));
        assert_eq!(audience_for_scope(" 00000003-0000-0000-c000-000000000000/.default ", "t"), Ok(GRAPH_APP_ID));
        let code = |s: &str| audience_for_scope(s, "t").unwrap_err().code;
        assert_eq!(code("https://graph.microsoft.com/User.Read"), 70011);
        assert_eq!(code("https://graph.microsoft.com/.default openid"), 70011);
        assert_eq!(code("api://other/.default"), 500011);
    }

    #[test]
    fn basic_credentials_are_url_decoded() {
        let mut h = HeaderMap::new();
        let v = format!("Basic {}", STANDARD.encode("c%3A1:s+e%2Bc"));
        h.insert(header::AUTHORIZATION, v.parse().unwrap());
        assert_eq!(basic_credentials(&h), Some(("c:1".into(), "s e+c".into())));
        h.insert(header::AUTHORIZATION, "Bearer x".parse().unwrap());
        assert_eq!(basic_credentials(&h), None);
    }
}
