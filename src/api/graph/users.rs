//! `GET /{v1.0|beta}/users`, `/{v}/users/{id | userPrincipalName}` and `/{v}/users/{id}/manager` — spec
//! A.3b: `$filter`, `$select`, `$top` (default 100, max 999) with `$skiptoken` paging, `$orderby`,
//! `$count` and `$expand=manager`.
//!
//! Design constraints and decisions:
//! - Property sets: with `$select`, exactly the selected properties (unknown names → 400); without it,
//!   v1.0 returns Graph's default set (`V1_DEFAULT_PROPERTIES`, `id` last as Graph orders it) and beta
//!   every property the emulator knows. A property the user lacks is `null` (`businessPhones` and
//!   `otherMails`: `[]`). `manager` is a navigation property: only `$expand` brings it.
//! - `$expand=manager` / `manager($select=…)`: each user gets a `manager` object
//!   (`@odata.type` `#microsoft.graph.user` + the nested selection or the version's default set);
//!   users without a manager get no `manager` property, as Graph omits empty single-valued
//!   navigation properties. Other nested options (`$levels`) and other navigation properties → 400.
//! - `$count=true` needs `ConsistencyLevel: eventual` (Graph's advanced-query rule) → `@odata.count`
//!   of every user the filter matches; without the header → 400 worded after Graph's `/$count` error.
//! - `/users/{id}/manager` answers the manager as a directoryObject, or 404 `Resource 'manager' …` when
//!   the user has none (what Graph answers).
//! - Permissions: `User.Read.All` or `Directory.Read.All` (403 otherwise).

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Json;
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::query::{QueryOptions, next_link, odata_error, page_query};
use super::{GraphVersion, get_only};
use crate::api::{BaseUrl, storage_failure};
use crate::auth::{Principal, roles};
use crate::directory::{DirectoryUser, USER_PROPERTIES, V1_DEFAULT_PROPERTIES};
use crate::error::{ApiError, ErrorDetail};
use crate::odata::{USER_FIELDS, USER_ORDER, parse_select};
use crate::state::AppState;

const DEFAULT_TOP: u32 = 100;
const MAX_TOP: u32 = 999;
const READ_ROLES: &[&str] = &[roles::USER_READ, roles::DIRECTORY_READ];
const LIST_OPTIONS: &[&str] = &["$filter", "$select", "$top", "$orderby", "$skiptoken", "$count", "$expand"];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/{version}/users", get_only(get(list)))
        .route("/{version}/users/{id}", get_only(get(get_user)))
        .route("/{version}/users/{id}/manager", get_only(get(get_manager)))
}

/// What a response shows of each user: `select` None = the version's default set.
#[derive(Debug, Clone)]
struct Shape {
    version: GraphVersion,
    select: Option<Vec<String>>,
    /// `$expand=manager`, with the manager's own selection.
    manager: Option<Option<Vec<String>>>,
}

impl Shape {
    fn parse(version: GraphVersion, opts: &QueryOptions) -> Result<Self, ApiError> {
        let select = selection(opts.get("$select"))?;
        let manager = opts.get("$expand").map(parse_expand).transpose()?;
        Ok(Self { version, select, manager })
    }

    /// `users` or `users(id,displayName)`: the `@odata.context` fragment.
    fn context(&self, root: &str, entity_set: &str) -> String {
        match &self.select {
            Some(s) => format!("{root}/$metadata#{entity_set}({})", s.join(",")),
            None => format!("{root}/$metadata#{entity_set}"),
        }
    }

    fn project(&self, user: &DirectoryUser, manager: Option<&DirectoryUser>) -> Map<String, Value> {
        let mut out = project(user, self.version, self.select.as_deref());
        if let (Some(selection), Some(m)) = (&self.manager, manager) {
            out.insert("manager".into(), Value::Object(directory_object(m, self.version, selection.as_deref())));
        }
        out
    }
}

fn selection(src: Option<&str>) -> Result<Option<Vec<String>>, ApiError> {
    match src {
        Some(s) if !s.trim().is_empty() => parse_select(s, USER_PROPERTIES).map(Some).map_err(odata_error),
        _ => Ok(None),
    }
}

/// `manager` or `manager($select=a,b)` → the manager's selection.
fn parse_expand(src: &str) -> Result<Option<Vec<String>>, ApiError> {
    let src = src.trim();
    let (name, nested) = match src.split_once('(') {
        Some((name, rest)) => (name.trim(), Some(rest.strip_suffix(')').unwrap_or(rest))),
        None => (src, None),
    };
    if !name.eq_ignore_ascii_case("manager") {
        let message = format!("Expanding '{name}' is not supported; only 'manager' can be expanded on users.");
        return Err(bad_option(message, name));
    }
    let Some(nested) = nested else {
        return Ok(None);
    };
    match nested.split_once('=') {
        Some((opt, value)) if opt.trim().eq_ignore_ascii_case("$select") => selection(Some(value)),
        _ => {
            let message = format!("The option '{nested}' is not supported inside $expand; use manager($select=…).");
            Err(bad_option(message, "$expand"))
        }
    }
}

