//! Complete reset (README "Complete reset"): after a reset the emulator is indistinguishable from a fresh one
//! with the same configuration — compared through the export, the job's Graph status and the clock.

use serde_json::{Value, json};

use crate::export_import::fill;
use crate::support::*;

fn job_url(s: &TestServer) -> String {
    format!("{}/v1.0/servicePrincipals/{SP}/synchronization/jobs/{JOB}", s.base)
}

/// The job's Graph resource, without `@odata.context` (it names the server's port).
async fn job(s: &TestServer) -> Value {
    let r = s.http.get(job_url(s)).bearer_auth(s.token()).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let mut job: Value = r.json().await.unwrap();
    job.as_object_mut().unwrap().remove("@odata.context");
    job
}

async fn clock(s: &TestServer) -> Value {
    s.http.get(format!("{}/_emulator/clock", s.base)).send().await.unwrap().json().await.unwrap()
}

/// A quota of two uploads a day, so "quotas are full again" is observable.
fn two_a_day(c: &mut entra_inbound::config::Config) {
    c.service_principals[0].jobs[0].daily_cap = 2;
}

#[tokio::test]
async fn a_reset_emulator_is_indistinguishable_from_a_fresh_one() {
    let fresh = TestServer::with_config(two_a_day).await;
    let s = TestServer::with_config(two_a_day).await;
    // Paused, schema replaced, directory, logs, SCIM resources and a staged request (fill uses the day's two
    // uploads), the quota used up, the clock moved.
    fill(&s).await;
    assert_eq!(s.upload(fixture("example3.json")).await.status(), 429);
    assert_eq!(s.move_clock(json!({"advance": "PT30M"})).await.status(), 200);
    let fault = json!({"route": "users", "status": 500});
    let added = s.http.post(format!("{}/_emulator/faults", s.base)).json(&fault).send().await.unwrap();
    assert_eq!(added.status(), 201, "a fault rule");
    assert_ne!(s.export().await, fresh.export().await);
    assert_ne!(job(&s).await, job(&fresh).await);

    s.reset().await;
    // (The fresh emulator's journal holds the job reads above; the reset one's must hold nothing.)
    let journal = s.http.get(format!("{}/_emulator/journal", s.base)).send().await.unwrap();
    assert_eq!(journal.json::<Value>().await.unwrap(), json!({"value": []}), "the journal is empty");
    for control in ["faults", "report"] {
        let of = |t: &TestServer| format!("{}/_emulator/{control}", t.base);
        let (mine, theirs) = (s.http.get(of(&s)).send().await.unwrap(), s.http.get(of(&fresh)).send().await.unwrap());
        assert_eq!(mine.text().await.unwrap(), theirs.text().await.unwrap(), "{control} equals a fresh emulator's");
    }
    assert_eq!(
        String::from_utf8(s.export().await).unwrap(),
        String::from_utf8(fresh.export().await).unwrap(),
        "the export equals a fresh emulator's"
    );
    assert_eq!(job(&s).await, job(&fresh).await, "the job's Graph resource equals a fresh emulator's");
    assert_eq!(clock(&s).await, json!({"mode": "system", "now": "2025-01-15T10:00:00Z", "offsetSeconds": 0}));
    assert_eq!(s.staged_count().await, 0);

    // The counters and quotas are a fresh start's too: the day's two uploads are accepted and the drain
    // counts only what was processed since the reset.
    assert_eq!(s.upload(fixture("example1.json")).await.status(), 202);
    assert_eq!(s.upload(fixture("example2.json")).await.status(), 202);
    assert_eq!(s.upload(fixture("example3.json")).await.status(), 429);
    let drained = s.drain(JOB).await;
    assert_eq!(drained["processed"], 4, "{drained}");
    assert_eq!(s.log_entries().await[0]["provisioningAction"], "create");
}

#[tokio::test]
async fn a_reset_brings_a_quarantined_job_back_to_its_configured_state() {
    let fresh = TestServer::with_config(quarantine_early).await;
    let s = TestServer::with_config(quarantine_early).await;
    // Every create fails, and the job goes into quarantine.
    assert_eq!(s.upload(failing_creates("X", 3)).await.status(), 202);
    s.drain(JOB).await;
    assert_eq!(job(&s).await["status"]["code"], "Quarantine");
    s.reset().await;
    assert_eq!(job(&s).await, job(&fresh).await);
    assert_eq!(s.upload(fixture("example1.json")).await.status(), 202);
    assert_eq!(s.drain(JOB).await["processed"], 2, "not held back by a quarantine");
}
