//! Engine throughput benchmark (not a test): stages a synthetic load of 10,000 users (200 bulk requests of
//! 50) in an in-memory store, then processes it with the default API2AAD mappings in the worker's batch size
//! and reports operations per second — first the creates, then the same load again as updates.
//!
//! Run: `cargo bench --bench engine` (release profile). Set `ENGINE_BENCH_USERS` to change the load.

use std::time::Instant;

use entra_inbound::config::Synchronous;
use entra_inbound::provisioning::jobs::JobSchema;
use entra_inbound::provisioning::pipeline::{JobSettings, process_batch};
use entra_inbound::provisioning::schema::default_schema;
use entra_inbound::provisioning::worker::BATCH_SIZE;
use entra_inbound::store::{Store, StoreError, staging};
use serde_json::{Value, json};

// The same allocator as the binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const JOB: &str = "API2AAD.c0ffee00000040008000000000000001.c0ffee00-0000-4000-8000-0000000000b1";

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

fn stage(store: &Store, users: usize, title: &str) -> Result<(), StoreError> {
    let data: Vec<Value> = (0..users).map(|i| user(i, title)).collect();
    let ids: Vec<String> = (0..users).map(|i| format!("E{i:06}")).collect();
    store.call_blocking(|c| {
        for (chunk, id_chunk) in data.chunks(50).zip(ids.chunks(50)) {
            let ops: Vec<staging::NewOperation<'_>> = chunk
                .iter()
                .zip(id_chunk)
                .map(|(d, id)| staging::NewOperation { bulk_id: id, external_id: id, data: d })
                .collect();
            staging::stage_bulk_request(c, JOB, "bench", "2025-01-01T00:00:00.0000000Z", &ops)?;
        }
        Ok(())
    })
}

fn drain(store: &Store, schema: &JobSchema, verified: &[String]) -> Result<(usize, f64), StoreError> {
    let settings = JobSettings {
        tenant_id: "c0ffee00-0000-4000-8000-000000000001",
        default_domain: "contoso.onmicrosoft.com",
        verified_domains: verified,
        job_id: JOB,
        service_principal_id: "c0ffee00-0000-4000-8000-0000000000a1",
        service_principal_name: "bench",
        omitted_active_disables: true,
        deletion_threshold: 0,
    };
    let started = Instant::now();
    let mut total = 0;
    let mut now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
    loop {
        let done = store.call_blocking(|c| {
            let ops = staging::oldest(c, JOB, BATCH_SIZE)?;
            if ops.is_empty() {
                return Ok(0);
            }
            let r = process_batch(c, &settings, &schema.compiled, &ops, now, "cycle")?;
            Ok(r.processed)
        })?;
        if done == 0 {
            break;
        }
        total += done;
        now += time::Duration::seconds(1);
    }
    Ok((total, started.elapsed().as_secs_f64()))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let users: usize = std::env::var("ENGINE_BENCH_USERS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let schema = JobSchema::compile(default_schema("API2AAD"))?;
    let store = Store::open(None, Synchronous::Normal)?;
    stage(&store, users, "Engineer")?;
    let (n, secs) = drain(&store, &schema, &[])?;
    println!("engine/create: {n} operations in {secs:.3} s = {:.0} operations/s", n as f64 / secs);
    stage(&store, users, "Senior Engineer")?;
    let (n, secs) = drain(&store, &schema, &[])?;
    println!("engine/update: {n} operations in {secs:.3} s = {:.0} operations/s", n as f64 / secs);
    stage(&store, users, "Senior Engineer")?;
    let (n, secs) = drain(&store, &schema, &[])?;
    println!("engine/skip:   {n} operations in {secs:.3} s = {:.0} operations/s", n as f64 / secs);
    Ok(())
}
