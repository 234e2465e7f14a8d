//! The backend-neutral records that cross the store boundary: what ingest stages, what the engine reads and
//! writes in a unit of work, and what readers get back. No backend type (rows, connections, SQL) appears.

use std::collections::HashMap;

use serde_json::Value;
use time::OffsetDateTime;

use crate::directory::DirectoryUser;
use crate::odata::KeyValue;
use crate::provisioning::log::ProvisioningObjectSummary;

/// One operation of a bulkUpload about to be staged (borrowed from the validated request).
#[derive(Debug, Clone, Copy)]
pub struct NewOperation<'a> {
    pub bulk_id: &'a str,
    pub external_id: &'a str,
    /// The operation's `data` as JSON text.
    pub data: &'a str,
}

/// One staged operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedOperation {
    pub bulk_id: String,
    pub external_id: String,
    /// The operation's `data` as JSON text (the engine parses it when it prepares the batch).
    pub data: String,
}

/// One accepted bulkUpload, as staged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedRequest {
    /// Arrival order across all jobs; never reused.
    pub seq: i64,
    pub job_id: String,
    pub request_id: String,
    pub received: OffsetDateTime,
    pub operations: Vec<StagedOperation>,
}

/// What the store holds for one job.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobRecord {
    /// (paused, status document), when the job's state was ever saved.
    pub run_state: Option<(bool, Value)>,
    /// The schema, when it was replaced through the schema API.
    pub schema: Option<Value>,
    /// The last staged request the engine applied (or a restart purged); 0 before the first.
    pub applied_through: i64,
}

/// A manager reference waiting for its manager (by externalId) to be provisioned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingReference {
    pub user_id: String,
    pub job_id: String,
    /// The employee's externalId (`sourceIdentity.id` of the entry that resolves it).
    pub source_id: String,
    pub manager_external_id: String,
}

/// What a batch needs to know about the directory, computed from its records before it touches it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectoryKeys {
    pub job_id: String,
    /// `(mapping target, values)`: every user holding one of the values is wanted (matching, managers).
    pub by_property: Vec<(String, Vec<String>)>,
    /// userPrincipalNames whose holders are wanted (uniqueness).
    pub upns: Vec<String>,
    /// employeeIds the batch may write: references waiting for these managers are wanted.
    pub employee_ids: Vec<String>,
}

/// The part of the directory a batch works on: complete for every key it asked for.
#[derive(Debug, Clone, Default)]
pub struct DirectoryView {
    /// Every user found, by object id.
    pub users: foldhash::HashMap<String, DirectoryUser>,
    /// `(target, value)` → the ids of its holders, oldest first; present (maybe empty) for every key asked.
    pub holders: foldhash::HashMap<(String, String), Vec<String>>,
    /// ASCII-lower-cased UPN → ids of its holders; present (maybe empty) for every UPN asked.
    pub upn_holders: foldhash::HashMap<String, Vec<String>>,
    /// The job's references that can be resolved now or by this batch, and those of users found.
    pub pending: Vec<PendingReference>,
}

/// Everything one batch writes, applied atomically by [`crate::store::UnitOfWork::commit`].
#[derive(Debug, Clone, Default)]
pub struct BatchWrites {
    pub job_id: String,
    /// The job's progress before the batch (the unit of work fails if it moved).
    pub from: i64,
    /// The seq of the batch's last staged request.
    pub through: i64,
    /// Users to insert or replace (each once, in its final state).
    pub users: Vec<DirectoryUser>,
    pub entries: Vec<ProvisioningObjectSummary>,
    pub references_added: Vec<PendingReference>,
    /// User ids whose waiting reference is gone.
    pub references_removed: Vec<String>,
    /// The job's run state and status after the batch.
    pub job_state: Option<(bool, Value)>,
}

/// How a unit of work ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitOutcome {
    Committed,
    /// The batch's operations were purged (restart) or dropped (reset) meanwhile: nothing was written.
    Superseded,
}

/// A page of log entries; `next` holds the last row's sort keys when more follow.
#[derive(Debug, Clone, PartialEq)]
pub struct LogPage {
    pub entries: Vec<ProvisioningObjectSummary>,
    pub next: Option<Vec<KeyValue>>,
}

/// A page of users; `count` is the filter's total, when asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct UserPage {
    pub users: Vec<DirectoryUser>,
    pub next: Option<Vec<KeyValue>>,
    pub count: Option<u64>,
}

/// What a restart purged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    /// The job's progress now.
    pub through: i64,
    pub operations: usize,
}

/// What a reset dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dropped {
    /// Every job's progress now (past everything staged before the reset).
    pub through: i64,
    /// Per job, the operations dropped unprocessed.
    pub operations: HashMap<String, usize>,
}

/// What the store keeps for one job besides its progress (an export's job part).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SavedJob {
    pub job_id: String,
    /// (paused, status document), when the job's state was ever saved.
    pub run_state: Option<(bool, Value)>,
    /// The schema, when it was replaced through the schema API.
    pub schema: Option<Value>,
}

/// Everything the store keeps, at once: what an export reads and an import writes.
#[derive(Debug, Clone, Default)]
pub struct StateRecords {
    pub jobs: Vec<SavedJob>,
    pub users: Vec<DirectoryUser>,
    pub references: Vec<PendingReference>,
    pub entries: Vec<ProvisioningObjectSummary>,
    /// Requests accepted and not yet applied, in arrival order (`seq` is not kept by an import: the store
    /// numbers them anew).
    pub staged: Vec<StagedRequest>,
    /// The SCIM service provider's resources: users, then groups, each oldest first.
    pub scim: Vec<crate::store::ScimRecord>,
}
