//! The virtual clock (README "Virtual clock"): `GET`/`POST /_emulator/clock`, and everything that reads time
//! following it — token expiry, quotas and the daily cap, `activityDateTime`, error dates.

use serde_json::{Value, json};

use crate::support::*;

async fn clock(s: &TestServer) -> Value {
    let r = s.http.get(format!("{}/_emulator/clock", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn moved(s: &TestServer, change: Value) -> Value {
    let r = s.move_clock(change.clone()).await;
    assert_eq!(r.status(), 200, "{change}");
    r.json().await.unwrap()
}

/// A token from the emulator's token endpoint (client credentials): issued at the emulator's time.
async fn fetched_token(s: &TestServer) -> String {
    let r = s
        .http
        .post(format!("{}/{TENANT}/oauth2/v2.0/token", s.base))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "c0ffee00-0000-4000-8000-0000000000c1"),
            ("client_secret", "emulator-secret"),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn advancing_25_hours_resets_the_daily_cap_and_expires_a_token_minted_before() {
    let s = TestServer::with_config(|c| c.service_principals[0].jobs[0].daily_cap = 2).await;
    let before = fetched_token(&s).await;
    assert_eq!(s.upload_as(&before, fixture("example1.json")).await.status(), 202);
    assert_eq!(s.upload_as(&before, fixture("example2.json")).await.status(), 202);
    let r = s.upload_as(&before, fixture("example3.json")).await;
    assert_eq!(r.status(), 429, "the day's cap is used up");
    assert!(r.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() > 3600);

    let shown = moved(&s, json!({"advance": "PT25H"})).await;
    assert_eq!(shown, json!({"mode": "offset", "now": "2025-01-16T11:00:00Z", "offsetSeconds": 90_000}));

    let r = s.upload_as(&before, fixture("example3.json")).await;
    assert_graph_error_at(r, 401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.").await;
    let after = fetched_token(&s).await;
    assert_eq!(s.upload_as(&after, fixture("example3.json")).await.status(), 202, "a new day, a new cap");
}

/// [`assert_graph_error`] without the fixed error date (the clock moved).
async fn assert_graph_error_at(r: reqwest::Response, status: u16, code: &str, message: &str) -> Value {
    assert_eq!(r.status().as_u16(), status);
    let body: Value = r.json().await.unwrap();
    assert_eq!((body["error"]["code"].as_str(), body["error"]["message"].as_str()), (Some(code), Some(message)));
    body
}

#[tokio::test]
async fn the_clock_reads_moves_and_goes_back_to_system_time() {
    let s = TestServer::start().await;
    let system = json!({"mode": "system", "now": "2025-01-15T10:00:00Z", "offsetSeconds": 0});
    assert_eq!(clock(&s).await, system);
    let set = moved(&s, json!({"set": "2027-01-01T00:00:00Z"})).await;
    assert_eq!(set, json!({"mode": "offset", "now": "2027-01-01T00:00:00Z", "offsetSeconds": 61_826_400}));
    assert_eq!(clock(&s).await, set);
    s.clock.advance(time::Duration::seconds(30));
    assert_eq!(clock(&s).await["now"], "2027-01-01T00:00:30Z", "virtual time keeps flowing");
    let advanced = moved(&s, json!({"advance": "P1DT0.5S"})).await;
    assert_eq!(advanced["now"], "2027-01-02T00:00:30Z");
    assert_eq!(
        moved(&s, json!({"mode": "system"})).await,
        json!({"mode": "system", "now": "2025-01-15T10:00:30Z", "offsetSeconds": 0})
    );
}

#[tokio::test]
async fn log_entries_and_error_dates_follow_the_clock() {
    let s = TestServer::start().await;
    moved(&s, json!({"set": "2026-06-01T12:00:00Z"})).await;
    let token = fetched_token(&s).await;
    assert_eq!(s.upload_as(&token, fixture("example1.json")).await.status(), 202);
    s.drain(JOB).await;
    let r = s.http.get(format!("{}/v1.0/auditLogs/provisioning", s.base)).bearer_auth(&token).send().await.unwrap();
    let page: Value = r.json().await.unwrap();
    assert_eq!(page["value"][0]["activityDateTime"], "2026-06-01T12:00:00Z");
    let r = s.http.get(format!("{}/v1.0/users/nobody", s.base)).bearer_auth(&token).send().await.unwrap();
    let body = assert_graph_error_at(
        r,
        404,
        "Request_ResourceNotFound",
        "Resource 'nobody' does not exist or one of its queried reference-property objects are not present.",
    )
    .await;
    assert_eq!(body["error"]["innerError"]["date"], "2026-06-01T12:00:00");
}

#[tokio::test]
async fn moving_the_clock_back_fills_the_quotas_again() {
    let s = TestServer::with_config(|c| c.service_principals[0].jobs[0].daily_cap = 1).await;
    let token = s.token();
    moved(&s, json!({"advance": "PT1H"})).await;
    let token_now = fetched_token(&s).await;
    assert_eq!(s.upload_as(&token_now, fixture("example1.json")).await.status(), 202);
    assert_eq!(s.upload_as(&token_now, fixture("example2.json")).await.status(), 429);
    // Back to system time, an hour earlier: the day's window would otherwise lie a day and an hour ahead.
    moved(&s, json!({"mode": "system"})).await;
    assert_eq!(s.upload_as(&token, fixture("example2.json")).await.status(), 202);
}

#[tokio::test]
async fn clock_changes_it_does_not_understand_are_refused_and_change_nothing() {
    let s = TestServer::start().await;
    let one_of = "Send one of {\"advance\": \"PT25H\"}, {\"set\": \"2027-01-01T00:00:00Z\"} or {\"mode\": \"system\"}.";
    let cases = [
        (json!({}), one_of.to_owned()),
        (json!({"advance": "PT1H", "set": "2027-01-01T00:00:00Z"}), one_of.to_owned()),
        (
            json!({"advance": "-PT1H"}),
            "'-PT1H' is not an ISO 8601 duration the clock accepts (a sign is not accepted); write e.g. PT25H, P1DT30M or PT0.5S.".to_owned(),
        ),
        (
            json!({"advance": "P1M"}),
            "'P1M' is not an ISO 8601 duration the clock accepts (years and months have no fixed length); write e.g. PT25H, P1DT30M or PT0.5S.".to_owned(),
        ),
        (json!({"advance": "P99999999W"}), "Advancing the clock by 'P99999999W' leaves the range of dates.".to_owned()),
        (json!({"set": "tomorrow"}), "'tomorrow' is not an RFC 3339 date-time.".to_owned()),
        (
            json!({"mode": "offset"}),
            "The mode 'offset' cannot be set; \"system\" goes back to the system clock, advance or set moves it.".to_owned(),
        ),
        (
            json!({"advance": 5}),
            format!("{one_of} (invalid type: integer `5`, expected a string at line 1 column 12)"),
        ),
        (
            json!({"speed": 2}),
            format!("{one_of} (unknown field `speed`, expected one of `advance`, `set`, `mode` at line 1 column 8)"),
        ),
    ];
    for (change, message) in cases {
        assert_graph_error(s.move_clock(change).await, 400, "BadRequest", &message).await;
    }
    let r = s.http.post(format!("{}/_emulator/clock", s.base)).body("not json").send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(clock(&s).await["mode"], "system");
}

#[tokio::test]
async fn log_retention_follows_the_clock() {
    let s = TestServer::start().await;
    assert_eq!(s.upload(fixture("example1.json")).await.status(), 202);
    s.drain(JOB).await;
    assert_eq!(s.log_entries().await.len(), 2);
    // 31 days later the first batch's entries are past the 30 days' retention; the next batch expires them.
    moved(&s, json!({"advance": "P31D"})).await;
    let token = fetched_token(&s).await;
    assert_eq!(s.upload_as(&token, fixture("example3.json")).await.status(), 202);
    s.drain(JOB).await;
    let r = s.http.get(format!("{}/v1.0/auditLogs/provisioning", s.base)).bearer_auth(&token).send().await.unwrap();
    let page: Value = r.json().await.unwrap();
    let sources: Vec<&Value> = page["value"].as_array().unwrap().iter().map(|e| &e["sourceIdentity"]["id"]).collect();
    assert_eq!(sources, [&json!("7172023")], "{page}");
}
