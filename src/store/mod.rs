//! The storage boundary. Everything the emulator keeps goes through [`Store`]: asynchronous operations named
//! by intent, with backend-neutral records (such as [`BatchWrites`]) in and out. No SQL, connection or row type crosses
//! it. Two backends implement the same operations: embedded SQLite (`sqlite`, the default) and PostgreSQL
//! (`postgres`, for replicas sharing one state), chosen by `storage.backend`; [`Store`] dispatches to the one
//! configured (an enum: two backends, checked exhaustively, no trait objects).
//!
//! Three roles, each with its own path, so none waits for another (ARCHITECTURE.md "Storage"):
//! - **ingest** — [`Store::stage`]: a bulkUpload's operations, durable before the 202, group-committed;
//! - **engine** — [`Store::read_staged`], then a [`UnitOfWork`] per batch: [`Store::begin_batch`] reads the
//!   part of the directory the batch needs, the engine decides everything in memory, and
//!   [`UnitOfWork::commit`] writes users, log entries, references, job state and the job's progress in one
//!   atomic step. Units of work are serialised (one at a time per store), so a batch's view stays true
//!   until it commits;
//! - **readers** — page queries over checked OData trees and lookups by key, on committed snapshots.
//!
//! The `kill -9` guarantee: an operation answered 202 is staged durably (the staging file; the staging table); the engine's progress is
//! written in the same transaction as the batch's effects, and staged requests at or below it are never
//! applied again. So no accepted operation is lost and none is applied twice.
//!
//! A storage failure is logged once, with its cause, by the caller that turns it into an HTTP answer or a
//! retry (`StoreError`'s `Display` carries the cause).

mod postgres;
mod records;
mod scim_records;
mod sql;
mod sqlite;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::{Mutex, OwnedMutexGuard};

pub use records::{
    BatchWrites, CommitOutcome, DirectoryKeys, DirectoryView, Dropped, JobRecord, LogPage, NewOperation,
    PendingReference, Purged, SavedJob, StagedOperation, StagedRequest, StateRecords, UserPage,
};
pub use scim_records::{Membership, ScimKey, ScimKind, ScimRecord, ScimWriter, TurnSize};
#[cfg(fuzzing)]
pub use sqlite::translate_for_fuzzing;

use crate::config::{Backend as BackendKind, StorageConfig, Synchronous};
use crate::control::journal::{JournalEntry, JournalQuery};
use crate::directory::DirectoryUser;
use crate::odata::PageQuery;
use crate::provisioning::log::ProvisioningObjectSummary;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend's own failure (a SQLite or PostgreSQL error), kept as its source.
    #[error("storage error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("storage error: {0}")]
    Io(#[from] std::io::Error),
    #[error("storage error: {0}")]
    Corrupt(String),
    #[error("storage task failed: {0}")]
    Task(String),
}

/// How a directory lookup key compares: `userPrincipalName` ASCII case-insensitively (as Entra and the
/// store's index do), every other property exactly.
pub fn holder_key(property: &str, value: &str) -> String {
    if property == "userPrincipalName" { value.to_ascii_lowercase() } else { value.to_owned() }
}

/// The value `user` holds in `property`, in the form [`holder_key`] compares (both backends' lookups).
fn held_key(user: &DirectoryUser, property: &str) -> Option<String> {
    let value = match property {
        "id" | "objectId" => Some(user.id.clone()),
        _ => user.get(property).map(|v| v.display()),
    };
    value.map(|v| holder_key(property, &v))
}

/// The configured backend.
#[derive(Debug)]
enum Backend {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

/// `dispatch!(self, b => expr)`: `expr` with `b` bound to whichever backend the store has.
macro_rules! dispatch {
    ($store:expr, $b:ident => $e:expr) => {
        match &*$store.backend {
            Backend::Sqlite($b) => $e,
            Backend::Postgres($b) => $e,
        }
    };
}

/// Handle to the emulator's state; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    backend: Arc<Backend>,
    /// Held by a unit of work from its directory view to its commit, and by resets and purges.
    units: Arc<Mutex<()>>,
}

