//! Snapshots and seeding (README "Snapshots and seeding"): `GET /_emulator/export`, `POST /_emulator/import`,
//! `serve --import` and `--export-on-exit`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::scim_support::{V2, group, id_of, user};
use crate::support::*;

fn job_url(s: &TestServer, tail: &str) -> String {
    format!("{}/v1.0/servicePrincipals/{SP}/synchronization/jobs/{JOB}{tail}", s.base)
}

/// State in every part a snapshot holds: users with a manager and their log entries, a replaced schema, a
/// SCIM user and group, a paused job and a request staged while it is paused.
pub async fn fill(s: &TestServer) {
    assert_eq!(s.upload(fixture("example1.json")).await.status(), 202);
    s.drain(JOB).await;
    let mut schema: Value =
        s.http.get(job_url(s, "/schema")).bearer_auth(s.token()).send().await.unwrap().json().await.unwrap();
    let mappings = schema["synchronizationRules"][0]["objectMappings"][0]["attributeMappings"].as_array_mut().unwrap();
    let dept = mappings.iter_mut().find(|m| m["targetAttributeName"] == "department").unwrap();
    dept["source"] = json!({
        "type": "Function", "name": "ToUpper",
        "expression": "ToUpper([urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department])",
        "parameters": []
    });
    let r = s.http.put(job_url(s, "/schema")).bearer_auth(s.token()).json(&schema).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let alice = s.scim(Method::POST, V2, "/Users", Some(user("alice"))).await;
    assert_eq!(alice.status, 201);
    let alice = id_of(alice.header("location"));
    assert_eq!(s.scim(Method::POST, V2, "/Groups", Some(group("Ops", &[&alice]))).await.status, 201);
    let r = s.http.post(job_url(s, "/pause")).bearer_auth(s.token()).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(s.upload(fixture("example2.json")).await.status(), 202);
}

