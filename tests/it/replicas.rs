//! Several emulator processes on one PostgreSQL database (README "State and storage"): one process at a time
//! holds a job's processing, so each accepted operation is processed once and in arrival order whichever
//! process accepted it; when the holder dies another takes the job over; a process wakes when another one
//! stages work for a job it holds; the job's quota is held for the job as a whole; pause, start and restart
//! asked of one process are seen by the others.
//!
//! A reset also waits for a writer another replica has in progress instead of deadlocking with it.
//!
//! These tests need two apps on one database (or an app and a session of the test's own playing the other
//! replica's writer), so they run in the PostgreSQL leg only (`postgres_leg.rs` runs the ignored tests; the
//! embedded store is one process's files).

use crate::support::{JOB, SCIM, SP, TestServer, all_pages, bulk_of, command, scim_user, spawn_server_with};

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

/// Two apps on one database (a data directory the PostgreSQL leg names a database after), and that directory.
async fn two_apps() -> (TestServer, TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let a = TestServer::with_config(|c| c.storage.data_dir = data.clone()).await;
    let b = TestServer::with_config(|c| c.storage.data_dir = data.clone()).await;
    (a, b, dir)
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
    let (a, b, _dir) = two_apps().await;
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

/// What became of one operation a client sent.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Accepted,
    /// Refused (429): never staged.
    Refused,
    /// The connection failed (the replica was killed): staged or not.
    Unknown,
}

