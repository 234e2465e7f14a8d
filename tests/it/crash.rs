//! `kill -9` at random moments while several clients upload to a server with `--data-dir`, a dozen times over:
//! every operation answered 202 ends with exactly one log entry, no operation is applied twice, and the
//! directory holds exactly the users those entries created.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::support::*;

const CLIENTS: usize = 4;
const ROUNDS: u64 = 12;

/// A small deterministic generator, so a failing run can be repeated (`CRASH_TEST_SEED`).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// Uploads requests of unique users until the server goes away; records the externalIds answered 202.
async fn client(base: String, token: String, first: u64, accepted: Arc<Mutex<Vec<String>>>) {
    let http = reqwest::Client::new();
    let url = format!("{base}/v1.0/servicePrincipals/{SP}/synchronization/jobs/{JOB}/bulkUpload");
    let mut n = first;
    loop {
        let ids: Vec<String> = (0..1 + n % 20).map(|i| format!("C{}", n * 100 + i)).collect();
        let users: Vec<Value> =
            ids.iter().map(|id| scim_user(id, &format!("{}@contoso.com", id.to_lowercase()), None)).collect();
        let sent = http.post(&url).bearer_auth(&token).header("content-type", SCIM).body(bulk_of(&users)).send().await;
        match sent {
            Ok(r) if r.status() == 202 => accepted.lock().unwrap().extend(ids),
            Ok(r) if r.status() == 429 => tokio::task::yield_now().await,
            Ok(r) => panic!("unexpected status {}", r.status()),
            Err(_) => return, // killed
        }
        n += CLIENTS as u64;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn accepted_operations_are_applied_exactly_once_across_repeated_kill_9() {
    let seed = std::env::var("CRASH_TEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed);
    let mut rng = Lcg(seed);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let args = ["--data-dir", data.to_str().unwrap()];
    let token = String::from_utf8(command().arg("token").output().unwrap().stdout).unwrap().trim().to_owned();
    let accepted = Arc::new(Mutex::new(Vec::new()));
    for round in 0..ROUNDS {
        let mut server = spawn_server(&args);
        let clients: Vec<_> = (0..CLIENTS as u64)
            .map(|c| {
                tokio::spawn(client(server.base.clone(), token.clone(), round * 1_000_000 + c, Arc::clone(&accepted)))
            })
            .collect();
        // The kill lands at a random moment: mid-request, mid-staging, mid-batch or between batches.
        tokio::time::sleep(std::time::Duration::from_millis(50 + rng.below(450))).await;
        server.kill_9();
        for c in clients {
            c.await.unwrap();
        }
    }
    let accepted = accepted.lock().unwrap().clone();
    assert!(accepted.len() > 100, "the clients got operations accepted between kills ({})", accepted.len());

    let server = spawn_server(&args);
    let base = &server.base;
    let http = reqwest::Client::new();
    let drained = http.post(format!("{base}/_emulator/jobs/{JOB}/drain?timeout=120")).send().await.unwrap();
    assert_eq!(drained.status(), 200);
    let logs = all_pages(&http, &token, format!("{base}/v1.0/auditLogs/provisioning?$top=1000")).await;
    let users = all_pages(&http, &token, format!("{base}/beta/users?$select=employeeId&$top=999")).await;
    drop(server);

    let mut entries: BTreeMap<String, usize> = BTreeMap::new();
    for e in &logs {
        assert_eq!(e["provisioningAction"], "create", "{e}");
        assert_eq!(e["provisioningStatusInfo"]["status"], "success", "{e}");
        *entries.entry(e["sourceIdentity"]["id"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    let twice: Vec<_> = entries.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "operations applied more than once: {twice:?}");
    let lost: Vec<_> = accepted.iter().filter(|id| !entries.contains_key(*id)).collect();
    assert!(lost.is_empty(), "operations answered 202 but never applied: {lost:?}");
    let logged: BTreeSet<&str> = entries.keys().map(String::as_str).collect();
    let directory: BTreeSet<&str> = users.iter().map(|u| u["employeeId"].as_str().unwrap()).collect();
    assert_eq!(directory, logged, "the directory holds exactly the users the log entries created");
    assert_eq!(users.len(), directory.len(), "no user was created twice");
}
