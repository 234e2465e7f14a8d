//! Provisioning log entries on PostgreSQL: the properties `$filter`/`$orderby` use are columns, the entry is
//! its v1.0 document (`to_graph_json`), read back with `from_graph_json` — the round trip an export and import
//! make, so an entry reads back as the logs API showed it when written.

use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, Row};

use super::super::StoreError;
use super::params::text;
use crate::graph_time::{from_ticks, ticks};
use crate::provisioning::log::{ProvisioningObjectSummary, from_graph_json, to_graph_json};

/// The columns a reader selects, in [`read`]'s order.
pub(super) const COLUMNS: &str = "e.id, e.activity, e.doc";

/// Number of columns [`COLUMNS`] selects.
pub(super) const COLUMN_COUNT: usize = 3;

/// Inserts `entries` inside the caller's transaction: one prepared statement, its executions pipelined.
pub(super) async fn insert(c: &impl GenericClient, entries: &[ProvisioningObjectSummary]) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    let stmt = c
        .prepare(
            "INSERT INTO log_entry (id, activity, job_id, cycle_id, change_id, duration_ms, action, status, source_id,
                source_name, source_type, target_id, target_name, target_type, sp_id, sp_name, source_system,
                target_system, tenant_id, doc)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
        )
        .await?;
    // Each entry's values, owned; then every execution pipelined (sent together, not one round trip each).
    let t = |s: &String| text(s).into_owned();
    let rows: Vec<(Vec<String>, i64, i64)> = entries
        .iter()
        .map(|e| {
            let x = &*e.context;
            let texts = vec![
                t(&e.id),
                t(&x.job_id),
                t(&e.cycle_id),
                t(&e.change_id),
                e.action.as_str().to_owned(),
                e.status.as_str().to_owned(),
                t(&e.source_identity.id),
                t(&e.source_identity.display_name),
                t(&e.source_identity.identity_type),
                t(&e.target_identity.id),
                t(&e.target_identity.display_name),
                t(&e.target_identity.identity_type),
                t(&x.service_principal.id),
                t(&x.service_principal.display_name),
                t(&x.source_system.display_name),
                t(&x.target_system.display_name),
                t(&x.tenant_id),
                to_graph_json(e).to_string(),
            ];
            (texts, ticks(e.activity_date_time), e.duration_in_milliseconds)
        })
        .collect();
    let params: Vec<Vec<&(dyn ToSql + Sync)>> = rows
        .iter()
        .map(|(texts, activity, duration)| {
            let text = |i: usize| &texts[i] as &(dyn ToSql + Sync);
            let mut p: Vec<&(dyn ToSql + Sync)> = vec![text(0), activity, text(1), text(2), text(3), duration];
            p.extend((4..texts.len()).map(text));
            p
        })
        .collect();
    futures_util::future::try_join_all(params.iter().map(|p| c.execute(&stmt, p))).await?;
    Ok(())
}

/// The entry in a row of [`COLUMNS`].
pub(super) fn read(row: &Row) -> Result<ProvisioningObjectSummary, StoreError> {
    let id: String = row.try_get(0)?;
    let activity = from_ticks(row.try_get(1)?);
    let doc: serde_json::Value = serde_json::from_str(row.try_get::<_, &str>(2)?)
        .map_err(|e| StoreError::Corrupt(format!("log entry {id}: {e}")))?;
    from_graph_json(&doc, activity).map_err(|e| StoreError::Corrupt(format!("log entry {id}: {e}")))
}

pub(super) async fn by_id(c: &impl GenericClient, id: &str) -> Result<Option<ProvisioningObjectSummary>, StoreError> {
    let id = text(id);
    let row = c.query_opt(&format!("SELECT {COLUMNS} FROM log_entry e WHERE e.id = $1"), &[&id]).await?;
    row.as_ref().map(read).transpose()
}

/// Every entry, by time then id (an export).
pub(super) async fn all(c: &impl GenericClient) -> Result<Vec<ProvisioningObjectSummary>, StoreError> {
    let rows = c.query(&format!("SELECT {COLUMNS} FROM log_entry e ORDER BY e.activity, e.id"), &[]).await?;
    rows.iter().map(read).collect()
}

/// Entries written before `cutoff` (ticks), and all but the newest `keep`, at most `chunk` of each per call.
pub(super) async fn expire(
    c: &impl GenericClient,
    cutoff: i64,
    keep: Option<u64>,
    chunk: i64,
) -> Result<usize, StoreError> {
    let mut deleted = c
        .execute(
            "DELETE FROM log_entry WHERE seq IN (SELECT seq FROM log_entry WHERE activity < $1 ORDER BY activity LIMIT $2)",
            &[&cutoff, &chunk],
        )
        .await?;
    if let Some(keep) = keep {
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        deleted += c
            .execute(
                "DELETE FROM log_entry WHERE seq IN (SELECT seq FROM log_entry
                    WHERE seq <= (SELECT max(seq) FROM log_entry) - $1 ORDER BY seq LIMIT $2)",
                &[&keep, &chunk],
            )
            .await?;
    }
    Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
}
