//! SQL for provisioning logs: one row per `provisioningObjectSummary`, its filterable properties copied
//! into columns (see migration 0002) and the resource itself either as a document (`doc`) or in the
//! engine's compact form (`body`, plus the id of its mapping set; migration 0004).

use rusqlite::{Connection, params};
use serde_json::Value;

use super::StoreError;

/// The indexed columns of one log entry (the whole resource is `doc`).
#[derive(Debug, Clone)]
pub struct LogRow<'a> {
    pub id: &'a str,
    /// Fixed-width storage form of `activityDateTime`.
    pub activity_key: &'a str,
    pub job_id: &'a str,
    pub cycle_id: &'a str,
    pub change_id: &'a str,
    pub duration_ms: i64,
    pub action: &'a str,
    pub status: &'a str,
    pub source_id: &'a str,
    pub source_display_name: &'a str,
    pub target_id: &'a str,
    pub target_display_name: &'a str,
    pub identity_type: &'a str,
    pub sp_id: &'a str,
    pub sp_display_name: &'a str,
    pub source_system: &'a str,
    pub target_system: &'a str,
    pub tenant_id: &'a str,
    pub content: Content<'a>,
}

/// How a log entry's resource is stored.
#[derive(Debug, Clone, Copy)]
pub enum Content<'a> {
    /// The v1.0 document as JSON text.
    Document(&'a str),
    /// The engine's encoding of the entry and the id of its mapping set (see [`mapping_set_id`]).
    Compact { body: &'a [u8], mapping_set: i64 },
}

/// Insert one log entry.
pub fn insert(conn: &Connection, row: &LogRow<'_>) -> Result<(), StoreError> {
    let (doc, body, mapping_set) = match row.content {
        Content::Document(doc) => (Some(doc), None, None),
        Content::Compact { body, mapping_set } => (None, Some(body), Some(mapping_set)),
    };
    conn.prepare_cached(
        "INSERT INTO provisioning_log (id, activity_time, job_id, cycle_id, change_id, duration_ms, action, status,
            source_id, source_display_name, source_identity_type, target_id, target_display_name,
            target_identity_type, sp_id, sp_display_name, source_system_display_name, target_system_display_name,
            tenant_id, doc, body, mapping_set)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
    )?
    .execute(params![
        row.id,
        row.activity_key,
        row.job_id,
        row.cycle_id,
        row.change_id,
        row.duration_ms,
        row.action,
        row.status,
        row.source_id,
        row.source_display_name,
        row.identity_type,
        row.target_id,
        row.target_display_name,
        row.identity_type,
        row.sp_id,
        row.sp_display_name,
        row.source_system,
        row.target_system,
        row.tenant_id,
        doc,
        body,
        mapping_set,
    ])?;
    Ok(())
}

/// Insert a log entry given as a JSON document (fixtures and tests): its columns are read from it.
pub fn insert_doc(conn: &Connection, entry: &Value, activity_key: &str) -> Result<(), StoreError> {
    let s = |path: &[&str]| -> &str {
        let mut v = entry;
        for p in path {
            match v.get(p) {
                Some(next) => v = next,
                None => return "",
            }
        }
        v.as_str().unwrap_or_default()
    };
    let doc = serde_json::to_string(entry).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    insert(
        conn,
        &LogRow {
            id: s(&["id"]),
            activity_key,
            job_id: s(&["jobId"]),
            cycle_id: s(&["cycleId"]),
            change_id: s(&["changeId"]),
            duration_ms: entry.get("durationInMilliseconds").and_then(Value::as_i64).unwrap_or(0),
            action: s(&["provisioningAction"]),
            status: s(&["provisioningStatusInfo", "status"]),
            source_id: s(&["sourceIdentity", "id"]),
            source_display_name: s(&["sourceIdentity", "displayName"]),
            target_id: s(&["targetIdentity", "id"]),
            target_display_name: s(&["targetIdentity", "displayName"]),
            identity_type: s(&["sourceIdentity", "identityType"]),
            sp_id: s(&["servicePrincipal", "id"]),
            sp_display_name: s(&["servicePrincipal", "displayName"]),
            source_system: s(&["sourceSystem", "displayName"]),
            target_system: s(&["targetSystem", "displayName"]),
            tenant_id: s(&["tenantId"]),
            content: Content::Document(&doc),
        },
    )
}

/// The id of a mapping set (JSON text), stored on first use.
pub fn mapping_set_id(conn: &Connection, doc: &str) -> Result<i64, StoreError> {
    conn.prepare_cached("INSERT INTO log_mapping_set (doc) VALUES (?1) ON CONFLICT (doc) DO NOTHING")?
        .execute(params![doc])?;
    Ok(conn.prepare_cached("SELECT id FROM log_mapping_set WHERE doc = ?1")?.query_row(params![doc], |r| r.get(0))?)
}

/// Number of log entries of a job.
pub fn count_for_job(conn: &Connection, job_id: &str) -> Result<usize, StoreError> {
    let n: i64 =
        conn.query_row("SELECT count(*) FROM provisioning_log WHERE job_id = ?1", params![job_id], |r| r.get(0))?;
    Ok(usize::try_from(n).unwrap_or(0))
}
