//! Authentication, the IDCS token endpoint and discovery of the SCIM service provider
//! (docs/fidelity.md#s3-discovery, docs/fidelity.md#s6-authentication).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;
use serde_json::{Value, json};

use crate::identity::{CLIENT, SECRET};
use crate::scim_support::*;
use crate::support::TestServer;

async fn idcs_token(s: &TestServer, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> (u16, Value) {
    let mut r = s.http.post(format!("{}/oauth2/v1/token", s.base)).form(form);
    if let Some((id, secret)) = basic {
        r = r.header("authorization", format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))));
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

const GRANT: (&str, &str) = ("grant_type", "client_credentials");
const SCOPE: (&str, &str) = ("scope", "urn:opc:idm:__myscopes__");

#[tokio::test]
async fn idcs_clients_get_tokens_from_oauth2_v1_token_and_use_them() {
    let s = TestServer::start().await;
    let (status, body) = idcs_token(&s, &[GRANT, SCOPE], Some((CLIENT, SECRET))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.as_object().unwrap().keys().collect::<Vec<_>>(), vec!["access_token", "token_type", "expires_in"]);
    assert_eq!((body["token_type"].clone(), body["expires_in"].clone()), (json!("Bearer"), json!(3599)));
    let token = body["access_token"].as_str().unwrap();
    let r = s.scim_as(token, Method::POST, IDCS, "/Users", Some(user("ann"))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = s.scim_as(token, Method::GET, V2, "/Users", None).await;
    assert_eq!(r.body["totalResults"], 1, "the same token works on /scim/v2");
    let (status, _) = idcs_token(&s, &[GRANT, SCOPE, ("client_id", CLIENT), ("client_secret", SECRET)], None).await;
    assert_eq!(status, 200, "credentials in the form are accepted too");

    for (form, basic, status, error) in [
        (vec![GRANT, SCOPE], Some((CLIENT, "wrong")), 401, "invalid_client"),
        (vec![GRANT, SCOPE], Some(("unknown-client", SECRET)), 401, "invalid_client"),
        (vec![GRANT, SCOPE], None, 401, "invalid_client"),
        (vec![GRANT, ("scope", "urn:opc:idm:t.user.me")], Some((CLIENT, SECRET)), 400, "invalid_scope"),
        (vec![("grant_type", "password"), SCOPE], Some((CLIENT, SECRET)), 400, "unsupported_grant_type"),
        (vec![SCOPE], Some((CLIENT, SECRET)), 400, "invalid_request"),
    ] {
        let (got, body) = idcs_token(&s, &form, basic).await;
        assert_eq!((got, body["error"].as_str()), (status, Some(error)), "{form:?}: {body}");
        assert!(body["error_description"].as_str().is_some_and(|d| !d.is_empty()));
    }
    let r = s.http.get(format!("{}/oauth2/v1/token", s.base)).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["allow"].to_str().unwrap()), (405, "POST"));
}

