//! A job's synchronization schema (docs/fidelity.md B.3): GET and PUT (validated: every expression must parse,
//! `passwordProfile` is refused; the next processed operation uses the new mappings), `parseExpression`
//! to test an expression without uploading, and the `functions` and `filterOperators` catalogues.
//!
//! Design constraint: `parseExpression` runs caller-supplied code on a caller-supplied record. The
//! evaluation limits (`expr::MAX_WORK`) bound it, and it runs on the blocking pool so that requests in
//! flight together never hold the async workers that serve every other request (`/health` included).

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::jobs::{Access, JOBS, job_for};
use super::{get_only, json_body};
use crate::api::extract::GraphBytes;
use crate::api::{BaseUrl, storage_failure};
use crate::auth::Principal;
use crate::error::{ApiError, ErrorDetail};
use crate::expr::{self, EvalContext};
use crate::provisioning::jobs::JobSchema;
use crate::provisioning::scoping::OPERATORS;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    let schema = format!("{JOBS}/{{job_id}}/schema");
    Router::new()
        .route(
            &schema,
            get(get_schema).put(put_schema).fallback(|| async { ApiError::MethodNotAllowed { allow: "GET, PUT" } }),
        )
        .route(
            &format!("{schema}/parseExpression"),
            post(parse_expression).fallback(|| async { ApiError::MethodNotAllowed { allow: "POST" } }),
        )
        .route(&format!("{schema}/functions"), get_only(get(functions)))
        .route(&format!("{schema}/filterOperators"), get_only(get(filter_operators)))
}

type JobPath = Path<(String, String, String)>;

#[utoipa::path(
    get,
    path = "/{version}/servicePrincipals/{sp_id}/synchronization/jobs/{job_id}/schema",
    operation_id = "getSynchronizationSchema",
    tag = "schema",
    description = "The job's synchronization schema (directories and attribute mappings).",
    responses(
        (status = 200, description = "The synchronizationSchema", body = ref("#/components/schemas/GraphEntity")),
        (status = 403, description = "The token lacks `Synchronization.Read.All` and `Synchronization.ReadWrite.All`", body = ref("#/components/schemas/GraphError")),
        (status = 404, description = "Unknown service principal or job", body = ref("#/components/schemas/GraphError")),
    ),
    security(("graph" = [])),
)]
async fn get_schema(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(path): JobPath,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    let (version, job) = job_for(&state, &path, &principal, Access::Read)?;
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        Value::String(format!(
            "{}/$metadata#servicePrincipals('{}')/synchronization/jobs('{}')/schema/$entity",
            version.service_root(&base),
            job.service_principal_id,
            job.id
        )),
    );
    if let Value::Object(raw) = job.schema().raw.clone() {
        body.extend(raw);
    }
    Ok(Json(Value::Object(body)))
}

