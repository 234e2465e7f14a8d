//! SQL for provisioning logs: one row per `provisioningObjectSummary`, its filterable properties copied
//! into columns (see migration 0002) and the resource itself in `doc`.

use rusqlite::{Connection, params};
use serde_json::Value;

use super::StoreError;

/// Insert one log entry; `activity_key` is the fixed-width storage form of `activityDateTime`.
pub fn insert(conn: &Connection, entry: &Value, activity_key: &str) -> Result<(), StoreError> {
    let s = |path: &[&str]| -> Option<&str> {
        let mut v = entry;
        for p in path {
            v = v.get(p)?;
        }
        v.as_str()
    };
    let doc = serde_json::to_string(entry).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    conn.prepare_cached(
        "INSERT INTO provisioning_log (id, activity_time, job_id, cycle_id, change_id, duration_ms, action, status,
            source_id, source_display_name, source_identity_type, target_id, target_display_name,
            target_identity_type, sp_id, sp_display_name, source_system_display_name, target_system_display_name,
            tenant_id, doc)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
    )?
    .execute(params![
        s(&["id"]),
        activity_key,
        s(&["jobId"]),
        s(&["cycleId"]),
        s(&["changeId"]),
        entry.get("durationInMilliseconds").and_then(Value::as_i64).unwrap_or(0),
        s(&["provisioningAction"]),
        s(&["provisioningStatusInfo", "status"]),
        s(&["sourceIdentity", "id"]),
        s(&["sourceIdentity", "displayName"]),
        s(&["sourceIdentity", "identityType"]),
        s(&["targetIdentity", "id"]),
        s(&["targetIdentity", "displayName"]),
        s(&["targetIdentity", "identityType"]),
        s(&["servicePrincipal", "id"]),
        s(&["servicePrincipal", "displayName"]),
        s(&["sourceSystem", "displayName"]),
        s(&["targetSystem", "displayName"]),
        s(&["tenantId"]),
        doc,
    ])?;
    Ok(())
}

/// Number of log entries of a job.
pub fn count_for_job(conn: &Connection, job_id: &str) -> Result<usize, StoreError> {
    let n: i64 =
        conn.query_row("SELECT count(*) FROM provisioning_log WHERE job_id = ?1", params![job_id], |r| r.get(0))?;
    Ok(usize::try_from(n).unwrap_or(0))
}
