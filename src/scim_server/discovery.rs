//! The discovery documents (RFC 7644 §4): `ServiceProviderConfig`, `ResourceTypes` and `Schemas`, built from the
//! limits the server enforces and the schema table it validates with, so what is advertised is what is done
//! (docs/fidelity.md#s3-discovery).

use serde_json::{Value, json};

use super::Limits;
use super::dialect::Dialect;
use super::error::ScimError;
use super::query::LIST_RESPONSE_SCHEMA;
use super::resource::{core_schema, endpoint, extensions, type_name};
use super::schema;
use crate::store::ScimKind;

/// `GET /ServiceProviderConfig`; `base` is the dialect's base URL.
pub fn service_provider_config(dialect: Dialect, limits: &Limits, base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": dialect.documentation_uri(),
        "patch": {"supported": true},
        "bulk": {"supported": true, "maxOperations": limits.max_operations, "maxPayloadSize": limits.max_payload_bytes},
        "filter": {"supported": true, "maxResults": limits.max_results},
        "changePassword": {"supported": true},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": dialect.token_description(),
            "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
            "documentationUri": dialect.documentation_uri(),
            "primary": true,
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")},
    })
}

fn resource_type(kind: ScimKind, base: &str) -> Value {
    let name = type_name(kind);
    let extensions: Vec<Value> = extensions(kind).iter().map(|e| json!({"schema": e.id, "required": false})).collect();
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": name,
        "name": name,
        "endpoint": endpoint(kind),
        "description": core_schema(kind).description,
        "schema": core_schema(kind).id,
        "schemaExtensions": extensions,
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{name}")},
    })
}

const KINDS: [ScimKind; 2] = [ScimKind::User, ScimKind::Group];

fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// `GET /ResourceTypes`.
pub fn resource_types(base: &str) -> Value {
    list(KINDS.iter().map(|k| resource_type(*k, base)).collect())
}

/// `GET /ResourceTypes/{name}`.
pub fn resource_type_named(name: &str, base: &str) -> Result<Value, ScimError> {
    KINDS
        .iter()
        .find(|k| type_name(**k) == name)
        .map(|k| resource_type(*k, base))
        .ok_or_else(|| ScimError::not_found(format!("Resource type {name} not found.")))
}

/// `GET /Schemas`.
pub fn schemas(base: &str) -> Value {
    list(schema::ALL.iter().map(|s| s.to_json(&format!("{base}/Schemas/{}", s.id))).collect())
}

/// `GET /Schemas/{urn}`.
pub fn schema_named(id: &str, base: &str) -> Result<Value, ScimError> {
    schema::ALL
        .iter()
        .find(|s| s.id == id)
        .map(|s| s.to_json(&format!("{base}/Schemas/{}", s.id)))
        .ok_or_else(|| ScimError::not_found(format!("Schema {id} not found.")))
}
