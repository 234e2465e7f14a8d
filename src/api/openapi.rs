//! The emulator's OpenAPI 3.1 document, built from the `#[utoipa::path]` annotation on every handler
//! (docs/fidelity.md#emulator-surfaces, row E.16): served at `GET /openapi.json`, printed by `entra-inbound openapi`,
//! committed as `openapi.json` (`.ci/run` fails when the committed file differs from what the binary prints).
//!
//! It describes this emulator, not Microsoft's services (the real Graph publishes a CSDL `$metadata`
//! document instead). Each surface lists its own annotated handlers (`graph::openapi`, `identity::openapi`,
//! `admin::openapi`, `scim::openapi`); this module merges them, adds what annotations cannot say once for all
//! (the path parameters, from a table by name; the shared schemas and security schemes; with
//! `answer_everywhere`, the errors every route of a surface answers alike, such as 401), and serialises.
//! The document depends on no configuration, so the CLI and every server print the same bytes.
//! `tests/it/openapi.rs` walks the router's routes and fails when a route and the document disagree.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;
use utoipa::openapi::path::Operation;
use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ArrayBuilder, ArrayItems, ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Components, ContentBuilder, PathItem, Ref, RefOr, Required, ResponseBuilder};

use crate::error::ApiError;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "entra-inbound",
        description = "A local emulator of Microsoft Entra ID API-driven inbound provisioning: the Graph bulkUpload \
            endpoint and what surrounds it (provisioning logs, users, jobs and schema, a token authority), a SCIM 2.0 \
            service provider, and a control API for test suites. This document describes the emulator's own \
            routes; the real Microsoft Graph publishes a CSDL $metadata document instead. Every request may also be \
            answered 408 (the request timeout), 431 (too many or too large header fields) or 500, in the envelope \
            of its surface."
    ),
    paths(openapi_json),
    tags(
        (name = "bulkUpload", description = "API-driven inbound provisioning: SCIM bulk requests to a job"),
        (name = "provisioning logs", description = "One provisioningObjectSummary per processed operation"),
        (name = "users", description = "The directory the provisioning engine writes"),
        (name = "jobs", description = "Synchronization jobs and their state"),
        (name = "schema", description = "A job's synchronization schema: attribute mappings and expressions"),
        (name = "identity", description = "The token authority: client credentials, OpenID discovery, JWKS"),
        (name = "control", description = "The emulator's control API for test suites, and its probes"),
        (name = "SCIM 2.0 (RFC 7644)", description = "The SCIM service provider under /scim/v2"),
        (name = "SCIM 2.0 (Oracle IDCS)", description = "The same SCIM service provider in Oracle IDCS's dialect, under /admin/v1, and its token endpoint"),
        (name = "dashboard", description = "The web dashboard: a page and its files, embedded in the binary"),
        (name = "document", description = "This document"),
    )
)]
struct Root;

/// The whole document: every surface's annotated routes, path parameters, shared schemas, security schemes.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = Root::openapi();
    doc.merge(super::graph::openapi());
    doc.merge(super::identity::openapi());
    doc.merge(super::admin::openapi());
    doc.merge(super::metrics::openapi());
    doc.merge(super::scim::openapi());
    doc.merge(super::dashboard::openapi());
    declare_path_parameters(&mut doc);
    let components = doc.components.get_or_insert_with(Components::new);
    add_security_schemes(components);
    add_schemas(components);
    doc
}

/// The document as `entra-inbound openapi` prints it and `/openapi.json` serves it: pretty JSON and a newline.
pub fn document_json() -> Result<String, serde_json::Error> {
    Ok(document().to_pretty_json()? + "\n")
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "document",
    responses((status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json")),
)]
pub(super) async fn openapi_json() -> Response {
    match document_json() {
        Ok(text) => ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], text).into_response(),
        Err(e) => ApiError::Internal(format!("the OpenAPI document could not be serialised: {e}")).into_response(),
    }
}

