//! Hardening (issue 15): the limits that keep one hostile request or record from taking the emulator down —
//! expression evaluation limits through `parseExpression` and the worker, token claims, the control API's
//! cross-site rule, slow and idle connections, and the error bodies of the limits themselves.

use entra_inbound::clock::Clock;
use serde_json::{Value, json};

use crate::support::*;

fn parse_expression_url(s: &TestServer) -> String {
    format!("{}/v1.0/servicePrincipals/{SP}/synchronization/jobs/{JOB}/schema/parseExpression", s.base)
}

/// A parseExpression request body testing `expression` with one property.
fn expression_test(expression: &str, key: &str, value: &str) -> Value {
    json!({"expression": expression, "testInputObject": {"properties": [{"key": key, "value": value}]}})
}

/// `Join` of eight regex replacements of `[userName]`, the request that kept the emulator busy for 44 s.
fn regex_join(pattern: &str) -> String {
    let one = format!(r#"Replace([userName], , "{pattern}", , "x", , )"#);
    format!(r#"Join(",", {})"#, vec![one; 8].join(", "))
}

/// `[userName]` wrapped in `levels` replacements that multiply every `a` by ten.
fn tenfold(levels: usize) -> String {
    (0..levels).fold("[userName]".to_owned(), |e, _| format!(r#"Replace({e}, "a", , , "aaaaaaaaaa", , )"#))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expression_attacks_answer_with_the_limit_and_never_starve_health() {
    let s = TestServer::start().await;
    let attacks = [
        // The regex is refused when it is parsed: its automaton is over the size limit.
        (expression_test(&regex_join(r"\\w{0,200}z"), "userName", &"a".repeat(1_000_000)), "size limit"),
        // A smaller one cannot read a 1,000,000-character userName (over 64 KiB)…
        (expression_test(&regex_join(r"\\w{0,10}z"), "userName", &"a".repeat(1_000_000)), "exceed 64 KiB"),
        // …and is priced over the work limit on the largest it may read.
        (expression_test(&regex_join(r"\\w{0,10}z"), "userName", &"a".repeat(65_536)), "more than 64 MiB"),
        // Nine levels of tenfold growth aborted the process.
        (expression_test(&tenfold(9), "userName", "aaaaaaaaaa"), "exceed 64 KiB"),
    ];
    let mut in_flight = Vec::new();
    for _ in 0..2 {
        for (body, limit) in &attacks {
            let request = s.http.post(parse_expression_url(&s)).bearer_auth(s.token()).json(body);
            in_flight.push((tokio::spawn(request.send()), *limit));
        }
    }
    // The async workers stay free while the attacks are evaluated on the blocking pool.
    let mut health_checks = 0;
    while health_checks == 0 || in_flight.iter().any(|(task, _)| !task.is_finished()) {
        let r = s.http.get(format!("{}/health", s.base)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        health_checks += 1;
    }
    for (task, limit) in in_flight {
        let r: Value = task.await.unwrap().unwrap().json().await.unwrap();
        assert_eq!(r["evaluationSucceeded"], false, "{r}");
        let message = r["error"]["message"].as_str().unwrap();
        assert!(message.contains(limit), "{message}");
    }
}

#[tokio::test]
async fn a_record_over_the_value_limit_fails_alone_and_the_batch_goes_on() {
    let s = TestServer::start().await;
    let poison = scim_user("P1", &format!("{}@contoso.com", "p".repeat(70_000)), None);
    s.upload(bulk_of(&[poison, scim_user("P2", "p2@contoso.com", None)])).await;
    s.drain(JOB).await;
    let entries = s.log_entries().await;
    let failed = &entries[0]["provisioningStatusInfo"];
    assert_eq!(failed["status"], "failure");
    assert_eq!(failed["errorInformation"]["errorCode"], "AttributeMappingEvaluationFailed");
    let reason = failed["errorInformation"]["reason"].as_str().unwrap();
    assert!(reason.contains("[userName]: the value would exceed 64 KiB"), "{reason}");
    assert_eq!(entries[1]["provisioningStatusInfo"]["status"], "success");
}

/// A token signed by the development key carrying exactly `claims`.
fn signed(claims: &Value) -> String {
    let keys = entra_inbound::auth::SigningKeys::development().unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(keys.kid.clone());
    jsonwebtoken::encode(&header, claims, &keys.encoding).unwrap()
}

#[tokio::test]
async fn a_token_missing_iss_aud_exp_or_tid_gets_the_401_of_a_wrong_value() {
    let s = TestServer::start().await;
    let now = s.clock.now().unix_timestamp();
    let good = json!({
        "iss": format!("https://sts.windows.net/{TENANT}/"), "aud": "https://graph.microsoft.com",
        "exp": now + 3600, "tid": TENANT, "roles": ["AuditLog.Read.All"],
    });
    let url = format!("{}/v1.0/auditLogs/provisioning", s.base);
    let r = s.http.get(&url).bearer_auth(signed(&good)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let rows = [
        ("iss", json!("https://sts.windows.net/someone-else/"), "Access token validation failure. Invalid issuer."),
        ("aud", json!("api://someone-else"), "Access token validation failure. Invalid audience."),
        ("exp", json!(now - 3600), "Access token has expired or is not yet valid."),
        ("tid", json!("someone-else"), "Access token validation failure. Invalid issuer."),
    ];
    for (claim, wrong, message) in rows {
        let mut with_wrong = good.clone();
        with_wrong[claim] = wrong;
        let mut without = good.clone();
        without.as_object_mut().unwrap().remove(claim);
        let mut challenges = Vec::new();
        for claims in [with_wrong, without] {
            let r = s.http.get(&url).bearer_auth(signed(&claims)).send().await.unwrap();
            challenges.push(r.headers()["www-authenticate"].clone());
            assert_graph_error(r, 401, "InvalidAuthenticationToken", message).await;
        }
        assert_eq!(challenges[0], challenges[1], "{claim}");
    }
}

#[tokio::test]
async fn the_control_api_refuses_requests_from_other_sites() {
    let s = TestServer::start().await;
    let reset = format!("{}/_emulator/reset", s.base);
    let message =
        "The emulator control API refuses requests sent by web pages of other sites (Origin or Sec-Fetch-Site header).";
    let refused = [
        ("origin", "http://evil.example"),
        ("origin", "http://127.0.0.1:1"),
        ("origin", "null"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
    ];
    for (name, value) in refused {
        let r = s.http.post(&reset).header(name, value).send().await.unwrap();
        assert_graph_error(r, 403, "Authorization_RequestDenied", message).await;
    }
    let drain = format!("{}/_emulator/jobs/{JOB}/drain", s.base);
    let r = s.http.post(&drain).header("origin", "http://evil.example").send().await.unwrap();
    assert_graph_error(r, 403, "Authorization_RequestDenied", message).await;
    // curl and test clients send neither header; the emulator's own origin and a typed URL pass.
    for headers in [vec![], vec![("origin", s.base.as_str())], vec![("sec-fetch-site", "none")]] {
        let mut request = s.http.post(&reset);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        assert_eq!(request.send().await.unwrap().status(), 204);
    }
    // /health and /ready are not part of the control API.
    let r = s.http.get(format!("{}/health", s.base)).header("origin", "http://evil.example").send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_wrong_admin_token_is_named_as_such() {
    let s = TestServer::with_config(|c| c.admin.token = "sesame".into()).await;
    let url = format!("{}/_emulator/reset", s.base);
    let r = s.http.post(&url).bearer_auth("open-sesame").send().await.unwrap();
    assert_graph_error(r, 401, "InvalidAuthenticationToken", "The admin token is not valid.").await;
    let r = s.http.post(&url).send().await.unwrap();
    assert_graph_error(r, 401, "InvalidAuthenticationToken", "Access token is empty.").await;
    // The cross-site rule comes first: the right token does not make a cross-site request acceptable.
    let r = s.http.post(&url).bearer_auth("sesame").header("sec-fetch-site", "cross-site").send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(s.http.post(&url).bearer_auth("sesame").send().await.unwrap().status(), 204);
}

#[tokio::test]
async fn request_heads_over_the_limit_get_431_with_the_graph_envelope() {
    let s = TestServer::start().await;
    let message = "The request header fields are too large: at most 100 fields and 64 KiB are accepted.";
    let many = (0..150).fold(s.http.get(format!("{}/health", s.base)), |r, i| r.header(format!("x-h{i}"), "1"));
    let r = many.send().await.unwrap();
    assert_graph_error(r, 431, "RequestHeaderFieldsTooLarge", message).await;
    let url = format!("{}/v1.0/users", s.base);
    let r = s.http.get(&url).bearer_auth(s.token()).header("x-big", "b".repeat(70_000)).send().await.unwrap();
    assert_graph_error(r, 431, "RequestHeaderFieldsTooLarge", message).await;
    // Past hyper's own ceiling (256 fields) the head never reaches the emulator: hyper's bare 431.
    let too_many = (0..300).fold(s.http.get(format!("{}/health", s.base)), |r, i| r.header(format!("x-h{i}"), "1"));
    let r = too_many.send().await.unwrap();
    assert_eq!(r.status(), 431);
    assert_eq!(r.text().await.unwrap(), "");
    // Under the limits nothing changes.
    let some = (0..50).fold(s.http.get(&url).bearer_auth(s.token()), |r, i| r.header(format!("x-h{i}"), "1"));
    assert_eq!(some.header("x-big", "b".repeat(60_000)).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn the_token_endpoint_answers_an_oversized_body_with_an_aadsts_error() {
    let s = TestServer::start().await;
    let r = s
        .http
        .post(format!("{}/{TENANT}/oauth2/v2.0/token", s.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("grant_type=client_credentials&pad={}", "a".repeat(3 * 1024 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(r.headers()["content-type"], "application/json");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(body["error_codes"], json!([90013]));
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.starts_with("AADSTS90013: The request body is too large for the token endpoint.\r\nTrace ID: ")
    );
}

#[tokio::test]
async fn a_schema_with_a_pattern_over_the_size_limit_is_refused() {
    let s = TestServer::start().await;
    let url = format!("{}/v1.0/servicePrincipals/{SP}/synchronization/jobs/{JOB}/schema", s.base);
    let mut schema: Value = s.http.get(&url).bearer_auth(s.token()).send().await.unwrap().json().await.unwrap();
    let expression = r#"Replace([userName], , "\\w{0,200}z", , "x", , )"#;
    schema["synchronizationRules"][0]["objectMappings"][0]["attributeMappings"][6]["source"] =
        json!({"type": "Function", "name": "Replace", "expression": expression});
    let r = s.http.put(&url).bearer_auth(s.token()).json(&schema).send().await.unwrap();
    let message = format!(
        "The expression for 'surname' is invalid: Replace: invalid regexPattern: Compiled regex exceeds size limit of 1048576 bytes. (position 22): {expression}"
    );
    let body = assert_graph_error(r, 400, "BadRequest", &message).await;
    assert_eq!(body["error"]["details"][0]["code"], "InvalidExpression");
}

/// Writes `head` and all of `body` before reading anything, as Python's `urllib` does, then reads the
/// whole answer (the server closes the connection after it).
fn write_all_then_read(addr: &str, head: &str, body: &[u8]) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr)?;
    // A guard against a hung test, not an assertion on time.
    stream.set_read_timeout(Some(std::time::Duration::from_secs(120)))?;
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_writes_its_whole_body_before_reading_gets_the_413() {
    let s = TestServer::start().await;
    let addr = s.base.trim_start_matches("http://").to_owned();
    let body = vec![b' '; 5 * 1024 * 1024];
    let head = format!(
        "POST /v1.0/servicePrincipals/{SP}/synchronization/jobs/{JOB}/bulkUpload HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Bearer {}\r\nContent-Type: {SCIM}\r\nContent-Length: {}\r\n\r\n",
        s.token(),
        body.len()
    );
    let answer = tokio::task::spawn_blocking(move || write_all_then_read(&addr, &head, &body)).await.unwrap();
    // Before lingering close: "Broken pipe" or "Connection reset by peer" while writing or reading.
    let answer = answer.unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 413 Payload Too Large\r\n"), "{head}");
    assert!(head.to_ascii_lowercase().contains("\r\ncontent-type: application/json\r\n"), "{head}");
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["error"]["code"], "RequestEntityTooLarge");
    assert_eq!(body["error"]["message"], "The request body is too large.");
    assert_eq!(body["error"]["innerError"]["date"], "2025-01-15T10:00:00");
}

#[tokio::test]
async fn a_full_queue_on_a_job_in_quarantine_says_to_restart_it() {
    let s = TestServer::with_config(|c| {
        c.staging.queue_capacity = 2;
        c.service_principals[0].jobs[0].deletion_threshold = 1;
    })
    .await;
    let users: Vec<Value> = (0..2).map(|i| scim_user(&format!("Q{i}"), &format!("q{i}@contoso.com"), None)).collect();
    s.upload(bulk_of(&users)).await;
    s.drain(JOB).await;
    let mut disables = users.clone();
    for u in &mut disables {
        u["active"] = json!(false);
    }
    // Two disables in one cycle pass the threshold of one: the job is quarantined.
    s.upload(bulk_of(&disables)).await;
    s.drain(JOB).await;
    assert_eq!(s.upload(bulk_of(&users)).await.status(), 202, "a job in quarantine still accepts uploads");
    let r = s.upload(bulk_of(&users[..1])).await;
    assert!(r.headers().get("retry-after").is_none());
    let message = format!(
        "The staging queue is full and job '{JOB}' is in quarantine: it processes nothing until it is restarted, so retrying cannot help. Restart the job, then send the request again."
    );
    assert_graph_error(r, 429, "TooManyRequests", &message).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_mapping_fails_once_and_a_restart_on_the_same_data_dir_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let args = ["--data-dir", data.to_str().unwrap()];
    let token = String::from_utf8(command().arg("token").output().unwrap().stdout).unwrap().trim().to_owned();
    let http = reqwest::Client::new();
    let mut server = spawn_server(&args);
    // jobTitle ← nine tenfold replacements of every 'a' of userName: one 'a' would make 10^9 of them (before
    // the expression limits, the worker allocated until the process aborted, and again after each restart).
    let schema_url = format!("{}/v1.0/servicePrincipals/{SP}/synchronization/jobs/{JOB}/schema", server.base);
    let mut schema: Value = http.get(&schema_url).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let mappings = schema["synchronizationRules"][0]["objectMappings"][0]["attributeMappings"].as_array_mut().unwrap();
    let job_title = mappings.iter_mut().find(|m| m["targetAttributeName"] == "jobTitle").unwrap();
    job_title["source"] = json!({"type": "Function", "name": "Replace", "expression": tenfold(9)});
    let r = http.put(&schema_url).bearer_auth(&token).json(&schema).send().await.unwrap();
    assert_eq!(r.status(), 204);

    let upload = |base: &str, users: &[Value]| {
        let url = format!("{base}/v1.0/servicePrincipals/{SP}/synchronization/jobs/{JOB}/bulkUpload");
        http.post(url).bearer_auth(&token).header("content-type", SCIM).body(bulk_of(users)).send()
    };
    let drain = |base: &str| http.post(format!("{base}/_emulator/jobs/{JOB}/drain?timeout=60")).send();
    let poison = scim_user("P1", "pa@contoso.com", None);
    assert_eq!(upload(&server.base, &[poison, scim_user("B1", "b1@contoso.com", None)]).await.unwrap().status(), 202);
    assert_eq!(drain(&server.base).await.unwrap().status(), 200);
    let logs_url = |base: &str| format!("{base}/v1.0/auditLogs/provisioning?$orderby=activityDateTime%20asc");
    let entries = |base: String| {
        let request = http.get(logs_url(&base)).bearer_auth(&token).send();
        async move { request.await.unwrap().json::<Value>().await.unwrap()["value"].as_array().unwrap().clone() }
    };
    let before = entries(server.base.clone()).await;
    assert_eq!(before.len(), 2);
    let failed = &before[0]["provisioningStatusInfo"];
    assert_eq!(failed["status"], "failure");
    assert_eq!(failed["errorInformation"]["errorCode"], "AttributeMappingEvaluationFailed");
    assert!(failed["errorInformation"]["reason"].as_str().unwrap().contains("the value would exceed 64 KiB"));
    assert_eq!(before[1]["provisioningStatusInfo"]["status"], "success");

    server.kill_9();
    let server = spawn_server(&args);
    assert_eq!(http.get(format!("{}/health", server.base)).send().await.unwrap().status(), 200);
    let drained: Value = drain(&server.base).await.unwrap().json().await.unwrap();
    assert_eq!(drained["pending"], 0);
    assert_eq!(entries(server.base.clone()).await, before, "the poison operation is not processed again");
    // The job goes on with the same schema: a record without an 'a' in its userName is provisioned.
    assert_eq!(upload(&server.base, &[scim_user("C1", "c1@contoso.com", None)]).await.unwrap().status(), 202);
    assert_eq!(drain(&server.base).await.unwrap().status(), 200);
    let after = entries(server.base.clone()).await;
    assert_eq!(after.len(), 3);
    assert_eq!(after[2]["sourceIdentity"]["id"], "C1");
    assert_eq!(after[2]["provisioningStatusInfo"]["status"], "success");
}

#[tokio::test]
async fn a_record_without_active_is_created_disabled_and_the_matching_step_says_so() {
    let s = TestServer::start().await;
    let mut no_active = scim_user("N1", "n1@contoso.com", None);
    no_active.as_object_mut().unwrap().remove("active");
    s.upload(bulk_of(&[no_active, scim_user("Y1", "y1@contoso.com", None)])).await;
    s.drain(JOB).await;
    let entries = s.log_entries().await;
    let matching = |entry: &Value| {
        let step =
            entry["provisioningSteps"].as_array().unwrap().iter().find(|s| s["provisioningStepType"] == "matching");
        step.unwrap()["description"].as_str().unwrap().to_owned()
    };
    // Before: "User 'N1' will be created in Microsoft Entra ID (User is active and assigned in API, …)".
    assert_eq!(
        matching(&entries[0]),
        "User 'N1' will be created in Microsoft Entra ID (no matching User was found in Microsoft Entra ID); it is created disabled because it is not active in API"
    );
    assert_eq!(s.user_doc("N1").await["accountEnabled"], false);
    assert_eq!(
        matching(&entries[1]),
        "User 'Y1' will be created in Microsoft Entra ID (User is active and assigned in API, but no matching User was found in Microsoft Entra ID)"
    );
    assert_eq!(s.user_doc("Y1").await["accountEnabled"], true);
}
