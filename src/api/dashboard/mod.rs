//! The web dashboard (README "Dashboard"): `GET /` redirects to `GET /_emulator/ui`, a page of static HTML, CSS and
//! a little vanilla JavaScript compiled into the binary (`assets/`), which reads and drives the emulator through
//! its own HTTP API only — Graph with a token from the emulator's token endpoint, the control API with the admin
//! token the page asks for — plus `GET /_emulator/ui/session`, which tells the page what it cannot know: the
//! tenant, the client whose credentials it may use, and the service principals and jobs with their queues.
//!
//! Design constraints: nothing runs at start and nothing is built per request (the assets are `&'static`
//! bytes); the page and its assets are open (the page is where the admin token is typed in, and a link to it
//! from another site must work), while the session sits behind the control API's two guards like every other
//! `/_emulator/*` route (`admin::routes`). Every page answer carries a strict Content-Security-Policy
//! (`default-src 'self'`: no inline script or style, no other origin), so the page works offline and a value
//! it shows can never run as script.
//!
//! The requests the page makes to watch the emulator carry the [`MARK`] header: the request journal and the client
//! report leave them out and fault rules never hit them, so an open dashboard changes nothing a test observes
//! (an upload from its playground is not marked: it is a client's request like any other).

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use utoipa::OpenApi;

use crate::api::{BaseUrl, storage_failure};
use crate::error::ApiError;
use crate::state::AppState;

/// The header the page sends with the requests it makes to watch the emulator.
pub(super) const MARK: &str = "x-entra-inbound-dashboard";

/// Whether a request is one of the page's own (see the module header).
pub(super) fn is_marked(headers: &HeaderMap) -> bool {
    headers.contains_key(MARK)
}

/// Where the page is.
const PAGE: &str = "/_emulator/ui";

/// The page's Content-Security-Policy: its own origin only, no framing, no `<base>`.
const CSP: &str = "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// One embedded file: its name under `/_emulator/ui/`, its media type and its bytes.
struct Asset {
    name: &'static str,
    media_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $media_type:expr) => {
        Asset { name: $name, media_type: $media_type, bytes: include_bytes!(concat!("assets/", $name)) }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// The page itself, served at [`PAGE`].
const INDEX: Asset = asset!("index.html", "text/html; charset=utf-8");

/// Every file the page loads, served at `{PAGE}/{name}`.
const ASSETS: &[Asset] = &[
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("dom.js", JS),
    asset!("jobs.js", JS),
    asset!("logs.js", JS),
    asset!("users.js", JS),
    asset!("playground.js", JS),
    asset!("requests.js", JS),
];

/// The open routes: the redirect, the page and its assets. The session is mounted by `admin::routes`.
pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/", get(root)).route(PAGE, get(page)).route(&format!("{PAGE}/{{file}}"), get(file))
}

/// The session's route, for `admin::routes` to put behind the control API's guards.
pub(super) fn session_routes() -> Router<AppState> {
    Router::new().route(&format!("{PAGE}/session"), get(session))
}

/// The page's part of the OpenAPI document; the session is described with the control API (`admin::openapi`).
pub(super) fn openapi() -> utoipa::openapi::OpenApi {
    PageApi::openapi()
}

/// The session's part, merged into the control group so it gets the guards' 401 and 403.
pub(super) fn session_openapi() -> utoipa::openapi::OpenApi {
    SessionApi::openapi()
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(root, page, file))]
struct PageApi;

#[derive(utoipa::OpenApi)]
#[openapi(paths(session), components(schemas(Session, SessionClient, SessionServicePrincipal, SessionJob)))]
struct SessionApi;

fn serve(asset: &Asset) -> Response {
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(asset.media_type)),
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        // A new binary may bring new assets under the same names: revalidate, never serve a stale page.
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    (headers, asset.bytes).into_response()
}

