//! The OpenAPI document (docs/fidelity.md#emulator-surfaces, row E.16): `/openapi.json` and `entra-inbound openapi`
//! print the same bytes as the committed `openapi.json`, and the document lists exactly the routes the router
//! serves — found by walking the router's routing table and probing each path with each method — so a route
//! added without its annotation (or an annotation without its route) fails here.

use std::collections::BTreeSet;

use crate::support::*;

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

fn cli_document() -> String {
    let out = command().arg("openapi").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn openapi_json_is_served_without_a_token_and_equals_the_cli_output_and_the_committed_file() {
    let s = TestServer::start().await;
    let r = s.http.get(format!("{}/openapi.json", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let served = r.text().await.unwrap();
    let doc: serde_json::Value = serde_json::from_str(&served).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "entra-inbound");

    assert_eq!(served, cli_document(), "GET /openapi.json and `entra-inbound openapi` differ");
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json")).unwrap();
    assert!(
        committed == served,
        "openapi.json is out of date: regenerate it with `cargo run --quiet -- openapi > openapi.json`"
    );
}

#[tokio::test]
async fn openapi_json_answers_other_methods_405() {
    let s = TestServer::start().await;
    let r = s.http.post(format!("{}/openapi.json", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "GET,HEAD");
}

#[test]
fn the_openapi_command_prints_a_document_with_every_surface() {
    let doc: serde_json::Value = serde_json::from_str(&cli_document()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/{version}/servicePrincipals/{sp_id}/synchronization/jobs/{job_id}/bulkUpload",
        "/{version}/users/$count",
        "/{version}/servicePrincipals/{sp_id}/synchronization/jobs/{job_id}/schema/parseExpression",
        "/{tenant}/oauth2/v2.0/token",
        "/_emulator/reset",
        "/scim/v2/{collection}/{id}",
        "/admin/v1/Bulk",
        "/oauth2/v1/token",
        "/openapi.json",
    ] {
        assert!(paths.contains_key(path), "{path} is not documented");
    }
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    assert_eq!(schemes.keys().collect::<Vec<_>>(), ["admin", "graph", "idcs"]);
    let upload = &paths["/{version}/servicePrincipals/{sp_id}/synchronization/jobs/{job_id}/bulkUpload"]["post"];
    assert_eq!(upload["security"], serde_json::json!([{"graph": []}]));
    assert!(upload["requestBody"]["content"]["application/scim+json"].is_object(), "{upload}");
    assert_eq!(
        upload["responses"]["400"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/GraphError"
    );
    let scim_get = &paths["/scim/v2/{collection}/{id}"]["get"];
    assert_eq!(
        scim_get["responses"]["404"]["content"]["application/scim+json"]["schema"]["$ref"],
        "#/components/schemas/ScimError"
    );
}

/// `/{a}/b/{c}` → `/{}/b/{}`: the router and the document may name a parameter differently (the identity
/// routes' first segment is `{version}` in the router, `{tenant}` in the document).
fn shape(path: &str) -> String {
    path.split('/').map(|s| if s.starts_with('{') { "{}" } else { s }).collect::<Vec<_>>().join("/")
}

/// The paths of the router's routing table. axum exposes no route list, but its `Debug` form names every
/// path (`RouteId(n): "/path"`); the routes proper come before the fallbacks'.
fn router_paths(s: &TestServer) -> Vec<String> {
    let table = format!("{:?}", entra_inbound::api::router(s.state.clone()));
    let routes = table.split("fallback_router").next().unwrap();
    let paths: Vec<String> = routes
        .split("): \"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .filter(|p| p.starts_with('/'))
        .collect();
    assert!(
        paths.len() > 40 && paths.iter().any(|p| p == "/health"),
        "the router's Debug form no longer lists its paths; update this walk: {routes}"
    );
    paths
}

/// A request path for a route: every parameter given a value that reaches the handler.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment {
            "{version}" => "v1.0",
            "{sp_id}" => SP,
            "{job_id}" => JOB,
            "{collection}" => "Users",
            "{name}" => "User",
            "{file}" => "app.js",
            s if s.starts_with('{') => "x",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether the router routes `method` on `path` to a handler: not 405, and not the router's own 404 (Graph's
/// `NotFound` "Resource not found for the segment …", or SCIM's "No SCIM endpoint at this path.").
async fn serves(s: &TestServer, method: &str, path: &str) -> bool {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let r = s.http.request(method, format!("{}{}", s.base, concrete(path))).send().await.unwrap();
    let status = r.status().as_u16();
    let body = r.text().await.unwrap();
    let unrouted =
        body.contains("Resource not found for the segment") || body.contains("No SCIM endpoint at this path.");
    status != 405 && !(status == 404 && unrouted)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_document_lists_exactly_the_routes_the_router_serves() {
    let s = TestServer::start().await;
    let mut served = BTreeSet::new();
    for path in router_paths(&s) {
        for method in METHODS {
            if serves(&s, method, &path).await {
                served.insert((shape(&path), method.to_string()));
            }
        }
    }
    let doc: serde_json::Value = serde_json::from_str(&cli_document()).unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if item.get(method.to_ascii_lowercase()).is_some() {
                documented.insert((shape(path), method.to_string()));
            }
        }
    }
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "served but not in the OpenAPI document (annotate the handler and list it in its surface's openapi()): \
         {undocumented:?}\ndocumented but not served: {unserved:?}"
    );
    assert!(served.len() > 45, "{served:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_route_walk_tells_a_routed_path_from_an_unrouted_one() {
    let s = TestServer::start().await;
    assert!(serves(&s, "GET", "/{version}/users").await);
    assert!(!serves(&s, "POST", "/{version}/users").await, "405");
    assert!(!serves(&s, "GET", "/{version}/groups").await, "Graph's unknown segment");
    assert!(!serves(&s, "GET", "/scim/v2/Nothing/x/y").await, "SCIM's unknown path");
    assert!(!serves(&s, "DELETE", "/health").await, "axum's 405");
}