/// This process's hold on a job's processing (several processes on one PostgreSQL database: one holds a job at
/// a time). Released when dropped, or when the process dies.
#[derive(Debug)]
pub struct JobHold {
    _session: Option<postgres::Hold>,
    /// Whether another process held the job first (its progress and state may have moved meanwhile).
    pub waited: bool,
}

/// What a process on a shared database did to a job ([`Store::notices`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreNotice {
    /// Work was staged for the job.
    Staged(String),
    /// The job's run state, schema or progress changed (pause, start, restart, schema PUT).
    Changed(String),
    /// Shared control state changed ([`Store::change_control`]).
    Control(ControlKey),
    /// Some process reset the emulator (delivered before the jobs' `Changed` notices of that reset).
    Reset,
}

/// A piece of control state several processes on one database share ([`Store::change_control`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlKey {
    /// The virtual clock's offset.
    Clock,
    /// The fault rules.
    Faults,
}

impl ControlKey {
    pub fn as_str(self) -> &'static str {
        match self {
            ControlKey::Clock => "clock",
            ControlKey::Faults => "faults",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        [ControlKey::Clock, ControlKey::Faults].into_iter().find(|k| k.as_str() == key)
    }
}

/// One batch's exclusive turn at the directory: the view it asked for, then its writes.
#[derive(Debug)]
pub struct UnitOfWork {
    store: Store,
    view: DirectoryView,
    _turn: OwnedMutexGuard<()>,
}

impl UnitOfWork {
    /// What the batch asked for, current until this unit commits.
    pub fn view(&self) -> &DirectoryView {
        &self.view
    }

    /// Writes the batch atomically, unless its job's progress moved since `writes.from`.
    pub async fn commit(self, writes: BatchWrites) -> Result<CommitOutcome, StoreError> {
        dispatch!(self.store, b => b.commit(writes).await)
    }
}

impl Store {
    /// Opens (and migrates) the store in `data_dir`, or, without one, in private temporary files removed
    /// when the last handle is dropped.
    pub fn open(data_dir: Option<&Path>, synchronous: Synchronous) -> Result<Self, StoreError> {
        Ok(Self::with(Backend::Sqlite(sqlite::Sqlite::open(data_dir, synchronous)?)))
    }

    /// Opens the store `storage` configures: the embedded one, or (and migrates) the PostgreSQL database at
    /// `storage.url`.
    pub async fn from_config(storage: &StorageConfig) -> Result<Self, StoreError> {
        match storage.backend {
            BackendKind::Sqlite => {
                let dir = (!storage.data_dir.is_empty()).then(|| Path::new(&storage.data_dir));
                Self::open(dir, storage.synchronous)
            }
            BackendKind::Postgres => Ok(Self::with(Backend::Postgres(postgres::Postgres::open(&storage.url).await?))),
        }
    }

    fn with(backend: Backend) -> Self {
        Self { backend: Arc::new(backend), units: Arc::new(Mutex::new(())) }
    }

    /// Makes every staging write fail until called with `false` (tests of failure paths; embedded store).
    #[cfg(test)]
    pub(crate) fn refuse_staging(&self, refuse: bool) -> Result<(), StoreError> {
        match &*self.backend {
            Backend::Sqlite(b) => b.refuse_staging(refuse),
            Backend::Postgres(_) => Err(StoreError::Task("refuse_staging is for the embedded store".into())),
        }
    }

    /// The directory holding the embedded store's files (none on PostgreSQL).
    pub fn location(&self) -> Option<&Path> {
        match &*self.backend {
            Backend::Sqlite(b) => Some(b.location()),
            Backend::Postgres(_) => None,
        }
    }

    // ---- several processes on one database

    /// Waits until this process holds `job_id`'s processing: at once on the embedded store (one process owns
    /// its files); on PostgreSQL, once no other process holds it.
    pub async fn hold_job(&self, job_id: &str) -> Result<JobHold, StoreError> {
        match &*self.backend {
            Backend::Sqlite(_) => Ok(JobHold { _session: None, waited: false }),
            Backend::Postgres(b) => {
                let (hold, waited) = b.hold_job(job_id).await?;
                Ok(JobHold { _session: Some(hold), waited })
            }
        }
    }

