//! `entra-inbound upload` against the real binary: a 500-row CSV through a small quota (429s waited out, every
//! record reported once, none sent twice), the progress bar only on a terminal, the psd1 and JSON Lines inputs,
//! HTTPS with the emulator's CA, and the dry run.

use std::collections::HashMap;
use std::path::Path;
use std::process::Output;

use crate::support::*;

pub fn fixture_path(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Runs `entra-inbound upload ARGS…` to completion off the async runtime.
pub async fn upload(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = command();
    c.arg("upload").args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    tokio::task::spawn_blocking(move || c.output().unwrap()).await.unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `--json` report: externalId → outcome.
pub fn outcomes(out: &Output) -> HashMap<String, serde_json::Value> {
    let all: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: stdout {} stderr {}", text(&out.stdout), text(&out.stderr)));
    let map: HashMap<String, serde_json::Value> =
        all.iter().map(|o| (o["externalId"].as_str().unwrap().to_owned(), o.clone())).collect();
    assert_eq!(map.len(), all.len(), "one outcome per record");
    map
}

/// A config file giving the default job `extra` keys (e.g. a small quota).
pub fn job_config(dir: &Path, extra: &str) -> String {
    let path = dir.join("job.toml");
    std::fs::write(
        &path,
        format!("[[service_principals]]\nid = \"{SP}\"\n[[service_principals.jobs]]\nid = \"{JOB}\"\n{extra}\n"),
    )
    .unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn five_hundred_rows_through_a_small_quota_end_with_one_outcome_each() {
    let dir = tempfile::tempdir().unwrap();
    // 3 requests a second (burst 3): ten requests of 50 are throttled several times.
    let server = spawn_server(&["--config", &job_config(dir.path(), "rate_limit = 3\nrate_window_secs = 1")]);
    let mut csv =
        String::from("employeeId,userName,displayName,givenName,familyName,email,department,managerId,active\n");
    for i in 1..=500 {
        // Row 300 reuses row 299's userName: its create fails (a UPN collision), the rest go on.
        let upn = if i == 300 { "u299@contoso.com".to_owned() } else { format!("u{i}@contoso.com") };
        let manager = if i == 1 { String::new() } else { "E0001".to_owned() };
        csv += &format!("E{i:04},{upn},User {i},Given{i},Family{i},{upn},Dept {},{manager},true\n", i % 7);
    }
    let file = dir.path().join("hr.csv");
    std::fs::write(&file, csv).unwrap();

    let out = upload(&[file.to_str().unwrap(), "--url", &server.base, "--json"], &[]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "one record failed: {stderr}");
    let outcomes = outcomes(&out);
    assert_eq!(outcomes.len(), 500);
    let failed: Vec<&String> = outcomes.iter().filter(|(_, o)| o["status"] != "success").map(|(k, _)| k).collect();
    assert_eq!(failed, ["E0300"], "{stderr}");
    assert_eq!(outcomes["E0300"]["status"], "failure");
    assert_eq!(outcomes["E0300"]["errorCode"], "AzureActiveDirectoryInvalidUserPrincipalName");
    assert!(outcomes["E0300"]["reason"].as_str().is_some_and(|r| !r.is_empty()));
    assert_eq!(outcomes["E0001"]["action"], "create");
    assert!(stderr.contains("500 records: 499 success, 1 failure; 10 requests"), "{stderr}");
    let throttled: u32 = stderr.split(" throttled").next().and_then(|s| s.rsplit(' ').next()).unwrap().parse().unwrap();
    assert!(throttled > 0, "the quota answered 429 at least once: {stderr}");

    // None sent twice: the emulator logged exactly one entry per record.
    let token = text(&command().arg("token").output().unwrap().stdout);
    let http = reqwest::Client::new();
    let mut url = format!("{}/v1.0/auditLogs/provisioning?$top=1000", server.base);
    let mut per_record: HashMap<String, usize> = HashMap::new();
    loop {
        let page: serde_json::Value =
            http.get(&url).bearer_auth(token.trim()).send().await.unwrap().json().await.unwrap();
        for e in page["value"].as_array().unwrap() {
            *per_record.entry(e["sourceIdentity"]["id"].as_str().unwrap().to_owned()).or_default() += 1;
        }
        match page["@odata.nextLink"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(per_record.len(), 500);
    assert!(per_record.values().all(|&n| n == 1), "an operation was sent twice");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_progress_bar_is_drawn_only_on_a_terminal() {
    let server = spawn_server(&[]);
    let csv = fixture_path("upload/hr.csv");
    let mapping = fixture_path("upload/mapping.toml");
    // Piped: no bar, only the report and the summary.
    let out = upload(&[&csv, "--mapping", &mapping, "--url", &server.base], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert_eq!(stderr, "3 records: 3 success; 1 requests, 0 throttled (429) and retried\n");
    assert!(
        text(&out.stdout).starts_with("externalId  action  status   errorCode  reason\nE1001       create  success")
    );

    // On a terminal (script(1) gives the command a pseudo-terminal): the bar is drawn on it.
    let bin = env!("CARGO_BIN_EXE_entra-inbound");
    let line = format!("'{bin}' upload '{csv}' --mapping '{mapping}' --url '{}' --json", server.base);
    let mut c = std::process::Command::new("script");
    c.args(["-q", "-e", "-c", &line, "/dev/null"]).env("TERM", "xterm");
    let out = tokio::task::spawn_blocking(move || c.output())
        .await
        .unwrap()
        .expect("script(1) from util-linux runs the command on a pseudo-terminal; install util-linux");
    let screen = text(&out.stdout);
    assert!(out.status.success(), "{screen}");
    assert!(screen.contains("uploading") && screen.contains("/3 records"), "no progress bar drawn: {screen:?}");
    assert!(screen.contains("\"externalId\": \"E1001\""), "{screen}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_psd1_mapping_and_json_lines_upload_what_their_records_say() {
    let server = spawn_server(&[]);
    let psd1 = fixture_path("upload/AttributeMapping.psd1");
    let out = upload(&[&fixture_path("upload/hr.csv"), "--mapping", &psd1, "--url", &server.base, "--json"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let o = outcomes(&out);
    assert_eq!((o["E1001"]["action"].as_str(), o["E1003"]["status"].as_str()), (Some("create"), Some("success")));
    let http = reqwest::Client::new();
    let token = text(&command().arg("token").output().unwrap().stdout);
    let users: serde_json::Value = http
        .get(format!("{}/beta/users?$filter=employeeId%20eq%20'E1003'", server.base))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let grace = &users["value"][0];
    assert_eq!((grace["displayName"].as_str(), grace["accountEnabled"].as_bool()), (Some("Grace Hopper"), Some(false)));
    assert_eq!(grace["department"], "Navy");

    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("hr.jsonl");
    std::fs::write(
        &jsonl,
        "{\"externalId\":\"J1\",\"userName\":\"j1@contoso.com\",\"displayName\":\"J One\",\"active\":true}\n\
         {\"externalId\":\"J2\",\"userName\":\"j2@contoso.com\",\"displayName\":\"J Two\",\"active\":false}\n",
    )
    .unwrap();
    let out = upload(&[jsonl.to_str().unwrap(), "--url", &server.base, "--json"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(outcomes(&out)["J2"]["action"], "create");
}

#[tokio::test(flavor = "multi_thread")]
async fn over_https_the_token_comes_from_the_emulator_trusting_its_ca() {
    let s = TlsTestServer::start(std::sync::Arc::new(entra_inbound::clock::SystemClock), |_| {}).await;
    let ca = s.ca_file.display().to_string();
    let csv = fixture_path("upload/hr.csv");
    let mapping = fixture_path("upload/mapping.toml");
    let args = [csv.as_str(), "--mapping", &mapping, "--url", &s.https_base, "--json"];
    let out = upload(&args, &[("SSL_CERT_FILE", &ca)]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(outcomes(&out).len(), 3);
    // Trusting other roots only, the emulator's certificate is refused, and the message says so.
    let other = fixture_path("client-cert.pem");
    let out = upload(&args, &[("SSL_CERT_FILE", &other), ("SSL_CERT_DIR", "/nonexistent")]).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("entra-inbound upload: token endpoint https://127.0.0.1:"), "{stderr}");
    assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");
}

#[tokio::test]
async fn a_dry_run_prints_requests_of_at_most_fifty_operations() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("externalId,userName,active\n");
    for i in 1..=120 {
        csv += &format!("{i},u{i}@contoso.com,false\n");
    }
    let file = dir.path().join("hr.csv");
    std::fs::write(&file, csv).unwrap();
    // Nothing listens there: a dry run sends nothing.
    let out = upload(&[file.to_str().unwrap(), "--url", "http://127.0.0.1:9", "--dry-run", "--json"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let requests: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let sizes: Vec<usize> = requests.iter().map(|r| r["body"]["Operations"].as_array().unwrap().len()).collect();
    assert_eq!(sizes, [50, 50, 20]);
    assert_eq!(
        requests[0]["url"],
        format!("http://127.0.0.1:9/v1.0/servicePrincipals/{SP}/synchronization/jobs/{JOB}/bulkUpload")
    );
    let op = &requests[2]["body"]["Operations"][19];
    assert_eq!(op["bulkId"], "line-121");
    assert_eq!(op["data"]["active"], false);
    assert_eq!(op["data"]["schemas"][0], "urn:ietf:params:scim:schemas:core:2.0:User");
    assert!(!text(&out.stderr).contains("no active column"), "{}", text(&out.stderr));

    let out = upload(&[file.to_str().unwrap(), "--dry-run"], &[]).await;
    let shown = text(&out.stdout);
    assert!(
        shown.starts_with("# request 1 of 3 (50 operations)\nPOST http://127.0.0.1:8080/v1.0/servicePrincipals/"),
        "{shown}"
    );
}