#[utoipa::path(
    put,
    path = "/{version}/servicePrincipals/{sp_id}/synchronization/jobs/{job_id}/schema",
    operation_id = "replaceSynchronizationSchema",
    tag = "schema",
    description = "Replace the job's schema; every mapping expression must parse. The next processed operation uses it.",
    request_body(content = ref("#/components/schemas/GraphEntity"), content_type = "application/json", description = "A synchronizationSchema (as `GET` returns it)"),
    responses(
        (status = 204, description = "Replaced"),
        (status = 400, description = "Not JSON, an expression that does not parse, or a refused mapping (`passwordProfile`)", body = ref("#/components/schemas/GraphError")),
        (status = 413, description = "The body is over the size limit", body = ref("#/components/schemas/GraphError")),
        (status = 403, description = "The token lacks `Synchronization.ReadWrite.All`", body = ref("#/components/schemas/GraphError")),
        (status = 404, description = "Unknown service principal or job", body = ref("#/components/schemas/GraphError")),
    ),
    security(("graph" = [])),
)]
async fn put_schema(
    State(state): State<AppState>,
    Path(path): JobPath,
    principal: Principal,
    GraphBytes(body): GraphBytes,
) -> Result<StatusCode, ApiError> {
    let (_, job) = job_for(&state, &path, &principal, Access::Write)?;
    let _change = job.changes.lock().await;
    let mut raw = json_body(&body)?;
    if let Some(obj) = raw.as_object_mut() {
        obj.retain(|k, _| !k.starts_with("@odata."));
    }
    let schema = JobSchema::compile(raw).map_err(|e| ApiError::BadRequest {
        message: e.message.clone(),
        details: vec![ErrorDetail::new(
            if e.position.is_some() { "InvalidExpression" } else { "InvalidSchema" },
            match e.position {
                Some(p) => format!("{} (position {p})", e.message),
                None => e.message.clone(),
            },
            e.target,
        )],
    })?;
    state.store.save_schema(&job.id, schema.raw.clone()).await.map_err(storage_failure)?;
    job.set_schema(schema);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ParseRequest {
    expression: Option<String>,
    #[serde(default)]
    test_input_object: Option<TestInput>,
}

#[derive(Debug, Deserialize)]
struct TestInput {
    #[serde(default)]
    properties: Vec<KeyValue>,
}

#[derive(Debug, Deserialize)]
struct KeyValue {
    key: String,
    #[serde(default)]
    value: Option<String>,
}

/// Build a SCIM-shaped record from `key → value` test properties (`name.givenName`, `urn:…:User:department`,
/// `emails[type eq "work"].value`).
fn test_record(properties: &[KeyValue]) -> Value {
    let mut record = Map::new();
    for p in properties {
        let value = p.value.clone().map_or(Value::Null, Value::String);
        let key = p.key.as_str();
        if let Some((attr, rest)) = key.split_once("[type eq \"")
            && let Some((kind, sub)) = rest.split_once("\"].")
        {
            let list = record.entry(attr.to_owned()).or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(items) = list {
                items.push(json!({"type": kind, sub: value}));
            }
        } else if key.starts_with("urn:")
            && let Some((namespace, attr)) = key.rsplit_once(':')
        {
            let ns = record.entry(namespace.to_owned()).or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = ns {
                m.insert(attr.to_owned(), value);
            }
        } else if let Some((outer, inner)) = key.split_once('.') {
            let o = record.entry(outer.to_owned()).or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = o {
                m.insert(inner.to_owned(), value);
            }
        } else {
            record.insert(key.to_owned(), value);
        }
    }
    Value::Object(record)
}

#[utoipa::path(
    post,
    path = "/{version}/servicePrincipals/{sp_id}/synchronization/jobs/{job_id}/schema/parseExpression",
    operation_id = "parseExpression",
    tag = "schema",
    description = "Parse an attribute-mapping expression and, with `testInputObject`, evaluate it.",
    request_body(content_type = "application/json", description = "`{\"expression\": \"…\", \"testInputObject\": {…}, \"targetAttributeDefinition\": null}`"),
    responses(
        (status = 200, description = "`parsingSucceeded`, `evaluationSucceeded`, `evaluationResult`, `parsedExpression`, `error`", body = ref("#/components/schemas/GraphEntity")),
        (status = 400, description = "Not JSON, no `expression`, or an invalid `testInputObject`", body = ref("#/components/schemas/GraphError")),
        (status = 413, description = "The body is over the size limit", body = ref("#/components/schemas/GraphError")),
        (status = 403, description = "The token lacks `Synchronization.Read.All` and `Synchronization.ReadWrite.All`", body = ref("#/components/schemas/GraphError")),
        (status = 404, description = "Unknown service principal or job", body = ref("#/components/schemas/GraphError")),
    ),
    security(("graph" = [])),
)]
async fn parse_expression(
    State(state): State<AppState>,
    Path(path): JobPath,
    principal: Principal,
    GraphBytes(body): GraphBytes,
) -> Result<Json<Value>, ApiError> {
    job_for(&state, &path, &principal, Access::Read)?;
    let request: ParseRequest = serde_json::from_value(json_body(&body)?)
        .map_err(|e| ApiError::bad_request(format!("Invalid parseExpression request: {e}.")))?;
    let Some(expression) = request.expression.filter(|e| !e.trim().is_empty()) else {
        return Err(ApiError::bad_request("The 'expression' property is required."));
    };
    let properties = request.test_input_object.map(|t| t.properties).unwrap_or_default();
    let now = state.clock.now();
    let default_domain = state.config.tenant.default_domain.clone();
    tokio::task::spawn_blocking(move || test_expression(&expression, &properties, now, &default_domain))
        .await
        .map_err(|e| ApiError::Internal(format!("parseExpression stopped: {e}")))?
        .map(Json)
}

