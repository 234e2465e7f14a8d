//! The job registry: the configured service principals and their synchronization jobs. Each job carries its
//! quota, its current schema (raw Graph JSON plus compiled form), its run state (started/paused) and the
//! signals between the upload path, its worker and drain waiters.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use serde_json::Value;
use tokio::sync::{Notify, watch};

use super::rate_limit::JobLimiter;
use super::schema::{CompiledSchema, SchemaError, compile, default_schema};
use super::status::{JobStatus, Thresholds};
use crate::clock::SharedClock;
use crate::config::{Config, JobConfig, JobState};

/// A job's schema as stored (for GET/PUT) and as compiled (for the worker).
#[derive(Debug)]
pub struct JobSchema {
    pub raw: Value,
    pub compiled: CompiledSchema,
}

impl JobSchema {
    pub fn compile(raw: Value) -> Result<Self, SchemaError> {
        let compiled = compile(&raw)?;
        Ok(Self { raw, compiled })
    }
}

/// One synchronization job.
#[derive(Debug)]
pub struct Job {
    pub id: String,
    pub service_principal_id: String,
    pub service_principal_name: String,
    pub config: JobConfig,
    pub limiter: JobLimiter,
    /// Wakes the job's worker when operations are staged.
    pub wake: Notify,
    /// One change of the job's run state or schema at a time: a change asked of this process (made in memory,
    /// then saved), or taking on one another process made (several processes on one database), so neither
    /// undoes the other.
    pub changes: tokio::sync::Mutex<()>,
    schema: RwLock<Arc<JobSchema>>,
    /// The configured schema, which a reset brings back.
    configured_schema: Arc<JobSchema>,
    gate: watch::Sender<Gate>,
    status: Mutex<JobStatus>,
    processed_total: AtomicU64,
    /// The newest request staged since start. The staging store forgets a request once it is applied, so a
    /// drain that asked it alone could miss a request applied but not yet reported (`finish_batch`).
    staged_through: AtomicI64,
}

impl Job {
    /// The schema in force.
    pub fn schema(&self) -> Arc<JobSchema> {
        self.schema.read().map(|s| Arc::clone(&s)).unwrap_or_else(|p| Arc::clone(&p.into_inner()))
    }

    pub fn set_schema(&self, schema: JobSchema) {
        self.put_schema(Arc::new(schema));
    }

    fn put_schema(&self, schema: Arc<JobSchema>) {
        match self.schema.write() {
            Ok(mut s) => *s = schema,
            Err(p) => *p.into_inner() = schema,
        }
    }

    pub fn is_paused(&self) -> bool {
        self.gate.borrow().paused
    }

    pub fn set_paused(&self, paused: bool) {
        self.gate.send_modify(|g| g.paused = paused);
    }

    pub fn is_quarantined(&self) -> bool {
        self.gate.borrow().quarantined
    }

    /// The run state and progress: whether the worker may process (started and not quarantined), and
    /// how far it got.
    pub fn watch_gate(&self) -> watch::Receiver<Gate> {
        self.gate.subscribe()
    }

    /// Run `f` on the job's status; keeps the gate's quarantine flag in step with it.
    pub fn with_status<T>(&self, f: impl FnOnce(&mut JobStatus) -> T) -> T {
        let mut guard = self.status.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let out = f(&mut guard);
        let quarantined = guard.is_quarantined();
        drop(guard);
        self.gate.send_if_modified(|g| std::mem::replace(&mut g.quarantined, quarantined) != quarantined);
        out
    }

    /// The run state and status as stored for a durable emulator.
    pub fn snapshot(&self) -> (bool, Value) {
        let paused = self.is_paused();
        (paused, self.with_status(|s| serde_json::to_value(&*s).unwrap_or(Value::Null)))
    }

    /// Restore a stored snapshot; a status that no longer parses is ignored (the job starts afresh).
    pub fn restore(&self, paused: bool, status: Value) {
        self.set_paused(paused);
        if let Ok(status) = serde_json::from_value::<JobStatus>(status) {
            self.with_status(|s| *s = status);
        }
    }

    /// Takes on what the store kept for the job (at start, and after an import): its replaced schema, its
    /// saved run state and status, and how far it processed the staging queue.
    /// Also when another process on the same database changed the job: a schema equal to the one in force is
    /// kept as it is.
    pub fn resume(&self, record: crate::store::JobRecord) -> Result<(), SchemaError> {
        if let Some(raw) = record.schema
            && self.schema().raw != raw
        {
            self.set_schema(JobSchema::compile(raw)?);
        }
        if let Some((paused, status)) = record.run_state {
            self.restore(paused, status);
        }
        self.mark_through(record.applied_through);
        Ok(())
    }

