//! `/Users` and `/Groups` (RFC 7644 §3.3–§3.6, §3.14): list and `/.search`, create, read, replace, patch and
//! delete, with ETags (`ETag` on every resource answer, `If-Match` → 412, `If-None-Match` → 304) and
//! `attributes`/`excludedAttributes` on every answer that returns a resource.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use serde_json::Value;

use super::context::{Scim, ScimResponse, json_body, query_pairs, storage_failure};
use crate::scim::record::{Record, owned};
use crate::scim_server::error::ScimError;
use crate::scim_server::query::RawQuery as ScimQuery;
use crate::scim_server::resource::{etag, location, written_resource};
use crate::scim_server::selection::Selection;
use crate::scim_server::service::{Failure, Writes};
use crate::store::{ScimKind, ScimRecord};

type Answer = Result<ScimResponse, ScimResponse>;

fn kind(collection: &str) -> Result<ScimKind, ScimError> {
    match collection {
        "Users" => Ok(ScimKind::User),
        "Groups" => Ok(ScimKind::Group),
        _ => Err(ScimError::not_found("No SCIM endpoint at this path.")),
    }
}

/// The `attributes` / `excludedAttributes` of a request's query, checked.
fn selection(kind: ScimKind, query: Option<&str>) -> Result<Selection, ScimError> {
    let raw = ScimQuery::from_pairs(query_pairs(query).into_iter());
    let selection = Selection { attributes: raw.attributes, excluded: raw.excluded };
    selection.check(kind)?;
    Ok(selection)
}

fn header(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A resource answer: its representation (as selected), `ETag`, and `Location` for a 201.
async fn resource(scim: &Scim, record: &ScimRecord, status: u16, selection: &Selection) -> Answer {
    let mut body = if status == 201 {
        scim.service.render_new(record, &scim.base)
    } else {
        scim.service.render(record, &scim.base).await.map_err(storage_failure)?
    };
    selection.apply(record.kind, &mut body);
    let mut r = ScimResponse::json(status, &Value::Object(body)).with_header(header::ETAG, &etag(record.version));
    if status == 201 {
        r = r.with_header(header::LOCATION, &location(&scim.base, record.kind, &record.id));
    }
    Ok(r)
}

#[utoipa::path(
    get,
    path = "/{collection}",
    operation_id = "listResources",
    tag = "SCIM",
    description = "A page of Users or Groups.",
    params(
        ("filter" = Option<String>, Query, description = "SCIM filter (RFC 7644 §3.4.2.2)"),
        ("attributes" = Option<String>, Query, description = "Attributes to return"),
        ("excludedAttributes" = Option<String>, Query, description = "Attributes to leave out"),
        ("startIndex" = Option<String>, Query, description = "1-based index of the first result"),
        ("count" = Option<String>, Query, description = "Page size"),
    ),
    responses(
        (status = 200, description = "A ListResponse", body = ref("#/components/schemas/ScimListResponse"), content_type = "application/scim+json"),
        (status = 400, description = "A bad filter or query parameter", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 404, description = "No such collection (only `Users` and `Groups`)", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
    ),
    security(("graph" = []), ("idcs" = [])),
)]
pub async fn list(scim: Scim, Path(collection): Path<String>, RawQuery(query): RawQuery) -> Answer {
    let kind = kind(&collection)?;
    let query = ScimQuery::from_pairs(query_pairs(query.as_deref()).into_iter()).check(kind)?;
    let body = scim.service.list(kind, &query, &scim.base).await.map_err(storage_failure)?;
    Ok(ScimResponse::json(200, &body))
}

#[utoipa::path(
    post,
    path = "/{collection}/.search",
    operation_id = "searchResources",
    tag = "SCIM",
    description = "A search of Users or Groups with the query in the body.",
    request_body(content_type = "application/scim+json", description = "A SearchRequest (RFC 7644 §3.4.3): `filter`, `attributes`, `excludedAttributes`, `sortBy`, `startIndex`, `count`"),
    responses(
        (status = 200, description = "A ListResponse", body = ref("#/components/schemas/ScimListResponse"), content_type = "application/scim+json"),
        (status = 400, description = "A bad SearchRequest", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 404, description = "No such collection (only `Users` and `Groups`)", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 413, description = "The body exceeds `maxPayloadSize`", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 415, description = "A media type other than `application/scim+json` or `application/json`", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
    ),
    security(("graph" = []), ("idcs" = [])),
)]
pub async fn search(scim: Scim, Path(collection): Path<String>, headers: HeaderMap, body: Body) -> Answer {
    let kind = kind(&collection)?;
    let body = json_body(&headers, body, scim.service.limits.max_payload_bytes).await?.value()?;
    let query = ScimQuery::from_search(&body)?.check(kind)?;
    let body = scim.service.list(kind, &query, &scim.base).await.map_err(storage_failure)?;
    Ok(ScimResponse::json(200, &body))
}

