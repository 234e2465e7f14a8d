//! `GET /{v1.0|beta}/auditLogs/provisioning[/]` and `GET /{v}/auditLogs/provisioning/{id}` — docs/fidelity.md A.3 and
//! B.2: `$filter`, `$orderby`, `$top` (default 100, max 1000) and `$skiptoken` keyset paging
//! with `@odata.nextLink`. Also the query-string handling the users API shares ([`QueryOptions`]).
//!
//! Design constraints and decisions:
//! - The trailing-slash list route exists because bulkUpload's `Location` header
//!   (`…/auditLogs/provisioning/?$filter=jobid%20eq%20'{jobId}'`) must work as-is; axum treats
//!   `/x` and `/x/` as different routes.
//! - Query strings are decoded as `query.rs` describes (`+` is a space, then `%XX`).
//! - Order checks: 401 (extractor) → 403 (`AuditLog.Read.All`) → 400 (options) → 404/200.
//! - Entries are rendered as v1.0 documents (`provisioning::log::to_graph_json`); beta adds the deprecated
//!   `action` and `statusInfo` (docs/fidelity.md B.2).
//! - `@odata.nextLink` repeats the request's `$filter`/`$top`/`$orderby` (re-encoded with `%20`) and
//!   carries the opaque keyset `$skiptoken`, on the path without the trailing slash.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::Json;
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::query::{QueryOptions, next_link, page_query};
use super::{GraphVersion, get_only};
use crate::api::{BaseUrl, storage_failure};
use crate::auth::{Principal, roles};
use crate::error::ApiError;
use crate::odata::{PROVISIONING_LOG_FIELDS, PROVISIONING_LOG_ORDER};
use crate::provisioning::log::{ProvisioningObjectSummary, for_beta, to_graph_json};
use crate::state::AppState;

const LIST: &str = "/{version}/auditLogs/provisioning";
const DEFAULT_TOP: u32 = 100;
const MAX_TOP: u32 = 1000;
const LIST_OPTIONS: &[&str] = &["$filter", "$orderby", "$top", "$skiptoken"];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(LIST, get_only(get(list)))
        .route(&format!("{LIST}/"), get_only(get(list)))
        .route(&format!("{LIST}/{{id}}"), get_only(get(get_entry)))
}

fn check_role(principal: &Principal) -> Result<(), ApiError> {
    if principal.has_any(&[roles::AUDIT_LOG_READ]) { Ok(()) } else { Err(ApiError::Forbidden) }
}

#[utoipa::path(
    get,
    path = "/{version}/auditLogs/provisioning",
    operation_id = "listProvisioningObjectSummary",
    tag = "provisioning logs",
    description = "A page of provisioning log entries, newest first. `…/auditLogs/provisioning/` (trailing slash, as bulkUpload's `Location` has it) is the same operation.",
    params(
        ("$filter" = Option<String>, Query, description = "OData filter over the queryable properties"),
        ("$orderby" = Option<String>, Query, description = "Sort order"),
        ("$top" = Option<String>, Query, description = "Page size (at most 1000)"),
        ("$skiptoken" = Option<String>, Query, description = "Continuation from `@odata.nextLink`"),
    ),
    responses(
        (status = 200, description = "A page of provisioningObjectSummary entries", body = ref("#/components/schemas/GraphCollection")),
        (status = 400, description = "An unsupported or malformed query option", body = ref("#/components/schemas/GraphError")),
        (status = 403, description = "The token lacks `AuditLog.Read.All`", body = ref("#/components/schemas/GraphError")),
    ),
    security(("graph" = [])),
)]
async fn list(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(version): Path<String>,
    principal: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let version = GraphVersion::parse(&version)?;
    check_role(&principal)?;
    let opts = QueryOptions::parse(raw.as_deref(), LIST_OPTIONS)?;
    let query = page_query(&opts, &PROVISIONING_LOG_FIELDS, &PROVISIONING_LOG_ORDER, DEFAULT_TOP, MAX_TOP)?;
    let page = state.store.query_logs(query).await.map_err(storage_failure)?;
    let root = version.service_root(&base);
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(format!("{root}/$metadata#auditLogs/provisioning")));
    body.insert("value".into(), Value::Array(documents(page.entries, version).await?));
    if let Some(keys) = page.next {
        let link = next_link(&format!("{root}/auditLogs/provisioning"), &opts, &["$filter", "$top", "$orderby"], &keys);
        body.insert("@odata.nextLink".into(), json!(link));
    }
    Ok(Json(Value::Object(body)))
}

#[utoipa::path(
    get,
    path = "/{version}/auditLogs/provisioning/{id}",
    operation_id = "getProvisioningObjectSummary",
    tag = "provisioning logs",
    description = "One provisioning log entry.",
    responses(
        (status = 200, description = "The provisioningObjectSummary", body = ref("#/components/schemas/GraphEntity")),
        (status = 400, description = "A query option", body = ref("#/components/schemas/GraphError")),
        (status = 403, description = "The token lacks `AuditLog.Read.All`", body = ref("#/components/schemas/GraphError")),
        (status = 404, description = "No entry with this id", body = ref("#/components/schemas/GraphError")),
    ),
    security(("graph" = [])),
)]
async fn get_entry(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((version, id)): Path<(String, String)>,
    principal: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let version = GraphVersion::parse(&version)?;
    check_role(&principal)?;
    QueryOptions::parse(raw.as_deref(), &[])?;
    let Some(entry) = state.store.log_entry(&id).await.map_err(storage_failure)? else {
        return Err(ApiError::NotFound(id));
    };
    let mut body = Map::new();
    let context = format!("{}/$metadata#auditLogs/provisioning/$entity", version.service_root(&base));
    body.insert("@odata.context".into(), json!(context));
    if let Value::Object(fields) = document(&entry, version) {
        body.extend(fields);
    }
    Ok(Json(Value::Object(body)))
}

/// An entry as `version` shows it: the v1.0 resource, plus beta's deprecated `action` and `statusInfo`.
fn document(entry: &ProvisioningObjectSummary, version: GraphVersion) -> Value {
    let doc = to_graph_json(entry);
    if version == GraphVersion::Beta { for_beta(doc) } else { doc }
}

/// The documents of a page, rendered off the async threads (a page holds up to 1,000).
async fn documents(entries: Vec<ProvisioningObjectSummary>, version: GraphVersion) -> Result<Vec<Value>, ApiError> {
    tokio::task::spawn_blocking(move || entries.iter().map(|e| document(e, version)).collect())
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))
}
