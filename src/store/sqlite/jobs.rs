//! A job's durable state: run state and status (`job_state`), a replaced schema (`job_schema`) and how far
//! the engine has applied its staged requests (`job_progress`).

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use super::super::{JobRecord, StoreError};

fn json(text: &str, what: &str, job_id: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what} of job {job_id}: {e}")))
}

/// What the store holds for `job_id`.
pub(super) fn load(conn: &Connection, job_id: &str) -> Result<JobRecord, StoreError> {
    let state: Option<(i64, String)> = conn
        .query_row("SELECT paused, status FROM job_state WHERE job_id = ?1", params![job_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let schema: Option<String> =
        conn.query_row("SELECT doc FROM job_schema WHERE job_id = ?1", params![job_id], |r| r.get(0)).optional()?;
    Ok(JobRecord {
        run_state: state
            .map(|(paused, status)| Ok::<_, StoreError>((paused != 0, json(&status, "status", job_id)?)))
            .transpose()?,
        schema: schema.map(|s| json(&s, "schema", job_id)).transpose()?,
        applied_through: progress(conn, job_id)?,
    })
}

pub(super) fn save_state(conn: &Connection, job_id: &str, paused: bool, status: &Value) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO job_state (job_id, paused, status) VALUES (?1, ?2, ?3)
         ON CONFLICT (job_id) DO UPDATE SET paused = excluded.paused, status = excluded.status",
    )?
    .execute(params![job_id, i64::from(paused), status.to_string()])?;
    Ok(())
}

pub(super) fn save_schema(conn: &Connection, job_id: &str, schema: &Value) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO job_schema (job_id, doc) VALUES (?1, ?2) ON CONFLICT (job_id) DO UPDATE SET doc = excluded.doc",
        params![job_id, schema.to_string()],
    )?;
    Ok(())
}

/// The last staged request applied (or purged) for `job_id`; 0 before the first.
pub(super) fn progress(conn: &Connection, job_id: &str) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT through FROM job_progress WHERE job_id = ?1")?
        .query_row(params![job_id], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// Moves `job_id`'s progress from `from` to `to`; false (and nothing written) when it is not at `from`
/// (a restart or a reset moved it while a batch was being processed).
pub(super) fn advance(conn: &Connection, job_id: &str, from: i64, to: i64) -> Result<bool, StoreError> {
    if progress(conn, job_id)? != from {
        return Ok(false);
    }
    conn.prepare_cached(
        "INSERT INTO job_progress (job_id, through) VALUES (?1, ?2)
         ON CONFLICT (job_id) DO UPDATE SET through = excluded.through",
    )?
    .execute(params![job_id, to])?;
    Ok(true)
}

/// Every job's progress moves to at least `through` (a reset dropped what was staged up to it).
pub(super) fn skip_all_to(conn: &Connection, job_ids: &[String], through: i64) -> Result<(), StoreError> {
    for job_id in job_ids {
        conn.prepare_cached(
            "INSERT INTO job_progress (job_id, through) VALUES (?1, ?2)
             ON CONFLICT (job_id) DO UPDATE SET through = max(through, excluded.through)",
        )?
        .execute(params![job_id, through])?;
    }
    Ok(())
}
