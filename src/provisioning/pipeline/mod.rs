//! Processing one batch of staged operations, exactly the decisions of spec A.2: per operation
//! import → scoping → matching → mapping → action (create / update / disable / skip) → export; then, after
//! every export of the batch, reference resolution (so a manager anywhere in the batch is found), then the
//! references that were waiting for a manager who has now arrived. Directory writes, log entries and the
//! removal of the processed operations commit in one transaction.
//!
//! Two stages, so a worker overlaps them across batches: [`prepare_batch`] runs the record-only steps on
//! every core without storage; [`commit_batch`] does the ordered directory work and writes.
//!
//! A failing operation never stops the batch: it becomes a `failure` entry.

mod export;
mod prepare;
mod references;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;
use rusqlite::Connection;
use time::OffsetDateTime;

use super::jobs::JobSchema;
use super::log_entry::{self, Action, Entry, Status, TARGET_SYSTEM};
use super::schema::CompiledSchema;
use crate::directory::DirectoryUser;
use crate::store::staging::StagedOperation;
use crate::store::{StoreError, directory as users, logs, staging};
use export::apply;
use prepare::{Prepared, prepare};
use references::{PendingReferences, resolve_manager, resolve_waiting_references};

/// The job-level facts the pipeline needs.
#[derive(Debug, Clone)]
pub struct JobSettings<'a> {
    pub tenant_id: &'a str,
    pub default_domain: &'a str,
    pub verified_domains: &'a [String],
    pub job_id: &'a str,
    pub service_principal_id: &'a str,
    pub service_principal_name: &'a str,
    /// The real service imports an omitted `active` as False (spec A.2 quirk).
    pub omitted_active_disables: bool,
    /// Accidental-deletion prevention: most disables one batch may apply (0 = off).
    pub deletion_threshold: usize,
}

/// Counters of one processed batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BatchResult {
    pub processed: usize,
    pub last_seq: i64,
    pub entries: usize,
    pub exported: usize,
    pub failed: usize,
    pub skipped: usize,
    pub disabled: usize,
    /// Entries skipped by the scoping filter.
    pub out_of_scope: usize,
    /// Manager references set.
    pub references: usize,
    /// The batch exceeded the deletion threshold: its disables were logged as `stagedDelete` instead.
    pub too_many_deletes: bool,
    /// `activityDateTime` of the batch's last entry (the next batch starts after it).
    #[serde(skip)]
    pub last_activity: Option<OffsetDateTime>,
}

/// One operation's state between the export pass and the reference pass.
#[derive(Debug, Clone)]
pub(super) struct Work {
    pub(super) entry: Entry,
    pub(super) user_id: Option<String>,
    /// The user as the store holds it after this operation, when the operation left it current.
    pub(super) user: Option<DirectoryUser>,
    pub(super) manager_external_id: Option<String>,
    /// The manager's object id as the export looked it up (None when it did not).
    pub(super) manager_at_export: Option<Option<String>>,
    pub(super) started: Instant,
}

/// A batch after its record-only steps (import, scoping, mapping), ready for [`commit_batch`]. Preparing needs
/// no storage, so a worker prepares the next batch while the current one commits.
#[derive(Debug)]
pub struct PreparedBatch {
    ops: Vec<StagedOperation>,
    schema: Arc<JobSchema>,
    prepared: Vec<Prepared>,
}

impl PreparedBatch {
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Sequence number of the batch's last staged operation (0 when empty).
    pub fn last_seq(&self) -> i64 {
        self.ops.last().map_or(0, |o| o.seq)
    }

    /// The schema the batch was prepared with.
    pub fn schema(&self) -> &Arc<JobSchema> {
        &self.schema
    }
}

/// The record-only steps of every operation of `ops`, on every core: parsing its record included. `now` is
/// what `Now()` returns. The records are released here (the commit needs only their prepared form), so
/// freeing them is not on the commit's critical path.
pub fn prepare_batch(
    job: &JobSettings<'_>,
    schema: Arc<JobSchema>,
    mut ops: Vec<StagedOperation>,
    now: OffsetDateTime,
) -> PreparedBatch {
    let prepared = ops.par_iter_mut().map(|op| prepare(job, &schema.compiled, op, now)).collect();
    PreparedBatch { ops, schema, prepared }
}