fn bad_option(message: String, target: &str) -> ApiError {
    let details = vec![ErrorDetail::new("BadRequest", message.clone(), target)];
    ApiError::BadRequest { message, details }
}

/// The user's properties per version and selection (see the module docs).
fn project(user: &DirectoryUser, version: GraphVersion, select: Option<&[String]>) -> Map<String, Value> {
    let names: Vec<&str> = match (select, version) {
        (Some(s), _) => s.iter().map(String::as_str).collect(),
        (None, GraphVersion::V1) => {
            V1_DEFAULT_PROPERTIES.iter().copied().filter(|p| *p != "id").chain(std::iter::once("id")).collect()
        }
        (None, GraphVersion::Beta) => USER_PROPERTIES.to_vec(),
    };
    names.into_iter().map(|name| (name.to_owned(), user.graph_value(name).unwrap_or(Value::Null))).collect()
}

/// A user as a `directoryObject` (manager): `@odata.type` first, then the properties.
fn directory_object(user: &DirectoryUser, version: GraphVersion, select: Option<&[String]>) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("@odata.type".into(), json!("#microsoft.graph.user"));
    out.extend(project(user, version, select));
    out
}

pub(super) fn check_role(principal: &Principal) -> Result<(), ApiError> {
    if principal.has_any(READ_ROLES) { Ok(()) } else { Err(ApiError::Forbidden) }
}

pub(super) fn wants_eventual(headers: &HeaderMap) -> bool {
    headers
        .get("consistencylevel")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("eventual"))
}

fn parse_count(src: Option<&str>, headers: &HeaderMap) -> Result<bool, ApiError> {
    let count = match src.map(str::trim) {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(v) => return Err(bad_option(format!("Invalid value '{v}' for $count; use true or false."), "$count")),
    };
    if count && !wants_eventual(headers) {
        let message = "Count (?$count=true) is not supported because the 'ConsistencyLevel:eventual' header is \
                       missing. Refer to https://aka.ms/graph-docs/advanced-queries for more information";
        return Err(bad_option(message.to_owned(), "ConsistencyLevel"));
    }
    Ok(count)
}

#[utoipa::path(
    get,
    path = "/{version}/users",
    operation_id = "listUsers",
    tag = "users",
    description = "A page of the users the provisioning engine wrote. Advanced queries need `ConsistencyLevel: eventual`.",
    params(
        ("$filter" = Option<String>, Query, description = "OData filter"),
        ("$select" = Option<String>, Query, description = "Properties to return"),
        ("$top" = Option<String>, Query, description = "Page size (at most 999)"),
        ("$orderby" = Option<String>, Query, description = "Sort order (advanced query)"),
        ("$skiptoken" = Option<String>, Query, description = "Continuation from `@odata.nextLink`"),
        ("$count" = Option<String>, Query, description = "`true` adds `@odata.count` (advanced query)"),
        ("$expand" = Option<String>, Query, description = "`manager`"),
    ),
    responses(
        (status = 200, description = "A page of users", body = ref("#/components/schemas/GraphCollection")),
        (status = 400, description = "An unsupported or malformed query option, or an advanced query without `ConsistencyLevel: eventual`", body = ref("#/components/schemas/GraphError")),
        (status = 403, description = "The token lacks `User.Read.All` and `Directory.Read.All`", body = ref("#/components/schemas/GraphError")),
    ),
    security(("graph" = [])),
)]
async fn list(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(version): Path<String>,
    principal: Principal,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let version = GraphVersion::parse(&version)?;
    check_role(&principal)?;
    let opts = QueryOptions::parse(raw.as_deref(), LIST_OPTIONS)?;
    let shape = Shape::parse(version, &opts)?;
    let query = page_query(&opts, &USER_FIELDS, &USER_ORDER, DEFAULT_TOP, MAX_TOP)?;
    let count = parse_count(opts.get("$count"), &headers)?;
    let page = state.store.query_users(query, count).await.map_err(storage_failure)?;
    let managers = if shape.manager.is_some() {
        let ids = page.users.iter().filter_map(|u| u.manager_id.clone()).collect();
        state.store.users_by_ids(ids).await.map_err(storage_failure)?
    } else {
        Default::default()
    };

    let root = version.service_root(&base);
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(shape.context(&root, "users")));
    if let Some(n) = page.count {
        body.insert("@odata.count".into(), json!(n));
    }
    if let Some(keys) = &page.next {
        let repeat = ["$filter", "$select", "$expand", "$orderby", "$top", "$count"];
        body.insert("@odata.nextLink".into(), json!(next_link(&format!("{root}/users"), &opts, &repeat, keys)));
    }
    let value = page
        .users
        .iter()
        .map(|u| Value::Object(shape.project(u, u.manager_id.as_ref().and_then(|m| managers.get(m)))))
        .collect();
    body.insert("value".into(), Value::Array(value));
    Ok(Json(Value::Object(body)))
}

