//! The console of `entra-inbound serve` as a person reads it (README "Logging"): one line per rejected request and
//! per processed batch at INFO, no colour codes when not on a terminal, no token or secret ever.

use std::io::Read as _;

use crate::support::*;

#[tokio::test]
async fn rejected_requests_and_batches_get_one_readable_line_each_and_no_secret() {
    let mut child = command()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
    assert!(first.starts_with(&format!("entra-inbound {} listening on http://127.0.0.1:", env!("CARGO_PKG_VERSION"))));
    let base = first.trim().rsplit(' ').next().unwrap().to_owned();
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let mut stderr = child.stderr.take().unwrap();
    let http = reqwest::Client::new();
    let token = String::from_utf8(command().arg("token").output().unwrap().stdout).unwrap().trim().to_owned();
    let url = format!("{base}/v1.0/servicePrincipals/{SP}/synchronization/jobs/{JOB}/bulkUpload");
    let wrong =
        http.post(&url).bearer_auth(&token).header("content-type", "application/json").body(fixture("example1.json"));
    let wrong = wrong.send().await.unwrap();
    assert_eq!(wrong.status(), 400);
    let request_id = wrong.headers()["request-id"].to_str().unwrap().to_owned();
    let ok = http.post(&url).bearer_auth(&token).header("content-type", SCIM).body(fixture("example1.json"));
    assert_eq!(ok.send().await.unwrap().status(), 202);
    let secret = "a-client-secret-nobody-may-see";
    let r = token_request_with_secret(&http, &base, secret).await;
    assert_eq!(r.status(), 401);
    let r = http.post(format!("{base}/_emulator/jobs/{JOB}/drain")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let _ = child.kill();
    let _ = child.wait();
    let mut log = String::new();
    stderr.read_to_string(&mut log).unwrap();

    assert!(!log.contains('\u{1b}'), "no colour codes when stderr is not a terminal:\n{log}");
    assert!(!log.contains(&token) && !log.contains(secret), "a token or secret reached the console:\n{log}");
    let rejected: Vec<&str> = log.lines().filter(|l| l.contains("request rejected")).collect();
    assert_eq!(rejected.len(), 2, "{log}");
    assert!(rejected[0].contains(" INFO "), "{}", rejected[0]);
    assert!(
        rejected[0].contains("route=\"bulkUpload\"") || rejected[0].contains("route=bulkUpload"),
        "{}",
        rejected[0]
    );
    assert!(rejected[0].contains("status=400"), "{}", rejected[0]);
    assert!(rejected[0].contains("The Content-Type header must be 'application/scim+json'."), "{}", rejected[0]);
    assert!(rejected[0].contains(&request_id), "{}", rejected[0]);
    assert!(rejected[1].contains("AADSTS7000215"), "{}", rejected[1]);
    let batch = log.lines().find(|l| l.contains("batch processed")).unwrap_or_else(|| panic!("{log}"));
    for counter in ["created=2", "updated=0", "disabled=0", "skipped=0", "failed=0"] {
        assert!(batch.contains(counter), "{batch}");
    }
}

#[test]
fn help_documents_rust_log_filtering() {
    let out = command().arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("RUST_LOG=warn"), "{help}");
    assert!(help.contains("one line per rejected request"), "{help}");
}