    /// How often a worker with nothing to do looks for work another process staged (PostgreSQL: the fallback
    /// when a notice from [`Store::notices`] is lost); `None` on the embedded store.
    pub fn poll_interval(&self) -> Option<std::time::Duration> {
        match &*self.backend {
            Backend::Sqlite(_) => None,
            Backend::Postgres(_) => Some(std::time::Duration::from_secs(1)),
        }
    }

    /// Whether other processes may share this state (PostgreSQL): quotas and progress are then held in the
    /// store rather than in this process.
    pub fn is_shared(&self) -> bool {
        matches!(&*self.backend, Backend::Postgres(_))
    }

    /// One request against a job's `n` quotas held in the store (several processes): `decide` gets each
    /// quota's stored state (None: never used) and returns the new one, or the seconds to wait, in which case
    /// nothing is written. Serialised per job. The embedded store keeps quotas in the process instead.
    pub async fn take_quota(
        &self,
        job_id: &str,
        n: usize,
        decide: impl FnOnce(&[Option<i64>]) -> Result<Vec<i64>, u64> + Send,
    ) -> Result<Result<(), u64>, StoreError> {
        match &*self.backend {
            Backend::Sqlite(_) => Err(StoreError::Task("quotas are held in the process on the embedded store".into())),
            Backend::Postgres(b) => b.take_quota(job_id, n, decide).await,
        }
    }

    /// Every quota of `job_ids` full again, in the store (see [`Store::take_quota`]); nothing to do on the
    /// embedded store.
    pub async fn reset_quotas(&self, job_ids: Vec<String>) -> Result<(), StoreError> {
        match &*self.backend {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(b) => b.reset_quotas(&job_ids).await,
        }
    }

    /// What the processes on the database (this one included) do to jobs (PostgreSQL; `None` on the embedded
    /// store, where only this process does anything).
    pub fn notices(&self) -> Option<tokio::sync::broadcast::Receiver<StoreNotice>> {
        match &*self.backend {
            Backend::Sqlite(_) => None,
            Backend::Postgres(b) => Some(b.notices()),
        }
    }

    // ---- control state several processes share (PostgreSQL; the embedded store's process keeps its own)

    /// The document kept under `key` on a shared database; `None` when there is none, and always on the
    /// embedded store.
    pub async fn control(&self, key: ControlKey) -> Result<Option<serde_json::Value>, StoreError> {
        match &*self.backend {
            Backend::Sqlite(_) => Ok(None),
            Backend::Postgres(b) => b.control(key).await,
        }
    }

    /// Replaces the document under `key` on a shared database with what `change` makes of it, holding it
    /// against every other change until the commit; every other process gets a [`StoreNotice::Control`]. Only
    /// for a shared store ([`Store::is_shared`]): the embedded store refuses.
    pub async fn change_control<R: Send>(
        &self,
        key: ControlKey,
        change: impl FnOnce(Option<serde_json::Value>) -> (Option<serde_json::Value>, R) + Send,
    ) -> Result<R, StoreError> {
        match &*self.backend {
            Backend::Sqlite(_) => {
                Err(StoreError::Task("control state is kept in the process on the embedded store".into()))
            }
            Backend::Postgres(b) => b.change_control(key, change).await,
        }
    }

    /// Adds a request to the journal every process on a shared database writes (keeping the newest
    /// `capacity`). Only for a shared store: the embedded store's journal is the process's own.
    pub async fn journal_append(&self, entry: &JournalEntry, capacity: usize) -> Result<(), StoreError> {
        match &*self.backend {
            Backend::Sqlite(_) => {
                Err(StoreError::Task("the journal is kept in the process on the embedded store".into()))
            }
            Backend::Postgres(b) => b.journal_append(entry, capacity).await,
        }
    }

    /// The shared journal's entries `query` selects, newest first (see [`Store::journal_append`]).
    pub async fn journal_query(&self, query: &JournalQuery, capacity: usize) -> Result<Vec<JournalEntry>, StoreError> {
        match &*self.backend {
            Backend::Sqlite(_) => {
                Err(StoreError::Task("the journal is kept in the process on the embedded store".into()))
            }
            Backend::Postgres(b) => b.journal_query(query, capacity).await,
        }
    }