/// Documents `alias` as the same operations as `path` (a second route to the same handler), each operation id
/// suffixed with `suffix`. Nothing happens when `path` is not documented (the route test then fails).
pub(super) fn alias(doc: &mut utoipa::openapi::OpenApi, path: &str, alias: &str, suffix: &str) {
    let Some(mut item) = doc.paths.paths.get(path).cloned() else { return };
    for op in [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten() {
        op.operation_id = op.operation_id.take().map(|id| id + suffix);
    }
    doc.paths.paths.insert(alias.to_owned(), item);
}

/// Gives every operation of `doc` the tag `tag` and an operation id prefixed with `prefix` (`list` → `scimList`),
/// for a set of routes the router serves under more than one base path.
pub(super) fn rename_operations(doc: &mut utoipa::openapi::OpenApi, prefix: &str, tag: &str) {
    for item in doc.paths.paths.values_mut() {
        for op in operations(item) {
            op.tags = Some(vec![tag.to_owned()]);
            op.operation_id = op.operation_id.take().map(|id| {
                let mut chars = id.chars();
                let first = chars.next().map(|c| c.to_ascii_uppercase().to_string()).unwrap_or_default();
                format!("{prefix}{first}{}", chars.as_str())
            });
        }
    }
}

/// The path parameters, by the name the document's paths give them, with the values they are limited to (any
/// string when empty).
const PATH_PARAMETERS: &[(&str, &str, &[&str])] = &[
    ("version", "The Graph API version.", &["v1.0", "beta"]),
    ("sp_id", "The provisioning app's service principal id.", &[]),
    ("job_id", "The synchronization job id (`API2AAD.…`).", &[]),
    ("id", "The resource's id.", &[]),
    ("tenant", "The tenant id or one of its domains; `common` and `organizations` serve discovery and keys only.", &[]),
    ("collection", "The SCIM resource collection.", &["Users", "Groups"]),
    ("name", "The resource type's name.", &["User", "Group"]),
    ("file", "A file of the dashboard (`app.js`, `app.css`, …).", &[]),
];

/// Declares every `{name}` of every path as a required string path parameter, described by [`PATH_PARAMETERS`].
fn declare_path_parameters(doc: &mut utoipa::openapi::OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        let names = path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')));
        let parameters: Vec<_> = names
            .map(|name| {
                let known = PATH_PARAMETERS.iter().find(|(n, _, _)| *n == name);
                let values = known.map_or(&[][..], |(_, _, values)| *values);
                let schema = string("").enum_values((!values.is_empty()).then(|| values.to_vec()));
                let parameter = ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .description(known.map(|(_, d, _)| *d))
                    .schema(Some(schema))
                    .build();
                RefOr::T(parameter)
            })
            .collect();
        if !parameters.is_empty() {
            item.parameters = Some(parameters);
        }
        let limited =
            PATH_PARAMETERS.iter().any(|(name, _, values)| !values.is_empty() && path.contains(&format!("{{{name}}}")));
        if limited {
            add_not_found(path, item);
        }
    }
}

/// A value outside a path parameter's listed values (an unknown API version, SCIM collection or resource type)
/// reaches no route: 404 in the envelope of the path's surface. Added to each such operation that does not
/// document a 404 of its own.
fn add_not_found(path: &str, item: &mut PathItem) {
    let envelope = if path.starts_with("/{version}") { Envelope::Graph } else { Envelope::Scim };
    for op in operations(item) {
        op.responses
            .responses
            .entry("404".to_owned())
            .or_insert_with(|| error_response("A path parameter outside its listed values: no such route", envelope));
    }
}

/// The error body of a surface: its schema and media type.
#[derive(Debug, Clone, Copy)]
pub(super) enum Envelope {
    Graph,
    Scim,
}

/// An error answer described once for every operation of `doc` — for what every route of a surface answers
/// alike (401 without a valid token), instead of repeating it on each handler.
pub(super) fn answer_everywhere(
    doc: &mut utoipa::openapi::OpenApi,
    status: u16,
    description: &str,
    envelope: Envelope,
) {
    for item in doc.paths.paths.values_mut() {
        for op in operations(item) {
            op.responses.responses.insert(status.to_string(), error_response(description, envelope));
        }
    }
}

fn error_response(description: &str, envelope: Envelope) -> RefOr<utoipa::openapi::Response> {
    let (schema, media_type) = match envelope {
        Envelope::Graph => ("GraphError", "application/json"),
        Envelope::Scim => ("ScimError", "application/scim+json"),
    };
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name(schema))).build();
    RefOr::T(ResponseBuilder::new().description(description).content(media_type, content).build())
}

/// The operations of a path, whatever their method.
fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
}

fn add_security_schemes(components: &mut Components) {
    let bearer = |description: &str| {
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some(description))
                .build(),
        )
    };
    components.add_security_scheme(
        "graph",
        bearer(
            "A Graph access token for the emulator (its token endpoint, or `entra-inbound token`), with the role the \
             operation needs in `roles` (or `scp`). With `auth.mode = \"lenient\"` any non-empty token is accepted.",
        ),
    );
    components.add_security_scheme(
        "idcs",
        bearer("An Oracle IDCS-style token from `POST /oauth2/v1/token` (the SCIM service provider also accepts Graph tokens)."),
    );
    components.add_security_scheme(
        "admin",
        bearer("`admin.token` from the configuration; without it the control API needs no token."),
    );
}

