//! Engine throughput benchmark (not a test): runs the real job worker of an emulator built on its embedded
//! defaults, with the default API2AAD mappings, over a synthetic load of realistic users staged as bulk
//! requests of 50, and reports operations per second — first as creates, then the same load again as
//! updates, then unchanged (skipped as redundant). The clock starts when the worker is woken and stops when it
//! reports the last operation committed and logged. It runs in the default mode (private temporary files)
//! and with a data directory (`synchronous=FULL`, every batch durable).
//!
//! Run: `cargo bench --bench engine` (release profile). `ENGINE_BENCH_USERS` changes the load (default
//! 10,000); `ENGINE_BENCH_MODE=memory|durable` runs one mode only. `bench/run.sh` runs it as part of the
//! whole set of figures.

use std::sync::Arc;
use std::time::Instant;

use entra_inbound::clock::SystemClock;
use entra_inbound::config::Config;
use entra_inbound::provisioning::worker;
use entra_inbound::state::AppState;
use entra_inbound::store::{NewOperation, Store, StoreError};
#[path = "common/workload.rs"]
mod workload;

// The same allocator as the binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Stages `users` records as requests of 50; returns the last request's sequence number.
async fn stage(store: &Store, job: &str, users: usize, title: &str) -> Result<i64, StoreError> {
    let data: Vec<String> = (0..users).map(|i| workload::user(i, title).to_string()).collect();
    let ids: Vec<String> = (0..users).map(|i| format!("E{i:07}")).collect();
    let mut last = 0;
    for (chunk, id_chunk) in data.chunks(50).zip(ids.chunks(50)) {
        let ops: Vec<NewOperation<'_>> =
            chunk.iter().zip(id_chunk).map(|(d, id)| NewOperation { bulk_id: id, external_id: id, data: d }).collect();
        last = store.stage(job, "bench", time::OffsetDateTime::UNIX_EPOCH, &ops).await?;
    }
    Ok(last)
}

async fn run(label: &str, config: Config, users: usize) -> Result<(), Box<dyn std::error::Error>> {
    let state = AppState::new(config, Arc::new(SystemClock)).await?;
    let job = state.jobs.all().next().cloned().ok_or("the default configuration has no job")?;
    worker::spawn_all(&state);
    for (phase, title) in [("create", "Engineer"), ("update", "Senior Engineer"), ("skip", "Senior Engineer")] {
        let last = stage(&state.store, &job.id, users, title).await?;
        let mut gate = job.watch_gate();
        let started = Instant::now();
        job.wake.notify_one();
        gate.wait_for(|g| g.processed >= last).await?;
        let secs = started.elapsed().as_secs_f64();
        println!(
            "engine/{label}/{phase:<6} {users} operations in {secs:.3} s = {:.0} operations/s",
            users as f64 / secs
        );
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let users: usize = std::env::var("ENGINE_BENCH_USERS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let only = std::env::var("ENGINE_BENCH_MODE").unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        if only.is_empty() || only == "memory" {
            run("memory", Config::defaults()?, users).await?;
        }
        if only.is_empty() || only == "durable" {
            let dir = tempfile::tempdir()?;
            let mut config = Config::defaults()?;
            config.storage.data_dir = dir.path().display().to_string();
            run("durable", config, users).await?;
        }
        Ok(())
    })
}
