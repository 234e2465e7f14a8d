//! Schema migrations of the main database, tracked with `PRAGMA user_version`, and the staging database's
//! schema. Migration N (1-based) runs once, in its own transaction, when the database's version is below N.
//! Files are appended, never edited: a database created by an older release must still open.
//!
//! Migration 5 is code as well as SQL: it turns version 4's JSON users and log entries (documents, or the
//! engine's first compact form) into typed rows, and moves staged operations into `staging.db`. The move is
//! idempotent (a note in `staging.db` records it), so a crash between the two files' commits repeats
//! nothing. A database newer than this binary is refused with what to do.

use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, params};

use super::super::{NewOperation, StoreError};
use super::dictionary::Dictionary;
use super::{ingest, legacy, logs, users};
use crate::directory::DirectoryUser;
use crate::graph_time::{parse_rfc3339, ticks};
use crate::provisioning::log::{EntryContext, from_graph_json};

/// Migrations 1–4 (SQL only), 5's tables, 6 (the SCIM service provider's resources) and 7 (one index fewer
/// on them).
pub(super) const SQL: &[&str] = &[
    include_str!("migrations/0001_staging.sql"),
    include_str!("migrations/0002_directory_and_logs.sql"),
    include_str!("migrations/0003_job_state.sql"),
    include_str!("migrations/0004_compact_logs.sql"),
    include_str!("migrations/0005_typed_records.sql"),
    include_str!("migrations/0006_scim_resources.sql"),
    include_str!("migrations/0007_scim_without_kind_index.sql"),
];

/// The version this binary writes.
pub(super) const VERSION: usize = SQL.len();

/// The name of the note `staging.db` keeps once version 4's staged operations were moved into it.
const MOVED_FROM_V4: &str = "staged operations moved from version 4";

pub(super) fn migrate(main: &mut Connection, staging: &mut Connection, dict: &Dictionary) -> Result<(), StoreError> {
    staging.execute_batch(ingest::SCHEMA)?;
    staging.execute_batch("CREATE TABLE IF NOT EXISTS staging_note (name TEXT PRIMARY KEY) STRICT;")?;
    let current: i64 = main.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let current = usize::try_from(current).unwrap_or(0);
    if current > VERSION {
        return Err(StoreError::Corrupt(format!(
            "the data directory was written by a newer entra-inbound (storage version {current}; this binary reads up to {VERSION}): run that release, or start with another --data-dir"
        )));
    }
    for (i, sql) in SQL.iter().enumerate().skip(current) {
        if i + 1 == 5 {
            move_staged_operations(main, staging)?;
        }
        let tx = main.transaction()?;
        tx.execute_batch(sql)?;
        if i + 1 == 5 {
            convert_users(&tx)?;
            convert_logs(&tx, dict)?;
            tx.execute_batch(
                "DROP TABLE staged_operation; DROP TABLE directory_user; DROP TABLE provisioning_log;
                 DROP TABLE log_mapping_set;",
            )?;
        }
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

/// One version-4 request: its job, id, arrival time and `(bulkId, externalId, data)` operations.
struct Request4 {
    job: String,
    request: String,
    received: String,
    ops: Vec<(String, String, String)>,
}

/// Version 4's staged operations, one staging request per (job, request) run, in arrival order.
pub(super) fn move_staged_operations(main: &Connection, staging: &mut Connection) -> Result<(), StoreError> {
    let moved: Option<i64> = staging
        .query_row("SELECT 1 FROM staging_note WHERE name = ?1", params![MOVED_FROM_V4], |r| r.get(0))
        .optional()?;
    if moved.is_some() {
        return Ok(());
    }
    let mut stmt = main.prepare(
        "SELECT job_id, request_id, bulk_id, external_id, data, received_time FROM staged_operation ORDER BY seq",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
        ))
    })?;
    let mut requests: Vec<Request4> = Vec::new();
    for row in rows {
        let (job, request, bulk_id, external_id, data, received) = row?;
        match requests.last_mut() {
            Some(r) if r.job == job && r.request == request => r.ops.push((bulk_id, external_id, data)),
            _ => requests.push(Request4 { job, request, received, ops: vec![(bulk_id, external_id, data)] }),
        }
    }
    let tx = staging.transaction()?;
    for r in &requests {
        let new: Vec<NewOperation<'_>> =
            r.ops.iter().map(|(b, e, d)| NewOperation { bulk_id: b, external_id: e, data: d }).collect();
        let received = parse_rfc3339(&r.received).map_or(0, ticks);
        tx.execute(
            "INSERT INTO staged_request (job_id, request_id, received, operations, body) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![r.job, r.request, received, new.len() as i64, ingest::encode(&new)?],
        )?;
    }
    tx.execute("INSERT INTO staging_note (name) VALUES (?1)", params![MOVED_FROM_V4])?;
    tx.commit()?;
    Ok(())
}

fn convert_users(tx: &Connection) -> Result<(), StoreError> {
    let mut stmt = tx.prepare("SELECT id, manager_id, created_time, doc FROM directory_user")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
    })?;
    for row in rows {
        let (id, manager_id, created, doc) = row?;
        let doc: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&doc).map_err(|e| StoreError::Corrupt(format!("user {id}: {e}")))?;
        let created = parse_rfc3339(&created).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let mut user = DirectoryUser::from_graph_json(&doc, id, created);
        user.manager_id = manager_id;
        users::save(tx, &user)?;
    }
    Ok(())
}

fn convert_logs(tx: &Connection, dict: &Dictionary) -> Result<(), StoreError> {
    let mut stmt = tx.prepare(
        "SELECT id, activity_time, cycle_id, change_id, tenant_id, job_id, sp_id, sp_display_name, doc, body,
            (SELECT s.doc FROM log_mapping_set s WHERE s.id = mapping_set)
         FROM provisioning_log ORDER BY activity_time, rowid",
    )?;
    let mut rows = stmt.query([])?;
    let mut contexts: HashMap<(String, String, String, String), Arc<EntryContext>> = HashMap::new();
    let mut entries = Vec::new();
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let activity = parse_rfc3339(&r.get::<_, String>(1)?).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let text = |i: usize| -> Result<String, StoreError> { Ok(r.get::<_, Option<String>>(i)?.unwrap_or_default()) };
        let entry = match r.get::<_, Option<String>>(8)? {
            Some(doc) => {
                let doc =
                    serde_json::from_str(&doc).map_err(|e| StoreError::Corrupt(format!("log entry {id}: {e}")))?;
                from_graph_json(&doc, activity).map_err(|e| StoreError::Corrupt(format!("log entry {id}: {e}")))?
            }
            None => {
                let key = (text(4)?, text(5)?, text(6)?, text(7)?);
                let context = Arc::clone(
                    contexts
                        .entry(key.clone())
                        .or_insert_with(|| Arc::new(EntryContext::for_job(&key.0, &key.1, &key.2, &key.3))),
                );
                let row = legacy::Row4 { id, activity, cycle_id: text(2)?, change_id: text(3)?, context };
                let body: Vec<u8> = r.get::<_, Option<Vec<u8>>>(9)?.unwrap_or_default();
                legacy::entry_from_form_1(row, &body, &text(10)?)?
            }
        };
        entries.push(entry);
        if entries.len() == super::blocks::MAX_BODIES {
            logs::insert(tx, dict, &std::mem::take(&mut entries))?;
        }
    }
    logs::insert(tx, dict, &entries)
}