/// `POST /.search` at the root: Users and Groups in one ListResponse.
#[utoipa::path(
    post,
    path = "/.search",
    operation_id = "searchAll",
    tag = "SCIM",
    description = "A search across every resource type.",
    request_body(content_type = "application/scim+json", description = "A SearchRequest (RFC 7644 §3.4.3): `filter`, `attributes`, `excludedAttributes`, `sortBy`, `startIndex`, `count`"),
    responses(
        (status = 200, description = "A ListResponse", body = ref("#/components/schemas/ScimListResponse"), content_type = "application/scim+json"),
        (status = 400, description = "A bad SearchRequest", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 413, description = "The body exceeds `maxPayloadSize`", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 415, description = "A media type other than `application/scim+json` or `application/json`", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
    ),
    security(("graph" = []), ("idcs" = [])),
)]
pub async fn search_all(scim: Scim, headers: HeaderMap, body: Body) -> Answer {
    let body = json_body(&headers, body, scim.service.limits.max_payload_bytes).await?.value()?;
    let queries = ScimQuery::from_search(&body)?.check_across(&[ScimKind::User, ScimKind::Group])?;
    let body = scim.service.search_all(&queries, &scim.base).await.map_err(storage_failure)?;
    Ok(ScimResponse::json(200, &body))
}

#[utoipa::path(
    post,
    path = "/{collection}",
    operation_id = "createResource",
    tag = "SCIM",
    description = "Create a User or Group.",
    params(
        ("attributes" = Option<String>, Query, description = "Attributes to return"),
        ("excludedAttributes" = Option<String>, Query, description = "Attributes to leave out"),
    ),
    request_body(content = ref("#/components/schemas/ScimResource"), content_type = "application/scim+json", description = "The resource"),
    responses(
        (status = 201, description = "Created; `Location` and `ETag`", body = ref("#/components/schemas/ScimResource"), content_type = "application/scim+json"),
        (status = 400, description = "An invalid resource", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 404, description = "No such collection (only `Users` and `Groups`)", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 409, description = "`userName` (or `displayName`) is taken", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 413, description = "The body exceeds `maxPayloadSize`", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 415, description = "A media type other than `application/scim+json` or `application/json`", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
    ),
    security(("graph" = []), ("idcs" = [])),
)]
pub async fn create(
    scim: Scim,
    Path(collection): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    let kind = kind(&collection)?;
    let selection = selection(kind, query.as_deref())?;
    let body = json_body(&headers, body, scim.service.limits.max_payload_bytes).await?;
    let attrs = written_resource(kind, &body.tree()?)?;
    let record = scim.service.write(move |w| w.create(kind, attrs)).await.map_err(storage_failure)??;
    resource(&scim, &record, 201, &selection).await
}