/// Process a prepared batch (in order) in one transaction: directory writes, log entries and the removal of
/// its staged operations. `now` stamps the entries (100 ns apart) and the users it creates. `Ok(None)` when
/// the batch's operations are no longer staged (an emulator reset or a restart purged them while it was
/// prepared): nothing is written.
pub fn commit_batch(
    conn: &mut Connection,
    job: &JobSettings<'_>,
    batch: PreparedBatch,
    now: OffsetDateTime,
    cycle_id: &str,
) -> Result<Option<BatchResult>, StoreError> {
    let PreparedBatch { ops, schema, prepared } = batch;
    let schema = &schema.compiled;
    let mut tx = conn.transaction()?;
    // Only a batch with more operations than the deletion threshold can exceed it and need a second pass.
    let retry = (job.deletion_threshold > 0 && job.deletion_threshold < ops.len()).then(|| prepared.clone());
    let mut entries = {
        let mut attempt = tx.savepoint()?;
        let entries = run_pass(&attempt, job, schema, &ops, prepared, now, false)?;
        let disables = entries.iter().filter(|e| e.action == Action::Disable).count();
        if job.deletion_threshold > 0 && disables > job.deletion_threshold {
            attempt.rollback()?;
            None
        } else {
            attempt.commit()?;
            Some(entries)
        }
    };
    let too_many_deletes = entries.is_none();
    if let (None, Some(prepared)) = (&entries, retry) {
        entries = Some(run_pass(&tx, job, schema, &ops, prepared, now, true)?);
    }
    let entries = entries.unwrap_or_default();

    let mut result = BatchResult {
        processed: ops.len(),
        last_seq: ops.last().map_or(0, |o| o.seq),
        entries: entries.len(),
        too_many_deletes,
        ..BatchResult::default()
    };
    let mapping_set = logs::mapping_set_id(&tx, &schema.mapping_set)?;
    for (i, entry) in entries.iter().enumerate() {
        let body = &entry.encode().map_err(|e| StoreError::Corrupt(e.to_string()))?;
        match entry.status {
            Status::Failure => result.failed += 1,
            Status::Skipped => result.skipped += 1,
            _ if entry.action != Action::Other => result.exported += 1,
            _ => {}
        }
        if entry.action == Action::Disable {
            result.disabled += 1;
        }
        if entry.steps.iter().any(|s| s.kind == "scoping" && s.status == Status::Skipped) {
            result.out_of_scope += 1;
        }
        if entry.modified.iter().any(|(name, _, _)| name == "manager") {
            result.references += 1;
        }
        // One 100 ns tick apart, so entries keep processing order under `activityDateTime desc`.
        let at = now + time::Duration::nanoseconds(100 * i64::try_from(i).unwrap_or(0));
        let key = crate::odata::datetime_key(at);
        logs::insert(
            &tx,
            &logs::LogRow {
                id: &uuid::Uuid::now_v7().to_string(),
                activity_key: &key,
                job_id: job.job_id,
                cycle_id,
                change_id: &uuid::Uuid::new_v4().to_string(),
                duration_ms: i64::try_from(entry.duration_ms).unwrap_or(i64::MAX),
                action: entry.action.as_str(),
                status: entry.status.as_str(),
                source_id: &entry.source_id,
                source_display_name: &entry.source_display_name,
                target_id: &entry.target_id,
                target_display_name: &entry.target_display_name,
                identity_type: "User",
                sp_id: job.service_principal_id,
                sp_display_name: job.service_principal_name,
                source_system: log_entry::SOURCE_SYSTEM,
                target_system: TARGET_SYSTEM,
                tenant_id: job.tenant_id,
                content: logs::Content::Compact { body, mapping_set },
            },
        )?;
        result.last_activity = Some(at);
    }
    if let Some(last) = ops.last()
        && staging::remove_through(&tx, job.job_id, last.seq)? != ops.len()
    {
        // Dropping the transaction rolls it back.
        return Ok(None);
    }
    tx.commit()?;
    // Freeing 500 entries is not the caller's business: off the commit's critical path, and not on the rayon
    // pool either, where it would queue in front of the next batch's preparing. (A failed spawn drops inline.)
    let _ = std::thread::Builder::new().name("entries-free".into()).spawn(move || drop(entries));
    Ok(Some(result))
}

