//! Engine throughput benchmark (not a test): runs the real job worker of an emulator built on its embedded
//! defaults (in-memory store), with the default API2AAD mappings, over a synthetic load of 10,000 users
//! staged as 200 bulk requests of 50, and reports operations per second — first as creates, then the same
//! load again as updates, then unchanged (skipped as redundant). The clock starts when the worker is woken
//! and stops when it reports the last operation committed and logged.
//!
//! Then it measures the **storage floor**: the SQLite statements the engine's design needs per operation and
//! nothing else — the matching lookup, the user row, the log row (the very rows the engine wrote, copied out)
//! and the removal of the staged operation, in transactions of 500 — on a fresh store of the same kind. The
//! engine can never be faster than its floor; the gap between the two lines is the engine's own work.
//!
//! Run: `cargo bench --bench engine` (release profile). Set `ENGINE_BENCH_USERS` to change the load.

use std::sync::Arc;
use std::time::Instant;

use entra_inbound::clock::SystemClock;
use entra_inbound::config::Config;
use entra_inbound::config::Synchronous;
use entra_inbound::directory::DirectoryUser;
use entra_inbound::provisioning::worker;
use entra_inbound::state::AppState;
use entra_inbound::store::{Store, StoreError, directory, logs, staging};
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
        let (written, bodies) = written_rows(&state.store, users)?;
        for (label, write_user, insert) in [("create", true, true), ("update", true, false), ("skip", false, false)] {
            let secs = floor(&written, &bodies, write_user, insert, users)?;
            println!("floor/{label:<7} {users} operations in {secs:.3} s = {:.0} operations/s", users as f64 / secs);
        }
        Ok(())
    })
}

/// The users and the first `users` log bodies the engine wrote.
fn written_rows(store: &Store, users: usize) -> Result<(Vec<DirectoryUser>, Vec<Vec<u8>>), StoreError> {
    store.call_blocking(|c| {
        let ids: Vec<String> = c
            .prepare("SELECT id FROM directory_user ORDER BY created_time, id")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut written = Vec::with_capacity(ids.len());
        for id in &ids {
            written.extend(directory::find_by_id(c, id)?);
        }
        let bodies = c
            .prepare("SELECT body FROM provisioning_log WHERE body IS NOT NULL ORDER BY rowid LIMIT ?1")?
            .query_map([i64::try_from(users).unwrap_or(i64::MAX)], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok((written, bodies))
    })
}

/// Seconds the storage floor takes for one phase on a fresh store: per operation the matching lookup, the
/// user's row (when `write_user`; inserted on the first phase, replaced after), a log row, and the removal of
/// the staged operations, 500 operations per transaction.
fn floor(
    written: &[DirectoryUser],
    bodies: &[Vec<u8>],
    write_user: bool,
    insert: bool,
    users: usize,
) -> Result<f64, StoreError> {
    let store = Store::open(None, Synchronous::Full)?;
    if !insert {
        store.call_blocking(|c| written.iter().try_for_each(|u| directory::save(c, u)))?;
    }
    let first = store.call_blocking(|c| Ok(staging::newest_seq(c, "J")?.unwrap_or(0)))? + 1;
    stage(&store, "J", users, "Engineer")?;
    let started = Instant::now();
    store.call_blocking(|c| {
        let mapping_set = logs::mapping_set_id(c, "[]")?;
        for (batch, (users, bodies)) in written.chunks(500).zip(bodies.chunks(500)).enumerate() {
            let tx = c.transaction()?;
            for (user, body) in users.iter().zip(bodies) {
                let employee_id = user.text("employeeId").unwrap_or_default();
                std::hint::black_box(directory::id_by_employee_id(&tx, employee_id)?);
                if write_user {
                    directory::save(&tx, user)?;
                }
                let key = format!("2025-01-01T00:00:00.{:07}Z", batch);
                logs::insert(
                    &tx,
                    &logs::LogRow {
                        id: &uuid::Uuid::now_v7().to_string(),
                        activity_key: &key,
                        job_id: "J",
                        cycle_id: "C",
                        change_id: &uuid::Uuid::new_v4().to_string(),
                        duration_ms: 0,
                        action: "create",
                        status: "success",
                        source_id: employee_id,
                        source_display_name: user.text("displayName").unwrap_or_default(),
                        target_id: &user.id,
                        target_display_name: user.text("displayName").unwrap_or_default(),
                        identity_type: "User",
                        sp_id: "sp",
                        sp_display_name: "sp",
                        source_system: "API",
                        target_system: "Entra ID",
                        tenant_id: "t",
                        content: logs::Content::Compact { body, mapping_set },
                    },
                )?;
            }
            let last = first + i64::try_from((batch + 1) * 500).unwrap_or(i64::MAX) - 1;
            staging::remove_through(&tx, "J", last)?;
            tx.commit()?;
        }
        Ok(())
    })?;
    Ok(started.elapsed().as_secs_f64())
}
