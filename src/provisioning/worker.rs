//! One worker task per job (DESIGN "Data flow"): takes the job's staged requests in arrival order, in batches
//! of up to [`BATCH_SIZE`] operations (the entries of one upload share its request id as `cycleId`), prepares them, runs them as one unit of
//! work, then frees their staging slots and tells drain waiters how far it got. A paused or quarantined job
//! processes nothing; the batch in hand finishes first.
//!
//! Throughput: while a batch's unit of work runs (its directory view, its decisions, its commit), the
//! requests staged after it are read and prepared (record-only steps, on the other cores). A prepared batch
//! is dropped when the job pauses, prepared again when the job's schema was replaced meanwhile, and
//! discarded when a restart or reset moved the job's progress before it committed (the store refuses it).
//!
//! Several processes on one PostgreSQL database: a worker first waits until its process holds the job
//! (`Store::hold_job`; one process at a time, another takes over when the holder dies) and takes on what the
//! store kept for the job when another process held it first. It wakes when any process stages work for the
//! job (`Store::notices`), and looks every `Store::poll_interval` in case a notice was lost; every process
//! takes on a job's run state, schema and progress when some process changes them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::jobs::{Job, JobSchema};
use super::log::{EntryContext, ProvisioningObjectSummary, ProvisioningResult, StepType};
use super::pipeline::{ACTIVE_OMITTED_NOTE, BatchResult, JobSettings, PreparedBatch, apply_batch, prepare_batch};
use super::retention;
use super::status::{Execution, JobStatus, QuarantineReason};
use crate::control::metrics::Outcomes;
use crate::control::report::FindingKind;
use crate::state::AppState;
use crate::store::{CommitOutcome, StagedRequest, StoreError, StoreNotice};

/// Most operations processed in one unit of work (whole requests: a batch may hold up to 49 more).
pub const BATCH_SIZE: usize = 500;

/// Start a worker for every configured job, and log retention.
pub fn spawn_all(state: &AppState) {
    for job in state.jobs.all() {
        tokio::spawn(run(state.clone(), Arc::clone(job)));
    }
    if let Some(notices) = state.store.notices() {
        tokio::spawn(follow_notices(state.clone(), notices));
    }
    retention::spawn(state);
}

/// Several processes on one database: wakes the worker of each job some process staged work for, takes on
/// what the store keeps for a job some process changed (pause, start, restart, schema PUT) and the control
/// state some process changed (clock, fault rules: `control::shared`), and resets what this process keeps in
/// memory when some process reset the emulator.
async fn follow_notices(state: AppState, mut notices: tokio::sync::broadcast::Receiver<StoreNotice>) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        match notices.recv().await {
            Ok(StoreNotice::Staged(job_id)) => {
                if let Ok(job) = state.jobs.by_id(&job_id) {
                    job.wake.notify_one();
                }
            }
            Ok(StoreNotice::Changed(job_id)) => {
                if let Ok(job) = state.jobs.by_id(&job_id) {
                    take_on(&state, job).await;
                    job.wake.notify_one();
                }
            }
            Ok(StoreNotice::Control(key)) => {
                if let Err(e) = crate::control::shared::take_on(&state, key).await {
                    tracing::error!(key = key.as_str(), error = %e, "taking on shared control state failed");
                }
            }
            Ok(StoreNotice::Reset) => state.owners.reset_all(),
            Err(RecvError::Lagged(_)) => {
                if let Err(e) = crate::control::shared::take_on_all(&state).await {
                    tracing::error!(error = %e, "taking on shared control state failed");
                }
                for job in state.jobs.all() {
                    take_on(&state, job).await;
                    job.wake.notify_one();
                }
            }
            Err(RecvError::Closed) => return,
        }
    }
}

/// Takes on what the store keeps for `job`: its schema, run state and status, and progress. A job the store
/// keeps no run state for was reset (or imported without one) by some process: it starts from its configuration.
pub(crate) async fn take_on(state: &AppState, job: &Job) {
    let _change = job.changes.lock().await;
    let record = state.store.resume_job(&job.id).await.map(|record| {
        if record.run_state.is_none() {
            job.reset();
        }
        job.resume(record)
    });
    match record {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(job = %job.id, error = %e, "the stored schema no longer compiles"),
        Err(e) => tracing::error!(job = %job.id, error = %e, "reading the job's stored state failed"),
    }
}