fn string(description: &str) -> ObjectBuilder {
    let s = ObjectBuilder::new().schema_type(Type::String);
    if description.is_empty() { s } else { s.description(Some(description)) }
}

fn object(description: &str) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Object).description(Some(description))
}

fn array_of(items: impl Into<ArrayItems>) -> ArrayBuilder {
    ArrayBuilder::new().items(items)
}

/// The schemas the annotations refer to (`#/components/schemas/…`): the error bodies of each surface, and the
/// key properties of the bodies whose full shape is the real service's (see docs/fidelity.md).
fn add_schemas(components: &mut Components) {
    let schemas = [
        (
            "GraphError",
            object("The Graph error envelope.")
                .property(
                    "error",
                    ObjectBuilder::new()
                        .schema_type(Type::Object)
                        .property("code", string("e.g. `BadRequest`, `InvalidAuthenticationToken`, `Request_ResourceNotFound`"))
                        .property("message", string(""))
                        .property(
                            "details",
                            array_of(
                                ObjectBuilder::new()
                                    .schema_type(Type::Object)
                                    .property("code", string(""))
                                    .property("message", string(""))
                                    .property("target", string("")),
                            ),
                        )
                        .property(
                            "innerError",
                            ObjectBuilder::new()
                                .schema_type(Type::Object)
                                .property("date", string("`YYYY-MM-DDTHH:MM:SS`"))
                                .property("request-id", string(""))
                                .property("client-request-id", string("")),
                        )
                        .required("code")
                        .required("message"),
                )
                .required("error"),
        ),
        (
            "GraphCollection",
            object("An OData collection page.")
                .property("@odata.context", string(""))
                .property("@odata.nextLink", string("Present when there are more pages."))
                .property("@odata.count", ObjectBuilder::new().schema_type(Type::Integer))
                .property("value", array_of(ObjectBuilder::new().schema_type(Type::Object)))
                .required("value"),
        ),
        (
            "GraphEntity",
            object("A Graph entity (`provisioningObjectSummary`, `user`, `synchronizationJob`, `synchronizationSchema`) with its `@odata.context`.")
                .property("@odata.context", string(""))
                .property("id", string("")),
        ),
        (
            "BulkRequest",
            object("A SCIM BulkRequest (RFC 7644 §3.7) of users, at most 50 operations.")
                .property("schemas", array_of(string("`urn:ietf:params:scim:api:messages:2.0:BulkRequest`")))
                .property(
                    "Operations",
                    array_of(
                        ObjectBuilder::new()
                            .schema_type(Type::Object)
                            .property("method", string("`POST`"))
                            .property("bulkId", string(""))
                            .property("path", string("`/Users`"))
                            .property("data", object("A SCIM user, with the enterprise extension and custom extensions.")),
                    ),
                )
                .property("failOnErrors", ObjectBuilder::new().schema_type(Type::Integer))
                .required("schemas")
                .required("Operations"),
        ),
        (
            "OAuthError",
            object("An OAuth 2.0 error; the Entra token authority adds `error_codes` (AADSTS), `timestamp`, `trace_id`, `correlation_id`, `error_uri`.")
                .property("error", string("e.g. `invalid_request`, `invalid_client`, `invalid_scope`"))
                .property("error_description", string(""))
                .property("error_codes", array_of(ObjectBuilder::new().schema_type(Type::Integer)))
                .required("error"),
        ),
        (
            "OpenIdConfiguration",
            object("An OpenID Connect discovery document; every URL on the origin it was requested on.")
                .property("issuer", string(""))
                .property("token_endpoint", string(""))
                .property("jwks_uri", string(""))
                .required("issuer")
                .required("token_endpoint")
                .required("jwks_uri"),
        ),
        (
            "Jwks",
            object("A JSON Web Key Set (RFC 7517): the emulator's RS256 signing key.")
                .property("keys", array_of(object("`kty`, `use`, `kid`, `x5t`, `n`, `e`, `x5c` (and `issuer` in v2.0).")))
                .required("keys"),
        ),
        (
            "TokenRequest",
            object("A client-credentials token request (`application/x-www-form-urlencoded`).")
                .property("grant_type", string("`client_credentials`"))
                .property("client_id", string(""))
                .property("client_secret", string("Or HTTP Basic authentication."))
                .property("scope", string("v2.0 and IDCS: e.g. `https://graph.microsoft.com/.default`"))
                .property("resource", string("v1: e.g. `https://graph.microsoft.com`"))
                .property("client_assertion_type", string("`urn:ietf:params:oauth:client-assertion-type:jwt-bearer`"))
                .property("client_assertion", string("A JWT signed by one of the client's certificates."))
                .required("grant_type"),
        ),
        (
            "TokenResponse",
            object("An access token.")
                .property("token_type", string("`Bearer`"))
                .property("expires_in", ObjectBuilder::new().schema_type(Type::Integer))
                .property("access_token", string(""))
                .required("access_token"),
        ),
        (
            "Status",
            object("A probe's answer.").property("status", string("`healthy`, `ready` or `starting`")).required("status"),
        ),
        (
            "Drained",
            object("The job processed and logged everything staged before the call.")
                .property("jobId", string(""))
                .property("processed", ObjectBuilder::new().schema_type(Type::Integer))
                .property("pending", ObjectBuilder::new().schema_type(Type::Integer))
                .required("jobId"),
        ),
        (
            "Clock",
            object("The emulator's virtual clock.")
                .property("mode", string("`system`, or `offset` once moved"))
                .property("now", string("Virtual time now, RFC 3339 UTC"))
                .property("offsetSeconds", ObjectBuilder::new().schema_type(Type::Integer))
                .required("mode")
                .required("now")
                .required("offsetSeconds"),
        ),
        (
            "ScimError",
            object("A SCIM error (RFC 7644 §3.12).")
                .property("schemas", array_of(string("`urn:ietf:params:scim:api:messages:2.0:Error`")))
                .property("status", string("The HTTP status, as a string."))
                .property("scimType", string("e.g. `invalidFilter`, `uniqueness`, `invalidValue`"))
                .property("detail", string(""))
                .required("schemas")
                .required("status"),
        ),
        (
            "ScimListResponse",
            object("A SCIM ListResponse (RFC 7644 §3.4.2).")
                .property("schemas", array_of(string("`urn:ietf:params:scim:api:messages:2.0:ListResponse`")))
                .property("totalResults", ObjectBuilder::new().schema_type(Type::Integer))
                .property("startIndex", ObjectBuilder::new().schema_type(Type::Integer))
                .property("itemsPerPage", ObjectBuilder::new().schema_type(Type::Integer))
                .property("Resources", array_of(ObjectBuilder::new().schema_type(Type::Object)))
                .required("schemas")
                .required("totalResults"),
        ),
        (
            "ScimResource",
            object("A SCIM resource (a User with its extensions, a Group, or a discovery resource).")
                .property("schemas", array_of(string("")))
                .property("id", string(""))
                .property("meta", object("`resourceType`, `created`, `lastModified`, `location`, `version`.")),
        ),
    ];
    for (name, schema) in schemas {
        components.schemas.insert(name.to_owned(), schema.into());
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn json() -> serde_json::Value {
        serde_json::from_str(&document_json().unwrap()).unwrap()
    }

    #[test]
    fn the_document_is_openapi_3_1_with_unique_operation_ids() {
        let doc = json();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
        let mut ids = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap().iter().filter(|(_, op)| op.is_object()) {
                let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
                assert!(ids.insert(id.to_owned()), "operationId {id} is used twice");
            }
        }
    }

    #[test]
    fn every_reference_and_path_parameter_resolves() {
        let doc = json();
        let text = doc.to_string();
        for reference in text.split("\"$ref\":\"").skip(1).map(|rest| rest.split('"').next().unwrap_or_default()) {
            let pointer = reference.trim_start_matches('#');
            assert!(doc.pointer(pointer).is_some(), "{reference} does not resolve");
        }
        for (path, item) in doc["paths"].as_object().unwrap() {
            let declared = item["parameters"].as_array().map(Vec::len).unwrap_or(0);
            assert_eq!(declared, path.matches('{').count(), "{path}");
            for parameter in item["parameters"].as_array().into_iter().flatten() {
                assert!(parameter["description"].is_string(), "{path}: {parameter} has no description");
            }
        }
    }

    #[test]
    fn operations_name_their_security_schemes() {
        let doc = json();
        let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
        for item in doc["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values().filter(|op| op.is_object()) {
                for requirement in op["security"].as_array().into_iter().flatten() {
                    for name in requirement.as_object().unwrap().keys() {
                        assert!(schemes.contains_key(name), "{name}");
                    }
                }
            }
        }
    }
}
