//! `GET /{v1.0|beta}/users/$count` — docs/fidelity.md A.3b: the number of users (those `$filter` matches,
//! when given) as a `text/plain` body. Counting directory objects is an advanced query: Graph answers it only
//! with `ConsistencyLevel: eventual` and refuses it otherwise with 400 `Request_BadRequest`
//! "$count is not currently supported.".

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::query::{QueryOptions, page_query};
use super::users::{check_role, wants_eventual};
use super::{GraphVersion, get_only};
use crate::api::storage_failure;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::odata::{USER_FIELDS, USER_ORDER};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/{version}/users/$count", get_only(get(count)))
}

#[utoipa::path(
    get,
    path = "/{version}/users/$count",
    operation_id = "countUsers",
    tag = "users",
    description = "The number of users (those `$filter` matches, when given), as `text/plain`. Needs `ConsistencyLevel: eventual`.",
    params(
        ("$filter" = Option<String>, Query, description = "OData filter"),
    ),
    responses(
        (status = 200, description = "The count", body = String, content_type = "text/plain"),
        (status = 400, description = "Without `ConsistencyLevel: eventual` (`Request_BadRequest`), or a bad `$filter`", body = ref("#/components/schemas/GraphError")),
        (status = 403, description = "The token lacks `User.Read.All` and `Directory.Read.All`", body = ref("#/components/schemas/GraphError")),
    ),
    security(("graph" = [])),
)]
async fn count(
    State(state): State<AppState>,
    Path(version): Path<String>,
    principal: Principal,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    GraphVersion::parse(&version)?;
    check_role(&principal)?;
    if !wants_eventual(&headers) {
        return Err(ApiError::RequestBadRequest("$count is not currently supported.".into()));
    }
    let opts = QueryOptions::parse(raw.as_deref(), &["$filter"])?;
    let n = if opts.get("$filter").is_some_and(|f| !f.trim().is_empty()) {
        let query = page_query(&opts, &USER_FIELDS, &USER_ORDER, 1, 1)?;
        state.store.query_users(query, true).await.map_err(storage_failure)?.count.unwrap_or(0)
    } else {
        state.store.count_users().await.map_err(storage_failure)?
    };
    let mut response = n.to_string().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(response)
}