    /// A copy of the status, to record a batch on before the batch commits.
    pub fn status(&self) -> JobStatus {
        self.with_status(|s| s.clone())
    }

    /// The configured quarantine thresholds.
    pub fn thresholds(&self) -> Thresholds {
        Thresholds {
            min_failures: self.config.quarantine_min_failures,
            failure_ratio: self.config.quarantine_failure_ratio,
            total_failures: self.config.quarantine_total_failures,
        }
    }

    /// Records a committed batch: the job's new status, and every staged request up to `seq` applied
    /// (`count` operations). Both change in one step of the gate, so a drain that sees the operations
    /// applied also sees the status they led to (a quarantine included). Returns whether the job is
    /// quarantined now.
    pub fn finish_batch(&self, status: JobStatus, seq: i64, count: usize) -> bool {
        self.processed_total.fetch_add(count as u64, Ordering::AcqRel);
        let mut guard = self.status.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *guard = status;
        let quarantined = guard.is_quarantined();
        self.gate.send_modify(|g| {
            g.quarantined = quarantined;
            g.processed = g.processed.max(seq);
        });
        quarantined
    }

    /// Record that nothing staged up to `seq` is waiting any more (purged or dropped, or applied before a
    /// restart of the emulator).
    pub fn mark_through(&self, seq: i64) {
        self.gate.send_if_modified(|g| {
            let moved = seq > g.processed;
            g.processed = g.processed.max(seq);
            moved
        });
    }

    /// The last staged request applied, purged or dropped: where the next batch starts.
    pub fn applied_through(&self) -> i64 {
        self.gate.borrow().processed
    }

    /// Record that request `seq` was staged (before its 202 is sent).
    pub fn note_staged(&self, seq: i64) {
        self.staged_through.fetch_max(seq, Ordering::AcqRel);
    }

    /// What a drain waits for: the newest request staged, whether this process staged it (`note_staged`) or
    /// found it in the store at start (`stored_newest`).
    pub fn drain_target(&self, stored_newest: Option<i64>) -> i64 {
        self.staged_through.load(Ordering::Acquire).max(stored_newest.unwrap_or(0))
    }

    /// Back to the state a fresh start with the same configuration gives (a reset of the emulator): the
    /// configured run state and schema, an empty status, the counters at zero and every quota full. How far
    /// the staging queue was processed stays: it only ever moves forward (the store's sequence numbers do).
    pub fn reset(&self) {
        self.put_schema(Arc::clone(&self.configured_schema));
        self.with_status(|s| *s = JobStatus::default());
        self.set_paused(self.config.state == JobState::Paused);
        self.processed_total.store(0, Ordering::Release);
        self.staged_through.store(0, Ordering::Release);
        self.limiter.reset();
    }

    /// Operations processed since start.
    pub fn processed_total(&self) -> u64 {
        self.processed_total.load(Ordering::Acquire)
    }
}

/// What holds a job's worker back, and how far it got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Gate {
    pub paused: bool,
    pub quarantined: bool,
    /// The last staged request applied, purged or dropped.
    pub processed: i64,
}

impl Gate {
    pub fn blocked(self) -> bool {
        self.paused || self.quarantined
    }
}

/// Why a lookup failed: the id that does not exist (docs/fidelity.md A.1 404 row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownResource(pub String);

/// All configured jobs.
#[derive(Debug, Default)]
pub struct JobRegistry {
    service_principals: HashMap<String, Vec<Arc<Job>>>,
}

impl JobRegistry {
    pub fn from_config(config: &Config, clock: &SharedClock) -> Result<Self, SchemaError> {
        let mut service_principals = HashMap::new();
        for sp in &config.service_principals {
            let mut jobs = Vec::with_capacity(sp.jobs.len());
            for job in &sp.jobs {
                let configured_schema = Arc::new(JobSchema::compile(default_schema(&job.template_id))?);
                jobs.push(Arc::new(Job {
                    id: job.id.clone(),
                    service_principal_id: sp.id.clone(),
                    service_principal_name: sp.display_name.clone(),
                    config: job.clone(),
                    limiter: JobLimiter::new(&job.quotas(), Arc::clone(clock)),
                    wake: Notify::new(),
                    changes: tokio::sync::Mutex::new(()),
                    schema: RwLock::new(Arc::clone(&configured_schema)),
                    configured_schema,
                    gate: watch::Sender::new(Gate {
                        paused: job.state == JobState::Paused,
                        quarantined: false,
                        processed: 0,
                    }),
                    status: Mutex::new(JobStatus::default()),
                    processed_total: AtomicU64::new(0),
                    staged_through: AtomicI64::new(0),
                }));
            }
            service_principals.insert(sp.id.to_ascii_lowercase(), jobs);
        }
        Ok(Self { service_principals })
    }

