//! A job's durable state on PostgreSQL: run state and status (`job_state`), a replaced schema (`job_schema`)
//! and its progress through the staged requests (`job_progress`), as on the embedded store.

use std::collections::HashMap;

use serde_json::Value;
use tokio_postgres::{Client, GenericClient};

use super::super::{JobRecord, Purged, StoreError};
use super::staging;

fn json(text: &str, what: &str, job_id: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what} of job {job_id}: {e}")))
}

/// The job's record. Progress is read first: a batch commits its progress and the status it led to together,
/// so the status read after it is at least as new (a quarantine is never missed by a reader that sees the
/// progress of the batch that caused it).
pub(super) async fn load(c: &impl GenericClient, job_id: &str) -> Result<JobRecord, StoreError> {
    let applied_through = progress(c, job_id).await?;
    let state = c.query_opt("SELECT paused, status FROM job_state WHERE job_id = $1", &[&job_id]).await?;
    let schema = c.query_opt("SELECT doc FROM job_schema WHERE job_id = $1", &[&job_id]).await?;
    Ok(JobRecord {
        run_state: state
            .map(|r| Ok::<_, StoreError>((r.get::<_, bool>(0), json(r.get(1), "status", job_id)?)))
            .transpose()?,
        schema: schema.map(|r| json(r.get(0), "schema", job_id)).transpose()?,
        applied_through,
    })
}

pub(super) async fn save_state(
    c: &impl GenericClient,
    job_id: &str,
    paused: bool,
    status: &Value,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO job_state (job_id, paused, status) VALUES ($1, $2, $3)
         ON CONFLICT (job_id) DO UPDATE SET paused = excluded.paused, status = excluded.status",
        &[&job_id, &paused, &status.to_string()],
    )
    .await?;
    Ok(())
}

pub(super) async fn save_schema(c: &impl GenericClient, job_id: &str, schema: &Value) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO job_schema (job_id, doc) VALUES ($1, $2) ON CONFLICT (job_id) DO UPDATE SET doc = excluded.doc",
        &[&job_id, &schema.to_string()],
    )
    .await?;
    Ok(())
}

pub(super) async fn progress(c: &impl GenericClient, job_id: &str) -> Result<i64, StoreError> {
    let row = c.query_opt("SELECT through FROM job_progress WHERE job_id = $1", &[&job_id]).await?;
    Ok(row.map_or(0, |r| r.get(0)))
}

/// Locks the progress rows of `job_ids` (a missing one is created at 0) until the transaction ends, in one
/// order; the progress of each. A transaction that replaces the whole state takes them before any other row:
/// a batch's commit locks its job's row first ([`advance`]) and trims staged requests last, so taking the
/// staged requests first deadlocks with a batch committing meanwhile (seen as a reset answering 500).
pub(super) async fn lock_progress(
    c: &impl GenericClient,
    job_ids: &[String],
) -> Result<HashMap<String, i64>, StoreError> {
    c.execute(
        "INSERT INTO job_progress (job_id, through) SELECT unnest($1::TEXT[]), 0 ON CONFLICT DO NOTHING",
        &[&job_ids],
    )
    .await?;
    let rows = c
        .query(
            "SELECT job_id, through FROM job_progress WHERE job_id = ANY($1) ORDER BY job_id FOR UPDATE",
            &[&job_ids],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Moves `job_id`'s progress from `from` to `to` inside the caller's transaction; false (nothing written) when
/// it is not at `from`. The row is locked until the transaction ends, so two writers cannot both move it.
pub(super) async fn advance(c: &impl GenericClient, job_id: &str, from: i64, to: i64) -> Result<bool, StoreError> {
    c.execute("INSERT INTO job_progress (job_id, through) VALUES ($1, 0) ON CONFLICT DO NOTHING", &[&job_id]).await?;
    let moved = c
        .execute("UPDATE job_progress SET through = $3 WHERE job_id = $1 AND through = $2", &[&job_id, &from, &to])
        .await?;
    Ok(moved == 1)
}

/// Every job's progress moves to at least `through`.
pub(super) async fn skip_all_to(c: &impl GenericClient, job_ids: &[String], through: i64) -> Result<(), StoreError> {
    for job_id in job_ids {
        c.execute(
            "INSERT INTO job_progress (job_id, through) VALUES ($1, $2)
             ON CONFLICT (job_id) DO UPDATE SET through = greatest(job_progress.through, excluded.through)",
            &[job_id, &through],
        )
        .await?;
    }
    Ok(())
}

/// One request against a job's quotas (`Store::take_quota`): their rows locked, `decide`d, written back.
pub(super) async fn take_quota(
    client: &mut Client,
    job_id: &str,
    n: usize,
    decide: impl FnOnce(&[Option<i64>]) -> Result<Vec<i64>, u64> + Send,
) -> Result<Result<(), u64>, StoreError> {
    let tx = client.transaction().await?;
    let count = i32::try_from(n).unwrap_or(i32::MAX);
    tx.execute(
        "INSERT INTO job_quota (job_id, quota, tat) SELECT $1, q, NULL FROM generate_series(0, $2 - 1) q
         ON CONFLICT DO NOTHING",
        &[&job_id, &count],
    )
    .await?;
    let rows = tx
        .query(
            "SELECT tat FROM job_quota WHERE job_id = $1 AND quota < $2 ORDER BY quota FOR UPDATE",
            &[&job_id, &count],
        )
        .await?;
    let tats: Vec<Option<i64>> = rows.iter().map(|r| r.get(0)).collect();
    let next = match decide(&tats) {
        Ok(next) => next,
        Err(wait) => return Ok(Err(wait)),
    };
    for (quota, tat) in (0i32..).zip(&next) {
        tx.execute("UPDATE job_quota SET tat = $3 WHERE job_id = $1 AND quota = $2", &[&job_id, &quota, tat]).await?;
    }
    tx.commit().await?;
    Ok(Ok(()))
}

/// Marks everything staged for `job_id` so far as done without applying it; one transaction.
pub(super) async fn purge(client: &mut Client, job_id: &str) -> Result<Purged, StoreError> {
    let tx = client.transaction().await?;
    tx.execute("INSERT INTO job_progress (job_id, through) VALUES ($1, 0) ON CONFLICT DO NOTHING", &[&job_id]).await?;
    let from: i64 =
        tx.query_one("SELECT through FROM job_progress WHERE job_id = $1 FOR UPDATE", &[&job_id]).await?.get(0);
    let newest = staging::newest_seq(&tx, job_id).await?.unwrap_or(from);
    if newest <= from {
        tx.commit().await?;
        return Ok(Purged { through: from, operations: 0 });
    }
    let operations = staging::operations_between(&tx, job_id, from, newest).await?;
    tx.execute("UPDATE job_progress SET through = $2 WHERE job_id = $1", &[&job_id, &newest]).await?;
    staging::trim(&tx, job_id, newest).await?;
    tx.commit().await?;
    Ok(Purged { through: newest, operations })
}
