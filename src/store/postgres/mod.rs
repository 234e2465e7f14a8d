//! The shared backend: PostgreSQL (tokio-postgres, pooled by deadpool-postgres), for replicas sharing one
//! state. It implements the same operations as the embedded store, with the same records and guarantees:
//!
//! - **Ingest** (`staging`): one task per process takes every accepted request waiting and commits them in
//!   one transaction (group commit) before any of them is answered. A transaction-scoped advisory lock
//!   serialises staging transactions, across replicas too, so sequence numbers commit in the order they are
//!   issued: a reader never sees `seq` N+1 before N, and a job's progress can never pass a request not yet
//!   visible.
//! - **Engine** (`unit`): a unit of work reads the directory, then commits the batch's writes, its job's
//!   progress (compare-and-set, as on SQLite) and the trim of the requests it applied in one transaction.
//! - **Readers** (`pages`, `users`, `scim`): pooled connections; every statement reads a committed snapshot.
//!
//! What differs from the embedded store, and why: log entries are kept as their v1.0 documents (read back as
//! an import reads them) beside their filterable columns, since PostgreSQL's own storage compresses large
//! values (TOAST) and a shared server's memory is not the emulator's budget; resets and imports are one
//! transaction over the whole state, staging included.
//!
//! - **Several processes** (`replicas`): one process at a time holds a job's processing; staging notifies the
//!   others.
//!
//! - **Control state** (`control`): the virtual clock, the fault rules and the request journal, shared by every
//!   process.
//!
//! Module map: `migrations`, `staging`, `unit`, `users`, `logs`, `pages`, `jobs`, `state`, `scim`, `params`,
//! `replicas`, `control`.

mod control;
mod jobs;
mod logs;
mod migrations;
mod pages;
mod params;
mod replicas;
mod scim;
mod staging;
mod state;
mod unit;
mod users;

use std::collections::HashMap;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio::sync::{broadcast, mpsc};
use tokio_postgres::NoTls;

use super::{
    BatchWrites, CommitOutcome, ControlKey, DirectoryKeys, DirectoryView, Dropped, JobRecord, LogPage, NewOperation,
    Purged, StagedRequest, StateRecords, StoreError, StoreNotice, UserPage,
};
use crate::control::journal::{JournalEntry, JournalQuery};
use crate::directory::DirectoryUser;
use crate::odata::PageQuery;
use crate::provisioning::log::ProvisioningObjectSummary;

/// Connections one process keeps at most.
const POOL_SIZE: usize = 16;

/// Tells every process on the database that `job_id`'s run state, schema or progress changed.
async fn changed(client: &Object, instance: &str, job_id: &str) -> Result<(), StoreError> {
    client.execute("SELECT pg_notify($1, $2)", &[&replicas::CHANGED, &replicas::payload(instance, job_id)]).await?;
    Ok(())
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        StoreError::Backend(Box::new(e))
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError::Backend(Box::new(e))
    }
}

/// The PostgreSQL backend.
#[derive(Debug)]
pub(crate) struct Postgres {
    pool: Pool,
    staging: mpsc::UnboundedSender<staging::Stage>,
    url: String,
    /// This process's id in the notices it sends (`replicas::payload`).
    instance: String,
    /// What some process (this one included) did to a job (`replicas::listen`).
    notices: broadcast::Sender<StoreNotice>,
}

pub(crate) use replicas::Hold;

impl Postgres {
    /// Connects to `url` and migrates its schema.
    pub(crate) async fn open(url: &str) -> Result<Self, StoreError> {
        let config: tokio_postgres::Config =
            url.parse().map_err(|e| StoreError::Corrupt(format!("storage.url is not a PostgreSQL URL: {e}")))?;
        let manager =
            Manager::from_config(config.clone(), NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| StoreError::Task(format!("building the PostgreSQL pool: {e}")))?;
        let mut client = pool.get().await?;
        migrations::migrate(&mut client).await?;
        drop(client);
        let instance = uuid::Uuid::new_v4().simple().to_string();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(staging::run(pool.clone(), instance.clone(), rx));
        let (notices, _) = broadcast::channel(1024);
        tokio::spawn(replicas::listen(url.to_owned(), instance.clone(), notices.clone()));
        Ok(Self { pool, staging: tx, url: url.to_owned(), instance, notices })
    }

    /// Waits until this process holds `job_id`'s processing; whether it had to wait for another process.
    pub(crate) async fn hold_job(&self, job_id: &str) -> Result<(Hold, bool), StoreError> {
        replicas::hold(&self.url, job_id).await
    }

    pub(crate) async fn take_quota(
        &self,
        job_id: &str,
        n: usize,
        decide: impl FnOnce(&[Option<i64>]) -> Result<Vec<i64>, u64> + Send,
    ) -> Result<Result<(), u64>, StoreError> {
        let mut client = self.client().await?;
        jobs::take_quota(&mut client, job_id, n, decide).await
    }

    pub(crate) async fn reset_quotas(&self, job_ids: &[String]) -> Result<(), StoreError> {
        self.client().await?.execute("DELETE FROM job_quota WHERE job_id = ANY($1)", &[&job_ids]).await?;
        Ok(())
    }

    pub(crate) async fn control(&self, key: ControlKey) -> Result<Option<serde_json::Value>, StoreError> {
        control::read(&**self.client().await?, key).await
    }

    pub(crate) async fn change_control<R>(
        &self,
        key: ControlKey,
        change: impl FnOnce(Option<serde_json::Value>) -> (Option<serde_json::Value>, R),
    ) -> Result<R, StoreError> {
        let mut client = self.client().await?;
        control::change(&mut client, &self.instance, key, change).await
    }

