//! One worker task per job (DESIGN.md "Data flow"): takes the job's staged operations in arrival order,
//! in batches of up to [`BATCH_SIZE`] (one `cycleId` per batch), runs the pipeline, commits, then frees the
//! staging slots and tells drain waiters how far it got. A paused job processes nothing; the batch in hand
//! finishes before a pause takes effect.
//!
//! Throughput: the pipeline's two stages overlap across batches. While a batch commits (ordered directory
//! work and writes, on the store's connection), the operations staged after it are read and prepared
//! (record-only steps, on the other cores). A prepared batch is dropped when the job pauses, prepared again
//! when the job's schema was replaced meanwhile, and not written when its operations were purged (reset,
//! restart) before it committed.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use super::jobs::{Job, JobSchema};
use super::pipeline::{BatchResult, JobSettings, PreparedBatch, commit_batch, prepare_batch};
use super::status::Execution;
use crate::config::Config;
use crate::state::AppState;
use crate::store::staging::StagedOperation;
use crate::store::{StoreError, job_state, staging};

/// Most operations processed in one transaction.
pub const BATCH_SIZE: usize = 500;

/// Start a worker for every configured job.
pub fn spawn_all(state: &AppState) {
    for job in state.jobs.all() {
        tokio::spawn(run(state.clone(), Arc::clone(job)));
    }
}

fn settings<'a>(config: &'a Config, job: &'a Job) -> JobSettings<'a> {
    JobSettings {
        tenant_id: &config.tenant.id,
        default_domain: &config.tenant.default_domain,
        verified_domains: &config.tenant.verified_domains,
        job_id: &job.id,
        service_principal_id: &job.service_principal_id,
        service_principal_name: &job.service_principal_name,
        omitted_active_disables: job.config.omitted_active_disables,
        deletion_threshold: job.config.deletion_threshold,
    }
}

async fn run(state: AppState, job: Arc<Job>) {
    let mut gate = job.watch_gate();
    // Entries of later batches sort after earlier ones even when the (manual) clock stands still.
    let mut floor: Option<OffsetDateTime> = None;
    let mut ahead: Option<PreparedBatch> = None;
    loop {
        if gate.borrow_and_update().blocked() {
            ahead = None;
            if gate.changed().await.is_err() {
                return;
            }
            continue;
        }
        let schema = job.schema();
        let batch = match ahead.take() {
            Some(batch) if Arc::ptr_eq(batch.schema(), &schema) => Ok(batch),
            _ => match read(&state, &job, 0).await {
                Ok(ops) => prepare(&state, &job, schema, ops).await,
                Err(e) => Err(e),
            },
        };
        let batch = match batch {
            Ok(batch) => batch,
            Err(e) => {
                tracing::error!(job = %job.id, error = %e, "reading or preparing staged operations failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if batch.is_empty() {
            tokio::select! {
                () = job.wake.notified() => {}
                changed = gate.changed() => if changed.is_err() { return },
            }
            continue;
        }
        if job.config.processing_delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(job.config.processing_delay_ms)).await;
        }
        let count = batch.len();
        let now = match floor {
            Some(f) => state.clock.now().max(f + time::Duration::nanoseconds(100)),
            None => state.clock.now(),
        };
        // What was staged after this batch is read now, and prepared while this batch commits.
        let next = read(&state, &job, batch.last_seq()).await;
        let prepare_next = async {
            match next {
                Ok(ops) if !ops.is_empty() => prepare(&state, &job, job.schema(), ops).await.ok(),
                _ => None,
            }
        };
        let (outcome, next) = tokio::join!(commit(&state, &job, batch, now), prepare_next);
        ahead = next;
        match outcome {
            Ok(Some(result)) => {
                tracing::debug!(job = %job.id, ?result, "batch processed");
                floor = result.last_activity.or(floor);
                state.staging.release(count);
            }
            Ok(None) => {
                tracing::debug!(job = %job.id, "batch purged before it committed; dropped");
                ahead = None;
            }
            Err(e) => {
                tracing::error!(job = %job.id, error = %e, "processing a batch failed; it stays staged and is retried");
                ahead = None;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Up to [`BATCH_SIZE`] of the job's staged operations after sequence number `after`.
async fn read(state: &AppState, job: &Job, after: i64) -> Result<Vec<StagedOperation>, StoreError> {
    let job_id = job.id.clone();
    state.store.call(move |c| staging::oldest_after(c, &job_id, after, BATCH_SIZE)).await
}

/// The record-only steps of a batch, off the async threads.
async fn prepare(
    state: &AppState,
    job: &Arc<Job>,
    schema: Arc<JobSchema>,
    ops: Vec<StagedOperation>,
) -> Result<PreparedBatch, StoreError> {
    let config = Arc::clone(&state.config);
    let job = Arc::clone(job);
    let now = state.clock.now();
    tokio::task::spawn_blocking(move || prepare_batch(&settings(&config, &job), schema, ops, now))
        .await
        .map_err(|e| StoreError::Task(e.to_string()))
}

/// Commit a prepared batch and record the job's execution, still holding the connection, so a drain that
/// sees the operations gone also sees them counted and sees the job's status (and any quarantine).
async fn commit(
    state: &AppState,
    job: &Arc<Job>,
    batch: PreparedBatch,
    now: OffsetDateTime,
) -> Result<Option<BatchResult>, StoreError> {
    let config = Arc::clone(&state.config);
    let job = Arc::clone(job);
    let clock = Arc::clone(&state.clock);
    let cycle_id = uuid::Uuid::new_v4().to_string();
    state
        .store
        .call(move |c| {
            let count = batch.len();
            let last_seq = batch.last_seq();
            let Some(result) = commit_batch(c, &settings(&config, &job), batch, now, &cycle_id)? else {
                return Ok(None);
            };
            let queue_empty = staging::newest_seq(c, &job.id)?.is_none();
            let execution = Execution { cycle_id, began: now, ended: clock.now().max(now), result };
            let thresholds = job.thresholds();
            if let Some(reason) = job.with_status(|s| s.record(execution, &thresholds, queue_empty)) {
                tracing::warn!(job = %job.id, reason = reason.as_str(), "job quarantined");
            }
            let (paused, status) = job.snapshot();
            job_state::save(c, &job.id, paused, &status)?;
            job.mark_processed(last_seq, count);
            Ok(Some(result))
        })
        .await
}
