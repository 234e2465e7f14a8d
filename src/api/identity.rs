//! The emulator as token authority (docs/fidelity.md A.5): the token endpoints (in [`token`]), the v2 and
//! v1 OpenID discovery documents and the JWKS, under `/{tenant}/…` like `login.microsoftonline.com`.
//!
//! Design constraints and decisions:
//! - `{tenant}` is the tenant GUID, its default domain or a verified domain (case-insensitive). `common` and
//!   `organizations` (and `consumers`) serve discovery with Entra's `{tenantid}` placeholder issuer and the keys,
//!   but the client-credentials grant refuses them (AADSTS9001023), as Entra does. Anything else: AADSTS90002
//!   (`invalid_tenant`) for a GUID or domain name, AADSTS900023 for a string that is neither.
//! - MSAL (Python, Node) reads the v2 document of a custom authority and posts to its `token_endpoint`, which it
//!   requires to be https on the authority's host. So every URL starts with the request's [`BaseUrl`]: the origin
//!   of the listener the document was asked for on (docs/fidelity.md#emulator-surfaces, row E.14).
//! - v2 issuer `{base}/{tid}/v2.0`; the v1 document keeps `https://sts.windows.net/{tid}/`, the issuer of the
//!   (always v1) access tokens, with its `jwks_uri` at the emulator. The route parameter is named `{version}`
//!   because the Graph routes use that name for the same first segment (the router requires one name per position).

pub(crate) mod token;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json};
use serde_json::{Value, json};
use utoipa::OpenApi;

use super::{BaseUrl, RequestIds};
use crate::auth::OAuthError;
use crate::state::AppState;

/// The token authority's part of the OpenAPI document (`api::openapi`). The router names the first segment
/// `{version}` (see above); the document names it for what it is here, `{tenant}`.
pub(super) fn openapi() -> utoipa::openapi::OpenApi {
    IdentityApi::openapi()
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(token::token_v2, token::token_v1, discovery_v2, discovery_v1, keys_v2, keys_v1))]
struct IdentityApi;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/{version}/oauth2/v2.0/token", post(token::token_v2))
        .route("/{version}/oauth2/token", post(token::token_v1))
        .route("/{version}/v2.0/.well-known/openid-configuration", get(discovery_v2))
        .route("/{version}/.well-known/openid-configuration", get(discovery_v1))
        .route("/{version}/discovery/v2.0/keys", get(keys_v2))
        .route("/{version}/discovery/keys", get(keys_v1))
}

/// The tenant a `{tenant}` path segment names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tenant {
    /// This emulator's tenant, by id or domain.
    Ours,
    /// `common`, `organizations`, `consumers`: multi-tenant endpoints.
    Any,
}

fn resolve_tenant(state: &AppState, segment: &str) -> Result<Tenant, OAuthError> {
    let t = &state.config.tenant;
    let ours = std::iter::once(&t.id).chain(std::iter::once(&t.default_domain)).chain(&t.verified_domains);
    if ours.into_iter().any(|name| name.eq_ignore_ascii_case(segment)) {
        return Ok(Tenant::Ours);
    }
    if ["common", "organizations", "consumers"].iter().any(|m| m.eq_ignore_ascii_case(segment)) {
        return Ok(Tenant::Any);
    }
    let domain_like = segment.contains('.')
        && segment.split('.').all(|label| !label.is_empty())
        && segment.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if uuid::Uuid::parse_str(segment).is_ok() || domain_like {
        Err(OAuthError::unknown_tenant(segment))
    } else {
        Err(OAuthError::malformed_tenant(segment))
    }
}

/// An AADSTS error response; Entra sends `x-ms-request-id` (the trace id) and forbids caching.
pub(super) fn oauth_error(state: &AppState, ids: &RequestIds, err: &OAuthError) -> Response {
    let body = err.body(state.clock.now(), &ids.request_id, &ids.client_request_id);
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (status, Json(body)).into_response();
    response.extensions_mut().insert(crate::error::ErrorReason(format!("AADSTS{}: {}", err.code, err.message)));
    if let Ok(v) = HeaderValue::from_str(&ids.request_id) {
        response.headers_mut().insert("x-ms-request-id", v);
    }
    no_store(response)
}

fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store, no-cache"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// The tenant id as it appears in discovery URLs: the GUID, or `{tenantid}` for multi-tenant documents.
fn tid_for(state: &AppState, segment: &str, tenant: Tenant) -> String {
    match tenant {
        Tenant::Ours => state.config.tenant.id.clone(),
        Tenant::Any => segment.to_ascii_lowercase(),
    }
}

/// What both discovery documents are built from.
struct DiscoveryBase {
    /// The emulator's base URL as the client reached it.
    base: BaseUrl,
    /// The tenant in the issuer: the GUID, or `{tenantid}` for multi-tenant documents.
    issuer_tid: String,
    /// `{base}/{tenant}`: the prefix of the tenant's endpoints.
    t: String,
}

fn discovery_base(
    state: &AppState,
    segment: &str,
    base: BaseUrl,
    ids: &RequestIds,
) -> Result<DiscoveryBase, Box<Response>> {
    let tenant = resolve_tenant(state, segment).map_err(|e| Box::new(oauth_error(state, ids, &e)))?;
    let path_tid = tid_for(state, segment, tenant);
    let issuer_tid = if tenant == Tenant::Any { "{tenantid}".to_owned() } else { path_tid.clone() };
    let t = format!("{base}/{path_tid}");
    Ok(DiscoveryBase { base, issuer_tid, t })
}

