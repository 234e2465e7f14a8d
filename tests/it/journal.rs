//! `/_emulator/journal`: what was answered to whom, newest first, never a secret (README "Request journal").

use serde_json::{Value, json};

use crate::support::*;

async fn journal(s: &TestServer, query: &str) -> Vec<Value> {
    let r = s.http.get(format!("{}/_emulator/journal{query}", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    body["value"].as_array().unwrap().clone()
}

#[tokio::test]
async fn accepted_and_rejected_uploads_are_listed_newest_first_with_status_and_reason_and_no_secret() {
    let s = TestServer::start().await;
    let token = s.token();
    let accepted = s.upload(fixture("example1.json")).await;
    assert_eq!(accepted.status(), 202);
    let accepted_id = accepted.headers()["request-id"].to_str().unwrap().to_owned();
    let wrong_type = s
        .http
        .post(s.upload_url("v1.0", SP, JOB))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .header("client-request-id", "mine-1")
        .body(fixture("example1.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), 400);
    let unauthenticated = s.upload_as("secret-looking-token-that-is-not-a-jwt", fixture("example1.json")).await;
    assert_eq!(unauthenticated.status(), 401);
    let secret = "very-secret-client-secret";
    let token_request = token_request_with_secret(&s.http, &s.base, secret).await;
    assert_eq!(token_request.status(), 401);
    s.http.get(format!("{}/health", s.base)).send().await.unwrap();
    s.http.post(format!("{}/_emulator/jobs/{JOB}/drain", s.base)).send().await.unwrap();

    let entries = journal(&s, "").await;
    let routes: Vec<(&str, u64)> =
        entries.iter().map(|e| (e["route"].as_str().unwrap(), e["status"].as_u64().unwrap())).collect();
    assert_eq!(routes, [("token", 401), ("bulkUpload", 401), ("bulkUpload", 400), ("bulkUpload", 202)], "newest first");

    let upload = &entries[3];
    assert_eq!(upload["requestId"], accepted_id.as_str());
    assert_eq!(upload["method"], "POST");
    assert_eq!(upload["path"], format!("/v1.0/servicePrincipals/{SP}/synchronization/jobs/{JOB}/bulkUpload"));
    assert_eq!(upload["clientId"], "c0ffee00-0000-4000-8000-0000000000c1");
    assert_eq!(upload["operations"], 2);
    assert_eq!(upload["bulkIds"], json!(["701984", "701985"]));
    assert_eq!(upload["reason"], Value::Null);
    assert_eq!(upload["time"], "2025-01-15T10:00:00Z");
    assert!(upload["durationMs"].is_u64());

    assert_eq!(
        entries[2]["reason"],
        "Invalid Data Format: The Content-Type header must be 'application/scim+json'. (Content-Type)"
    );
    assert_eq!(entries[2]["clientRequestId"], "mine-1");
    assert_eq!(entries[2]["operations"], Value::Null);
    assert_eq!(entries[1]["reason"], "CompactToken parsing failed with error code: 80049217");
    assert_eq!(entries[1]["clientId"], Value::Null);
    assert!(entries[0]["reason"].as_str().unwrap().starts_with("AADSTS7000215: Invalid client secret provided."));
    assert_eq!(entries[0]["clientId"], "c0ffee00-0000-4000-8000-0000000000c1");

    let text = serde_json::to_string(&entries).unwrap();
    for secret in [token.as_str(), "secret-looking-token-that-is-not-a-jwt", secret] {
        assert!(!text.contains(secret), "the journal holds a secret a client sent");
    }

    // The upload's provisioning log entries, found from its request id.
    let url = format!("{}/v1.0/auditLogs/provisioning?$filter=cycleId%20eq%20'{accepted_id}'", s.base);
    let logs: Value = s.http.get(url).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let sources: Vec<&str> =
        logs["value"].as_array().unwrap().iter().map(|e| e["sourceIdentity"]["id"].as_str().unwrap()).collect();
    assert_eq!(sources.len(), 2, "{logs}");
    assert!(sources.contains(&"701984") && sources.contains(&"701985"));
}

#[tokio::test]
async fn filters_select_by_route_status_time_and_limit_and_delete_clears() {
    let s = TestServer::start().await;
    assert_eq!(s.upload(fixture("example1.json")).await.status(), 202);
    s.clock.advance(time::Duration::minutes(5));
    let r = s.http.get(format!("{}/v1.0/users", s.base)).bearer_auth(s.token()).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(s.upload("{}").await.status(), 400);

    let routes = |entries: Vec<Value>| -> Vec<String> {
        entries.iter().map(|e| format!("{} {}", e["route"].as_str().unwrap(), e["status"])).collect()
    };
    assert_eq!(routes(journal(&s, "?route=bulkUpload").await), ["bulkUpload 400", "bulkUpload 202"]);
    assert_eq!(routes(journal(&s, "?status=4xx").await), ["bulkUpload 400"]);
    assert_eq!(routes(journal(&s, "?status=200").await), ["users 200"]);
    assert_eq!(routes(journal(&s, "?since=2025-01-15T10:01:00Z").await), ["bulkUpload 400", "users 200"]);
    assert_eq!(routes(journal(&s, "?limit=1").await), ["bulkUpload 400"]);

    s.clock.set(time::macros::datetime!(2025-01-15 10:00 UTC));
    for (query, message) in [
        ("?limit=0", "The limit '0' is not a whole number greater than 0."),
        ("?status=abc", "The status 'abc' is neither an HTTP status (429) nor a class (4xx)."),
        ("?since=yesterday", "The since 'yesterday' is not an RFC 3339 date and time (2025-01-15T10:00:00Z)."),
    ] {
        let r = s.http.get(format!("{}/_emulator/journal{query}", s.base)).send().await.unwrap();
        assert_graph_error(r, 400, "BadRequest", message).await;
    }
    let r = s.http.get(format!("{}/_emulator/journal?route=nowhere", s.base)).send().await.unwrap();
    let body: Value = r.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().starts_with("The route 'nowhere' is not one of bulkUpload,"));

    assert_eq!(s.http.delete(format!("{}/_emulator/journal", s.base)).send().await.unwrap().status(), 204);
    assert!(journal(&s, "").await.is_empty());
}

#[tokio::test]
async fn the_journal_is_a_bounded_ring() {
    let s = TestServer::with_config(|c| c.journal.capacity = 2).await;
    for _ in 0..3 {
        s.http.get(format!("{}/v1.0/users", s.base)).bearer_auth(s.token()).send().await.unwrap();
    }
    assert_eq!(journal(&s, "").await.len(), 2);
}
