//! The binary as a new user runs it: `token`, `healthcheck`, config errors, and durability across `kill -9`.

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn the_token_command_mints_what_the_server_accepts() {
    let s = TestServer::start().await;
    // The server's manual clock sits in 2025; the CLI uses the wall clock, so align them.
    s.clock.set(entra_inbound::clock::Clock::now(&entra_inbound::clock::SystemClock));
    let out = command().arg("token").output().unwrap();
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let r = s.upload_as(&token, fixture("example1.json")).await;
    assert_eq!(r.status(), 202);

    let out = command().args(["token", "--role", "AuditLog.Read.All"]).output().unwrap();
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let r = s.upload_as(&token, fixture("example1.json")).await;
    assert_eq!(r.status(), 403);

    let out = command().args(["token", "--expires-in", "-600"]).output().unwrap();
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let r = s.http.post(s.upload_url("v1.0", SP, JOB)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 401);

    let out = command().args(["token", "--audience", "api://x"]).output().unwrap();
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let r = s.http.post(s.upload_url("v1.0", SP, JOB)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn healthcheck_exits_zero_only_when_the_server_answers() {
    let s = TestServer::start().await;
    let ok = command().args(["healthcheck", "--url", &format!("{}/health", s.base)]).status().unwrap();
    assert!(ok.success());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = command().args(["healthcheck", "--url", &format!("http://127.0.0.1:{port}/health")]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("entra-inbound:"));
}

#[test]
fn an_unknown_config_key_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[server]\nlisen = \"127.0.0.1:1\"\n").unwrap();
    let out = command().args(["serve", "--config", path.to_str().unwrap()]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("lisen"), "{err}");
}

#[tokio::test]
async fn accepted_operations_survive_kill_9_with_a_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    // A paused job keeps operations staged, so the store shows exactly what was accepted.
    let config = dir.path().join("paused.toml");
    std::fs::write(
        &config,
        format!(
            "[[service_principals]]\nid = \"{SP}\"\n[[service_principals.jobs]]\nid = \"{JOB}\"\nstate = \"paused\"\n"
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let args = ["--data-dir", data.to_str().unwrap(), "--config", config.to_str().unwrap()];
    let mut server = spawn_server(&args);
    let base = server.base.clone();
    let token = String::from_utf8(command().arg("token").output().unwrap().stdout).unwrap();
    let http = reqwest::Client::new();
    let url = format!("{base}/v1.0/servicePrincipals/{SP}/synchronization/jobs/{JOB}/bulkUpload");
    for example in ["example1.json", "example2.json"] {
        let r = http
            .post(&url)
            .bearer_auth(token.trim())
            .header("content-type", SCIM)
            .body(fixture(example))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
    }
    server.kill_9();

    let mut server = spawn_server(&args);
    let health = http.get(format!("{}/health", server.base)).send().await.unwrap();
    assert_eq!(health.status(), 200);
    server.kill_9();

    let store = entra_inbound::store::Store::open(Some(&data), entra_inbound::config::Synchronous::Full).unwrap();
    let staged = store.read_staged(JOB, 0, 100).await.unwrap();
    let ops: Vec<_> = staged.iter().flat_map(|r| &r.operations).collect();
    let ids: Vec<&str> = ops.iter().map(|o| o.external_id.as_str()).collect();
    assert_eq!(ids, vec!["701984", "701985", "701984", "701985"]);
    let data: serde_json::Value = serde_json::from_str(&ops[2].data).unwrap();
    assert_eq!(data["urn:contoso:employee"]["JobCode"], "AB-1002");
}
