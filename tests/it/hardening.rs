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
