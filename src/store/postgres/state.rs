//! The whole state at once on PostgreSQL (README "Snapshots and seeding"): an export reads it in one
//! repeatable-read snapshot; a reset or an import replaces it — staging queue included — in one transaction
//! that holds the staging lock, so no request is staged in between.
//!
//! Every table is named here or in `control::CLEAR` (`CLEAR` empties each but `job_progress`: sequence numbers
//! only move forward; `control::CLEAR`, for a reset only, the control API's shared state), so a table a
//! migration adds must be added too; the reset test compares a reset emulator's export with a
//! fresh one's.

use std::collections::HashMap;

use tokio_postgres::{Client, IsolationLevel};

use super::super::{Dropped, SavedJob, StateRecords, StoreError};
use super::params::text;
use super::{jobs, logs, scim, staging, unit, users};
use crate::store::ScimKind;

const CLEAR: &str = "DELETE FROM user_record; DELETE FROM pending_reference; DELETE FROM log_entry;
    DELETE FROM job_state; DELETE FROM job_schema; DELETE FROM scim_member; DELETE FROM scim_resource;
    DELETE FROM job_quota;";

/// Everything kept for the jobs `job_ids`, in a stable order, with the staged requests each has not applied.
pub(super) async fn read(client: &mut Client, job_ids: &[String]) -> Result<StateRecords, StoreError> {
    let tx = client.build_transaction().isolation_level(IsolationLevel::RepeatableRead).read_only(true).start().await?;
    let mut out = StateRecords::default();
    for job_id in job_ids {
        let record = jobs::load(&tx, job_id).await?;
        out.staged.extend(staging::read_after(&tx, job_id, record.applied_through, usize::MAX).await?);
        out.jobs.push(SavedJob { job_id: job_id.clone(), run_state: record.run_state, schema: record.schema });
    }
    out.staged.sort_by_key(|r| r.seq);
    let rows = tx
        .query(&format!("SELECT {} FROM user_record ORDER BY id", super::super::sqlite::users::columns()), &[])
        .await?;
    out.users = rows.iter().map(|r| users::read(r, 0)).collect::<Result<_, _>>()?;
    let rows =
        tx.query(&format!("SELECT {} FROM pending_reference ORDER BY user_id", unit::PENDING_COLUMNS), &[]).await?;
    out.references = rows.iter().map(unit::pending_reference).collect();
    out.entries = logs::all(&tx).await?;
    out.scim = scim::all(&tx, ScimKind::User).await?;
    out.scim.extend(scim::all(&tx, ScimKind::Group).await?);
    tx.commit().await?;
    Ok(out)
}

/// Empties everything (a reset, `records` = None) or replaces it with `records` (an import), moving every job's
/// progress past what was staged; what was dropped unprocessed, per job.
pub(super) async fn replace(
    client: &mut Client,
    records: Option<&StateRecords>,
    job_ids: &[String],
    instance: &str,
) -> Result<Dropped, StoreError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&staging::STAGING_LOCK]).await?;
    // Then every lock a writer of these tables takes first, before any of their rows, so the reset waits for a
    // writer in progress instead of deadlocking with it: the SCIM turns' lock (a turn writes a group's row,
    // then its members; `CLEAR` deletes the members first), and the jobs' progress rows, as a batch's commit
    // takes them (a batch committing now is waited for; one that starts later finds its job's progress moved
    // and writes nothing).
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&scim::SCIM_LOCK]).await?;
    let applied = jobs::lock_progress(&tx, job_ids).await?;
    let mut unprocessed: HashMap<String, usize> = HashMap::new();
    for row in tx.query("SELECT job_id, seq, operations FROM staged_request", &[]).await? {
        let (job, seq, ops): (String, i64, i64) = (row.get(0), row.get(1), row.get(2));
        if seq > applied.get(&job).copied().unwrap_or(0) {
            *unprocessed.entry(job).or_default() += usize::try_from(ops).unwrap_or(0);
        }
    }
    tx.execute("DELETE FROM staged_request", &[]).await?;
    let restage = records.map(|r| r.staged.as_slice()).unwrap_or_default();
    if !restage.is_empty() {
        staging::skip_one_seq(&tx).await?;
    }
    let highest = staging::highest_seq(&tx).await?;
    for r in restage {
        staging::insert(&tx, r).await?;
    }
    tx.batch_execute(CLEAR).await?;
    if records.is_none() {
        // A reset also empties what the control API shares, and every process resets what it keeps in memory
        // (notified before the jobs' changes below).
        tx.batch_execute(super::control::CLEAR).await?;
        let payload = super::replicas::payload(instance, super::replicas::RESET);
        tx.execute("SELECT pg_notify($1, $2)", &[&super::replicas::CONTROL, &payload]).await?;
    }
    jobs::skip_all_to(&tx, job_ids, highest).await?;
    if let Some(records) = records {
        for job in &records.jobs {
            if let Some((paused, status)) = &job.run_state {
                jobs::save_state(&tx, &job.job_id, *paused, status).await?;
            }
            if let Some(schema) = &job.schema {
                jobs::save_schema(&tx, &job.job_id, schema).await?;
            }
        }
        users::save_all(&tx, &records.users).await?;
        for r in &records.references {
            tx.execute(
                "INSERT INTO pending_reference (user_id, job_id, source_id, manager_external_id) VALUES ($1, $2, $3, $4)",
                &[&r.user_id, &r.job_id, &text(&r.source_id), &text(&r.manager_external_id)],
            )
            .await?;
        }
        logs::insert(&tx, &records.entries).await?;
        for record in &records.scim {
            scim::write_row(&tx, record, false).await?;
            scim::write_members(&tx, record).await?;
        }
    }
    for job_id in job_ids {
        // Delivered at the commit: every process takes on the jobs' state as the reset or import left it.
        let payload = super::replicas::payload(instance, job_id);
        tx.execute("SELECT pg_notify($1, $2)", &[&super::replicas::CHANGED, &payload]).await?;
    }
    tx.commit().await?;
    Ok(Dropped { through: highest, operations: unprocessed })
}