/// One pass over the prepared batch: directory work in order, then references. `block_disables` turns every
/// disable into a `stagedDelete` entry (deletion threshold hit).
fn run_pass(
    conn: &Connection,
    job: &JobSettings<'_>,
    schema: &CompiledSchema,
    ops: &[StagedOperation],
    prepared: Vec<Prepared>,
    now: OffsetDateTime,
    block_disables: bool,
) -> Result<Vec<Entry>, StoreError> {
    let mut work = Vec::with_capacity(ops.len());
    for (op, p) in ops.iter().zip(prepared) {
        work.push(apply(conn, job, schema, op, p, now, block_disables)?);
    }
    // A user several operations of the batch touched is re-read by the reference pass.
    let mut touched: HashMap<String, usize> = HashMap::new();
    for id in work.iter().filter_map(|w| w.user_id.clone()) {
        *touched.entry(id).or_default() += 1;
    }
    // A manager id the export looked up still holds unless the batch wrote a user with that employeeId
    // (before or after): only writes that change a user's employeeId can change which user has one.
    let changed: HashSet<String> = work
        .iter()
        .flat_map(|w| &w.entry.modified)
        .filter(|(name, _, _)| name == "employeeId")
        .flat_map(|(_, old, new)| old.iter().chain(new))
        .cloned()
        .collect();
    let mut pending = PendingReferences { any: users::has_pending_references(conn)? };
    for w in &mut work {
        if w.user_id.as_ref().is_some_and(|id| touched.get(id).copied().unwrap_or(0) > 1) {
            w.user = None;
        }
        if w.manager_external_id.as_ref().is_none_or(|ext| changed.contains(ext)) {
            w.manager_at_export = None;
        }
        resolve_manager(conn, job, w, &mut pending)?;
        w.entry.duration_ms = u64::try_from(w.started.elapsed().as_millis()).unwrap_or(u64::MAX);
    }
    let mut entries: Vec<Entry> = work.into_iter().map(|w| w.entry).collect();
    entries.extend(resolve_waiting_references(conn, job)?);
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Synchronous;
    use crate::provisioning::schema::default_schema;
    use crate::store::{Store, directory};
    use serde_json::json;

    const JOB: &str = "J";

    fn settings() -> JobSettings<'static> {
        JobSettings {
            tenant_id: "t",
            default_domain: "contoso.onmicrosoft.com",
            verified_domains: &[],
            job_id: JOB,
            service_principal_id: "sp",
            service_principal_name: "n",
            omitted_active_disables: true,
            deletion_threshold: 0,
        }
    }

    /// A SCIM user with this externalId and, optionally, a manager (by externalId).
    fn scim_user(id: &str, manager: Option<&str>) -> serde_json::Value {
        let mut u = json!({"externalId": id, "userName": format!("u{id}@contoso.com"), "active": true,
            "name": {"givenName": "G", "familyName": "F"}, "displayName": format!("User {id}")});
        if let Some(m) = manager {
            u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] = json!({"manager": {"value": m}});
        }
        u
    }

    /// Stage `users` as one bulk request.
    fn stage(store: &Store, users: &[serde_json::Value]) {
        let ops: Vec<_> = users
            .iter()
            .map(|u| staging::NewOperation { bulk_id: "b", external_id: u["externalId"].as_str().unwrap(), data: u })
            .collect();
        store.call_blocking(|c| staging::stage_bulk_request(c, JOB, "r", "t", &ops)).unwrap();
    }

    /// Everything staged, prepared as one batch.
    fn prepare_staged(store: &Store) -> PreparedBatch {
        let staged = store.call_blocking(|c| staging::oldest(c, JOB, 500)).unwrap();
        let schema = Arc::new(JobSchema::compile(default_schema("API2AAD")).unwrap());
        prepare_batch(&settings(), schema, staged, OffsetDateTime::UNIX_EPOCH)
    }

    fn commit(store: &Store, batch: PreparedBatch) -> Option<BatchResult> {
        store.call_blocking(|c| commit_batch(c, &settings(), batch, OffsetDateTime::UNIX_EPOCH, "c")).unwrap()
    }

    /// A store with two staged users, and the batch prepared from them.
    fn staged_and_prepared() -> (Store, PreparedBatch) {
        let store = Store::open(None, Synchronous::Full).unwrap();
        stage(&store, &[scim_user("1", None), scim_user("2", None)]);
        let batch = prepare_staged(&store);
        (store, batch)
    }

    #[test]
    fn a_prepared_batch_commits_its_writes_and_unstages_its_operations() {
        let (store, batch) = staged_and_prepared();
        let result = commit(&store, batch).unwrap();
        assert_eq!((result.processed, result.entries, result.exported), (2, 2, 2));
        assert_eq!(store.call_blocking(|c| logs::count_for_job(c, JOB)).unwrap(), 2);
        assert!(store.call_blocking(|c| directory::find_by_employee_id(c, "2")).unwrap().is_some());
        assert_eq!(store.call_blocking(|c| staging::newest_seq(c, JOB)).unwrap(), None);
    }

    /// Stage `users` (externalId, manager externalId) as one batch and commit it.
    fn commit_users(store: &Store, users: &[(&str, Option<&str>)]) -> BatchResult {
        stage(store, &users.iter().map(|(id, manager)| scim_user(id, *manager)).collect::<Vec<_>>());
        commit(store, prepare_staged(store)).unwrap()
    }

    /// `employee`'s manager is `manager`, and no reference is left waiting.
    fn assert_managed_by(store: &Store, employee: &str, manager: &str) {
        let find = |id: &str| store.call_blocking(|c| directory::find_by_employee_id(c, id)).unwrap().unwrap();
        assert_eq!(find(employee).manager_id, Some(find(manager).id));
        assert!(!store.call_blocking(|c| directory::has_pending_references(c)).unwrap());
    }

    #[test]
    fn a_manager_created_later_in_the_batch_is_found_by_the_reference_pass() {
        let store = Store::open(None, Synchronous::Full).unwrap();
        // The export of E finds no M; M's creation later in the batch must make the reference pass look again.
        let result = commit_users(&store, &[("E", Some("M")), ("M", None)]);
        // Set by E's own entry: no reference waited, so no third (waiting-reference) entry.
        assert_eq!((result.entries, result.references), (2, 1));
        assert_managed_by(&store, "E", "M");
    }

    #[test]
    fn a_waiting_reference_is_cleared_when_its_user_is_processed_again_with_the_manager_present() {
        let store = Store::open(None, Synchronous::Full).unwrap();
        commit_users(&store, &[("E", Some("M"))]);
        assert!(store.call_blocking(|c| directory::has_pending_references(c)).unwrap());
        // M arrives with E again in one batch: E's reference is set by the pass, and nothing stays waiting.
        let result = commit_users(&store, &[("M", None), ("E", Some("M"))]);
        // E's own entry cleared its waiting reference: none was left for a third entry to resolve.
        assert_eq!((result.entries, result.references), (2, 1));
        assert_managed_by(&store, "E", "M");
    }

    #[test]
    fn an_unreadable_staged_record_fails_its_own_entry_and_the_batch_goes_on() {
        let store = Store::open(None, Synchronous::Full).unwrap();
        stage(&store, &[scim_user("0", None), scim_user("1", None)]);
        store
            .call_blocking(|c| {
                Ok(c.execute("UPDATE staged_operation SET data = '{\"externalId\": ' WHERE op_index = 0", [])?)
            })
            .unwrap();
        assert!(store.call_blocking(|c| staging::oldest(c, JOB, 10)).unwrap()[0].data().is_err());
        let result = commit(&store, prepare_staged(&store)).unwrap();
        assert_eq!((result.processed, result.failed, result.exported), (2, 1, 1));
        let docs: Vec<serde_json::Value> = store
            .call_blocking(|c| {
                let mut stmt = c.prepare("SELECT id FROM provisioning_log ORDER BY activity_time")?;
                let ids: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
                ids.iter()
                    .map(|id| {
                        crate::store::log_query::get(c, id)?.map(crate::provisioning::log_render::document).transpose()
                    })
                    .filter_map(Result::transpose)
                    .collect()
            })
            .unwrap();
        let failed = &docs[0];
        assert_eq!(failed["provisioningStatusInfo"]["status"], "failure");
        assert_eq!(failed["provisioningStatusInfo"]["errorInformation"]["errorCode"], "StagedOperationUnreadable");
        assert_eq!(failed["sourceIdentity"]["id"], "0");
        assert_eq!(failed["provisioningSteps"][0]["provisioningStepType"], "import");
        assert_eq!(failed["provisioningSteps"][0]["status"], "failure");
        assert_eq!(docs[1]["provisioningAction"], "create");
        assert_eq!(docs[1]["provisioningStatusInfo"]["status"], "success");
    }

    #[test]
    fn a_batch_purged_while_it_was_prepared_writes_nothing() {
        let (store, batch) = staged_and_prepared();
        // An emulator reset (or a restart's purge) between preparing and committing.
        store.call_blocking(|c| staging::remove_through(c, JOB, i64::MAX)).unwrap();
        assert_eq!(commit(&store, batch), None);
        assert_eq!(store.call_blocking(|c| logs::count_for_job(c, JOB)).unwrap(), 0);
        assert!(store.call_blocking(|c| directory::find_by_employee_id(c, "1")).unwrap().is_none());
    }
}