#[utoipa::path(
    get,
    path = "/",
    operation_id = "root",
    tag = "dashboard",
    description = "Redirects to the dashboard.",
    responses(
        (status = 302, description = "To `/_emulator/ui`", headers(("Location" = String, description = "The dashboard's URL"))),
    ),
)]
async fn root(base: BaseUrl) -> Response {
    let location = HeaderValue::try_from(format!("{base}{PAGE}")).unwrap_or(HeaderValue::from_static(PAGE));
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

#[utoipa::path(
    get,
    path = "/_emulator/ui",
    operation_id = "dashboard",
    tag = "dashboard",
    description = "The web dashboard: jobs, provisioning logs, users, an expression playground and the request journal. Open even when `admin.token` is set: the page asks for the token.",
    responses(
        (status = 200, description = "The page", content_type = "text/html; charset=utf-8", body = String),
    ),
)]
async fn page() -> Response {
    serve(&INDEX)
}

#[utoipa::path(
    get,
    path = "/_emulator/ui/{file}",
    operation_id = "dashboardAsset",
    tag = "dashboard",
    description = "A script, style sheet or icon of the dashboard, embedded in the binary.",
    responses(
        (status = 200, description = "The file", content(
            (String = "text/javascript; charset=utf-8"),
            (String = "text/css; charset=utf-8"),
            (String = "image/svg+xml"),
        )),
        (status = 404, description = "No such file", body = ref("#/components/schemas/GraphError")),
    ),
)]
async fn file(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(asset) => serve(asset),
        None => ApiError::NoRoute(format!("{PAGE}/{name}")).into_response(),
    }
}

/// What the dashboard needs to know to call the API.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct Session {
    tenant_id: String,
    /// The first configured client with a secret: the page gets its Graph token from the token endpoint with it.
    /// `null` when every client authenticates with certificates only.
    client: Option<SessionClient>,
    service_principals: Vec<SessionServicePrincipal>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct SessionClient {
    client_id: String,
    client_secret: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct SessionServicePrincipal {
    id: String,
    display_name: String,
    jobs: Vec<SessionJob>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct SessionJob {
    id: String,
    /// Operations accepted and not yet processed.
    queued: usize,
}

#[utoipa::path(
    get,
    path = "/_emulator/ui/session",
    operation_id = "dashboardSession",
    tag = "control",
    description = "What the dashboard needs: the tenant id, the credentials of the first configured client with a secret (the page gets its Graph token from the token endpoint with them), and the service principals with their jobs and queue depths.",
    responses(
        (status = 200, description = "The session", body = Session),
    ),
    security((), ("admin" = [])),
)]
async fn session(State(state): State<AppState>) -> Result<Json<Session>, ApiError> {
    let config = &state.config;
    let client = config
        .clients
        .iter()
        .find(|c| !c.client_secret.is_empty())
        .map(|c| SessionClient { client_id: c.client_id.clone(), client_secret: c.client_secret.clone() });
    let mut service_principals = Vec::new();
    for sp in &config.service_principals {
        let mut jobs = Vec::new();
        for job in state.jobs.of_service_principal(&sp.id).map_err(|e| ApiError::NotFound(e.0))? {
            let queued = state.store.backlog(&job.id, job.applied_through()).await.map_err(storage_failure)?;
            jobs.push(SessionJob { id: job.id.clone(), queued });
        }
        service_principals.push(SessionServicePrincipal {
            id: sp.id.clone(),
            display_name: sp.display_name.clone(),
            jobs,
        });
    }
    Ok(Json(Session { tenant_id: config.tenant.id.clone(), client, service_principals }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_of_the_assets_directory_is_served_with_a_media_type() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api/dashboard/assets");
        let mut on_disk: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        on_disk.sort();
        let mut served: Vec<String> = ASSETS.iter().chain([&INDEX]).map(|a| a.name.to_owned()).collect();
        served.sort();
        assert_eq!(served, on_disk, "a file in assets/ is not in ASSETS (or the other way round)");
        let by_extension = [(".js", JS), (".css", "text/css; charset=utf-8"), (".svg", "image/svg+xml")];
        for asset in ASSETS {
            let (_, expected) = by_extension.iter().find(|(ext, _)| asset.name.ends_with(ext)).unwrap();
            assert_eq!(asset.media_type, *expected, "{}", asset.name);
        }
    }
}
