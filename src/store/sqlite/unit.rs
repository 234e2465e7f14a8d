//! The engine's unit of work on SQLite: the directory view a batch asks for (all on the writer connection,
//! so it sees every committed batch), and the batch's writes in one `IMMEDIATE` transaction that first moves
//! the job's progress from where the batch started (compare-and-set: a restart or reset in between makes
//! the batch write nothing).

use std::collections::HashSet;

use rusqlite::{Connection, TransactionBehavior, params, params_from_iter};

use super::super::{
    BatchWrites, CommitOutcome, DirectoryKeys, DirectoryView, PendingReference, StoreError, held_key, holder_key,
};
use super::dictionary::Dictionary;
use super::open::give_back_free_pages;
use super::{jobs, logs, users};

pub(super) fn lookup(conn: &Connection, keys: &DirectoryKeys) -> Result<DirectoryView, StoreError> {
    let mut view = DirectoryView::default();
    for (property, values) in &keys.by_property {
        add_holders(conn, &mut view, property, values)?;
    }
    for (upn, id) in users::upn_holders(conn, &keys.upns)? {
        view.upn_holders.entry(upn).or_default().push(id);
    }
    for upn in &keys.upns {
        view.upn_holders.entry(upn.to_ascii_lowercase()).or_default();
    }
    let mut pending = Vec::new();
    let found: Vec<&str> = view.users.keys().map(String::as_str).collect();
    for chunk in found.chunks(500) {
        pending.extend(pending_where(conn, &format!("user_id IN ({})", marks(chunk.len())), chunk)?);
    }
    for chunk in keys.employee_ids.chunks(500) {
        let condition = format!("job_id = ? AND manager_external_id IN ({})", marks(chunk.len()));
        let params: Vec<&str> = std::iter::once(keys.job_id.as_str()).chain(chunk.iter().map(String::as_str)).collect();
        pending.extend(pending_where(conn, &condition, &params)?);
    }
    let condition = "job_id = ? AND EXISTS (SELECT 1 FROM user_record m WHERE m.employee_id = manager_external_id)";
    pending.extend(pending_where(conn, condition, &[keys.job_id.as_str()])?);
    let mut seen = HashSet::new();
    pending.retain(|p| seen.insert(p.user_id.clone()));
    let missing: Vec<&str> =
        pending.iter().map(|p| p.user_id.as_str()).filter(|id| !view.users.contains_key(*id)).collect();
    let loaded = users::by_ids(conn, &missing)?;
    view.users.extend(loaded);
    let managers: Vec<String> = pending
        .iter()
        .map(|p| p.manager_external_id.clone())
        .filter(|m| !view.holders.contains_key(&("employeeId".to_owned(), m.clone())))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    add_holders(conn, &mut view, "employeeId", &managers)?;
    view.pending = pending;
    Ok(view)
}

fn add_holders(
    conn: &Connection,
    view: &mut DirectoryView,
    property: &str,
    values: &[String],
) -> Result<(), StoreError> {
    for v in values {
        view.holders.entry((property.to_owned(), holder_key(property, v))).or_default();
    }
    for user in users::holding(conn, property, values)? {
        if let Some(value) = held_key(&user, property)
            && let Some(ids) = view.holders.get_mut(&(property.to_owned(), value))
            && !ids.contains(&user.id)
        {
            ids.push(user.id.clone());
        }
        view.users.entry(user.id.clone()).or_insert(user);
    }
    Ok(())
}

fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

fn pending_where(conn: &Connection, condition: &str, params: &[&str]) -> Result<Vec<PendingReference>, StoreError> {
    let sql = format!("SELECT {PENDING_COLUMNS} FROM pending_reference WHERE {condition}");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(params.iter()), pending_reference)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The columns a `pending_reference` row is read with, in [`pending_reference`]'s order.
pub(super) const PENDING_COLUMNS: &str = "user_id, job_id, source_id, manager_external_id";

/// A `pending_reference` row selected as [`PENDING_COLUMNS`].
pub(super) fn pending_reference(r: &rusqlite::Row<'_>) -> rusqlite::Result<PendingReference> {
    Ok(PendingReference { user_id: r.get(0)?, job_id: r.get(1)?, source_id: r.get(2)?, manager_external_id: r.get(3)? })
}

pub(super) fn commit(conn: &mut Connection, dict: &Dictionary, w: &BatchWrites) -> Result<CommitOutcome, StoreError> {
    let outcome = write(conn, dict, w);
    if outcome.is_err() {
        // Dictionary rows this transaction added are gone with it: forget their ids.
        dict.forget_ids()?;
    }
    outcome
}

fn write(conn: &mut Connection, dict: &Dictionary, w: &BatchWrites) -> Result<CommitOutcome, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if !jobs::advance(&tx, &w.job_id, w.from, w.through)? {
        return Ok(CommitOutcome::Superseded);
    }
    for user in &w.users {
        users::save(&tx, user)?;
    }
    logs::insert(&tx, dict, &w.entries)?;
    for id in &w.references_removed {
        tx.prepare_cached("DELETE FROM pending_reference WHERE user_id = ?1")?.execute(params![id])?;
    }
    for p in &w.references_added {
        tx.prepare_cached(
            "INSERT OR REPLACE INTO pending_reference (user_id, job_id, source_id, manager_external_id)
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![p.user_id, p.job_id, p.source_id, p.manager_external_id])?;
    }
    if let Some((paused, status)) = &w.job_state {
        jobs::save_state(&tx, &w.job_id, *paused, status)?;
    }
    tx.commit()?;
    Ok(CommitOutcome::Committed)
}

/// Log entries written before `cutoff` (ticks), and all but the newest `keep` entries, at most `chunk` of
/// them per call (so the writer is never held long); the number deleted.
pub(super) fn expire_logs(
    conn: &Connection,
    cutoff: i64,
    keep: Option<u64>,
    chunk: usize,
) -> Result<usize, StoreError> {
    let chunk = i64::try_from(chunk).unwrap_or(i64::MAX);
    let mut deleted = conn
        .prepare_cached(
            "DELETE FROM log_entry WHERE seq IN (SELECT seq FROM log_entry WHERE activity < ?1 ORDER BY activity LIMIT ?2)",
        )?
        .execute(params![cutoff, chunk])?;
    if let Some(keep) = keep {
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        deleted += conn
            .prepare_cached(
                "DELETE FROM log_entry WHERE seq IN (SELECT seq FROM log_entry
                    WHERE seq <= (SELECT max(seq) FROM log_entry) - ?1 ORDER BY seq LIMIT ?2)",
            )?
            .execute(params![keep, chunk])?;
    }
    if deleted > 0 {
        conn.prepare_cached("DELETE FROM log_context WHERE id < (SELECT min(ctx) FROM log_entry)")?.execute([])?;
        give_back_free_pages(conn, Some(1024))?;
    }
    Ok(deleted)
}