/// Uploads requests of unique users, alternating between the replicas' current addresses, until `stop`; returns
/// each operation's externalId and outcome in the order sent (the client waits for each answer, so that is also
/// the order the operations arrived in).
async fn alternating_client(
    bases: std::sync::Arc<std::sync::Mutex<[String; 2]>>,
    token: String,
    client: usize,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Vec<(String, Outcome)> {
    let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build().unwrap();
    let mut sent = Vec::new();
    let mut n = 0usize;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let base = bases.lock().unwrap()[(client + n) % 2].clone();
        let url = format!("{base}/v1.0/servicePrincipals/{SP}/synchronization/jobs/{JOB}/bulkUpload");
        let ids: Vec<String> = (0..1 + n % 4).map(|i| format!("K{client}N{n:05}I{i}")).collect();
        let users: Vec<_> =
            ids.iter().map(|e| scim_user(e, &format!("{}@contoso.com", e.to_lowercase()), None)).collect();
        let outcome =
            match http.post(url).bearer_auth(&token).header("content-type", SCIM).body(bulk_of(&users)).send().await {
                Ok(r) if r.status() == 202 => Outcome::Accepted,
                Ok(r) if r.status() == 429 => Outcome::Refused,
                Ok(r) => panic!("client {client}: unexpected status {}", r.status()),
                Err(_) => Outcome::Unknown,
            };
        sent.extend(ids.into_iter().map(|id| (id, outcome)));
        if outcome != Outcome::Accepted {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        n += 1;
    }
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "two processes on one database: PostgreSQL only, run by the PostgreSQL leg (tests/it/postgres_leg.rs)"]
async fn two_replica_processes_one_killed_with_kill_9_and_restarted_lose_and_repeat_nothing() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    let url = crate::postgres_leg::fresh_database().await;
    let env = [("ENTRA_INBOUND__STORAGE__BACKEND", "postgres"), ("ENTRA_INBOUND__STORAGE__URL", url.as_str())];
    let token = String::from_utf8(command().arg("token").output().unwrap().stdout).unwrap().trim().to_owned();
    let http = reqwest::Client::new();
    let drain = |base: String| {
        let http = http.clone();
        async move {
            let r = http.post(format!("{base}/_emulator/jobs/{JOB}/drain?timeout=60")).send().await.unwrap();
            assert_eq!(r.status(), 200, "drain on {base}");
        }
    };
    let upload_to = |base: String, body: String| {
        let (http, token) = (http.clone(), token.clone());
        async move {
            let url = format!("{base}/v1.0/servicePrincipals/{SP}/synchronization/jobs/{JOB}/bulkUpload");
            http.post(url).bearer_auth(token).header("content-type", SCIM).body(body).send().await.unwrap()
        }
    };

    // A starts first and processes the first upload: it holds the job.
    let mut a = spawn_server_with(&[], &env);
    let first = bulk_of(&[scim_user("FIRST", "first@contoso.com", None)]);
    assert_eq!(upload_to(a.base.clone(), first).await.status(), 202);
    drain(a.base.clone()).await;
    let b = spawn_server_with(&[], &env);

    // The quota is the job's: 100 uploads as fast as one client can send them, alternating between the replicas,
    // get at most 40 + 40 per elapsed second accepted (after a second's rest, the full 40 at least).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let started = Instant::now();
    let mut accepted = 0usize;
    for i in 0..100 {
        let base = if i % 2 == 0 { &a.base } else { &b.base };
        let body = bulk_of(&[scim_user(&format!("Q{i:03}"), &format!("q{i:03}@contoso.com"), None)]);
        match upload_to(base.clone(), body).await.status().as_u16() {
            202 => accepted += 1,
            429 => {}
            other => panic!("quota upload {i}: {other}"),
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let ceiling = 40.0 + 40.0 * elapsed;
    assert!((40..=ceiling as usize).contains(&accepted), "{accepted} accepted in {elapsed:.3} s");
    tokio::time::sleep(Duration::from_millis(1100)).await;

    // Several clients upload to both; A (holding the job) is killed mid-run and started again.
    let bases = Arc::new(Mutex::new([a.base.clone(), b.base.clone()]));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|c| tokio::spawn(alternating_client(Arc::clone(&bases), token.clone(), c, Arc::clone(&stop))))
        .collect();
    tokio::time::sleep(Duration::from_millis(700)).await;
    a.kill_9();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let a2 = spawn_server_with(&[], &env);
    bases.lock().unwrap()[0] = a2.base.clone();
    tokio::time::sleep(Duration::from_millis(700)).await;
    stop.store(true, Ordering::Relaxed);
    let mut sent = Vec::new();
    for c in clients {
        sent.push(c.await.unwrap());
    }
    drain(b.base.clone()).await;
    drain(a2.base.clone()).await;

    let logs = all_pages(
        &http,
        &token,
        format!("{}/v1.0/auditLogs/provisioning?$orderby=activityDateTime%20asc&$top=1000", a2.base),
    )
    .await;
    let mut position = std::collections::HashMap::new();
    for (i, e) in logs.iter().enumerate() {
        assert_eq!(e["provisioningStatusInfo"]["status"], "success", "{e}");
        let id = e["sourceIdentity"]["id"].as_str().unwrap().to_owned();
        assert!(position.insert(id.clone(), i).is_none(), "{id} has more than one log entry");
    }
    let count = |wanted: Outcome| sent.iter().flatten().filter(|(_, o)| *o == wanted).count();
    let (accepted, unknown) = (count(Outcome::Accepted), count(Outcome::Unknown));
    assert!(accepted > 200, "the clients got operations accepted ({accepted})");
    assert!(unknown > 0, "some requests went to the killed replica");
    for (client, ops) in sent.iter().enumerate() {
        let mut last = None;
        for (id, outcome) in ops {
            match (outcome, position.get(id)) {
                (Outcome::Accepted, None) => panic!("{id} was answered 202 but has no log entry"),
                (Outcome::Refused, Some(_)) => panic!("{id} was refused but has a log entry"),
                (_, Some(&p)) => {
                    assert!(last < Some(p), "client {client}: {id} was processed before an operation sent before it");
                    last = Some(p);
                }
                (_, None) => {}
            }
        }
    }
    let sent_ids: std::collections::HashSet<&str> = sent.iter().flatten().map(|(id, _)| id.as_str()).collect();
    let users = all_pages(&http, &token, format!("{}/beta/users?$select=employeeId&$top=999", b.base)).await;
    let directory: std::collections::HashSet<&str> =
        users.iter().map(|u| u["employeeId"].as_str().unwrap()).filter(|id| sent_ids.contains(id)).collect();
    let logged: std::collections::HashSet<&str> =
        position.keys().map(String::as_str).filter(|id| sent_ids.contains(id)).collect();
    assert_eq!(directory, logged, "the directory holds exactly the users the log entries created");
    assert_eq!(users.len(), logs.len(), "one user per log entry (the quota's and the first upload's included)");
}

async fn control(
    s: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> reqwest::Response {
    let mut request = s.http.request(method, format!("{}/_emulator/{path}", s.base));
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

async fn control_json(s: &TestServer, path: &str) -> serde_json::Value {
    let r = control(s, reqwest::Method::GET, path, None).await;
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.unwrap()
}

/// The status of `GET /v1.0/users` on `s`, sent with this client-request-id.
async fn list_users(s: &TestServer, client_request_id: &str) -> u16 {
    let url = format!("{}/v1.0/users", s.base);
    let r = s.http.get(url).bearer_auth(s.token()).header("client-request-id", client_request_id).send().await.unwrap();
    r.status().as_u16()
}

/// Waits (bounded) until `probe` is true: what one process changed reaches another by a notice.
async fn until(what: &str, mut probe: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if probe().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("{what} never happened");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "two apps on one database: PostgreSQL only, run by the PostgreSQL leg (tests/it/postgres_leg.rs)"]
async fn the_journal_fault_rules_and_clock_are_the_same_whichever_replica_is_asked() {
    use reqwest::Method;
    use serde_json::json;
    let (a, b, _dir) = two_apps().await;

    // The journal: requests either one answered, newest first, on both.
    assert_eq!(list_users(&a, "journal-1").await, 200);
    assert_eq!(list_users(&b, "journal-2").await, 200);
    for s in [&a, &b] {
        let journal = control_json(s, "journal").await;
        let ids: Vec<&str> =
            journal["value"].as_array().unwrap().iter().map(|e| e["clientRequestId"].as_str().unwrap()).collect();
        assert_eq!(ids, ["journal-2", "journal-1"], "on {}", s.base);
    }
    assert_eq!(control(&a, Method::DELETE, "journal", None).await.status(), 204);
    assert_eq!(control_json(&b, "journal").await["value"], json!([]), "cleared through A, empty on B");

    // Fault rules: added through A, listed and in force on B; a rule's `times` are used once across both.
    let twice = json!({"id": "twice", "route": "bulkUpload", "status": 503, "times": 2});
    assert_eq!(control(&a, Method::POST, "faults", Some(twice)).await.status(), 201);
    let probe = json!({"id": "probe", "route": "users", "status": 500});
    assert_eq!(control(&a, Method::POST, "faults", Some(probe)).await.status(), 201);
    let listed = control_json(&b, "faults").await;
    let ids: Vec<&str> = listed["value"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["twice", "probe"]);
    // B has taken the rules on once the later one answers there (notices arrive in order).
    until("the rules reaching B", async || list_users(&b, "probe").await == 500).await;
    let one = || bulk_of(&[scim_user("F1", "f1@contoso.com", None)]);
    assert_eq!(b.upload(one()).await.status(), 503);
    assert_eq!(a.upload(one()).await.status(), 503);
    assert_eq!(b.upload(one()).await.status(), 202, "two uses in all, not two per replica");
    let left = control_json(&a, "faults").await;
    assert_eq!(left["value"].as_array().unwrap().len(), 1, "{left}");
    assert_eq!(control(&b, Method::DELETE, "faults/probe", None).await.status(), 204);
    until("the removal reaching A", async || list_users(&a, "after").await == 200).await;

    // The clock: moved through A, read on B.
    let r = control(&a, Method::POST, "clock", Some(json!({"advance": "P1D"}))).await;
    assert_eq!(r.status(), 200);
    until("the clock reaching B", async || control_json(&b, "clock").await["offsetSeconds"] == 86_400).await;

    // A reset through B: A's journal, rules and clock are back to a fresh start's.
    let rule = json!({"route": "users", "status": 500});
    assert_eq!(control(&a, Method::POST, "faults", Some(rule)).await.status(), 201);
    assert_eq!(control(&b, Method::POST, "reset", None).await.status(), 204);
    assert_eq!(control_json(&a, "faults").await["value"], json!([]));
    until("the reset reaching A", async || control_json(&a, "clock").await["mode"] == "system").await;
    assert_eq!(list_users(&a, "after-reset").await, 200, "no rule in force on A");
    let journal = control_json(&a, "journal").await;
    let ids: Vec<&str> =
        journal["value"].as_array().unwrap().iter().map(|e| e["clientRequestId"].as_str().unwrap()).collect();
    assert_eq!(ids, ["after-reset"]);
}

async fn job_status(s: &TestServer) -> serde_json::Value {
    let url = format!("{}/v1.0/servicePrincipals/{SP}/synchronization/jobs/{JOB}", s.base);
    let job: serde_json::Value = s.http.get(url).bearer_auth(s.token()).send().await.unwrap().json().await.unwrap();
    job["status"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "two apps on one database: PostgreSQL only, run by the PostgreSQL leg (tests/it/postgres_leg.rs)"]
async fn a_replica_not_holding_the_job_shows_its_counters_and_its_quarantine() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let config = |c: &mut entra_inbound::config::Config| {
        c.storage.data_dir = data.clone();
        crate::support::quarantine_early(c);
    };
    let a = TestServer::with_config(config).await;
    upload(&a, &["H0".to_owned()]).await;
    a.drain(JOB).await; // A holds the job
    let b = TestServer::with_config(config).await;

    // What A processed for uploads B accepted: B's drain answers once B shows A's status, counters included.
    upload(&b, &["H1".to_owned(), "H2".to_owned()]).await;
    b.drain(JOB).await;
    let shown = job_status(&b).await;
    assert_eq!(shown["lastExecution"]["countEntitled"], 2, "{shown}");
    assert_eq!(shown, job_status(&a).await);
    // Without a drain: each batch A commits reaches B (a notice).
    upload(&a, &["H3".to_owned(), "H4".to_owned(), "H5".to_owned()]).await;
    a.drain(JOB).await;
    let at_a = job_status(&a).await;
    assert_eq!(at_a["lastExecution"]["countEntitled"], 3, "{at_a}");
    until("A's batch reaching B", async || job_status(&b).await == at_a).await;

    // A quarantines the job: B shows it, and a drain asked of B for what waits says so, as one asked of A would.
    assert_eq!(b.upload(crate::support::failing_creates("X", 8)).await.status(), 202);
    b.drain(JOB).await;
    assert_eq!(job_status(&b).await["code"], "Quarantine");
    upload(&b, &["H6".to_owned()]).await;
    let r = b.http.post(format!("{}/_emulator/jobs/{JOB}/drain?timeout=10", b.base)).send().await.unwrap();
    crate::support::assert_graph_error(
        r,
        409,
        "Conflict",
        &format!("Job '{JOB}' is in quarantine; restart it before draining."),
    )
    .await;
}

/// A session of the test's own on `s`'s database, to play another replica's writer.
async fn session(s: &TestServer) -> tokio_postgres::Client {
    let (client, connection) =
        tokio_postgres::connect(&s.state.config.storage.url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// Starts `POST /_emulator/reset` on `s` and checks that it is still waiting a moment later (for a lock the
/// caller's transaction holds); its status, once it ends.
async fn reset_meanwhile(s: &TestServer) -> tokio::task::JoinHandle<u16> {
    let reset = tokio::spawn({
        let (http, url) = (s.http.clone(), format!("{}/_emulator/reset", s.base));
        async move { http.post(url).send().await.unwrap().status().as_u16() }
    });
    // Long enough for the reset to reach the lock it waits on (it cannot finish while the lock is held).
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!reset.is_finished(), "the reset waits for the writer in progress");
    reset
}

/// A reset while a batch commits (on another replica): the batch's commit locks its job's progress first and
/// trims the staged requests it applied last. The reset waits for it instead of deadlocking with it — it used
/// to take the staged requests first, and PostgreSQL broke the deadlock by failing one side (a reset answering
/// 500). The batch is played by a transaction of the test's own, holding the job's progress row while the
/// reset starts, then trimming.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a second session on the database: PostgreSQL only, run by the PostgreSQL leg (tests/it/postgres_leg.rs)"]
async fn a_reset_waits_for_a_batch_committing_meanwhile_instead_of_deadlocking() {
    let s = TestServer::start().await;
    assert_eq!(post(&s, "/pause").await, 204);
    upload(&s, &["R1".to_owned()]).await; // a staged request the reset deletes and the batch trims
    let mut batch = session(&s).await;
    let tx = batch.transaction().await.unwrap();
    tx.execute("INSERT INTO job_progress (job_id, through) VALUES ($1, 0) ON CONFLICT DO NOTHING", &[&JOB])
        .await
        .unwrap();
    tx.execute("UPDATE job_progress SET through = through WHERE job_id = $1", &[&JOB]).await.unwrap();
    let reset = reset_meanwhile(&s).await;
    let trimmed = tx.execute("DELETE FROM staged_request WHERE job_id = $1 AND seq <= $2", &[&JOB, &i64::MAX]).await;
    assert!(trimmed.is_ok(), "the batch's trim: {trimmed:?}");
    tx.commit().await.unwrap();
    assert_eq!(reset.await.unwrap(), 204);
}

/// A reset while a SCIM write turn (on another replica) rewrites a group: the turn holds the SCIM turns'
/// advisory lock (`SCIM_LOCK` in `src/store/postgres/scim.rs`), writes the group's row, then its members;
/// the reset, which deletes the members first, waits for the turn instead of deadlocking with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a second session on the database: PostgreSQL only, run by the PostgreSQL leg (tests/it/postgres_leg.rs)"]
async fn a_reset_waits_for_a_scim_turn_writing_a_group_instead_of_deadlocking() {
    use crate::scim_support::{V2, group, user};
    use reqwest::Method;
    let s = TestServer::start().await;
    let member = s.scim(Method::POST, V2, "/Users", Some(user("ann"))).await.body["id"].as_str().unwrap().to_owned();
    let g = s.scim(Method::POST, V2, "/Groups", Some(group("Team", &[&member]))).await;
    let group_id = g.body["id"].as_str().unwrap().to_owned();
    let mut turn = session(&s).await;
    let tx = turn.transaction().await.unwrap();
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&0x656e_7472_615f_6331_i64]).await.unwrap();
    tx.execute("UPDATE scim_resource SET version = version + 1 WHERE id = $1", &[&group_id]).await.unwrap();
    let reset = reset_meanwhile(&s).await;
    let members = tx.execute("DELETE FROM scim_member WHERE group_id = $1", &[&group_id]).await;
    assert_eq!(members.ok(), Some(1), "the turn rewrites the group's members");
    tx.commit().await.unwrap();
    assert_eq!(reset.await.unwrap(), 204);
}