#[tokio::test]
async fn missing_or_bad_tokens_get_401_and_missing_roles_403() {
    let s = TestServer::start().await;
    let r = read(s.http.get(format!("{}{V2}/Users", s.base)).send().await.unwrap()).await;
    assert_scim_error(&r, 401, None, "Authorization failure");
    assert_eq!(r.header("www-authenticate"), "Bearer realm=\"SCIM\"");
    for token in ["garbage", &s.token_with(&["Directory.ReadWrite.All"], "https://graph.microsoft.com", -3600)] {
        let r = s.scim_as(token, Method::GET, IDCS, "/Users", None).await;
        assert_scim_error(&r, 401, None, "Authorization failure");
    }
    let upload_only = s.token_with(&["SynchronizationData-User.Upload"], "https://graph.microsoft.com", 3600);
    let r = s.scim_as(&upload_only, Method::GET, V2, "/ServiceProviderConfig", None).await;
    assert_scim_error(&r, 403, None, "not permitted");
    let reader = s.token_with(&["Directory.Read.All"], "https://graph.microsoft.com", 3600);
    assert_eq!(s.scim_as(&reader, Method::GET, V2, "/Users", None).await.status, 200);
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]});
    assert_eq!(s.scim_as(&reader, Method::POST, V2, "/Users/.search", Some(search)).await.status, 200);
    let r = s.scim_as(&reader, Method::POST, V2, "/Users", Some(user("x"))).await;
    assert_scim_error(&r, 403, None, "not permitted");
    let r = s.scim_as(&reader, Method::POST, IDCS, "/Bulk", Some(bulk(json!([])))).await;
    assert_scim_error(&r, 403, None, "not permitted");

    // An IDCS token carries its client's roles: a client without Directory.ReadWrite.All may only read.
    let s = TestServer::with_config(|c| c.clients[0].roles = vec!["Directory.Read.All".into()]).await;
    let (_, body) = idcs_token(&s, &[GRANT, SCOPE], Some((CLIENT, SECRET))).await;
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(s.scim_as(token, Method::GET, IDCS, "/Groups", None).await.status, 200);
    assert_scim_error(
        &s.scim_as(token, Method::POST, IDCS, "/Groups", Some(group("g", &[]))).await,
        403,
        None,
        "not permitted",
    );
}

#[tokio::test]
async fn discovery_advertises_what_the_server_enforces() {
    let s = TestServer::with_config(|c| {
        c.scim.max_operations = 7;
        c.scim.max_payload_bytes = 4096;
        c.scim.max_results = 5;
    })
    .await;
    for prefix in [V2, IDCS] {
        let spc = s.scim(Method::GET, prefix, "/ServiceProviderConfig", None).await;
        assert_eq!((spc.status, spc.header("content-type")), (200, "application/scim+json"));
        let b = &spc.body;
        assert_eq!(b["bulk"], json!({"supported": true, "maxOperations": 7, "maxPayloadSize": 4096}));
        assert_eq!(b["filter"], json!({"supported": true, "maxResults": 5}));
        for feature in ["patch", "sort", "etag", "changePassword"] {
            assert_eq!(b[feature]["supported"], true, "{feature}");
        }
        assert_eq!(b["authenticationSchemes"][0]["type"], "oauthbearertoken");
        assert_eq!(b["meta"]["location"], format!("{}{prefix}/ServiceProviderConfig", s.base));

        let types = s.scim(Method::GET, prefix, "/ResourceTypes", None).await;
        assert_eq!(types.body["totalResults"], 2);
        let user_type = s.scim(Method::GET, prefix, "/ResourceTypes/User", None).await;
        assert_eq!(user_type.body["endpoint"], "/Users");
        assert_eq!(user_type.body["schemaExtensions"], json!([{"schema": ENTERPRISE, "required": false}]));
        assert_scim_error(&s.scim(Method::GET, prefix, "/ResourceTypes/Device", None).await, 404, None, "Device");

        let schemas = s.scim(Method::GET, prefix, "/Schemas", None).await;
        let ids: Vec<&str> =
            schemas.body["Resources"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(ids, vec![USER, ENTERPRISE, GROUP]);
        let group_schema = s.scim(Method::GET, prefix, &format!("/Schemas/{GROUP}"), None).await;
        assert_eq!(group_schema.body["attributes"][0]["name"], "displayName");
        assert_scim_error(&s.scim(Method::GET, prefix, "/Schemas/urn:x", None).await, 404, None, "urn:x");
        let r = s.scim(Method::POST, prefix, "/ServiceProviderConfig", Some(json!({}))).await;
        assert_scim_error(&r, 405, None, "allows GET");
    }
    // filter.maxResults caps a page.
    for i in 0..6 {
        s.scim(Method::POST, V2, "/Users", Some(user(&format!("u{i}")))).await;
    }
    let r = s.scim(Method::GET, V2, "/Users?count=100", None).await;
    assert_eq!((r.body["totalResults"].clone(), r.body["itemsPerPage"].clone()), (json!(6), json!(5)));
}
