//! `/_emulator/faults`: rules that answer errors in each surface's envelope, delays, seeded probabilities,
//! `times`, and engine rules that fail operations (README "Faults").

use serde_json::{Value, json};

use crate::support::*;

async fn add(s: &TestServer, rule: Value) -> reqwest::Response {
    s.http.post(format!("{}/_emulator/faults", s.base)).json(&rule).send().await.unwrap()
}

#[tokio::test]
async fn a_429_rule_with_times_2_throttles_the_next_two_uploads_then_expires() {
    let s = TestServer::start().await;
    let r = add(&s, json!({"route": "bulkUpload", "status": 429, "times": 2})).await;
    assert_eq!(r.status(), 201);
    let rule: Value = r.json().await.unwrap();
    assert!(rule["id"].as_str().is_some_and(|id| !id.is_empty()), "{rule}");
    assert_eq!(rule["times"], 2);
    for _ in 0..2 {
        let r = s.upload(fixture("example1.json")).await;
        assert_eq!(r.headers()["retry-after"], "1");
        let body = assert_graph_error(
            r,
            429,
            "TooManyRequests",
            &format!("Injected by the emulator's fault rule '{}' (/_emulator/faults).", rule["id"].as_str().unwrap()),
        )
        .await;
        assert!(body["error"]["innerError"]["request-id"].is_string());
    }
    assert_eq!(s.upload(fixture("example1.json")).await.status(), 202);
    let list: Value = s.http.get(format!("{}/_emulator/faults", s.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(list, json!({"value": []}), "the rule expired");
}

#[tokio::test]
async fn a_seeded_503_rule_gives_the_same_sequence_on_every_run() {
    async fn run() -> Vec<u16> {
        let s = TestServer::start().await;
        let rule = json!({"id": "flaky", "route": "users", "status": 503, "probability": 0.5, "seed": 42});
        let r =
            s.http.put(format!("{}/_emulator/faults", s.base)).json(&json!({"rules": [rule]})).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let set: Value = r.json().await.unwrap();
        assert_eq!(set["value"][0]["id"], "flaky");
        let mut statuses = Vec::new();
        for _ in 0..16 {
            let r = s.http.get(format!("{}/v1.0/users", s.base)).bearer_auth(s.token()).send().await.unwrap();
            if r.status() == 503 {
                assert_eq!(r.headers()["retry-after"], "1");
                let body: Value = r.json().await.unwrap();
                assert_eq!(body["error"]["code"], "ServiceUnavailable");
                statuses.push(503);
            } else {
                statuses.push(r.status().as_u16());
            }
        }
        statuses
    }
    let first = run().await;
    assert_eq!(first, run().await);
    assert!(first.contains(&503) && first.contains(&200), "{first:?}");
}

#[tokio::test]
async fn token_and_scim_rules_answer_in_their_own_envelopes_and_a_job_id_narrows_a_rule() {
    let s = TestServer::start().await;
    assert_eq!(add(&s, json!({"route": "token", "status": 503, "times": 1})).await.status(), 201);
    assert_eq!(
        add(&s, json!({"route": "scim", "status": 500, "times": 1, "errorCode": "ignored"})).await.status(),
        201
    );
    assert_eq!(add(&s, json!({"route": "bulkUpload", "jobId": "another-job", "status": 500})).await.status(), 201);

    let r = s
        .http
        .post(format!("{}/{TENANT}/oauth2/v2.0/token", s.base))
        .form(&[("grant_type", "client_credentials"), ("client_id", "c0ffee00-0000-4000-8000-0000000000c1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "1");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert_eq!(body["error_codes"], json!([90033]));
    assert!(
        body["error_description"].as_str().unwrap().starts_with("AADSTS90033: Injected by the emulator's fault rule")
    );

    let r = s.http.get(format!("{}/scim/v2/Users", s.base)).bearer_auth(s.token()).send().await.unwrap();
    assert_eq!(r.status(), 500);
    assert_eq!(r.headers()["content-type"], "application/scim+json");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:Error"]));
    assert_eq!(body["status"], "500");

    // The third rule names another job: the default job's uploads are untouched.
    assert_eq!(s.upload(fixture("example1.json")).await.status(), 202);
}

#[tokio::test]
async fn idcs_token_rules_answer_in_idcs_shape_and_graph_401s_carry_the_challenge() {
    let s = TestServer::start().await;
    assert_eq!(add(&s, json!({"route": "token", "status": 401, "times": 1})).await.status(), 201);
    let r = s
        .http
        .post(format!("{}/oauth2/v1/token", s.base))
        .form(&[("grant_type", "client_credentials"), ("scope", "urn:opc:idm:__myscopes__")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Basic realm=\"IDCS\"");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert!(body["error_description"].as_str().unwrap().starts_with("Injected by the emulator's fault rule"));
    assert!(body.get("error_codes").is_none(), "not Entra's AADSTS shape: {body}");

    assert_eq!(add(&s, json!({"route": "users", "status": 401, "times": 1})).await.status(), 201);
    let r = s.http.get(format!("{}/v1.0/users", s.base)).bearer_auth(s.token()).send().await.unwrap();
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.starts_with("Bearer realm=\"\", authorization_uri="), "{challenge}");
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken", "{body}");
    assert!(body["error"]["message"].as_str().unwrap().starts_with("Injected by the emulator's fault rule"), "{body}");
}

#[tokio::test]
async fn a_latency_rule_delays_and_then_lets_the_request_through() {
    let s = TestServer::start().await;
    assert_eq!(add(&s, json!({"route": "jobs", "latencyMs": 50, "times": 1})).await.status(), 201);
    let started = std::time::Instant::now();
    let r = s
        .http
        .get(format!("{}/v1.0/servicePrincipals/{SP}/synchronization/jobs", s.base))
        .bearer_auth(s.token())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(started.elapsed() >= std::time::Duration::from_millis(50));
}

#[tokio::test]
async fn an_engine_rule_fails_the_next_operations_with_its_error_code() {
    let s = TestServer::start().await;
    let rule = json!({"route": "engine", "jobId": JOB, "times": 1, "errorCode": "AzureDirectoryB2BManagementPolicyCheckFailure"});
    assert_eq!(add(&s, rule).await.status(), 201);
    assert_eq!(s.upload(fixture("example1.json")).await.status(), 202);
    s.drain(JOB).await;
    let entries = s.log_entries().await;
    assert_eq!(entries.len(), 2);
    let failed = &entries[0];
    assert_eq!(failed["provisioningStatusInfo"]["status"], "failure");
    let info = &failed["provisioningStatusInfo"]["errorInformation"];
    assert_eq!(info["errorCode"], "AzureDirectoryB2BManagementPolicyCheckFailure");
    assert!(info["reason"].as_str().unwrap().contains("injected through /_emulator/faults"), "{info}");
    assert_eq!(entries[1]["provisioningStatusInfo"]["status"], "success", "times: 1 fails one operation");
}

#[tokio::test]
async fn engine_failures_reach_the_quarantine_thresholds_on_purpose() {
    let s = TestServer::with_config(|c| c.service_principals[0].jobs[0].quarantine_min_failures = 10).await;
    let rule = json!({"route": "engine", "errorCode": "SystemForCrossDomainIdentityManagementServiceIncompatible"});
    assert_eq!(add(&s, rule).await.status(), 201);
    let users: Vec<Value> = (0..40).map(|i| scim_user(&format!("Q{i}"), &format!("q{i}@contoso.com"), None)).collect();
    assert_eq!(s.upload(bulk_of(&users)).await.status(), 202);
    s.drain(JOB).await;
    let job: Value = s
        .http
        .get(format!("{}/v1.0/servicePrincipals/{SP}/synchronization/jobs/{JOB}", s.base))
        .bearer_auth(s.token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(job["status"]["code"], "Quarantine", "{job}");
}

#[tokio::test]
async fn rules_that_are_not_valid_are_400_naming_the_field() {
    let s = TestServer::start().await;
    let cases = [
        (
            json!({"route": "nowhere", "status": 500}),
            "The fault rule's 'route' 'nowhere' is not one of bulkUpload, provisioningLogs, users, jobs, schema, token, scim, engine.",
        ),
        (
            json!({"route": "users", "status": 200}),
            "The fault rule's 'status' 200 is not an error status (400 to 599).",
        ),
        (
            json!({"route": "users", "status": 500, "probability": 1.5}),
            "The fault rule's 'probability' 1.5 is not between 0 and 1.",
        ),
        (json!({"route": "engine"}), "The fault rule's 'errorCode' is required when 'route' is 'engine'."),
        (json!({"route": "users"}), "The fault rule needs 'status', 'latencyMs' or both."),
    ];
    for (rule, message) in cases {
        assert_graph_error(add(&s, rule).await, 400, "BadRequest", message).await;
    }
    let r = add(&s, json!({"route": "users", "status": 500, "colour": "red"})).await;
    let body = assert_graph_error_any_message(r, 400).await;
    assert!(body.contains("unknown field `colour`"), "{body}");
    let r = add(&s, json!({"status": 500})).await;
    assert!(assert_graph_error_any_message(r, 400).await.contains("missing field `route`"));
    let r = s.http.put(format!("{}/_emulator/faults", s.base)).body("{").send().await.unwrap();
    assert!(assert_graph_error_any_message(r, 400).await.starts_with("The fault rule is not valid"));
    let huge = format!("{{\"route\": \"users\", \"errorCode\": \"{}\"}}", "x".repeat(3 << 20));
    let r = s.http.post(format!("{}/_emulator/faults", s.base)).body(huge).send().await.unwrap();
    assert_graph_error(r, 413, "RequestEntityTooLarge", "The request body is too large.").await;
    let r = s.http.delete(format!("{}/_emulator/faults/none", s.base)).send().await.unwrap();
    assert_graph_error(
        r,
        404,
        "Request_ResourceNotFound",
        "Resource 'none' does not exist or one of its queried reference-property objects are not present.",
    )
    .await;
}

#[tokio::test]
async fn rules_are_listed_replaced_and_deleted() {
    let s = TestServer::start().await;
    let url = format!("{}/_emulator/faults", s.base);
    add(&s, json!({"id": "a", "route": "users", "status": 500})).await;
    add(&s, json!({"id": "b", "route": "users", "latencyMs": 1})).await;
    let list: Value = s.http.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["value"].as_array().unwrap().len(), 2);
    assert_eq!(s.http.delete(format!("{url}/a")).send().await.unwrap().status(), 204);
    let list: Value = s.http.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["value"][0]["id"], "b");
    assert_eq!(s.http.delete(&url).send().await.unwrap().status(), 204);
    let list: Value = s.http.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(list, json!({"value": []}));
}

#[tokio::test]
async fn the_faults_api_has_the_control_apis_guards() {
    let s = TestServer::with_config(|c| c.admin.token = "sesame".into()).await;
    let url = format!("{}/_emulator/faults", s.base);
    let r = s.http.get(&url).send().await.unwrap();
    assert_graph_error(r, 401, "InvalidAuthenticationToken", "Access token is empty.").await;
    let r = s.http.get(&url).bearer_auth("sesame").header("origin", "http://evil.example").send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(s.http.get(&url).bearer_auth("sesame").send().await.unwrap().status(), 200);
}

/// A Graph 400 envelope's message, whatever it says.
async fn assert_graph_error_any_message(r: reqwest::Response, status: u16) -> String {
    assert_eq!(r.status().as_u16(), status);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "BadRequest", "{body}");
    body["error"]["message"].as_str().unwrap().to_owned()
}
