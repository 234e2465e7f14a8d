//! bulkUpload: every row of docs/fidelity.md A.1, in order, asserting status, headers and error body.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entra_inbound::auth::roles;
use serde_json::{Value, json};

use crate::support::*;

fn op(bulk_id: &str, external_id: &str) -> Value {
    json!({
        "method": "POST", "bulkId": bulk_id, "path": "/Users",
        "data": {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "externalId": external_id, "userName": format!("{external_id}@contoso.com"), "active": true
        }
    })
}

fn bulk(ops: Vec<Value>) -> String {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops, "failOnErrors": null})
        .to_string()
}

const INVALID: &str = "Invalid Data Format";

#[tokio::test]
async fn other_methods_get_405_with_allow_post() {
    let s = TestServer::start().await;
    let url = s.upload_url("v1.0", SP, JOB);
    for method in ["GET", "PUT", "PATCH", "DELETE"] {
        let r = s.http.request(method.parse().unwrap(), &url).bearer_auth(s.token()).send().await.unwrap();
        assert_eq!(r.headers()["allow"], "POST", "{method}");
        assert_graph_error(r, 405, "MethodNotAllowed", "The requested HTTP method is not supported for this resource.")
            .await;
    }
    // The SDKs' generated content.put(): PUT …/bulkUpload/$value with application/octet-stream.
    let r = s
        .http
        .put(format!("{url}/$value"))
        .header("content-type", "application/octet-stream")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["allow"], "POST");
    assert_graph_error(r, 405, "MethodNotAllowed", "The requested HTTP method is not supported for this resource.")
        .await;
}

#[tokio::test]
async fn missing_or_bad_tokens_get_401_with_challenge() {
    let s = TestServer::start().await;
    let url = s.upload_url("v1.0", SP, JOB);
    let body = bulk(vec![op("1", "1")]);
    let send = |auth: Option<String>| {
        let mut req = s.http.post(&url).header("content-type", SCIM).body(body.clone());
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        req.send()
    };

    let r = send(None).await.unwrap();
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.starts_with("Bearer realm=\"\", authorization_uri=\""), "{challenge}");
    assert!(challenge.ends_with("client_id=\"00000003-0000-0000-c000-000000000000\""), "{challenge}");
    assert_graph_error(r, 401, "InvalidAuthenticationToken", "Access token is empty.").await;

    let good = s.token();
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let mut sig = URL_SAFE_NO_PAD.decode(&parts[2]).unwrap();
    sig[0] ^= 1;
    parts[2] = URL_SAFE_NO_PAD.encode(sig);
    let altered = parts.join(".");
    let none = format!("{}.{}.", URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#), parts[1]);
    let cases = [
        (altered, "Invalid signature."),
        (none, "Invalid signature."),
        (
            s.token_with(roles::ALL, "https://graph.microsoft.com", -120),
            "Access token has expired or is not yet valid.",
        ),
        (s.token_with(roles::ALL, "api://someone-else", 3600), "Access token validation failure. Invalid audience."),
        ("garbage".to_owned(), "CompactToken parsing failed with error code: 80049217"),
    ];
    for (token, message) in cases {
        let r = send(Some(format!("Bearer {token}"))).await.unwrap();
        assert!(r.headers().contains_key("www-authenticate"));
        assert_graph_error(r, 401, "InvalidAuthenticationToken", message).await;
    }
    // The GUID audience form is accepted.
    let guid_aud = s.token_with(roles::ALL, "00000003-0000-0000-c000-000000000000", 3600);
    assert_eq!(send(Some(format!("Bearer {guid_aud}"))).await.unwrap().status(), 202);
}

