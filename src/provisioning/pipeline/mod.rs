//! Processing one batch of staged operations, exactly the decisions of docs/fidelity.md A.2: per operation
//! import → scoping → matching → mapping → action (create / update / disable / skip) → export; then, after
//! every export of the batch, reference resolution (so a manager anywhere in the batch is found), then the
//! references that were waiting for a manager who has now arrived.
//!
//! Three steps, so a worker overlaps them across batches and the decisions stay pure:
//! 1. [`prepare_batch`] runs the record-only steps and names the directory keys the batch needs
//!    ([`PreparedBatch::keys`]);
//! 2. the worker opens a unit of work with those keys (`crate::store::Store::begin_batch`);
//! 3. [`apply_batch`] decides everything against that view, in memory, and returns the writes the unit of
//!    work commits atomically (users, entries, references, the job's progress).
//!
//! A failing operation never stops the batch: it becomes a `failure` entry.

mod directory;
mod export;
mod prepare;
mod references;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use time::OffsetDateTime;

use super::jobs::JobSchema;
use super::log::{EntryContext, ProvisioningAction, ProvisioningObjectSummary, ProvisioningResult, StepType};
use super::schema::CompiledSchema;
use crate::directory::{DirectoryUser, TargetValue};
use crate::store::{BatchWrites, DirectoryKeys, DirectoryView, PendingReference, StagedRequest};
use directory::Directory;
use export::{Exported, export};
pub use prepare::ACTIVE_OMITTED_NOTE;
use prepare::{PreparedOperation, prepare};
use references::{resolve_manager, resolve_waiting_references};

/// The job-level facts the pipeline needs.
#[derive(Debug, Clone)]
pub struct JobSettings<'a> {
    pub default_domain: &'a str,
    pub verified_domains: &'a [String],
    pub job_id: &'a str,
    /// What every entry of the job shares (tenant, job, service principal, systems).
    pub context: Arc<EntryContext>,
    /// The real service imports an omitted `active` as False (docs/fidelity.md A.2 quirk).
    pub omitted_active_disables: bool,
    /// Accidental-deletion prevention: most disables one batch may apply (0 = off).
    pub deletion_threshold: usize,
}

/// Counters of one processed batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BatchResult {
    pub processed: usize,
    /// Users created, and updated (enabled again included), by entries that succeeded.
    #[serde(default)]
    pub created: usize,
    #[serde(default)]
    pub updated: usize,
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
}

/// A batch after its record-only steps, ready for its unit of work.
#[derive(Debug)]
pub struct PreparedBatch {
    schema: Arc<JobSchema>,
    operations: Vec<PreparedOperation>,
    /// The job's progress the batch starts from, and the seq of its last request.
    from: i64,
    through: i64,
}

impl PreparedBatch {
    /// Number of staged operations.
    pub fn len(&self) -> usize {
        self.operations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }

    /// The seq of the batch's last staged request (its `from` when empty).
    pub fn through(&self) -> i64 {
        self.through
    }

    /// The job's progress the batch was read after.
    pub fn starts_after(&self) -> i64 {
        self.from
    }

    /// The schema the batch was prepared with.
    pub fn schema(&self) -> &Arc<JobSchema> {
        &self.schema
    }

    /// Fails each operation for which `injected` names an error code (a fault rule, `/_emulator/faults`): its
    /// entry becomes a `failure` with that code and a reason saying so, and nothing of it reaches the directory.
    pub fn inject_failures(&mut self, mut injected: impl FnMut() -> Option<String>) {
        for op in &mut self.operations {
            let Some(code) = injected() else { continue };
            op.mapped = None;
            op.entry.modified_properties.clear();
            let reason = format!(
                "The emulator's fault rule for this job failed the operation with '{code}' (injected through /_emulator/faults, not a problem of the record)."
            );
            prepare::fail(&mut op.entry, &code, "nonServiceFailure", reason, None);
        }
    }

    /// The directory keys the batch's decisions will look up.
    pub fn keys(&self, job: &JobSettings<'_>) -> DirectoryKeys {
        let schema = &self.schema.compiled;
        let matching = &schema.mappings[schema.matching].target;
        let mut by_match = BTreeSet::new();
        let (mut managers, mut upns, mut employee_ids) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        for m in self.operations.iter().filter_map(|o| o.mapped.as_ref()) {
            by_match.insert(m.match_value.clone());
            managers.extend(m.manager_external_id.clone());
            if let Some(TargetValue::Text(upn)) = m.value_of(schema, "userPrincipalName") {
                upns.insert(upn.clone());
            }
            if let Some(TargetValue::Text(e)) = m.value_of(schema, "employeeId") {
                employee_ids.insert(e.clone());
            }
        }
        let mut by_property = Vec::new();
        if matching == "employeeId" {
            managers.extend(by_match);
        } else {
            by_property.push((matching.clone(), by_match.into_iter().collect()));
        }
        managers.extend(employee_ids.iter().cloned());
        by_property.push(("employeeId".to_owned(), managers.into_iter().collect()));
        DirectoryKeys {
            job_id: job.job_id.to_owned(),
            by_property,
            upns: upns.into_iter().collect(),
            employee_ids: employee_ids.into_iter().collect(),
        }
    }
}

