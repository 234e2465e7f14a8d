//! The engine's unit of work on PostgreSQL: the directory view a batch asks for, then its writes in one
//! transaction that first moves the job's progress from where the batch started (compare-and-set on the
//! locked `job_progress` row: a restart, reset or import in between makes the batch write nothing) and ends by
//! trimming the staged requests it applied.

use std::collections::HashSet;

use tokio_postgres::{Client, GenericClient, Row};

use super::super::{
    BatchWrites, CommitOutcome, DirectoryKeys, DirectoryView, PendingReference, StoreError, held_key, holder_key,
};
use super::params::{text, texts};
use super::{jobs, logs, staging, users};

/// The columns a `pending_reference` row is read with, in [`pending_reference`]'s order.
pub(super) const PENDING_COLUMNS: &str = "user_id, job_id, source_id, manager_external_id";

pub(super) fn pending_reference(r: &Row) -> PendingReference {
    PendingReference { user_id: r.get(0), job_id: r.get(1), source_id: r.get(2), manager_external_id: r.get(3) }
}

pub(super) async fn lookup(c: &impl GenericClient, keys: &DirectoryKeys) -> Result<DirectoryView, StoreError> {
    let mut view = DirectoryView::default();
    for (property, values) in &keys.by_property {
        add_holders(c, &mut view, property, values).await?;
    }
    for (upn, id) in users::upn_holders(c, &keys.upns).await? {
        view.upn_holders.entry(upn).or_default().push(id);
    }
    for upn in &keys.upns {
        view.upn_holders.entry(upn.to_ascii_lowercase()).or_default();
    }
    let found: Vec<String> = view.users.keys().cloned().collect();
    let sql = format!(
        "SELECT {PENDING_COLUMNS} FROM (SELECT {PENDING_COLUMNS} FROM pending_reference WHERE user_id = ANY($1)
         UNION SELECT {PENDING_COLUMNS} FROM pending_reference WHERE job_id = $2 AND manager_external_id = ANY($3)
         UNION SELECT {PENDING_COLUMNS} FROM pending_reference p WHERE job_id = $2
            AND EXISTS (SELECT 1 FROM user_record m WHERE m.employee_id = p.manager_external_id)) r
         ORDER BY user_id"
    );
    let rows = c.query(&sql, &[&found, &keys.job_id, &texts(&keys.employee_ids)]).await?;
    let mut pending: Vec<PendingReference> = rows.iter().map(pending_reference).collect();
    let mut seen = HashSet::new();
    pending.retain(|p| seen.insert(p.user_id.clone()));
    let missing: Vec<String> =
        pending.iter().map(|p| p.user_id.clone()).filter(|id| !view.users.contains_key(id)).collect();
    view.users.extend(users::by_ids(c, &missing).await?);
    let managers: Vec<String> = pending
        .iter()
        .map(|p| p.manager_external_id.clone())
        .filter(|m| !view.holders.contains_key(&("employeeId".to_owned(), m.clone())))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    add_holders(c, &mut view, "employeeId", &managers).await?;
    view.pending = pending;
    Ok(view)
}

async fn add_holders(
    c: &impl GenericClient,
    view: &mut DirectoryView,
    property: &str,
    values: &[String],
) -> Result<(), StoreError> {
    for v in values {
        view.holders.entry((property.to_owned(), holder_key(property, v))).or_default();
    }
    for user in users::holding(c, property, values).await? {
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

/// Commits a batch; when it records the job's status, every other process is told (at the commit), so each
/// shows the job's counters and quarantine as the holder left them.
pub(super) async fn commit(client: &mut Client, w: &BatchWrites, instance: &str) -> Result<CommitOutcome, StoreError> {
    let tx = client.transaction().await?;
    if !jobs::advance(&tx, &w.job_id, w.from, w.through).await? {
        return Ok(CommitOutcome::Superseded);
    }
    users::save_all(&tx, &w.users).await?;
    logs::insert(&tx, &w.entries).await?;
    if !w.references_removed.is_empty() {
        tx.execute("DELETE FROM pending_reference WHERE user_id = ANY($1)", &[&w.references_removed]).await?;
    }
    for p in &w.references_added {
        tx.execute(
            "INSERT INTO pending_reference (user_id, job_id, source_id, manager_external_id) VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id) DO UPDATE SET job_id = excluded.job_id, source_id = excluded.source_id,
                manager_external_id = excluded.manager_external_id",
            &[&p.user_id, &p.job_id, &text(&p.source_id), &text(&p.manager_external_id)],
        )
        .await?;
    }
    if let Some((paused, status)) = &w.job_state {
        jobs::save_state(&tx, &w.job_id, *paused, status).await?;
        let payload = super::replicas::payload(instance, &w.job_id);
        tx.execute("SELECT pg_notify($1, $2)", &[&super::replicas::CHANGED, &payload]).await?;
    }
    staging::trim(&tx, &w.job_id, w.through).await?;
    tx.commit().await?;
    Ok(CommitOutcome::Committed)
}