/// Waits until this process holds the job; when another process held it first, takes on what it left.
async fn hold(state: &AppState, job: &Job) -> crate::store::JobHold {
    let hold = loop {
        match state.store.hold_job(&job.id).await {
            Ok(hold) => break hold,
            Err(e) => {
                tracing::error!(job = %job.id, error = %e, "taking hold of the job failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    if hold.waited {
        tracing::info!(job = %job.id, "took over the job from another process");
        take_on(state, job).await;
    }
    hold
}

/// Sleeps for the store's poll interval, or forever when it has none.
async fn poll(state: &AppState) {
    match state.store.poll_interval() {
        Some(interval) => tokio::time::sleep(interval).await,
        None => std::future::pending().await,
    }
}

/// The pipeline's view of a job.
struct Settings {
    context: Arc<EntryContext>,
    default_domain: String,
    verified_domains: Vec<String>,
}

impl Settings {
    fn new(state: &AppState, job: &Job) -> Self {
        let tenant = &state.config.tenant;
        Self {
            context: Arc::new(EntryContext::for_job(
                &tenant.id,
                &job.id,
                &job.service_principal_id,
                &job.service_principal_name,
            )),
            default_domain: tenant.default_domain.clone(),
            verified_domains: tenant.verified_domains.clone(),
        }
    }

    fn for_job<'a>(&'a self, job: &'a Job) -> JobSettings<'a> {
        JobSettings {
            default_domain: &self.default_domain,
            verified_domains: &self.verified_domains,
            job_id: &job.id,
            context: Arc::clone(&self.context),
            omitted_active_disables: job.config.omitted_active_disables,
            deletion_threshold: job.config.deletion_threshold,
        }
    }
}

async fn run(state: AppState, job: Arc<Job>) {
    let _hold = hold(&state, &job).await;
    let settings = Arc::new(Settings::new(&state, &job));
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
        let from = job.applied_through();
        let schema = job.schema();
        let batch = match ahead.take() {
            Some(batch) if Arc::ptr_eq(batch.schema(), &schema) && batch_starts_at(&batch, from) => Ok(batch),
            _ => match read(&state, &job, from).await {
                Ok(requests) => prepare(&settings, &job, schema, requests, from, state.clock.now()).await,
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
                () = poll(&state) => {}
            }
            continue;
        }
        if job.config.processing_delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(job.config.processing_delay_ms)).await;
        }
        // The schema was read before the requests, and the delay gave a schema PUT more time: a batch prepared
        // with a schema that is no longer the job's (it may hold an operation staged after the PUT was answered)
        // is prepared again, so every operation processed after a PUT sees the new schema.
        if !Arc::ptr_eq(batch.schema(), &job.schema()) {
            continue;
        }
        let now = match floor {
            Some(f) => state.clock.now().max(f + time::Duration::nanoseconds(100)),
            None => state.clock.now(),
        };
        // What was staged after this batch is read now (so the batch knows whether the queue is empty), and
        // prepared while this batch's unit of work runs.
        let (count, through) = (batch.len(), batch.through());
        let next = read(&state, &job, through).await.unwrap_or_default();
        let queue_empty = next.is_empty();
        let prepare_next = async {
            if next.is_empty() {
                return None;
            }
            prepare(&settings, &job, job.schema(), next, through, state.clock.now()).await.ok()
        };
        let (outcome, next) = tokio::join!(process(&state, &settings, &job, batch, now, queue_empty), prepare_next);
        ahead = next;
        match outcome {
            Ok(Some(done)) => {
                let r = &done.result;
                tracing::info!(
                    job = %job.id,
                    created = r.created,
                    updated = r.updated,
                    disabled = r.disabled,
                    skipped = r.skipped,
                    failed = r.failed,
                    "batch processed"
                );
                for (request_id, kind) in &done.findings {
                    state.report.note_upload(request_id, *kind);
                }
                floor = Some(done.last_activity);
                // Before the batch is reported processed, so a drain also waits for what it made expire.
                if let Err(e) = retention::expire_some(&state).await {
                    tracing::error!(error = %e, "log retention failed; the next batch retries");
                }
                state.staging.release(count);
                job.finish_batch(done.status, through, count);
                if let Some(reason) = done.quarantined {
                    tracing::warn!(job = %job.id, reason = reason.as_str(), "job quarantined");
                }
            }
            Ok(None) => {
                tracing::debug!(job = %job.id, "batch superseded by a restart or reset before it committed; dropped");
                ahead = None;
                if state.store.poll_interval().is_some() {
                    // Another process may have moved the progress (a restart or reset it was asked for).
                    if let Ok(record) = state.store.resume_job(&job.id).await {
                        job.mark_through(record.applied_through);
                    }
                }
            }
            Err(e) => {
                tracing::error!(job = %job.id, error = %e, "processing a batch failed; it stays staged and is retried");
                ahead = None;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Whether a batch prepared ahead still starts where the job is.
fn batch_starts_at(batch: &PreparedBatch, from: i64) -> bool {
    batch.starts_after() == from
}

/// Up to [`BATCH_SIZE`] operations of the job's requests staged after `after`.
async fn read(state: &AppState, job: &Job, after: i64) -> Result<Vec<StagedRequest>, StoreError> {
    state.store.read_staged(&job.id, after, BATCH_SIZE).await
}

/// The record-only steps of a batch, off the async threads.
async fn prepare(
    settings: &Arc<Settings>,
    job: &Arc<Job>,
    schema: Arc<JobSchema>,
    requests: Vec<StagedRequest>,
    from: i64,
    now: OffsetDateTime,
) -> Result<PreparedBatch, StoreError> {
    let (settings, job) = (Arc::clone(settings), Arc::clone(job));
    tokio::task::spawn_blocking(move || prepare_batch(&settings.for_job(&job), schema, &requests, from, now))
        .await
        .map_err(|e| StoreError::Task(e.to_string()))
}

/// A committed batch.
struct Processed {
    result: BatchResult,
    /// The job's status with the batch recorded (already in the store).
    status: JobStatus,
    /// Why the batch put the job in quarantine, if it did.
    quarantined: Option<QuarantineReason>,
    /// The `activityDateTime` of its last entry.
    last_activity: OffsetDateTime,
    /// What the entries show about the clients that sent the uploads (by upload request id), for the report.
    findings: Vec<(String, FindingKind)>,
}

/// One batch's unit of work, with the job's execution recorded in the same commit. `None` when the batch was
/// superseded.
async fn process(
    state: &AppState,
    settings: &Arc<Settings>,
    job: &Arc<Job>,
    mut batch: PreparedBatch,
    now: OffsetDateTime,
    queue_empty: bool,
) -> Result<Option<Processed>, StoreError> {
    let started = Instant::now();
    let mut failures = crate::control::shared::engine_failures(state, &job.id, batch.len()).await.into_iter();
    batch.inject_failures(|| failures.next().flatten());
    let keys = batch.keys(&settings.for_job(job));
    let unit = state.store.begin_batch(keys).await?;
    let cycle_id = uuid::Uuid::new_v4().to_string();
    let (s, j, c) = (Arc::clone(settings), Arc::clone(job), cycle_id.clone());
    let (unit, (mut writes, result)) = tokio::task::spawn_blocking(move || {
        let decided = apply_batch(&s.for_job(&j), batch, unit.view(), now, &c);
        (unit, decided)
    })
    .await
    .map_err(|e| StoreError::Task(e.to_string()))?;
    let last_activity = writes.entries.last().map_or(now, |e| e.activity_date_time);
    let findings = client_findings(&writes.entries);
    let outcomes = Outcomes::of(writes.entries.iter().map(|e| (e.action, e.status)));
    let mut status = job.status();
    let execution = Execution { cycle_id, began: now, ended: state.clock.now().max(now), result };
    let quarantined = status.record(execution, &job.thresholds(), queue_empty);
    writes.job_state = Some((job.is_paused(), serde_json::to_value(&status).unwrap_or_default()));
    Ok(match unit.commit(writes).await? {
        CommitOutcome::Superseded => None,
        CommitOutcome::Committed => {
            state.metrics.batch_processed(&job.id, &outcomes, started.elapsed());
            Some(Processed { result, status, quarantined, last_activity, findings })
        }
    })
}

/// The report's findings in a batch's entries, once per upload (its request id is the entries' cycleId) and
/// kind: an omitted `active` imported as false, a manager not in the directory yet.
fn client_findings(entries: &[ProvisioningObjectSummary]) -> Vec<(String, FindingKind)> {
    let mut found: Vec<(String, FindingKind)> = Vec::new();
    for entry in entries {
        let omitted = entry.steps.iter().any(|s| {
            s.step_type == StepType::Import && s.details.iter().any(|(_, v)| v.as_str() == ACTIVE_OMITTED_NOTE)
        });
        let waiting = entry
            .steps
            .iter()
            .any(|s| s.step_type == StepType::ReferenceResolution && s.status == ProvisioningResult::Warning);
        for (hit, kind) in [(omitted, FindingKind::ActiveOmitted), (waiting, FindingKind::ManagerBeforeItExists)] {
            if hit && !found.iter().any(|(r, k)| *r == entry.cycle_id && *k == kind) {
                found.push((entry.cycle_id.clone(), kind));
            }
        }
    }
    found
}
