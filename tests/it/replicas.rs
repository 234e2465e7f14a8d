//! Several emulator processes on one PostgreSQL database (README "State and storage"): one process at a time
//! holds a job's processing, so each accepted operation is processed once and in arrival order whichever
//! process accepted it; when the holder dies another takes the job over; a process wakes when another one
//! stages work for a job it holds; the job's quota is held for the job as a whole; pause, start and restart
//! asked of one process are seen by the others.
//!
//! These tests need two apps on one database, so they run in the PostgreSQL leg only (`postgres_leg.rs` runs
//! the ignored tests; the embedded store is one process's files).

use crate::support::{JOB, SP, TestServer, bulk_of, scim_user};

/// An app on a runtime of its own, so the test can end it as abruptly as a killed process ends: its tasks and
/// its database sessions are gone at once.
fn on_its_own_runtime(data_dir: String) -> (TestServer, tokio::runtime::Runtime) {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let server = rt.block_on(TestServer::with_config(|c| c.storage.data_dir = data_dir));
        (server, rt)
    })
    .join()
    .unwrap()
}

async fn upload(s: &TestServer, external_ids: &[String]) {
    let users: Vec<_> =
        external_ids.iter().map(|e| scim_user(e, &format!("{}@contoso.com", e.to_lowercase()), None)).collect();
    assert_eq!(s.upload(bulk_of(&users)).await.status(), 202);
}

/// The externalIds of the log entries, in processing order.
async fn processed(s: &TestServer) -> Vec<String> {
    s.log_entries().await.iter().map(|e| e["sourceIdentity"]["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "two apps on one database: PostgreSQL only, run by the PostgreSQL leg (tests/it/postgres_leg.rs)"]
async fn one_replica_processes_a_job_once_in_order_and_another_takes_over_when_it_dies() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let (a, a_runtime) = on_its_own_runtime(data.clone());
    let ids: Vec<String> = (0..16).map(|i| format!("E{i:02}")).collect();
    upload(&a, &ids[0..2]).await;
    a.drain(JOB).await; // A holds the job now
    let b = TestServer::with_config(|c| c.storage.data_dir = data.clone()).await;
    for (i, chunk) in ids[2..12].chunks(2).enumerate() {
        upload(if i % 2 == 0 { &b } else { &a }, chunk).await;
    }
    // A processes what B accepted too (B's staging notifies A), once each, in arrival order; a drain asked of
    // B (which does not hold the job) answers once A got there.
    b.drain(JOB).await;
    assert_eq!(processed(&a).await, ids[0..12]);
    assert_eq!(processed(&b).await, ids[0..12], "B reads the same logs");

    // A dies: B takes the job over and goes on from where A stopped.
    a_runtime.shutdown_background();
    drop(a);
    let r = b.move_clock(serde_json::json!({"advance": "PT1M"})).await;
    assert_eq!(r.status(), 200);
    upload(&b, &ids[12..14]).await;
    upload(&b, &ids[14..16]).await;
    b.drain(JOB).await;
    assert_eq!(processed(&b).await, ids, "every accepted operation once, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "two apps on one database: PostgreSQL only, run by the PostgreSQL leg (tests/it/postgres_leg.rs)"]
async fn the_quota_holds_for_the_job_as_a_whole_whichever_replica_is_asked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let a = TestServer::with_config(|c| c.storage.data_dir = data.clone()).await;
    let b = TestServer::with_config(|c| c.storage.data_dir = data.clone()).await;
    // Both virtual clocks stand still: the job's 40 per second allows 40 requests in all, not 40 per replica.
    let mut accepted = 0;
    for i in 0..100 {
        let s = if i % 2 == 0 { &a } else { &b };
        let r = s.upload(bulk_of(&[scim_user(&format!("Q{i:03}"), &format!("q{i:03}@contoso.com"), None)])).await;
        match r.status().as_u16() {
            202 => accepted += 1,
            429 => assert_eq!(r.headers()["retry-after"], "1"),
            other => panic!("upload {i}: {other}"),
        }
    }
    assert_eq!(accepted, 40);
    let r = b.move_clock(serde_json::json!({"advance": "PT1S"})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(b.upload(bulk_of(&[scim_user("Q100", "q100@contoso.com", None)])).await.status(), 202);
}

async fn post(s: &TestServer, tail: &str) -> u16 {
    let url = format!("{}/v1.0/servicePrincipals/{SP}/synchronization/jobs/{JOB}{tail}", s.base);
    s.http.post(url).bearer_auth(s.token()).send().await.unwrap().status().as_u16()
}

async fn status_code(s: &TestServer) -> String {
    let url = format!("{}/v1.0/servicePrincipals/{SP}/synchronization/jobs/{JOB}", s.base);
    let job: serde_json::Value = s.http.get(url).bearer_auth(s.token()).send().await.unwrap().json().await.unwrap();
    job["status"]["code"].as_str().unwrap().to_owned()
}

/// Waits (bounded, as a drain is) until `s` reports a status code `wanted` accepts: another process's change
/// reaches it by a notice.
async fn until_status(s: &TestServer, wanted: impl Fn(&str) -> bool) {
    let mut last = String::new();
    for _ in 0..200 {
        last = status_code(s).await;
        if wanted(&last) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the job's status never changed as expected on {} (it shows '{last}')", s.base);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "two apps on one database: PostgreSQL only, run by the PostgreSQL leg (tests/it/postgres_leg.rs)"]
async fn pause_start_and_restart_asked_of_one_replica_are_seen_by_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let a = TestServer::with_config(|c| c.storage.data_dir = data.clone()).await;
    upload(&a, &["P0".to_owned()]).await;
    a.drain(JOB).await; // A holds the job
    let b = TestServer::with_config(|c| c.storage.data_dir = data.clone()).await;

    // Paused through B: A, which holds the job, stops processing.
    assert_eq!(post(&b, "/pause").await, 204);
    until_status(&a, |code| code == "Paused").await;
    upload(&b, &["P1".to_owned()]).await;
    // Restarted through B while paused: what was staged is dropped, on A too.
    assert_eq!(post(&b, "/restart").await, 204);
    // Started through A: processing goes on from after the restart.
    assert_eq!(post(&a, "/start").await, 204);
    until_status(&b, |code| code != "Paused").await;
    upload(&b, &["P2".to_owned()]).await;
    b.drain(JOB).await;
    assert_eq!(processed(&a).await, ["P0", "P2"], "P1 was staged before the restart");
}