/// The user addressed by `{id}` (object id or UPN) and its manager when `with_manager`.
async fn load(
    state: &AppState,
    key: &str,
    with_manager: bool,
) -> Result<(DirectoryUser, Option<DirectoryUser>), ApiError> {
    let Some(user) = state.store.find_user(key).await.map_err(storage_failure)? else {
        return Err(ApiError::NotFound(key.to_owned()));
    };
    let manager = match user.manager_id.clone().filter(|_| with_manager) {
        Some(m) => state.store.users_by_ids(vec![m.clone()]).await.map_err(storage_failure)?.remove(&m),
        None => None,
    };
    Ok((user, manager))
}

#[utoipa::path(
    get,
    path = "/{version}/users/{id}",
    operation_id = "getUser",
    tag = "users",
    description = "One user, by object id or userPrincipalName.",
    params(
        ("$select" = Option<String>, Query, description = "Properties to return"),
        ("$expand" = Option<String>, Query, description = "`manager`"),
    ),
    responses(
        (status = 200, description = "The user", body = ref("#/components/schemas/GraphEntity")),
        (status = 400, description = "A query option", body = ref("#/components/schemas/GraphError")),
        (status = 403, description = "The token lacks `User.Read.All` and `Directory.Read.All`", body = ref("#/components/schemas/GraphError")),
        (status = 404, description = "No such user", body = ref("#/components/schemas/GraphError")),
    ),
    security(("graph" = [])),
)]
async fn get_user(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((version, id)): Path<(String, String)>,
    principal: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let version = GraphVersion::parse(&version)?;
    check_role(&principal)?;
    let opts = QueryOptions::parse(raw.as_deref(), &["$select", "$expand"])?;
    let shape = Shape::parse(version, &opts)?;
    let (user, manager) = load(&state, &id, shape.manager.is_some()).await?;
    let root = version.service_root(&base);
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(format!("{}/$entity", shape.context(&root, "users"))));
    body.extend(shape.project(&user, manager.as_ref()));
    Ok(Json(Value::Object(body)))
}

#[utoipa::path(
    get,
    path = "/{version}/users/{id}/manager",
    operation_id = "getUserManager",
    tag = "users",
    description = "The user's manager.",
    params(
        ("$select" = Option<String>, Query, description = "Properties to return"),
    ),
    responses(
        (status = 200, description = "The manager", body = ref("#/components/schemas/GraphEntity")),
        (status = 400, description = "A query option", body = ref("#/components/schemas/GraphError")),
        (status = 403, description = "The token lacks `User.Read.All` and `Directory.Read.All`", body = ref("#/components/schemas/GraphError")),
        (status = 404, description = "No such user, or the user has no manager", body = ref("#/components/schemas/GraphError")),
    ),
    security(("graph" = [])),
)]
async fn get_manager(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((version, id)): Path<(String, String)>,
    principal: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let version = GraphVersion::parse(&version)?;
    check_role(&principal)?;
    let opts = QueryOptions::parse(raw.as_deref(), &["$select"])?;
    let select = selection(opts.get("$select"))?;
    let (_, manager) = load(&state, &id, true).await?;
    let Some(manager) = manager else {
        return Err(ApiError::NotFound("manager".into()));
    };
    let root = version.service_root(&base);
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(format!("{root}/$metadata#directoryObjects/$entity")));
    body.extend(directory_object(&manager, version, select.as_deref()));
    Ok(Json(Value::Object(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expand_forms() {
        assert_eq!(parse_expand("manager").unwrap(), None);
        assert_eq!(
            parse_expand("Manager($select=id,displayName)").unwrap(),
            Some(vec!["id".into(), "displayName".into()])
        );
        assert!(parse_expand("manager($levels=max)").is_err());
        assert!(parse_expand("memberOf").is_err());
        assert!(parse_expand("manager($select=nope)").is_err());
    }

    #[test]
    fn v1_default_set_puts_id_last_and_fills_collections() {
        let u = DirectoryUser::new("u1".into(), time::OffsetDateTime::UNIX_EPOCH);
        let v1 = project(&u, GraphVersion::V1, None);
        assert_eq!(v1.keys().next_back().map(String::as_str), Some("id"));
        assert_eq!(v1["businessPhones"], json!([]));
        assert!(!v1.contains_key("accountEnabled"));
        let beta = project(&u, GraphVersion::Beta, None);
        assert_eq!(beta.len(), USER_PROPERTIES.len());
        assert_eq!(beta["accountEnabled"], json!(false));
    }
}
