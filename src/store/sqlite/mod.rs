//! The embedded backend: SQLite (rusqlite, bundled), three roles with separate paths so none waits for
//! another.
//!
//! - **Ingest**: the staging file's writer thread (`ingest`), group-committing accepted requests.
//! - **Engine**: the main file's one write connection, used by units of work (the directory view and the
//!   batch's writes), job-state saves, purges, resets and retention. Blocking work runs in place on the
//!   server's runtime (`blocking`); the connection sits behind a mutex that only these writers take
//!   (`writer`; in the private mode it also carries the SCIM changes `scim_behind` writes behind their answers).
//! - **Readers**: pools of read-only connections to both files (`pool`); WAL gives each read a committed
//!   snapshot and never makes it wait for a writer.
//!
//! Module map: `open` (files and connections), `migrations` (+ `legacy`), `ingest`, `unit`, `users`,
//! `logs` (+ `dictionary`), `jobs`, `pages` (+ `sql`), `pool`, `writer`, `scim` (the SCIM service provider's
//! resources; `scim_behind` in the private mode).

mod blocking;
mod blocks;
mod dictionary;
pub(in crate::store) mod ingest;
mod jobs;
mod legacy;
mod logs;
mod migrations;
mod open;
mod pages;
mod pool;
mod scim;
mod scim_behind;
#[cfg(test)]
mod sql_tests;
mod state;
#[cfg(test)]
mod tests;
mod unit;
pub(in crate::store) mod users;
mod writer;

#[cfg(fuzzing)]
pub use pages::translate_for_fuzzing;

use std::collections::HashMap;
use std::path::Path;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::{
    BatchWrites, CommitOutcome, DirectoryKeys, DirectoryView, Dropped, JobRecord, LogPage, NewOperation, Purged,
    StagedRequest, StateRecords, StoreError, UserPage,
};
use crate::config::Synchronous;
use crate::directory::DirectoryUser;
use crate::graph_time::ticks;
use crate::odata::PageQuery;
use crate::provisioning::log::ProvisioningObjectSummary;
use dictionary::Dictionary;
use open::{Location, MAIN_DB, Role, STAGING_DB, connect};
use pool::Pool;

/// The SQLite backend.
#[derive(Debug)]
pub(crate) struct Sqlite {
    writer: Arc<writer::Writer>,
    ingest: Mutex<Sender<ingest::Command>>,
    readers: Arc<Pool>,
    staging_readers: Arc<Pool>,
    dictionary: Arc<Dictionary>,
    // Declared last: dropped after the connections, so a private directory is removed once they are closed.
    location: Location,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend(Box::new(e))
    }
}

fn ingest_lock_failed() -> StoreError {
    StoreError::Task("the ingest thread's sender lock was poisoned".into())
}

impl Drop for Sqlite {
    fn drop(&mut self) {
        if let Some(behind) = self.writer.behind() {
            behind.stop();
        }
    }
}

impl Sqlite {
    /// Opens (and migrates) the files in `data_dir`, or in a private temporary directory.
    pub(crate) fn open(data_dir: Option<&Path>, synchronous: Synchronous) -> Result<Self, StoreError> {
        let location = Location::new(data_dir)?;
        let (dir, durable) = (location.path(), location.is_durable());
        let mut main = connect(dir, durable, MAIN_DB, Role::Writer, synchronous)?;
        let mut staging = connect(dir, durable, STAGING_DB, Role::Writer, synchronous)?;
        let dictionary = Arc::new(Dictionary::default());
        migrations::migrate(&mut main, &mut staging, &dictionary)?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new().name("entra-inbound-ingest".into()).spawn(move || ingest::run(staging, rx))?;
        let behind = if durable { None } else { Some(Arc::new(scim_behind::Behind::open(&main)?)) };
        let writer = Arc::new(writer::Writer::new(main, behind.clone()));
        if let Some(behind) = behind {
            let writer = Arc::clone(&writer);
            std::thread::Builder::new()
                .name("entra-inbound-scim".into())
                .spawn(move || scim_behind::run(&writer, &behind))?;
        }
        let readers = Arc::new(Pool::new(&location, MAIN_DB, synchronous));
        let staging_readers = Arc::new(Pool::new(&location, STAGING_DB, synchronous));
        Ok(Self { writer, ingest: Mutex::new(tx), readers, staging_readers, dictionary, location })
    }

