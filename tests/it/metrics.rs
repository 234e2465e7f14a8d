//! `GET /metrics` (issue 12, point 6): Prometheus text that a real parser reads, whose series move with what the
//! test did — requests by surface and status, 429s, operations staged and processed, queue depth, job state,
//! latency histograms. Each application has a registry of its own, so the values are exactly this test's.

use prometheus_parse::{Scrape, Value as Sample};
use serde_json::{Value, json};

use crate::support::*;

/// A scrape of `s`, parsed; the content type is the Prometheus text format's.
async fn scrape(s: &TestServer) -> Scrape {
    let r = s.http.get(format!("{}/metrics", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    let text = r.text().await.unwrap();
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap()
}

/// The value of the counter or gauge `name` whose labels include `labels`; 0 when there is no such series.
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<f64> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            Sample::Counter(v) | Sample::Gauge(v) => v,
            ref other => panic!("{name} is not a counter or gauge: {other:?}"),
        })
        .collect();
    assert!(found.len() <= 1, "{name} {labels:?} matches {} series", found.len());
    found.first().copied().unwrap_or(0.0)
}

/// How many observations the histogram `name` with exactly `labels` holds (its `+Inf` bucket).
fn observations(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let sample = scrape
        .samples
        .iter()
        .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .unwrap_or_else(|| panic!("no histogram {name} {labels:?}"));
    match &sample.value {
        Sample::Histogram(buckets) => {
            buckets.iter().find(|b| b.less_than == f64::INFINITY).expect("a +Inf bucket").count
        }
        other => panic!("{name} is not a histogram: {other:?}"),
    }
}

fn job_state(scrape: &Scrape, state: &str) -> f64 {
    value(scrape, "entra_inbound_job_state", &[("job_id", JOB), ("state", state)])
}

async fn upload_json(s: &TestServer, body: String) -> u16 {
    let r = s
        .http
        .post(s.upload_url("v1.0", SP, JOB))
        .bearer_auth(s.token())
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    r.status().as_u16()
}

#[tokio::test]
async fn counters_move_with_the_uploads_the_test_made() {
    let s = TestServer::with_config(|c| c.service_principals[0].jobs[0].daily_cap = 3).await;
    let before = scrape(&s).await;
    assert_eq!(value(&before, "entra_inbound_operations_staged_total", &[("job_id", JOB)]), 0.0, "registered at zero");
    assert_eq!(value(&before, "entra_inbound_queued_operations", &[("job_id", JOB)]), 0.0);
    assert_eq!(job_state(&before, "running"), 1.0);

    let (a, b) = (scim_user("M1", "m1@contoso.com", None), scim_user("M2", "m2@contoso.com", None));
    assert_eq!(s.upload(bulk_of(&[a.clone(), b])).await.status(), 202);
    s.drain(JOB).await;
    let mut leaving = a;
    leaving["active"] = json!(false);
    assert_eq!(s.upload(bulk_of(&[leaving])).await.status(), 202);
    s.drain(JOB).await;
    assert_eq!(upload_json(&s, bulk_of(&[scim_user("M3", "m3@contoso.com", None)])).await, 400, "wrong media type");
    assert_eq!(s.upload(bulk_of(&[scim_user("M4", "m4@contoso.com", None)])).await.status(), 429, "daily cap");
    // The SCIM service provider and unknown paths are counted by surface too, never by path.
    let scim = s.http.get(format!("{}/scim/v2/ServiceProviderConfig", s.base)).send().await.unwrap().status();
    let unknown = s.http.get(format!("{}/no/such/path-{}", s.base, 42)).send().await.unwrap().status();
    assert_eq!(unknown, 404);

    let after = scrape(&s).await;
    let requests =
        |route, status| value(&after, "entra_inbound_http_requests_total", &[("route", route), ("status", status)]);
    assert_eq!(requests("bulkUpload", "202"), 2.0);
    assert_eq!(requests("bulkUpload", "400"), 1.0);
    assert_eq!(requests("bulkUpload", "429"), 1.0);
    assert_eq!(requests("control", "200"), 2.0, "the two drains");
    assert_eq!(requests("health", "200"), 1.0, "the first scrape (this one is counted once answered)");
    assert_eq!(requests("scim", scim.as_str()), 1.0);
    assert_eq!(requests("other", "404"), 1.0);
    let routes = ["bulkUpload", "control", "health", "scim", "other"];
    for sample in after.samples.iter().filter(|s| s.metric == "entra_inbound_http_requests_total") {
        assert!(routes.contains(&sample.labels.get("route").unwrap()), "{:?}", sample.labels);
    }
    assert_eq!(value(&after, "entra_inbound_throttled_requests_total", &[("route", "bulkUpload")]), 1.0);
    assert_eq!(observations(&after, "entra_inbound_http_request_duration_seconds", &[("route", "bulkUpload")]), 4.0);

    assert_eq!(value(&after, "entra_inbound_operations_staged_total", &[("job_id", JOB)]), 3.0);
    let processed = |action, status| {
        value(
            &after,
            "entra_inbound_operations_processed_total",
            &[("job_id", JOB), ("action", action), ("status", status)],
        )
    };
    assert_eq!(processed("create", "success"), 2.0);
    assert_eq!(processed("disable", "success"), 1.0);
    assert_eq!(processed("create", "failure"), 0.0);
    // Every entry the logs API lists was counted, under its own action and status.
    let entries = s.log_entries().await;
    assert_eq!(entries.len(), 3);
    for e in &entries {
        let (action, status) =
            (e["provisioningAction"].as_str().unwrap(), e["provisioningStatusInfo"]["status"].as_str().unwrap());
        assert!(processed(action, status) >= 1.0, "{action}/{status} counted");
    }
    assert_eq!(observations(&after, "entra_inbound_engine_batch_duration_seconds", &[("job_id", JOB)]), 2.0);
    assert_eq!(value(&after, "entra_inbound_queued_operations", &[("job_id", JOB)]), 0.0);
}

