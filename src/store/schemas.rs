//! SQL for job schemas replaced through the schema API (absent = the template default).

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use super::StoreError;

pub fn load(conn: &Connection, job_id: &str) -> Result<Option<Value>, StoreError> {
    let doc: Option<String> =
        conn.query_row("SELECT doc FROM job_schema WHERE job_id = ?1", params![job_id], |r| r.get(0)).optional()?;
    doc.map(|d| serde_json::from_str(&d).map_err(|e| StoreError::Corrupt(e.to_string()))).transpose()
}

pub fn save(conn: &Connection, job_id: &str, schema: &Value) -> Result<(), StoreError> {
    let doc = serde_json::to_string(schema).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    conn.execute(
        "INSERT INTO job_schema (job_id, doc) VALUES (?1, ?2) ON CONFLICT (job_id) DO UPDATE SET doc = excluded.doc",
        params![job_id, doc],
    )?;
    Ok(())
}
