//! Engine throughput benchmark (not a test): runs the real job worker of an emulator built on its embedded
//! defaults (in-memory store), with the default API2AAD mappings, over a synthetic load of 10,000 users
//! staged as 200 bulk requests of 50, and reports operations per second — first as creates, then the same
//! load again as updates, then unchanged (skipped as redundant). The clock starts when the worker is woken
//! and stops when it reports the last operation committed and logged.
//!
//! Run: `cargo bench --bench engine` (release profile). Set `ENGINE_BENCH_USERS` to change the load.

use std::sync::Arc;
use std::time::Instant;

use entra_inbound::clock::SystemClock;
use entra_inbound::config::Config;
use entra_inbound::provisioning::worker;
use entra_inbound::state::AppState;
use entra_inbound::store::{Store, StoreError, staging};
use serde_json::{Value, json};

// The same allocator as the binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn user(i: usize, title: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": format!("E{i:06}"),
        "userName": format!("user{i}@contoso.com"),
        "name": {"givenName": format!("Given{i}"), "familyName": format!("Family{i}")},
        "displayName": format!("Given{i} Family{i}"),
        "emails": [{"value": format!("user{i}@contoso.com"), "type": "work", "primary": true}],
        "addresses": [{"type": "work", "streetAddress": "1 Main St", "locality": "Springfield", "region": "WA", "postalCode": "98000", "country": "US"}],
        "phoneNumbers": [{"value": "555-0100", "type": "work"}, {"value": "555-0199", "type": "mobile"}],
        "userType": "Employee",
        "title": title,
        "preferredLanguage": "en-US",
        "active": true,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "costCenter": "4130", "organization": "Contoso", "division": "Sales", "department": "Field",
            "manager": {"value": format!("E{:06}", i / 10)}
        }
    })
}

fn stage(store: &Store, job: &str, users: usize, title: &str) -> Result<i64, StoreError> {
    let data: Vec<Value> = (0..users).map(|i| user(i, title)).collect();
    let ids: Vec<String> = (0..users).map(|i| format!("E{i:06}")).collect();
    store.call_blocking(|c| {
        for (chunk, id_chunk) in data.chunks(50).zip(ids.chunks(50)) {
            let ops: Vec<staging::NewOperation<'_>> = chunk
                .iter()
                .zip(id_chunk)
                .map(|(d, id)| staging::NewOperation { bulk_id: id, external_id: id, data: d })
                .collect();
            staging::stage_bulk_request(c, job, "bench", "2025-01-01T00:00:00.0000000Z", &ops)?;
        }
        Ok(staging::newest_seq(c, job)?.unwrap_or(0))
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let users: usize = std::env::var("ENGINE_BENCH_USERS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let state = AppState::new(Config::defaults()?, Arc::new(SystemClock))?;
        let job = state.jobs.all().next().cloned().ok_or("the default configuration has no job")?;
        worker::spawn_all(&state);
        for (label, title) in [("create", "Engineer"), ("update", "Senior Engineer"), ("skip", "Senior Engineer")] {
            let last = stage(&state.store, &job.id, users, title)?;
            let mut processed = job.watch_processed();
            let started = Instant::now();
            job.wake.notify_one();
            processed.wait_for(|seq| *seq >= last).await?;
            let secs = started.elapsed().as_secs_f64();
            println!("engine/{label:<6} {users} operations in {secs:.3} s = {:.0} operations/s", users as f64 / secs);
        }
        Ok(())
    })
}