#[tokio::test]
async fn queue_depth_and_job_state_follow_the_job() {
    let s = TestServer::start().await;
    let jobs = format!("{}/v1.0/servicePrincipals/{SP}/synchronization/jobs/{JOB}", s.base);
    let r = s.http.post(format!("{jobs}/pause")).bearer_auth(s.token()).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let users: Vec<Value> = (0..3).map(|i| scim_user(&format!("P{i}"), &format!("p{i}@contoso.com"), None)).collect();
    assert_eq!(s.upload(bulk_of(&users)).await.status(), 202);
    let paused = scrape(&s).await;
    assert_eq!(job_state(&paused, "paused"), 1.0);
    assert_eq!(job_state(&paused, "running"), 0.0);
    assert_eq!(value(&paused, "entra_inbound_queued_operations", &[("job_id", JOB)]), 3.0, "staged, waiting");

    let r = s.http.post(format!("{jobs}/start")).bearer_auth(s.token()).send().await.unwrap();
    assert_eq!(r.status(), 204);
    s.drain(JOB).await;
    let running = scrape(&s).await;
    assert_eq!(job_state(&running, "running"), 1.0);
    assert_eq!(job_state(&running, "paused"), 0.0);
    assert_eq!(value(&running, "entra_inbound_queued_operations", &[("job_id", JOB)]), 0.0);
    assert_eq!(
        value(
            &running,
            "entra_inbound_operations_processed_total",
            &[("job_id", JOB), ("action", "create"), ("status", "success")]
        ),
        3.0
    );
}

#[tokio::test]
async fn a_quarantined_job_and_its_failures_show() {
    let s = TestServer::with_config(quarantine_early).await;
    assert_eq!(s.upload(failing_creates("F", 3)).await.status(), 202);
    s.drain(JOB).await;
    let m = scrape(&s).await;
    assert_eq!(job_state(&m, "quarantined"), 1.0);
    assert_eq!(job_state(&m, "running"), 0.0);
    let failures: f64 = ["other", "create", "update", "disable", "delete", "stagedDelete"]
        .iter()
        .map(|a| {
            value(
                &m,
                "entra_inbound_operations_processed_total",
                &[("job_id", JOB), ("action", a), ("status", "failure")],
            )
        })
        .sum();
    assert_eq!(failures, 3.0);
}

#[tokio::test]
async fn metrics_are_open_and_each_application_counts_its_own() {
    let s = TestServer::with_config(|c| c.admin.token = "admin-secret".into()).await;
    let other = TestServer::start().await;
    assert_eq!(s.upload(bulk_of(&[scim_user("O1", "o1@contoso.com", None)])).await.status(), 202);
    // The control API wants the admin token; /metrics, like /health, does not.
    let r = s.http.post(format!("{}/_emulator/reset", s.base)).send().await.unwrap();
    assert_graph_error(r, 401, "InvalidAuthenticationToken", "Access token is empty.").await;
    let mine = scrape(&s).await;
    assert_eq!(value(&mine, "entra_inbound_operations_staged_total", &[("job_id", JOB)]), 1.0);
    assert_eq!(value(&mine, "entra_inbound_http_requests_total", &[("route", "control"), ("status", "401")]), 1.0);
    let theirs = scrape(&other).await;
    assert_eq!(value(&theirs, "entra_inbound_operations_staged_total", &[("job_id", JOB)]), 0.0);
    assert_eq!(value(&theirs, "entra_inbound_http_requests_total", &[("route", "bulkUpload")]), 0.0);
}

#[tokio::test]
async fn only_get_is_served() {
    let s = TestServer::start().await;
    let r = s.http.post(format!("{}/metrics", s.base)).send().await.unwrap();
    assert_eq!(r.headers()["allow"], "GET");
    assert_graph_error(r, 405, "MethodNotAllowed", "The requested HTTP method is not supported for this resource.")
        .await;
}