    /// Runs a short write — one resource's turn — on the calling thread when the writer is free and the files
    /// are private temporary ones (no commit waits for a disk), else as [`Sqlite::write`] does (`blocking`).
    async fn write_point<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection, &Dictionary) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        if !self.location.is_durable()
            && let Some(mut held) = self.writer.try_lock()?
        {
            return f(held.settled()?, &self.dictionary);
        }
        self.write(f).await
    }

    /// Runs `f` with the writer connection (`blocking::run`).
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection, &Dictionary) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (writer, dict) = (Arc::clone(&self.writer), Arc::clone(&self.dictionary));
        blocking::run(move || f(writer.lock()?.settled()?, &dict)).await
    }

    /// Runs `f` — a reset or an import of the SCIM resources among the rest — as [`Sqlite::write`] does, with
    /// no SCIM write turn running meanwhile (`writer::Held::exclusive`).
    async fn write_exclusive<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection, &Dictionary) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (writer, dict) = (Arc::clone(&self.writer), Arc::clone(&self.dictionary));
        blocking::run(move || writer.lock()?.exclusive(|c| f(c, &dict))).await
    }

    /// Writes out the SCIM changes answered but not written yet (`scim_behind`), so a read on another
    /// connection sees every change already answered.
    async fn settle(&self) -> Result<(), StoreError> {
        if self.writer.unsettled() { self.write_point(|_, _| Ok(())).await } else { Ok(()) }
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection, &Dictionary) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.settle().await?;
        let dict = Arc::clone(&self.dictionary);
        self.readers.run(move |c| f(c, &dict)).await
    }

    /// Runs a point read (a row or a few, by key) on the calling thread when a reader is idle, else as
    /// [`Sqlite::read`] does.
    async fn read_point<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection, &Dictionary) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.settle().await?;
        let dict = Arc::clone(&self.dictionary);
        self.readers.run_point(move |c| f(c, &dict)).await
    }

    fn send(&self, command: ingest::Command) -> Result<(), StoreError> {
        let tx = self.ingest.lock().map_err(|_| ingest_lock_failed())?;
        ingest::send(&tx, command)
    }

    pub(crate) async fn stage(
        &self,
        job_id: &str,
        request_id: &str,
        received: time::OffsetDateTime,
        ops: &[NewOperation<'_>],
    ) -> Result<i64, StoreError> {
        let body = ingest::encode(ops)?;
        let (reply, answer) = oneshot::channel();
        self.send(ingest::Command::Stage {
            job_id: job_id.to_owned(),
            request_id: request_id.to_owned(),
            received: ticks(received),
            operations: i64::try_from(ops.len()).unwrap_or(i64::MAX),
            body,
            reply,
        })?;
        answer.await.map_err(|_| StoreError::Task("the ingest thread stopped".into()))?
    }

    pub(crate) async fn job(&self, job_id: &str) -> Result<JobRecord, StoreError> {
        let job_id = job_id.to_owned();
        self.write(move |c, _| jobs::load(c, &job_id)).await
    }

    /// Operations staged for `job_id` after `after`.
    pub(crate) async fn backlog(&self, job_id: &str, after: i64) -> Result<usize, StoreError> {
        let job_id = job_id.to_owned();
        self.staging_readers.run(move |c| ingest::operations_between(c, &job_id, after, i64::MAX)).await
    }

    /// Trims what `job_id` applied (at start: a crash can leave applied requests behind).
    pub(crate) fn trim(&self, job_id: &str, through: i64) -> Result<(), StoreError> {
        self.send(ingest::Command::Trim { job_id: job_id.to_owned(), through })
    }

    pub(crate) async fn read_staged(
        &self,
        job_id: &str,
        after: i64,
        max_ops: usize,
    ) -> Result<Vec<StagedRequest>, StoreError> {
        let job_id = job_id.to_owned();
        self.staging_readers.run(move |c| ingest::read_after(c, &job_id, after, max_ops)).await
    }

    pub(crate) async fn newest_staged(&self, job_id: &str) -> Result<Option<i64>, StoreError> {
        let job_id = job_id.to_owned();
        self.staging_readers.run(move |c| ingest::newest_seq(c, &job_id)).await
    }

    pub(crate) async fn lookup(&self, keys: DirectoryKeys) -> Result<DirectoryView, StoreError> {
        self.write(move |c, _| unit::lookup(c, &keys)).await
    }

    pub(crate) async fn commit(&self, writes: BatchWrites) -> Result<CommitOutcome, StoreError> {
        let (job_id, through) = (writes.job_id.clone(), writes.through);
        let outcome = self.write(move |c, dict| unit::commit(c, dict, &writes)).await?;
        if outcome == CommitOutcome::Committed {
            self.trim(&job_id, through)?;
        }
        Ok(outcome)
    }

    pub(crate) async fn save_job_state(
        &self,
        job_id: &str,
        paused: bool,
        status: serde_json::Value,
    ) -> Result<(), StoreError> {
        let job_id = job_id.to_owned();
        self.write(move |c, _| jobs::save_state(c, &job_id, paused, &status)).await
    }

    pub(crate) async fn save_schema(&self, job_id: &str, schema: serde_json::Value) -> Result<(), StoreError> {
        let job_id = job_id.to_owned();
        self.write(move |c, _| jobs::save_schema(c, &job_id, &schema)).await
    }

    /// Marks everything staged for `job_id` so far as done without applying it.
    pub(crate) async fn purge(&self, job_id: &str) -> Result<Purged, StoreError> {
        let Some(newest) = self.newest_staged(job_id).await? else {
            let through = self.job(job_id).await?.applied_through;
            return Ok(Purged { through, operations: 0 });
        };
        let id = job_id.to_owned();
        let from = self.job(job_id).await?.applied_through;
        if newest <= from {
            return Ok(Purged { through: from, operations: 0 });
        }
        let operations = {
            let id = id.clone();
            self.staging_readers.run(move |c| ingest::operations_between(c, &id, from, newest)).await?
        };
        let moved = self.write(move |c, _| jobs::advance(c, &id, from, newest)).await?;
        if !moved {
            return Err(StoreError::Task(format!("the progress of job {job_id} moved during a purge")));
        }
        self.trim(job_id, newest)?;
        Ok(Purged { through: newest, operations })
    }

    /// Empties the directory, the logs, the staging queue, the jobs' saved state and schemas and the SCIM
    /// resources; every job's progress moves past what was staged.
    pub(crate) async fn reset(&self, job_ids: Vec<String>) -> Result<Dropped, StoreError> {
        let mut applied = HashMap::new();
        for job_id in &job_ids {
            applied.insert(job_id.clone(), self.job(job_id).await?.applied_through);
        }
        let (reply, answer) = oneshot::channel();
        self.send(ingest::Command::Clear { applied, restage: Vec::new(), reply })?;
        let cleared = answer.await.map_err(|_| StoreError::Task("the ingest thread stopped".into()))??;
        let highest = cleared.highest;
        self.write_exclusive(move |c, dict| {
            let tx = c.transaction()?;
            tx.execute_batch(state::CLEAR)?;
            jobs::skip_all_to(&tx, &job_ids, highest)?;
            tx.commit()?;
            open::give_back_free_pages(c, None)?;
            dict.forget_ids()
        })
        .await?;
        Ok(Dropped { through: highest, operations: cleared.unprocessed })
    }

    pub(crate) async fn expire_logs(
        &self,
        cutoff: time::OffsetDateTime,
        keep: Option<u64>,
    ) -> Result<usize, StoreError> {
        let cutoff = ticks(cutoff);
        self.write(move |c, _| unit::expire_logs(c, cutoff, keep, 5_000)).await
    }

    pub(crate) async fn query_logs(&self, query: PageQuery) -> Result<LogPage, StoreError> {
        self.read(move |c, dict| pages::logs(c, dict, &query)).await
    }

    pub(crate) async fn log_entry(&self, id: &str) -> Result<Option<ProvisioningObjectSummary>, StoreError> {
        let id = id.to_owned();
        self.read_point(move |c, dict| pages::log(c, dict, &id)).await
    }

    pub(crate) async fn query_users(&self, query: PageQuery, count: bool) -> Result<UserPage, StoreError> {
        self.read(move |c, _| pages::users(c, &query, count)).await
    }

    pub(crate) async fn find_user(&self, key: &str) -> Result<Option<DirectoryUser>, StoreError> {
        let key = key.to_owned();
        self.read_point(move |c, _| users::find(c, &key)).await
    }

    pub(crate) async fn users_by_ids(&self, ids: Vec<String>) -> Result<HashMap<String, DirectoryUser>, StoreError> {
        self.read(move |c, _| users::by_ids(c, &ids.iter().map(String::as_str).collect::<Vec<_>>())).await
    }

    pub(crate) async fn count_users(&self) -> Result<u64, StoreError> {
        self.read(|c, _| users::count(c)).await
    }

    /// Inserts users and log entries as given (seeding; tests).
    pub(crate) async fn import(
        &self,
        users_in: Vec<DirectoryUser>,
        entries: Vec<ProvisioningObjectSummary>,
    ) -> Result<(), StoreError> {
        self.write(move |c, dict| {
            let tx = c.transaction()?;
            for u in &users_in {
                users::save(&tx, u)?;
            }
            logs::insert(&tx, dict, &entries)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// Everything kept for the jobs `job_ids`, in a stable order; the staged requests each job has not applied
    /// yet, in arrival order. Read while no unit of work commits (the caller holds the turn).
    pub(crate) async fn export_state(&self, job_ids: Vec<String>) -> Result<StateRecords, StoreError> {
        let (mut records, applied) = self.read(move |c, dict| state::read(c, dict, &job_ids)).await?;
        let staged = self
            .staging_readers
            .run(move |c| {
                let mut all = Vec::new();
                for (job_id, after) in &applied {
                    all.extend(ingest::read_after(c, job_id, *after, usize::MAX)?);
                }
                Ok(all)
            })
            .await?;
        records.staged = staged;
        records.staged.sort_by_key(|r| r.seq);
        Ok(records)
    }

    /// Replaces everything kept with `records` (see [`super::Store::import_state`]).
    pub(crate) async fn import_state(
        &self,
        records: StateRecords,
        job_ids: Vec<String>,
    ) -> Result<Dropped, StoreError> {
        let mut applied = HashMap::new();
        for job_id in &job_ids {
            applied.insert(job_id.clone(), self.job(job_id).await?.applied_through);
        }
        let mut restage = Vec::with_capacity(records.staged.len());
        for r in &records.staged {
            let ops: Vec<NewOperation<'_>> = r
                .operations
                .iter()
                .map(|o| NewOperation { bulk_id: &o.bulk_id, external_id: &o.external_id, data: &o.data })
                .collect();
            restage.push(ingest::Restaged {
                job_id: r.job_id.clone(),
                request_id: r.request_id.clone(),
                received: ticks(r.received),
                operations: i64::try_from(ops.len()).unwrap_or(i64::MAX),
                body: ingest::encode(&ops)?,
            });
        }
        let (reply, answer) = oneshot::channel();
        self.send(ingest::Command::Clear { applied, restage, reply })?;
        let cleared = answer.await.map_err(|_| StoreError::Task("the ingest thread stopped".into()))??;
        let highest = cleared.highest;
        self.write_exclusive(move |c, dict| {
            let replaced = state::replace(c, dict, &records, &job_ids, highest);
            if replaced.is_err() {
                dict.forget_ids()?; // the rolled-back transaction may have named ids the cache now holds
            }
            replaced?;
            open::give_back_free_pages(c, None)
        })
        .await?;
        Ok(Dropped { through: highest, operations: cleared.unprocessed })
    }

    /// The directory holding the files.
    pub(crate) fn location(&self) -> &Path {
        self.location.path()
    }

    /// Makes every staging write fail until called with `false` (tests of failure paths).
    #[cfg(test)]
    pub(crate) fn refuse_staging(&self, refuse: bool) -> Result<(), StoreError> {
        let conn = Connection::open(self.location.path().join(STAGING_DB))?;
        conn.execute_batch(if refuse {
            "CREATE TRIGGER refuse BEFORE INSERT ON staged_request BEGIN SELECT RAISE(ABORT, 'refused for a test'); END;"
        } else {
            "DROP TRIGGER refuse;"
        })?;
        Ok(())
    }
}