#[utoipa::path(
    get,
    path = "/{tenant}/v2.0/.well-known/openid-configuration",
    operation_id = "openidConfigurationV2",
    tag = "identity",
    description = "The v2 OpenID Connect discovery document; every URL on the origin it was requested on.",
    responses(
        (status = 200, description = "The discovery document", body = ref("#/components/schemas/OpenIdConfiguration")),
        (status = 400, description = "Unknown tenant (`invalid_tenant`, AADSTS90002) or a segment that is neither a GUID nor a domain (AADSTS900023)", body = ref("#/components/schemas/OAuthError")),
    ),
)]
async fn discovery_v2(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(segment): Path<String>,
    Extension(ids): Extension<RequestIds>,
) -> Response {
    let DiscoveryBase { base, issuer_tid, t } = match discovery_base(&state, &segment, base, &ids) {
        Ok(d) => d,
        Err(response) => return *response,
    };
    Json(json!({
        "token_endpoint": format!("{t}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{t}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{base}/{issuer_tid}/v2.0"),
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint": format!("{t}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{t}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{t}/oauth2/v2.0/logout"),
        "claims_supported": claims_supported(),
        "kerberos_endpoint": format!("{t}/kerberos"),
        "tenant_region_scope": "NA",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }))
    .into_response()
}

#[utoipa::path(
    get,
    path = "/{tenant}/.well-known/openid-configuration",
    operation_id = "openidConfigurationV1",
    tag = "identity",
    description = "The v1 OpenID Connect discovery document (issuer `https://sts.windows.net/{tid}/`).",
    responses(
        (status = 200, description = "The discovery document", body = ref("#/components/schemas/OpenIdConfiguration")),
        (status = 400, description = "Unknown tenant (`invalid_tenant`, AADSTS90002) or a segment that is neither a GUID nor a domain (AADSTS900023)", body = ref("#/components/schemas/OAuthError")),
    ),
)]
async fn discovery_v1(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(segment): Path<String>,
    Extension(ids): Extension<RequestIds>,
) -> Response {
    let DiscoveryBase { base, issuer_tid, t } = match discovery_base(&state, &segment, base, &ids) {
        Ok(d) => d,
        Err(response) => return *response,
    };
    Json(json!({
        "token_endpoint": format!("{t}/oauth2/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/common/discovery/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
        "scopes_supported": ["openid"],
        "issuer": format!("https://sts.windows.net/{issuer_tid}/"),
        "microsoft_multi_refresh_token": true,
        "authorization_endpoint": format!("{t}/oauth2/authorize"),
        "device_authorization_endpoint": format!("{t}/oauth2/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{t}/oauth2/logout"),
        "claims_supported": claims_supported(),
        "check_session_iframe": format!("{t}/oauth2/checksession"),
        "userinfo_endpoint": format!("{t}/openid/userinfo"),
        "kerberos_endpoint": format!("{t}/kerberos"),
        "tenant_region_scope": "NA",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }))
    .into_response()
}

fn claims_supported() -> Value {
    json!([
        "sub",
        "iss",
        "cloud_instance_name",
        "cloud_instance_host_name",
        "cloud_graph_host_name",
        "msgraph_host",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "acr",
        "nonce",
        "preferred_username",
        "name",
        "tid",
        "ver",
        "at_hash",
        "c_hash",
        "email"
    ])
}

/// `/{tenant}/discovery/v2.0/keys`: the signing key, with the v2 issuer Entra adds to each key.
#[utoipa::path(
    get,
    path = "/{tenant}/discovery/v2.0/keys",
    operation_id = "jwksV2",
    tag = "identity",
    description = "The JWKS, each key with its v2 `issuer`.",
    responses(
        (status = 200, description = "`{\"keys\": [...]}`", body = ref("#/components/schemas/Jwks")),
        (status = 400, description = "Unknown tenant (`invalid_tenant`, AADSTS90002) or a segment that is neither a GUID nor a domain (AADSTS900023)", body = ref("#/components/schemas/OAuthError")),
    ),
)]
async fn keys_v2(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(segment): Path<String>,
    Extension(ids): Extension<RequestIds>,
) -> Response {
    let tenant = match resolve_tenant(&state, &segment) {
        Ok(t) => t,
        Err(e) => return oauth_error(&state, &ids, &e),
    };
    let issuer_tid = match tenant {
        Tenant::Ours => state.config.tenant.id.clone(),
        Tenant::Any => "{tenantid}".to_owned(),
    };
    let mut key = state.validator.keys().jwk_json();
    key["issuer"] = format!("{base}/{issuer_tid}/v2.0").into();
    Json(json!({ "keys": [key] })).into_response()
}

/// `/{tenant}/discovery/keys` (and so `/common/discovery/keys`, the v1 `jwks_uri`).
#[utoipa::path(
    get,
    path = "/{tenant}/discovery/keys",
    operation_id = "jwksV1",
    tag = "identity",
    description = "The JWKS (`kid` = `x5t` = the tokens' header values); `/common/discovery/keys` is the v1 `jwks_uri`.",
    responses(
        (status = 200, description = "`{\"keys\": [...]}`", body = ref("#/components/schemas/Jwks")),
        (status = 400, description = "Unknown tenant (`invalid_tenant`, AADSTS90002) or a segment that is neither a GUID nor a domain (AADSTS900023)", body = ref("#/components/schemas/OAuthError")),
    ),
)]
async fn keys_v1(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    Extension(ids): Extension<RequestIds>,
) -> Response {
    match resolve_tenant(&state, &segment) {
        Ok(_) => Json(json!({ "keys": [state.validator.keys().jwk_json()] })).into_response(),
        Err(e) => oauth_error(&state, &ids, &e),
    }
}