    /// The job `job_id` of service principal `sp_id` (the SP id is a GUID, compared case-insensitively).
    pub fn find(&self, sp_id: &str, job_id: &str) -> Result<&Arc<Job>, UnknownResource> {
        let jobs = self
            .service_principals
            .get(&sp_id.to_ascii_lowercase())
            .ok_or_else(|| UnknownResource(sp_id.to_owned()))?;
        jobs.iter().find(|j| j.id == job_id).ok_or_else(|| UnknownResource(job_id.to_owned()))
    }

    /// A job by id alone (emulator control API).
    pub fn by_id(&self, job_id: &str) -> Result<&Arc<Job>, UnknownResource> {
        self.all().find(|j| j.id == job_id).ok_or_else(|| UnknownResource(job_id.to_owned()))
    }

    /// The jobs of one service principal.
    pub fn of_service_principal(&self, sp_id: &str) -> Result<&[Arc<Job>], UnknownResource> {
        self.service_principals
            .get(&sp_id.to_ascii_lowercase())
            .map(Vec::as_slice)
            .ok_or_else(|| UnknownResource(sp_id.to_owned()))
    }

    /// Every job, in no particular order.
    pub fn all(&self) -> impl Iterator<Item = &Arc<Job>> {
        self.service_principals.values().flatten()
    }

    /// Every job back to its configured state ([`Job::reset`]).
    pub fn reset(&self) {
        self.all().for_each(|job| job.reset());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;

    #[test]
    fn lookups_name_the_missing_id() {
        let cfg = Config::defaults().unwrap();
        let clock: SharedClock = Arc::new(SystemClock);
        let reg = JobRegistry::from_config(&cfg, &clock).unwrap();
        let sp = &cfg.service_principals[0];
        let job = &sp.jobs[0].id;
        assert_eq!(reg.find(&sp.id.to_uppercase(), job).unwrap().id, *job);
        assert_eq!(reg.find("nope", job).unwrap_err(), UnknownResource("nope".into()));
        assert_eq!(reg.find(&sp.id, "J").unwrap_err(), UnknownResource("J".into()));
        assert_eq!(reg.by_id(job).unwrap().id, *job);
        assert_eq!(reg.all().count(), 1);
        assert!(!reg.by_id(job).unwrap().is_paused());
    }

    #[test]
    fn a_drain_waits_for_what_was_staged_even_once_the_store_has_trimmed_it() {
        let cfg = Config::defaults().unwrap();
        let clock: SharedClock = Arc::new(SystemClock);
        let reg = JobRegistry::from_config(&cfg, &clock).unwrap();
        let job = reg.all().next().unwrap();
        assert_eq!(job.drain_target(None), 0);
        assert_eq!(job.drain_target(Some(4)), 4, "found in the store at start");
        job.note_staged(7);
        job.note_staged(5);
        assert_eq!(job.drain_target(None), 7, "applied and trimmed, maybe not yet reported");
        assert_eq!(job.drain_target(Some(9)), 9);
    }

    #[test]
    fn a_reset_brings_back_the_configured_state_but_keeps_the_progress() {
        let cfg = Config::defaults().unwrap();
        let clock: SharedClock = Arc::new(SystemClock);
        let reg = JobRegistry::from_config(&cfg, &clock).unwrap();
        let job = reg.all().next().unwrap();
        let fresh = (job.snapshot(), job.schema().raw.clone());
        job.set_paused(true);
        let mut replaced = job.schema().raw.clone();
        replaced["synchronizationRules"][0]["objectMappings"][0]["attributeMappings"][6]["source"]["expression"] =
            serde_json::json!("\"replaced\"");
        job.set_schema(JobSchema::compile(replaced).unwrap());
        job.note_staged(7);
        job.finish_batch(JobStatus::default(), 7, 3);
        assert_ne!((job.snapshot(), job.schema().raw.clone()), fresh);
        reg.reset();
        assert_eq!((job.snapshot(), job.schema().raw.clone()), fresh);
        assert_eq!((job.processed_total(), job.drain_target(None), job.applied_through()), (0, 0, 7));
    }
}