    /// Empties the shared journal (see [`Store::journal_append`]).
    pub async fn journal_clear(&self) -> Result<(), StoreError> {
        match &*self.backend {
            Backend::Sqlite(_) => {
                Err(StoreError::Task("the journal is kept in the process on the embedded store".into()))
            }
            Backend::Postgres(b) => b.journal_clear().await,
        }
    }

    // ---- ingest

    /// Stages one accepted request; returns once its operations are durable, with its sequence number.
    pub async fn stage(
        &self,
        job_id: &str,
        request_id: &str,
        received: OffsetDateTime,
        operations: &[NewOperation<'_>],
    ) -> Result<i64, StoreError> {
        dispatch!(self, b => b.stage(job_id, request_id, received, operations).await)
    }

    // ---- jobs

    /// What the store holds for a job as the emulator starts (state, schema, progress); staged requests it
    /// already applied are trimmed (a crash between a batch's commit and its trim leaves them behind).
    pub async fn resume_job(&self, job_id: &str) -> Result<JobRecord, StoreError> {
        let record = dispatch!(self, b => b.job(job_id).await)?;
        match &*self.backend {
            Backend::Sqlite(b) => b.trim(job_id, record.applied_through)?,
            Backend::Postgres(b) => b.trim(job_id, record.applied_through).await?,
        }
        Ok(record)
    }

    /// Operations staged for a job after `after` (its progress): the queue depth.
    pub async fn backlog(&self, job_id: &str, after: i64) -> Result<usize, StoreError> {
        dispatch!(self, b => b.backlog(job_id, after).await)
    }

    /// Saves a job's run state and status. Waits for a unit of work in flight, whose commit saves them too:
    /// the caller changes the job in memory first, so the later save carries the change.
    pub async fn save_job_state(
        &self,
        job_id: &str,
        paused: bool,
        status: serde_json::Value,
    ) -> Result<(), StoreError> {
        let _turn = self.units.lock().await;
        dispatch!(self, b => b.save_job_state(job_id, paused, status).await)
    }

    pub async fn save_schema(&self, job_id: &str, schema: serde_json::Value) -> Result<(), StoreError> {
        dispatch!(self, b => b.save_schema(job_id, schema).await)
    }

    /// Drops everything staged for a job so far, unprocessed (a restart).
    pub async fn purge_staged(&self, job_id: &str) -> Result<Purged, StoreError> {
        let _turn = self.units.lock().await;
        dispatch!(self, b => b.purge(job_id).await)
    }

    /// The newest sequence number staged for a job, if any is waiting or was applied but not trimmed.
    pub async fn newest_staged(&self, job_id: &str) -> Result<Option<i64>, StoreError> {
        dispatch!(self, b => b.newest_staged(job_id).await)
    }

    // ---- engine

    /// A job's staged requests after `after`, oldest first, whole, until they hold at least `max_ops`.
    pub async fn read_staged(
        &self,
        job_id: &str,
        after: i64,
        max_ops: usize,
    ) -> Result<Vec<StagedRequest>, StoreError> {
        dispatch!(self, b => b.read_staged(job_id, after, max_ops).await)
    }

    /// Starts a batch's unit of work: waits for its turn, then reads what `keys` name.
    pub async fn begin_batch(&self, keys: DirectoryKeys) -> Result<UnitOfWork, StoreError> {
        let turn = Arc::clone(&self.units).lock_owned().await;
        let view = dispatch!(self, b => b.lookup(keys).await)?;
        Ok(UnitOfWork { store: self.clone(), view, _turn: turn })
    }

    /// Deletes log entries older than `cutoff` and, with `keep`, all but about the newest `keep`; a bounded
    /// amount per call. Returns how many were deleted.
    pub async fn expire_logs(&self, cutoff: OffsetDateTime, keep: Option<u64>) -> Result<usize, StoreError> {
        dispatch!(self, b => b.expire_logs(cutoff, keep).await)
    }

    // ---- control

    /// Empties everything kept: the directory, the logs, the staging queue of the jobs `job_ids`, the jobs'
    /// saved run state and schemas, and the SCIM resources. Each job's progress moves past what was staged.
    pub async fn reset(&self, job_ids: Vec<String>) -> Result<Dropped, StoreError> {
        let _turn = self.units.lock().await;
        dispatch!(self, b => b.reset(job_ids).await)
    }

    /// Everything kept for the jobs `job_ids` (an export), read between two units of work.
    pub async fn export_state(&self, job_ids: Vec<String>) -> Result<StateRecords, StoreError> {
        let _turn = self.units.lock().await;
        dispatch!(self, b => b.export_state(job_ids).await)
    }

    /// Replaces everything kept with `records` (an import): the staging queue in one transaction of the staging
    /// file, then the rest in one transaction of the main file, with each job's progress moved to just before
    /// the requests `records` stages. Returns what was dropped, as [`Store::reset`] does.
    pub async fn import_state(&self, records: StateRecords, job_ids: Vec<String>) -> Result<Dropped, StoreError> {
        let _turn = self.units.lock().await;
        dispatch!(self, b => b.import_state(records, job_ids).await)
    }

    /// Adds users and log entries as given (seeding a directory; test fixtures).
    pub async fn import(
        &self,
        users: Vec<DirectoryUser>,
        entries: Vec<ProvisioningObjectSummary>,
    ) -> Result<(), StoreError> {
        let _turn = self.units.lock().await;
        dispatch!(self, b => b.import(users, entries).await)
    }

    // ---- readers

    pub async fn query_logs(&self, query: PageQuery) -> Result<LogPage, StoreError> {
        dispatch!(self, b => b.query_logs(query).await)
    }

    pub async fn log_entry(&self, id: &str) -> Result<Option<ProvisioningObjectSummary>, StoreError> {
        dispatch!(self, b => b.log_entry(id).await)
    }

    /// A page of users, and the filter's total when `count`.
    pub async fn query_users(&self, query: PageQuery, count: bool) -> Result<UserPage, StoreError> {
        dispatch!(self, b => b.query_users(query, count).await)
    }

    /// The user whose object id or userPrincipalName (case-insensitive) is `key`.
    pub async fn find_user(&self, key: &str) -> Result<Option<DirectoryUser>, StoreError> {
        dispatch!(self, b => b.find_user(key).await)
    }

    pub async fn users_by_ids(&self, ids: Vec<String>) -> Result<HashMap<String, DirectoryUser>, StoreError> {
        dispatch!(self, b => b.users_by_ids(ids).await)
    }

    pub async fn count_users(&self) -> Result<u64, StoreError> {
        dispatch!(self, b => b.count_users().await)
    }

    // ---- the SCIM 2.0 service provider (`crate::scim_server`): its own resources, apart from the directory

    /// One write turn over the SCIM resources: `turn` runs on the store's writer, everything it does commits
    /// together when it returns `Ok` (a Bulk request is one turn), and nothing does when it fails. `size` says
    /// whether the turn writes one resource or a Bulk request's many.
    pub async fn scim_write<T: Send + 'static>(
        &self,
        size: TurnSize,
        turn: impl FnOnce(&mut dyn ScimWriter) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        match &*self.backend {
            Backend::Sqlite(b) => b.scim_write(size, turn).await,
            // One pooled connection per turn on PostgreSQL, whatever its size.
            Backend::Postgres(b) => b.scim_write(turn).await,
        }
    }

    pub async fn scim_get(&self, kind: ScimKind, id: &str) -> Result<Option<ScimRecord>, StoreError> {
        dispatch!(self, b => b.scim_get(kind, id).await)
    }

    /// Every resource of `kind`, oldest first.
    pub async fn scim_all(&self, kind: ScimKind) -> Result<Vec<ScimRecord>, StoreError> {
        dispatch!(self, b => b.scim_all(kind).await)
    }

    /// The resources of `kind` whose `key` is one of `values`, oldest first.
    pub async fn scim_by_keys(
        &self,
        kind: ScimKind,
        key: ScimKey,
        values: Vec<String>,
    ) -> Result<Vec<ScimRecord>, StoreError> {
        dispatch!(self, b => b.scim_by_keys(kind, key, values).await)
    }

    /// The groups each of `member_ids` is a member of.
    pub async fn scim_memberships(
        &self,
        member_ids: Vec<String>,
    ) -> Result<HashMap<String, Vec<Membership>>, StoreError> {
        dispatch!(self, b => b.scim_memberships(member_ids).await)
    }
}