#[tokio::test]
async fn a_token_without_the_upload_role_gets_403() {
    let s = TestServer::start().await;
    let token = s.token_with(&[roles::AUDIT_LOG_READ], "https://graph.microsoft.com", 3600);
    let r = s
        .http
        .post(s.upload_url("v1.0", SP, JOB))
        .bearer_auth(token)
        .header("content-type", SCIM)
        .body(bulk(vec![op("1", "1")]))
        .send()
        .await
        .unwrap();
    assert_graph_error(r, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
        .await;
    // The least-privileged .OwnedBy role is enough.
    let token = s.token_with(&[roles::UPLOAD_OWNED_BY], "https://graph.microsoft.com", 3600);
    let r = s
        .http
        .post(s.upload_url("beta", SP, JOB))
        .bearer_auth(token)
        .header("content-type", SCIM)
        .body(bulk(vec![op("1", "1")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
}

#[tokio::test]
async fn unknown_service_principal_or_job_gets_404() {
    let other_sp = "22222222-0000-4000-8000-000000000001";
    let other_job = "API2AAD.c0ffee00000040008000000000000001.22222222-0000-4000-8000-0000000000b1";
    let s = TestServer::with_config(|c| {
        let mut sp = c.service_principals[0].clone();
        sp.id = other_sp.into();
        sp.jobs[0].id = other_job.into();
        c.service_principals.push(sp);
    })
    .await;
    let cases = [
        ("11111111-0000-4000-8000-000000000000", JOB, "11111111-0000-4000-8000-000000000000"),
        (SP, "API2AAD.nope", "API2AAD.nope"),
        (SP, other_job, other_job), // a job of another service principal
    ];
    for (sp, job, missing) in cases {
        let r = s
            .http
            .post(s.upload_url("v1.0", sp, job))
            .bearer_auth(s.token())
            .header("content-type", SCIM)
            .body(bulk(vec![op("1", "1")]))
            .send()
            .await
            .unwrap();
        let message = format!(
            "Resource '{missing}' does not exist or one of its queried reference-property objects are not present."
        );
        assert_graph_error(r, 404, "Request_ResourceNotFound", &message).await;
    }
}

#[tokio::test]
async fn forty_one_uploads_in_one_second_throttle_only_that_job() {
    let other_sp = "22222222-0000-4000-8000-000000000001";
    let other_job = "API2AAD.c0ffee00000040008000000000000001.22222222-0000-4000-8000-0000000000b1";
    let s = TestServer::with_config(|c| {
        let mut sp = c.service_principals[0].clone();
        sp.id = other_sp.into();
        sp.jobs[0].id = other_job.into();
        c.service_principals.push(sp);
    })
    .await;
    let body = bulk(vec![op("1", "1")]);
    for i in 0..40 {
        assert_eq!(s.upload(body.clone()).await.status(), 202, "upload {i}");
    }
    let r = s.upload(body.clone()).await;
    assert_eq!(r.headers()["retry-after"], "1");
    assert_graph_error(r, 429, "TooManyRequests", "Too many requests.").await;
    let r = s
        .http
        .post(s.upload_url("v1.0", other_sp, other_job))
        .bearer_auth(s.token())
        .header("content-type", SCIM)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "another job is unaffected");
    // A second later the quota has refilled.
    s.clock.advance(time::Duration::seconds(1));
    assert_eq!(s.upload(body).await.status(), 202);
}

#[tokio::test]
async fn a_daily_cap_throttles_with_a_long_retry_after() {
    let s = TestServer::with_config(|c| c.service_principals[0].jobs[0].daily_cap = 2).await;
    let body = bulk(vec![op("1", "1")]);
    assert_eq!(s.upload(body.clone()).await.status(), 202);
    assert_eq!(s.upload(body.clone()).await.status(), 202);
    let r = s.upload(body).await;
    assert_eq!(r.headers()["retry-after"], "43200");
    assert_graph_error(r, 429, "TooManyRequests", "Too many requests.").await;
}

#[tokio::test]
async fn a_full_staging_queue_refuses_with_429_and_loses_nothing() {
    // A second, paused job holds the queue's operations, so nothing drains while the first job is refused.
    let paused_sp = "22222222-0000-4000-8000-000000000001";
    let paused_job = "API2AAD.c0ffee00000040008000000000000001.22222222-0000-4000-8000-0000000000b1";
    let s = TestServer::with_config(|c| {
        c.staging.queue_capacity = 3;
        let mut sp = c.service_principals[0].clone();
        sp.id = paused_sp.into();
        sp.jobs[0].id = paused_job.into();
        sp.jobs[0].state = entra_inbound::config::JobState::Paused;
        c.service_principals.push(sp);
    })
    .await;
    let to_paused = |body: String| {
        s.http
            .post(s.upload_url("v1.0", paused_sp, paused_job))
            .bearer_auth(s.token())
            .header("content-type", SCIM)
            .body(body)
            .send()
    };
    assert_eq!(to_paused(bulk(vec![op("1", "1"), op("2", "2")])).await.unwrap().status(), 202);
    let r = s.upload(bulk(vec![op("3", "3"), op("4", "4")])).await;
    assert_eq!(r.headers()["retry-after"], "1");
    assert_graph_error(r, 429, "TooManyRequests", "Too many requests.").await;
    assert_eq!(s.staged_count().await, 2, "the refused request staged nothing; the accepted one is whole");
    assert_eq!(s.upload(bulk(vec![op("3", "3")])).await.status(), 202);
    s.drain(JOB).await;
    // The paused job itself cannot drain the queue: retrying cannot help, and the answer says why.
    assert_eq!(to_paused(bulk(vec![op("5", "5")])).await.unwrap().status(), 202);
    let r = to_paused(bulk(vec![op("6", "6")])).await.unwrap();
    assert!(r.headers().get("retry-after").is_none());
    let message = format!(
        "The staging queue is full and job '{paused_job}' is paused: what it staged waits until the job is started, so retrying cannot help. Start the job, then send the request again."
    );
    assert_graph_error(r, 429, "TooManyRequests", &message).await;
}

#[tokio::test]
async fn bodies_over_the_limit_get_413() {
    let s = TestServer::with_config(|c| c.server.body_limit_bytes = 2048).await;
    let big = bulk((0..40).map(|i| op(&i.to_string(), &i.to_string())).collect());
    assert!(big.len() > 2048);
    let r = s.upload(big.clone()).await;
    assert_graph_error(r, 413, "RequestEntityTooLarge", "The request body is too large.").await;
    // Without a Content-Length (chunked), the limit applies while streaming.
    let stream = futures_util::stream::iter(
        big.into_bytes().chunks(512).map(|c| Ok::<_, std::io::Error>(c.to_vec())).collect::<Vec<_>>(),
    );
    let r = s.upload(reqwest::Body::wrap_stream(stream)).await;
    assert_graph_error(r, 413, "RequestEntityTooLarge", "The request body is too large.").await;
}

async fn post_with_type(
    s: &TestServer,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let mut req = s.http.post(s.upload_url("v1.0", SP, JOB)).bearer_auth(s.token()).body(body);
    if let Some(t) = content_type {
        req = req.header("content-type", t);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn wrong_content_type_is_invalid_data_format() {
    let s = TestServer::start().await;
    let body = bulk(vec![op("1", "1")]);
    for t in [None, Some("application/json"), Some("text/plain")] {
        let r = post_with_type(&s, t, body.clone()).await;
        let e = assert_graph_error(r, 400, "BadRequest", INVALID).await;
        assert_eq!(e["error"]["details"][0]["target"], "Content-Type", "{t:?}");
    }
    let r = post_with_type(&s, Some("application/scim+json; charset=utf-8"), body).await;
    assert_eq!(r.status(), 202);
}

#[tokio::test]
async fn malformed_bodies_are_invalid_data_format_with_details() {
    let s = TestServer::start().await;
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"{\"schemas\": [".to_vec(), "$ (line 1, column 13)"),
        (b"[1,2]".to_vec(), "$"),
        (b"{\"a\":\"\xff\"}".to_vec(), "$"),
        (br#"{"name":"John Doe"}"#.to_vec(), "$.schemas"),
        (br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"]}"#.to_vec(), "$.Operations"),
        (
            br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[]}"#.to_vec(),
            "$.Operations",
        ),
        (
            br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":{}}"#.to_vec(),
            "$.Operations",
        ),
        (br#"{"schemas":["urn:x"],"Operations":[{}]}"#.to_vec(), "$.schemas"),
    ];
    for (body, target) in cases {
        let r = post_with_type(&s, Some(SCIM), body.clone()).await;
        let e = assert_graph_error(r, 400, "BadRequest", INVALID).await;
        assert_eq!(e["error"]["details"][0]["target"], target, "{}", String::from_utf8_lossy(&body));
    }
    assert_eq!(s.staged_count().await, 0);
}

#[tokio::test]
async fn a_body_nested_deeper_than_128_levels_is_invalid_data_format() {
    let s = TestServer::start().await;
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    let body = bulk(vec![op("a", "1")]).replacen(r#""active":"#, &format!(r#""nested":{deep},"active":"#), 1);
    let e = assert_graph_error(s.upload(body).await, 400, "BadRequest", INVALID).await;
    let message = e["error"]["details"][0]["message"].as_str().unwrap();
    assert!(message.contains("recursion limit"), "{e}");
    s.drain(JOB).await;
    assert!(s.log_entries().await.is_empty(), "nothing was staged");
}

#[tokio::test]
async fn more_than_fifty_operations_is_refused() {
    let s = TestServer::start().await;
    let r = s.upload(bulk((0..51).map(|i| op(&i.to_string(), &i.to_string())).collect())).await;
    let e = assert_graph_error(r, 400, "BadRequest", INVALID).await;
    let detail = &e["error"]["details"][0];
    assert_eq!(detail["code"], "TooManyOperations");
    assert_eq!(detail["target"], "$.Operations");
    assert!(detail["message"].as_str().unwrap().contains("51"));
    assert!(detail["message"].as_str().unwrap().contains("50"));
}

#[tokio::test]
async fn every_bad_operation_is_reported_and_nothing_is_staged() {
    let s = TestServer::start().await;
    let mut bad_method = op("a", "1");
    bad_method["method"] = json!("DELETE");
    let mut bad_path = op("b", "2");
    bad_path["path"] = json!("/Groups");
    let mut no_bulk_id = op("c", "3");
    no_bulk_id.as_object_mut().unwrap().remove("bulkId");
    let mut no_data = op("d", "4");
    no_data.as_object_mut().unwrap().remove("data");
    let mut bad_schemas = op("e", "5");
    bad_schemas["data"]["schemas"] = json!(["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]);
    let mut no_external_id = op("f", "6");
    no_external_id["data"].as_object_mut().unwrap().remove("externalId");
    let ops = vec![op("ok", "0"), bad_method, bad_path, no_bulk_id, no_data, bad_schemas, no_external_id];
    let r = s.upload(bulk(ops)).await;
    let e = assert_graph_error(r, 400, "BadRequest", INVALID).await;
    let targets: Vec<&str> =
        e["error"]["details"].as_array().unwrap().iter().map(|d| d["target"].as_str().unwrap()).collect();
    assert_eq!(
        targets,
        vec![
            "$.Operations[1].method",
            "$.Operations[2].path",
            "$.Operations[3].bulkId",
            "$.Operations[4].data",
            "$.Operations[5].data.schemas",
            "$.Operations[6].data.externalId",
        ]
    );
    assert!(e["error"]["details"][0]["message"].as_str().unwrap().contains("Operation 1 (bulkId 'a')"));
    assert_eq!(s.staged_count().await, 0);
}

#[tokio::test]
async fn seed_examples_are_accepted_on_both_versions_with_the_exact_location() {
    let s = TestServer::start().await;
    for version in ["v1.0", "beta"] {
        for example in ["example1.json", "example2.json", "example3.json"] {
            let r = s
                .http
                .post(s.upload_url(version, SP, JOB))
                .bearer_auth(s.token())
                .header("content-type", SCIM)
                .header("client-request-id", "92cd10f6-fcc3-5d61-098e-a6dd35e460ef")
                .body(fixture(example))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 202, "{version} {example}");
            assert_eq!(
                r.headers()["location"],
                format!("{}/{version}/auditLogs/provisioning/?$filter=jobid%20eq%20'{JOB}'", s.base).as_str()
            );
            assert_eq!(r.headers()["client-request-id"], "92cd10f6-fcc3-5d61-098e-a6dd35e460ef");
            assert!(uuid::Uuid::parse_str(r.headers()["request-id"].to_str().unwrap()).is_ok());
            assert_eq!(r.headers()["content-length"], "0");
            assert!(r.bytes().await.unwrap().is_empty());
        }
    }
}

#[tokio::test]
async fn quirks_the_real_service_accepts_are_accepted() {
    let s =
        TestServer::with_config(|c| c.service_principals[0].jobs[0].state = entra_inbound::config::JobState::Paused)
            .await;
    // Duplicate bulkIds, failOnErrors null, a data.id, \u escapes and raw UTF-8, a custom namespace.
    let body = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"failOnErrors":null,
      "Operations":[
        {"method":"POST","bulkId":"same","path":"/Users","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:contoso:employee"],
          "id":"ignored","externalId":"1","displayName":"Zo\u00eb","urn:contoso:employee":{"JobCode":"AB-1"}}},
        {"method":"POST","bulkId":"same","path":"/Users","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
          "externalId":"2","displayName":"Zoë"}}]}"#;
    assert_eq!(s.upload(body).await.status(), 202);
    assert_eq!(s.staged_count().await, 2);
}

#[tokio::test]
async fn every_response_carries_request_ids() {
    let s = TestServer::start().await;
    let r = s.http.get(format!("{}/health", s.base)).send().await.unwrap();
    assert!(r.headers().contains_key("request-id"));
    assert_eq!(r.headers()["request-id"], r.headers()["client-request-id"]);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"status": "healthy"}));
    let r = s.http.get(format!("{}/ready", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = s.http.get(format!("{}/v2.0/nothing", s.base)).send().await.unwrap();
    assert_graph_error(r, 404, "NotFound", "Resource not found for the segment '/v2.0/nothing'.").await;
}