#[utoipa::path(
    get,
    path = "/{collection}/{id}",
    operation_id = "getResource",
    tag = "SCIM",
    description = "One User or Group; `If-None-Match` with its version answers 304.",
    params(
        ("attributes" = Option<String>, Query, description = "Attributes to return"),
        ("excludedAttributes" = Option<String>, Query, description = "Attributes to leave out"),
    ),
    responses(
        (status = 200, description = "The resource, with `ETag`", body = ref("#/components/schemas/ScimResource"), content_type = "application/scim+json"),
        (status = 304, description = "Not modified"),
        (status = 400, description = "A bad `attributes`/`excludedAttributes`", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 404, description = "No such resource", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
    ),
    security(("graph" = []), ("idcs" = [])),
)]
pub async fn get(
    scim: Scim,
    Path((collection, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Answer {
    let kind = kind(&collection)?;
    let selection = selection(kind, query.as_deref())?;
    let record = scim.service.get(kind, &id).await.map_err(storage_failure)?;
    let record =
        record.ok_or_else(|| ScimResponse::from(ScimError::resource_not_found(&format!("/{collection}"), &id)))?;
    let tag = etag(record.version);
    let unchanged = header(&headers, header::IF_NONE_MATCH)
        .is_some_and(|h| h.split(',').map(str::trim).any(|t| t == "*" || t == tag || format!("W/{t}") == tag));
    if unchanged {
        let mut r = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(v) = tag.parse() {
            r.headers_mut().insert(header::ETAG, v);
        }
        return Ok(ScimResponse(r));
    }
    resource(&scim, &record, 200, &selection).await
}

/// A rewrite of one resource (PUT or PATCH) as the service's `Writes` method `change` does it, of what `read`
/// made of the body.
struct Rewrite<T> {
    read: fn(ScimKind, &Record<'_>) -> T,
    change: Change<T>,
}

/// The service's write of a rewrite: the kind, the id, what was read, and the `If-Match` header.
type Change<T> = fn(&mut Writes<'_>, ScimKind, &str, T, Option<&str>) -> Result<Arc<ScimRecord>, Failure>;

#[utoipa::path(
    put,
    path = "/{collection}/{id}",
    operation_id = "replaceResource",
    tag = "SCIM",
    description = "Replace a User or Group; `If-Match` must name its version when sent.",
    params(
        ("attributes" = Option<String>, Query, description = "Attributes to return"),
        ("excludedAttributes" = Option<String>, Query, description = "Attributes to leave out"),
    ),
    request_body(content = ref("#/components/schemas/ScimResource"), content_type = "application/scim+json", description = "The resource"),
    responses(
        (status = 200, description = "The resource", body = ref("#/components/schemas/ScimResource"), content_type = "application/scim+json"),
        (status = 400, description = "An invalid resource", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 404, description = "No such resource", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 409, description = "`userName` is taken", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 412, description = "`If-Match` names another version", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 413, description = "The body exceeds `maxPayloadSize`", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 415, description = "A media type other than `application/scim+json` or `application/json`", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
    ),
    security(("graph" = []), ("idcs" = [])),
)]
pub async fn replace(
    scim: Scim,
    Path((collection, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    // The body is normalised as it is read; a body it refuses is answered once the resource and version are checked.
    let put = Rewrite { read: written_resource, change: |w, k, id, attrs, m| w.replace(k, id, attrs, m) };
    rewrite(scim, &collection, id, query, headers, body, put).await
}

#[utoipa::path(
    patch,
    path = "/{collection}/{id}",
    operation_id = "patchResource",
    tag = "SCIM",
    description = "Change a User or Group with a PatchOp (RFC 7644 §3.5.2).",
    params(
        ("attributes" = Option<String>, Query, description = "Attributes to return"),
        ("excludedAttributes" = Option<String>, Query, description = "Attributes to leave out"),
    ),
    request_body(content_type = "application/scim+json", description = "A PatchOp: `schemas`, `Operations` (`op`, `path`, `value`)"),
    responses(
        (status = 200, description = "The resource", body = ref("#/components/schemas/ScimResource"), content_type = "application/scim+json"),
        (status = 400, description = "An invalid PatchOp, path or value", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 404, description = "No such resource", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 409, description = "`userName` is taken", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 412, description = "`If-Match` names another version", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 413, description = "The body exceeds `maxPayloadSize`", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 415, description = "A media type other than `application/scim+json` or `application/json`", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
    ),
    security(("graph" = []), ("idcs" = [])),
)]
pub async fn patch(
    scim: Scim,
    Path((collection, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    let patch = Rewrite { read: |_, tree| owned(tree), change: |w, k, id, op, m| w.patch(k, id, &op, m) };
    rewrite(scim, &collection, id, query, headers, body, patch).await
}

async fn rewrite<T: Send + 'static>(
    scim: Scim,
    collection: &str,
    id: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Body,
    how: Rewrite<T>,
) -> Answer {
    let kind = kind(collection)?;
    let selection = selection(kind, query.as_deref())?;
    let if_match = header(&headers, header::IF_MATCH).map(str::to_owned);
    let body = (how.read)(kind, &json_body(&headers, body, scim.service.limits.max_payload_bytes).await?.tree()?);
    let change = how.change;
    let record = scim
        .service
        .write(move |w| change(w, kind, &id, body, if_match.as_deref()))
        .await
        .map_err(storage_failure)??;
    resource(&scim, &record, 200, &selection).await
}

#[utoipa::path(
    delete,
    path = "/{collection}/{id}",
    operation_id = "deleteResource",
    tag = "SCIM",
    description = "Delete a User or Group.",
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such resource", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 412, description = "`If-Match` names another version", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
    ),
    security(("graph" = []), ("idcs" = [])),
)]
pub async fn delete(scim: Scim, Path((collection, id)): Path<(String, String)>, headers: HeaderMap) -> Answer {
    let kind = kind(&collection)?;
    let if_match = header(&headers, header::IF_MATCH).map(str::to_owned);
    scim.service.write(move |w| w.delete(kind, &id, if_match.as_deref())).await.map_err(storage_failure)??;
    Ok(ScimResponse(StatusCode::NO_CONTENT.into_response()))
}