fn doc(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

#[tokio::test]
async fn an_export_imported_into_a_fresh_emulator_exports_the_same_bytes() {
    let a = TestServer::start().await;
    fill(&a).await;
    let exported = a.export().await;
    assert_eq!(a.export().await, exported, "two exports of the same state are the same bytes");
    let v = doc(&exported);
    assert_eq!(v["version"], 1);
    assert_eq!(v["jobs"][0]["id"], JOB);
    assert_eq!(v["jobs"][0]["runState"]["paused"], true);
    assert!(v["jobs"][0]["schema"].to_string().contains("ToUpper("));
    let users = v["users"].as_array().unwrap();
    assert_eq!(users.len(), 2);
    let employee = users.iter().find(|u| u["employeeId"] == "701985").unwrap();
    let manager = users.iter().find(|u| u["employeeId"] == "701984").unwrap();
    assert_eq!(employee["manager"], json!({"id": manager["id"]}));
    assert_eq!(v["provisioningLogs"].as_array().unwrap().len(), 2);
    assert_eq!(v["stagedRequests"].as_array().unwrap().len(), 1);
    assert_eq!(v["stagedRequests"][0]["operations"][0]["externalId"], "701984");
    assert_eq!(v["scim"]["Users"][0]["attributes"]["userName"], "alice");
    assert_eq!(v["scim"]["Groups"][0]["members"], json!([v["scim"]["Users"][0]["id"]]));

    let b = TestServer::start().await;
    assert_eq!(b.import(exported.clone()).await.status(), 204);
    assert_eq!(b.export().await, exported, "export → import → export is byte-identical");

    // What was imported is live: the job is paused as it was, and starting it processes the staged request
    // with the imported schema, against the imported users.
    let job: Value = b.http.get(job_url(&b, "")).bearer_auth(b.token()).send().await.unwrap().json().await.unwrap();
    assert_eq!(job["schedule"]["state"], "Paused", "{job}");
    let r = b.http.post(job_url(&b, "/start")).bearer_auth(b.token()).send().await.unwrap();
    assert_eq!(r.status(), 204);
    b.drain(JOB).await;
    let entries = b.log_entries().await;
    assert_eq!(entries.len(), 4);
    assert_eq!(entries[2]["provisioningAction"], "update", "{}", entries[2]);
    assert_eq!(b.user_doc("701984").await["department"], "TOUR OPERATIONS");
    let alice = b.scim(Method::GET, V2, "/Users?filter=userName%20eq%20%22alice%22", None).await;
    assert_eq!(alice.body["totalResults"], 1, "{}", alice.body);
}

#[tokio::test]
async fn a_seeded_user_is_updated_and_disabled_by_example_3() {
    let s = TestServer::start().await;
    let seed = json!({"users": [
        {"userPrincipalName": "lead@contoso.com", "employeeId": "1001", "displayName": "Team Lead", "accountEnabled": true},
        {"userPrincipalName": "guide@contoso.com", "employeeId": "7172023", "displayName": "Tour Guide",
         "department": "Tour Operations", "accountEnabled": true, "manager": {"employeeId": "1001"}},
        {"userPrincipalName": "former@contoso.com", "employeeId": "7172024", "displayName": "Former Guide",
         "department": "Sales", "accountEnabled": false},
    ]});
    assert_eq!(s.import(seed.to_string()).await.status(), 204);
    let r = s.http.get(format!("{}/v1.0/users/guide@contoso.com/manager", s.base)).bearer_auth(s.token()).send().await;
    let manager: Value = r.unwrap().json().await.unwrap();
    assert_eq!(manager["userPrincipalName"], "lead@contoso.com", "{manager}");

    assert_eq!(s.upload(fixture("example3.json")).await.status(), 202);
    assert_eq!(s.upload(fixture("example3.json").replace("7172023", "7172024")).await.status(), 202);
    s.drain(JOB).await;
    let entries = s.log_entries().await;
    let by_source = |id: &str| entries.iter().find(|e| e["sourceIdentity"]["id"] == id).unwrap().clone();
    let disabled = by_source("7172023");
    assert_eq!(disabled["provisioningAction"], "disable", "{disabled}");
    assert_eq!(disabled["provisioningStatusInfo"]["status"], "success");
    let m = modified(&disabled);
    assert_eq!(m["department"], (json!("Tour Operations"), json!("Tour Ops")));
    assert_eq!(m["accountEnabled"], (json!("True"), json!("False")));
    let updated = by_source("7172024");
    assert_eq!(updated["provisioningAction"], "update", "{updated}");
    assert_eq!(updated["provisioningStatusInfo"]["status"], "success");
    assert_eq!(modified(&updated)["department"], (json!("Sales"), json!("Tour Ops")));
    let guide = s.user_doc("7172023").await;
    assert_eq!((guide["accountEnabled"].clone(), guide["department"].clone()), (json!(false), json!("Tour Ops")));
}

#[tokio::test]
async fn a_document_that_cannot_be_imported_is_refused_and_changes_nothing() {
    let s = TestServer::start().await;
    fill(&s).await;
    let before = s.export().await;
    let cases = [
        ("{", "The document cannot be read: EOF while parsing an object at line 1 column 1."),
        ("[]", "The document must be a JSON object."),
        (r#"{"version": 2}"#, "The document's version 2 is not supported; this emulator reads version 1."),
        (
            r#"{"version": 1, "journal": []}"#,
            "The document cannot be read: unknown field `journal`, expected one of `version`, `jobs`, `users`, `pendingManagerReferences`, `provisioningLogs`, `stagedRequests`, `scim`.",
        ),
        (r#"{"version": 1, "jobs": [{"id": "API2AAD.nope"}]}"#, "jobs[0].id: 'API2AAD.nope' is not a configured job."),
        (
            r#"{"users": [{"employeeId": "1"}], "stagedRequests": []}"#,
            "A document without a version is a seed and holds only users; a snapshot says \"version\": 1.",
        ),
        (
            r#"{"users": [{"employeeId": "1"}, {"manager": {"employeeId": "9"}}]}"#,
            "users[1].manager: no user of the document has the employeeId '9'.",
        ),
    ];
    for (body, message) in cases {
        assert_graph_error(s.import(body).await, 400, "BadRequest", message).await;
    }
    assert_eq!(s.export().await, before, "nothing changed");
}

#[tokio::test]
async fn an_import_larger_than_the_limit_is_refused_with_413() {
    let s = TestServer::with_config(|c| c.admin.import_limit_bytes = 16).await;
    let r = s.import(r#"{"users": [{"employeeId": "1"}]}"#).await;
    assert_graph_error(r, 413, "RequestEntityTooLarge", "The request body is too large.").await;
    assert_eq!(s.import(r#"{"users": []}"#).await.status(), 204);
}

#[tokio::test]
async fn the_control_api_guards_cover_export_and_import() {
    let s = TestServer::with_config(|c| c.admin.token = "sesame".into()).await;
    let r = s.http.get(format!("{}/_emulator/export", s.base)).send().await.unwrap();
    assert_graph_error(r, 401, "InvalidAuthenticationToken", "Access token is empty.").await;
    let r = s.import("{}").await;
    assert_graph_error(r, 401, "InvalidAuthenticationToken", "Access token is empty.").await;
    let r = s.http.get(format!("{}/_emulator/export", s.base)).bearer_auth("sesame").send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[cfg(unix)]
#[tokio::test]
async fn serve_starts_from_an_import_file_and_exports_at_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed.json");
    std::fs::write(&seed, r#"{"users": [{"userPrincipalName": "seeded@contoso.com", "employeeId": "42"}]}"#).unwrap();
    let out = dir.path().join("out.json");
    let mut server = spawn_server(&["--import", seed.to_str().unwrap(), "--export-on-exit", out.to_str().unwrap()]);
    let token = String::from_utf8(command().arg("token").output().unwrap().stdout).unwrap();
    let r = reqwest::Client::new()
        .get(format!("{}/v1.0/users", server.base))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap();
    let users: Value = r.json().await.unwrap();
    assert_eq!(users["value"][0]["userPrincipalName"], "seeded@contoso.com", "{users}");
    assert!(!out.exists());
    assert!(server.terminate().success());
    let exported = doc(&std::fs::read(&out).unwrap());
    assert_eq!(exported["version"], 1);
    assert_eq!(exported["users"][0]["employeeId"], "42");
}

#[test]
fn serve_refuses_an_import_file_it_cannot_use() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"version": 9}"#).unwrap();
    let output =
        command().args(["serve", "--listen", "127.0.0.1:0", "--import", bad.to_str().unwrap()]).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("--import") && stderr.contains("version 9 is not supported"), "{stderr}");
    let missing = dir.path().join("missing.json");
    let output =
        command().args(["serve", "--listen", "127.0.0.1:0", "--import", missing.to_str().unwrap()]).output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8(output.stderr).unwrap().contains("missing.json"));
}