/// The record-only steps of every operation of `requests` (staged after `from`). `now` is what `Now()`
/// returns. One thread is enough: the worker runs this for the next batch while the current batch's unit of
/// work holds the other core, and about 10 µs per operation is less than the unit of work takes.
pub fn prepare_batch(
    job: &JobSettings<'_>,
    schema: Arc<JobSchema>,
    requests: &[StagedRequest],
    from: i64,
    now: OffsetDateTime,
) -> PreparedBatch {
    let through = requests.last().map_or(from, |r| r.seq);
    let operations = requests
        .iter()
        .flat_map(|r| r.operations.iter().map(move |op| (r, op)))
        .map(|(r, op)| {
            let mut prepared = prepare(job, &schema.compiled, op, now);
            // The entries of one upload share its `request-id` as their cycleId, so a client (or the request
            // journal) finds them with `$filter=cycleId eq '{request-id}'`.
            r.request_id.clone_into(&mut prepared.entry.cycle_id);
            prepared
        })
        .collect();
    PreparedBatch { schema, operations, from, through }
}

/// A batch's decisions: the writes for its unit of work (without the job's state, which the caller adds)
/// and its counters. `now` stamps the entries, 100 ns apart in processing order, and the users it creates.
pub fn apply_batch(
    job: &JobSettings<'_>,
    batch: PreparedBatch,
    view: &DirectoryView,
    now: OffsetDateTime,
    cycle_id: &str,
) -> (BatchWrites, BatchResult) {
    let PreparedBatch { schema, operations, from, through } = batch;
    let processed = operations.len();
    // Only a batch with more operations than the deletion threshold can exceed it and need a second pass.
    let threshold = job.deletion_threshold;
    let retry = (threshold > 0 && threshold < operations.len()).then(|| operations.clone());
    let mut pass = run_pass(job, &schema.compiled, view, operations, now, false);
    let disables = pass.entries.iter().filter(|(e, _)| e.action == ProvisioningAction::Disable).count();
    let too_many_deletes = threshold > 0 && disables > threshold;
    if too_many_deletes && let Some(operations) = retry {
        pass = run_pass(job, &schema.compiled, view, operations, now, true);
    }
    let Decided { entries: done, users, references_added, references_removed } = pass;
    let mut result = BatchResult { processed, entries: done.len(), too_many_deletes, ..BatchResult::default() };
    let mut entries = Vec::with_capacity(done.len());
    for (i, (mut entry, started)) in done.into_iter().enumerate() {
        count(&mut result, &entry);
        // One 100 ns tick apart, so entries keep processing order under `activityDateTime desc`.
        entry.activity_date_time = now + time::Duration::nanoseconds(100 * i64::try_from(i).unwrap_or(0));
        entry.id = uuid::Uuid::now_v7().to_string();
        entry.change_id = uuid::Uuid::new_v4().to_string();
        if entry.cycle_id.is_empty() {
            // An entry of no upload (a reference that was waiting for its manager): the batch's cycle.
            cycle_id.clone_into(&mut entry.cycle_id);
        }
        entry.duration_in_milliseconds = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        entries.push(entry);
    }
    let writes = BatchWrites {
        job_id: job.job_id.to_owned(),
        from,
        through,
        users,
        entries,
        references_added,
        references_removed,
        job_state: None,
    };
    (writes, result)
}

fn count(result: &mut BatchResult, entry: &ProvisioningObjectSummary) {
    match entry.status {
        ProvisioningResult::Failure => result.failed += 1,
        ProvisioningResult::Skipped => result.skipped += 1,
        _ if entry.action != ProvisioningAction::Other => result.exported += 1,
        _ => {}
    }
    if entry.action == ProvisioningAction::Disable {
        result.disabled += 1;
    }
    if entry.status != ProvisioningResult::Failure {
        match entry.action {
            ProvisioningAction::Create => result.created += 1,
            ProvisioningAction::Update => result.updated += 1,
            _ => {}
        }
    }
    if entry.steps.iter().any(|s| s.step_type == StepType::Scoping && s.status == ProvisioningResult::Skipped) {
        result.out_of_scope += 1;
    }
    if entry.modified_properties.iter().any(|m| m.display_name == "manager") {
        result.references += 1;
    }
}

/// What one pass decided: the entries (with when their operation started) and the directory writes.
struct Decided {
    entries: Vec<(ProvisioningObjectSummary, Instant)>,
    users: Vec<DirectoryUser>,
    references_added: Vec<PendingReference>,
    references_removed: Vec<String>,
}

/// One pass over the prepared batch: exports in order, then references. `block_disables` turns every
/// disable into a `stagedDelete` entry (deletion threshold hit).
fn run_pass(
    job: &JobSettings<'_>,
    schema: &CompiledSchema,
    view: &DirectoryView,
    operations: Vec<PreparedOperation>,
    now: OffsetDateTime,
    block_disables: bool,
) -> Decided {
    let mut dir = Directory::new(view);
    let mut exported: Vec<Exported> =
        operations.into_iter().map(|op| export(&mut dir, job, schema, op, now, block_disables)).collect();
    for op in &mut exported {
        resolve_manager(&mut dir, job, op);
    }
    let mut entries: Vec<(ProvisioningObjectSummary, Instant)> =
        exported.into_iter().map(|e| (e.entry, e.started)).collect();
    entries.extend(resolve_waiting_references(&mut dir, job));
    let (users, references_added, references_removed) = dir.into_writes();
    Decided { entries, users, references_added, references_removed }
}
