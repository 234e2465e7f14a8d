//! The whole state at once (README "Snapshots and seeding"): everything the main database holds, read in one
//! snapshot for an export, and replaced in one transaction by an import or emptied by a reset. The staging
//! file's part (requests not yet applied) is read and replaced through the ingest thread (`ingest`).
//!
//! Every table of the main database is named here — `CLEAR` empties each one but `job_progress` (sequence
//! numbers only ever move forward) — so a table added by a migration must be added here too; the reset test
//! (`tests/it/reset.rs`) compares a reset emulator's export with a fresh one's.

use rusqlite::{Connection, params};

use super::super::{PendingReference, SavedJob, StateRecords, StoreError};
use super::dictionary::Dictionary;
use super::{jobs, logs, scim, unit, users};
use crate::directory::DirectoryUser;
use crate::provisioning::log::ProvisioningObjectSummary;
use crate::store::{ScimKind, ScimRecord};

/// Empties every table of the main database but the jobs' progress.
pub(super) const CLEAR: &str = "DELETE FROM user_record; DELETE FROM pending_reference; DELETE FROM log_entry;
    DELETE FROM log_block; DELETE FROM log_context; DELETE FROM log_dictionary; DELETE FROM job_state;
    DELETE FROM job_schema; DELETE FROM scim_member; DELETE FROM scim_resource;";

/// Everything the main database holds for the jobs `job_ids`, in a stable order: users and references by id,
/// log entries by time then id, SCIM resources oldest first. `staged` is left empty (the caller reads it from
/// the staging file); `applied` holds each job's progress, for that read.
pub(super) fn read(
    conn: &Connection,
    dict: &Dictionary,
    job_ids: &[String],
) -> Result<(StateRecords, Vec<(String, i64)>), StoreError> {
    let tx = conn.unchecked_transaction()?;
    let mut out = StateRecords::default();
    let mut applied = Vec::with_capacity(job_ids.len());
    for job_id in job_ids {
        let record = jobs::load(&tx, job_id)?;
        applied.push((job_id.clone(), record.applied_through));
        out.jobs.push(SavedJob { job_id: job_id.clone(), run_state: record.run_state, schema: record.schema });
    }
    out.users = all_users(&tx)?;
    out.references = all_references(&tx)?;
    out.entries = all_entries(&tx, dict)?;
    out.scim = scim::all(&tx, ScimKind::User)?;
    out.scim.extend(scim::all(&tx, ScimKind::Group)?);
    tx.finish()?;
    Ok((out, applied))
}

fn all_users(conn: &Connection) -> Result<Vec<DirectoryUser>, StoreError> {
    let sql = format!("SELECT {} FROM user_record ORDER BY id", users::columns());
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(users::read(row, 0)?);
    }
    Ok(out)
}

fn all_references(conn: &Connection) -> Result<Vec<PendingReference>, StoreError> {
    let mut stmt =
        conn.prepare(&format!("SELECT {} FROM pending_reference ORDER BY user_id", unit::PENDING_COLUMNS))?;
    let rows = stmt.query_map([], unit::pending_reference)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn all_entries(conn: &Connection, dict: &Dictionary) -> Result<Vec<ProvisioningObjectSummary>, StoreError> {
    let sql = format!(
        "SELECT {} FROM log_entry e CROSS JOIN log_context c ON c.id = e.ctx ORDER BY e.activity, e.id",
        logs::COLUMNS
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    let mut blocks = super::blocks::BlockCache::default();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(logs::read(conn, dict, &mut blocks, row)?);
    }
    Ok(out)
}

/// Replaces the main database's state with `records` (its `staged` part aside), moving every job's progress to
/// at least `through`; one transaction.
pub(super) fn replace(
    conn: &mut Connection,
    dict: &Dictionary,
    records: &StateRecords,
    job_ids: &[String],
    through: i64,
) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    tx.execute_batch(CLEAR)?;
    dict.forget_ids()?;
    jobs::skip_all_to(&tx, job_ids, through)?;
    for job in &records.jobs {
        if let Some((paused, status)) = &job.run_state {
            jobs::save_state(&tx, &job.job_id, *paused, status)?;
        }
        if let Some(schema) = &job.schema {
            jobs::save_schema(&tx, &job.job_id, schema)?;
        }
    }
    for user in &records.users {
        users::save(&tx, user)?;
    }
    for r in &records.references {
        tx.prepare_cached(
            "INSERT INTO pending_reference (user_id, job_id, source_id, manager_external_id) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![r.user_id, r.job_id, r.source_id, r.manager_external_id])?;
    }
    logs::insert(&tx, dict, &records.entries)?;
    for record in &records.scim {
        insert_scim(&tx, record)?;
    }
    tx.commit()?;
    Ok(())
}

fn insert_scim(tx: &rusqlite::Transaction<'_>, record: &ScimRecord) -> Result<(), StoreError> {
    scim::write_row(tx, record, false)?;
    scim::write_members(tx, record)
}