    pub(crate) async fn journal_append(&self, entry: &JournalEntry, capacity: usize) -> Result<(), StoreError> {
        control::journal_append(&**self.client().await?, entry, capacity).await
    }

    pub(crate) async fn journal_query(
        &self,
        query: &JournalQuery,
        capacity: usize,
    ) -> Result<Vec<JournalEntry>, StoreError> {
        control::journal_query(&**self.client().await?, query, capacity).await
    }

    pub(crate) async fn journal_clear(&self) -> Result<(), StoreError> {
        control::journal_clear(&**self.client().await?).await
    }

    /// What some process (this one included) did to a job, from now on.
    pub(crate) fn notices(&self) -> broadcast::Receiver<StoreNotice> {
        self.notices.subscribe()
    }

    async fn client(&self) -> Result<Object, StoreError> {
        Ok(self.pool.get().await?)
    }

    pub(crate) async fn stage(
        &self,
        job_id: &str,
        request_id: &str,
        received: time::OffsetDateTime,
        ops: &[NewOperation<'_>],
    ) -> Result<i64, StoreError> {
        staging::stage(&self.staging, job_id, request_id, received, ops).await
    }

    pub(crate) async fn job(&self, job_id: &str) -> Result<JobRecord, StoreError> {
        jobs::load(&**self.client().await?, job_id).await
    }

    pub(crate) async fn backlog(&self, job_id: &str, after: i64) -> Result<usize, StoreError> {
        staging::operations_between(&**self.client().await?, job_id, after, i64::MAX).await
    }

    pub(crate) async fn trim(&self, job_id: &str, through: i64) -> Result<(), StoreError> {
        staging::trim(&**self.client().await?, job_id, through).await
    }

    pub(crate) async fn read_staged(
        &self,
        job_id: &str,
        after: i64,
        max_ops: usize,
    ) -> Result<Vec<StagedRequest>, StoreError> {
        staging::read_after(&**self.client().await?, job_id, after, max_ops).await
    }

    pub(crate) async fn newest_staged(&self, job_id: &str) -> Result<Option<i64>, StoreError> {
        staging::newest_seq(&**self.client().await?, job_id).await
    }

    pub(crate) async fn lookup(&self, keys: DirectoryKeys) -> Result<DirectoryView, StoreError> {
        unit::lookup(&**self.client().await?, &keys).await
    }

    pub(crate) async fn commit(&self, writes: BatchWrites) -> Result<CommitOutcome, StoreError> {
        let mut client = self.client().await?;
        unit::commit(&mut client, &writes, &self.instance).await
    }

    pub(crate) async fn save_job_state(
        &self,
        job_id: &str,
        paused: bool,
        status: serde_json::Value,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        jobs::save_state(&**client, job_id, paused, &status).await?;
        changed(&client, &self.instance, job_id).await
    }

    pub(crate) async fn save_schema(&self, job_id: &str, schema: serde_json::Value) -> Result<(), StoreError> {
        let client = self.client().await?;
        jobs::save_schema(&**client, job_id, &schema).await?;
        changed(&client, &self.instance, job_id).await
    }

    pub(crate) async fn purge(&self, job_id: &str) -> Result<Purged, StoreError> {
        let mut client = self.client().await?;
        let purged = jobs::purge(&mut client, job_id).await?;
        changed(&client, &self.instance, job_id).await?;
        Ok(purged)
    }

    pub(crate) async fn reset(&self, job_ids: Vec<String>) -> Result<Dropped, StoreError> {
        let mut client = self.client().await?;
        state::replace(&mut client, None, &job_ids, &self.instance).await
    }

    pub(crate) async fn expire_logs(
        &self,
        cutoff: time::OffsetDateTime,
        keep: Option<u64>,
    ) -> Result<usize, StoreError> {
        logs::expire(&**self.client().await?, crate::graph_time::ticks(cutoff), keep, 5_000).await
    }

    pub(crate) async fn query_logs(&self, query: PageQuery) -> Result<LogPage, StoreError> {
        pages::logs(&**self.client().await?, &query).await
    }

    pub(crate) async fn log_entry(&self, id: &str) -> Result<Option<ProvisioningObjectSummary>, StoreError> {
        logs::by_id(&**self.client().await?, id).await
    }

    pub(crate) async fn query_users(&self, query: PageQuery, count: bool) -> Result<UserPage, StoreError> {
        pages::users(&**self.client().await?, &query, count).await
    }

    pub(crate) async fn find_user(&self, key: &str) -> Result<Option<DirectoryUser>, StoreError> {
        users::find(&**self.client().await?, key).await
    }

    pub(crate) async fn users_by_ids(&self, ids: Vec<String>) -> Result<HashMap<String, DirectoryUser>, StoreError> {
        users::by_ids(&**self.client().await?, &ids).await
    }

    pub(crate) async fn count_users(&self) -> Result<u64, StoreError> {
        users::count(&**self.client().await?).await
    }

    pub(crate) async fn import(
        &self,
        users_in: Vec<DirectoryUser>,
        entries: Vec<ProvisioningObjectSummary>,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        users::save_all(&*tx, &users_in).await?;
        logs::insert(&*tx, &entries).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn export_state(&self, job_ids: Vec<String>) -> Result<StateRecords, StoreError> {
        let mut client = self.client().await?;
        state::read(&mut client, &job_ids).await
    }

    pub(crate) async fn import_state(
        &self,
        records: StateRecords,
        job_ids: Vec<String>,
    ) -> Result<Dropped, StoreError> {
        let mut client = self.client().await?;
        state::replace(&mut client, Some(&records), &job_ids, &self.instance).await
    }
}
