//! SQL for a job's run state (paused or started) and its status document, written whenever either changes.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use super::StoreError;

/// The stored (paused, status) of a job, if it was ever saved.
pub fn load(conn: &Connection, job_id: &str) -> Result<Option<(bool, Value)>, StoreError> {
    let row: Option<(i64, String)> = conn
        .query_row("SELECT paused, status FROM job_state WHERE job_id = ?1", params![job_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    row.map(|(paused, status)| {
        let status = serde_json::from_str(&status).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok((paused != 0, status))
    })
    .transpose()
}

pub fn save(conn: &Connection, job_id: &str, paused: bool, status: &Value) -> Result<(), StoreError> {
    let status = serde_json::to_string(status).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    conn.prepare_cached(
        "INSERT INTO job_state (job_id, paused, status) VALUES (?1, ?2, ?3)
         ON CONFLICT (job_id) DO UPDATE SET paused = excluded.paused, status = excluded.status",
    )?
    .execute(params![job_id, i64::from(paused), status])?;
    Ok(())
}