/// Parses `expression` and evaluates it against the test properties: the `parseExpression` answer.
fn test_expression(
    expression: &str,
    properties: &[KeyValue],
    now: time::OffsetDateTime,
    default_domain: &str,
) -> Result<Value, ApiError> {
    let parsed = match expr::parse(expression) {
        Ok(p) => p,
        Err(e) => {
            return Ok(json!({
                "error": {"code": "ExpressionParsingFailed", "message": e.to_string(), "target": expression, "details": []},
                "evaluationResult": null,
                "evaluationSucceeded": false,
                "parsedExpression": null,
                "parsingSucceeded": false,
            }));
        }
    };
    let record = test_record(properties).to_string();
    let record = crate::scim::record::parse(&record)
        .map_err(|e| ApiError::bad_request(format!("Invalid testInputObject: {e}.")))?;
    let ctx = EvalContext::new(now, default_domain);
    let (result, error) = match expr::evaluate(&parsed, &record, &ctx) {
        Ok(ev) if ev.ignore_flow => (Value::Null, Value::Null),
        Ok(ev) => (json!(ev.value.values()), Value::Null),
        Err(e) => (Value::Null, json!({"code": "ExpressionEvaluationFailed", "message": e.to_string(), "details": []})),
    };
    Ok(json!({
        "error": error,
        "evaluationResult": result,
        "evaluationSucceeded": error.is_null(),
        "parsedExpression": parsed.to_mapping_source(),
        "parsingSucceeded": true,
    }))
}

#[utoipa::path(
    get,
    path = "/{version}/servicePrincipals/{sp_id}/synchronization/jobs/{job_id}/schema/functions",
    operation_id = "listAttributeMappingFunctions",
    tag = "schema",
    description = "The expression functions the emulator implements.",
    responses(
        (status = 200, description = "attributeMappingFunctionSchema entries", body = ref("#/components/schemas/GraphCollection")),
        (status = 403, description = "The token lacks `Synchronization.Read.All` and `Synchronization.ReadWrite.All`", body = ref("#/components/schemas/GraphError")),
        (status = 404, description = "Unknown service principal or job", body = ref("#/components/schemas/GraphError")),
    ),
    security(("graph" = [])),
)]
async fn functions(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(path): JobPath,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    let (version, _) = job_for(&state, &path, &principal, Access::Read)?;
    Ok(Json(json!({
        "@odata.context": format!("{}/$metadata#Collection(microsoft.graph.attributeMappingFunctionSchema)", version.service_root(&base)),
        "value": expr::catalog(),
    })))
}

#[utoipa::path(
    get,
    path = "/{version}/servicePrincipals/{sp_id}/synchronization/jobs/{job_id}/schema/filterOperators",
    operation_id = "listFilterOperators",
    tag = "schema",
    description = "The scoping-filter operators.",
    responses(
        (status = 200, description = "filterOperatorSchema entries", body = ref("#/components/schemas/GraphCollection")),
        (status = 403, description = "The token lacks `Synchronization.Read.All` and `Synchronization.ReadWrite.All`", body = ref("#/components/schemas/GraphError")),
        (status = 404, description = "Unknown service principal or job", body = ref("#/components/schemas/GraphError")),
    ),
    security(("graph" = [])),
)]
async fn filter_operators(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(path): JobPath,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    let (version, _) = job_for(&state, &path, &principal, Access::Read)?;
    let value: Vec<Value> = OPERATORS
        .iter()
        .map(|(name, arity)| {
            json!({
                "name": name,
                "arity": arity,
                "multivaluedComparisonType": "All",
                "supportedAttributeTypes": ["String", "Integer", "Reference", "Binary", "Boolean", "DateTime"],
            })
        })
        .collect();
    Ok(Json(json!({
        "@odata.context": format!("{}/$metadata#Collection(microsoft.graph.filterOperatorSchema)", version.service_root(&base)),
        "value": value,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_properties_become_a_scim_record() {
        let kv = |k: &str, v: &str| KeyValue { key: k.into(), value: Some(v.into()) };
        let r = test_record(&[
            kv("givenName", "Lisa"),
            kv("name.familyName", "Taylor"),
            kv("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "Sales"),
            kv("emails[type eq \"work\"].value", "l@x.com"),
        ]);
        assert_eq!(r["givenName"], "Lisa");
        assert_eq!(r["name"]["familyName"], "Taylor");
        assert_eq!(r["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"], "Sales");
        assert_eq!(r["emails"][0]["type"], "work");
        assert_eq!(r["emails"][0]["value"], "l@x.com");
    }
}
