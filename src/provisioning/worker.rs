//! One worker task per job (DESIGN.md "Data flow"): takes the job's staged operations in arrival order,
//! in batches of up to [`BATCH_SIZE`] (one `cycleId` per batch), runs the pipeline, commits, then frees the
//! staging slots and tells drain waiters how far it got. A paused job processes nothing; the batch in hand
//! finishes before a pause takes effect.

use std::sync::Arc;
use std::time::Duration;

use super::jobs::Job;
use super::pipeline::{JobSettings, process_batch};
use super::status::Execution;
use crate::state::AppState;
use crate::store::{job_state, staging};

/// Most operations processed in one transaction.
pub const BATCH_SIZE: usize = 500;

/// Start a worker for every configured job.
pub fn spawn_all(state: &AppState) {
    for job in state.jobs.all() {
        tokio::spawn(run(state.clone(), Arc::clone(job)));
    }
}

async fn run(state: AppState, job: Arc<Job>) {
    let mut gate = job.watch_gate();
    // Entries of later batches sort after earlier ones even when the (manual) clock stands still.
    let mut floor: Option<time::OffsetDateTime> = None;
    loop {
        if gate.borrow_and_update().blocked() {
            if gate.changed().await.is_err() {
                return;
            }
            continue;
        }
        let job_id = job.id.clone();
        let batch = state.store.call(move |c| staging::oldest(c, &job_id, BATCH_SIZE)).await;
        let ops = match batch {
            Ok(ops) => ops,
            Err(e) => {
                tracing::error!(job = %job.id, error = %e, "reading staged operations failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if ops.is_empty() {
            tokio::select! {
                () = job.wake.notified() => {}
                changed = gate.changed() => if changed.is_err() { return },
            }
            continue;
        }
        if job.config.processing_delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(job.config.processing_delay_ms)).await;
        }
        let count = ops.len();
        let last_seq = ops.last().map_or(0, |o| o.seq);
        let schema = job.schema();
        let config = Arc::clone(&state.config);
        let worker_job = Arc::clone(&job);
        let now = match floor {
            Some(f) => state.clock.now().max(f + time::Duration::nanoseconds(100)),
            None => state.clock.now(),
        };
        let cycle_id = uuid::Uuid::new_v4().to_string();
        let clock = Arc::clone(&state.clock);
        let outcome = state
            .store
            .call(move |c| {
                let settings = JobSettings {
                    tenant_id: &config.tenant.id,
                    default_domain: &config.tenant.default_domain,
                    verified_domains: &config.tenant.verified_domains,
                    job_id: &worker_job.id,
                    service_principal_id: &worker_job.service_principal_id,
                    service_principal_name: &worker_job.service_principal_name,
                    omitted_active_disables: worker_job.config.omitted_active_disables,
                    deletion_threshold: worker_job.config.deletion_threshold,
                };
                let result = process_batch(c, &settings, &schema.compiled, &ops, now, &cycle_id)?;
                let queue_empty = staging::newest_seq(c, &worker_job.id)?.is_none();
                // Still holding the connection, so a drain that sees the operations gone also sees them counted
                // and sees the job's status (and any quarantine) they caused.
                let execution = Execution { cycle_id, began: now, ended: clock.now().max(now), result };
                let thresholds = worker_job.thresholds();
                if let Some(reason) = worker_job.with_status(|s| s.record(execution, &thresholds, queue_empty)) {
                    tracing::warn!(job = %worker_job.id, reason = reason.as_str(), "job quarantined");
                }
                let (paused, status) = worker_job.snapshot();
                job_state::save(c, &worker_job.id, paused, &status)?;
                worker_job.mark_processed(last_seq, count);
                Ok(result)
            })
            .await;
        match outcome {
            Ok(result) => {
                tracing::debug!(job = %job.id, ?result, "batch processed");
                floor = result.last_activity.or(floor);
                state.staging.release(count);
            }
            Err(e) => {
                tracing::error!(job = %job.id, error = %e, "processing a batch failed; it stays staged and is retried");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
