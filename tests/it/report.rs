//! `/_emulator/report`: what the client under test did that the real service would punish (README "Client
//! conformance report").

use serde_json::{Value, json};

use crate::support::*;

async fn report(s: &TestServer) -> Value {
    let r = s.http.get(format!("{}/_emulator/report", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

fn request_id(r: &reqwest::Response) -> String {
    r.headers()["request-id"].to_str().unwrap().to_owned()
}

/// Example 1 uploaded with `application/json`, which bulkUpload refuses.
async fn upload_as_json(s: &TestServer) -> reqwest::Response {
    let request = s.http.post(s.upload_url("v1.0", SP, JOB)).bearer_auth(s.token());
    request.header("content-type", "application/json").body(fixture("example1.json")).send().await.unwrap()
}

#[tokio::test]
async fn retrying_a_429_at_once_a_json_media_type_and_an_omitted_active_are_three_findings() {
    let s = TestServer::start().await;
    let add = s
        .http
        .post(format!("{}/_emulator/faults", s.base))
        .json(&json!({"route": "bulkUpload", "status": 429, "times": 1}));
    assert_eq!(add.send().await.unwrap().status(), 201);
    let body = bulk_of(&[scim_user("A1", "a1@contoso.com", None)]);
    let throttled = s.upload(body.clone()).await;
    assert_eq!(throttled.status(), 429);
    let retried = s.upload(body).await;
    assert_eq!(retried.status(), 202, "retried at once, before Retry-After passed");
    let json_type = upload_as_json(&s).await;
    assert_eq!(json_type.status(), 400);
    let mut user = scim_user("R1", "r1@contoso.com", None);
    user.as_object_mut().unwrap().remove("active");
    let omitted = s.upload(bulk_of(&[user])).await;
    assert_eq!(omitted.status(), 202);
    s.drain(JOB).await;

    let body = report(&s).await;
    let clients = body["clients"].as_array().unwrap();
    assert_eq!(clients.len(), 1, "{body}");
    assert_eq!(clients[0]["clientId"], "c0ffee00-0000-4000-8000-0000000000c1");
    let findings: Vec<(&str, u64, &str)> = clients[0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["kind"].as_str().unwrap(), f["count"].as_u64().unwrap(), f["exampleRequestId"].as_str().unwrap()))
        .collect();
    assert_eq!(
        findings,
        [
            ("retryBeforeRetryAfter", 1, request_id(&retried).as_str()),
            ("wrongContentType", 1, request_id(&json_type).as_str()),
            ("activeOmitted", 1, request_id(&omitted).as_str()),
        ]
    );
    for f in clients[0]["findings"].as_array().unwrap() {
        assert!(f["advice"].as_str().unwrap().len() > 40, "{f}");
    }
    s.state.report.reset();
    assert_eq!(report(&s).await, json!({"clients": []}));
}

#[tokio::test]
async fn too_many_operations_duplicates_late_managers_and_paused_jobs_are_findings() {
    let s = TestServer::start().await;
    let many: Vec<Value> = (0..51).map(|i| scim_user(&format!("M{i}"), &format!("m{i}@contoso.com"), None)).collect();
    let too_many = s.upload(bulk_of(&many)).await;
    assert_eq!(too_many.status(), 400);
    let twice =
        s.upload(bulk_of(&[scim_user("D1", "d1@contoso.com", None), scim_user("D1", "d1@contoso.com", None)])).await;
    assert_eq!(twice.status(), 202);
    let late = s.upload(bulk_of(&[scim_user("E1", "e1@contoso.com", Some("BOSS"))])).await;
    assert_eq!(late.status(), 202);
    s.drain(JOB).await;
    s.state.jobs.by_id(JOB).unwrap().set_paused(true);
    let paused = s.upload(fixture("example1.json")).await;
    assert_eq!(paused.status(), 202);

    let body = report(&s).await;
    let kinds: Vec<(&str, &str)> = body["clients"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["kind"].as_str().unwrap(), f["exampleRequestId"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("tooManyOperations", request_id(&too_many).as_str()),
            ("duplicateExternalIdInRequest", request_id(&twice).as_str()),
            ("managerBeforeItExists", request_id(&late).as_str()),
            ("uploadToPausedJob", request_id(&paused).as_str()),
        ]
    );
}

#[tokio::test]
async fn reset_empties_the_fault_rules_the_journal_and_the_report() {
    let s = TestServer::start().await;
    let rule = json!({"route": "users", "latencyMs": 1});
    assert_eq!(s.http.post(format!("{}/_emulator/faults", s.base)).json(&rule).send().await.unwrap().status(), 201);
    let wrong = upload_as_json(&s).await;
    assert_eq!(wrong.status(), 400);
    assert_ne!(report(&s).await, json!({"clients": []}));

    assert_eq!(s.http.post(format!("{}/_emulator/reset", s.base)).send().await.unwrap().status(), 204);
    assert_eq!(report(&s).await, json!({"clients": []}));
    let faults: Value = s.http.get(format!("{}/_emulator/faults", s.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(faults, json!({"value": []}));
    let journal: Value =
        s.http.get(format!("{}/_emulator/journal", s.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(journal, json!({"value": []}));
}
