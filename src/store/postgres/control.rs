//! What the control API sets that every process on the database shares (README "Running several replicas"):
//!
//! - the virtual clock and the fault rules, one JSON document per [`ControlKey`] in `control_state`, changed by a
//!   transaction that locks the row (so two processes using up a rule's last `times` cannot both have it) and
//!   announced on [`replicas::CONTROL`] at its commit, so every other process takes the new document on;
//! - the request journal in `journal_entry`: every process writes the requests it answered before answering
//!   them, and every process reads the same entries, the newest `capacity` of them.
//!
//! A reset empties both (`state::replace`); an import leaves them, as it leaves the embedded store's
//! in-memory clock, rules and journal.

use serde_json::Value;
use tokio_postgres::{Client, GenericClient};

use super::super::{ControlKey, StoreError};
use super::replicas;
use crate::control::journal::{JournalEntry, JournalQuery, StatusFilter};

/// The document kept under `key`, if any.
pub(super) async fn read(c: &impl GenericClient, key: ControlKey) -> Result<Option<Value>, StoreError> {
    let row = c.query_opt("SELECT doc FROM control_state WHERE key = $1", &[&key.as_str()]).await?;
    row.map(|r| parse(r.get(0), key)).transpose().map(Option::flatten)
}

fn parse(doc: &str, key: ControlKey) -> Result<Option<Value>, StoreError> {
    let value: Value =
        serde_json::from_str(doc).map_err(|e| StoreError::Corrupt(format!("control state '{}': {e}", key.as_str())))?;
    Ok((!value.is_null()).then_some(value))
}

/// Replaces the document under `key` with what `change` makes of it (None: nothing kept), holding the row
/// until the commit; every other process is told.
pub(super) async fn change<R>(
    client: &mut Client,
    instance: &str,
    key: ControlKey,
    change: impl FnOnce(Option<Value>) -> (Option<Value>, R),
) -> Result<R, StoreError> {
    let tx = client.transaction().await?;
    tx.execute("INSERT INTO control_state (key, doc) VALUES ($1, 'null') ON CONFLICT DO NOTHING", &[&key.as_str()])
        .await?;
    let row = tx.query_one("SELECT doc FROM control_state WHERE key = $1 FOR UPDATE", &[&key.as_str()]).await?;
    let (next, out) = change(parse(row.get(0), key)?);
    let doc = next.unwrap_or(Value::Null).to_string();
    tx.execute("UPDATE control_state SET doc = $2 WHERE key = $1", &[&key.as_str(), &doc]).await?;
    tx.execute("SELECT pg_notify($1, $2)", &[&replicas::CONTROL, &replicas::payload(instance, key.as_str())]).await?;
    tx.commit().await?;
    Ok(out)
}

/// What a reset empties (inside the reset's transaction).
pub(super) const CLEAR: &str = "DELETE FROM control_state; DELETE FROM journal_entry;";

/// Adds one journal entry, dropping what falls out of the newest `capacity` now and then (every
/// [`TRIM_EVERY`] entries; readers never see more than `capacity` meanwhile).
pub(super) async fn journal_append(
    c: &impl GenericClient,
    entry: &JournalEntry,
    capacity: usize,
) -> Result<(), StoreError> {
    let doc = serde_json::to_string(entry).map_err(|e| StoreError::Task(format!("a journal entry: {e}")))?;
    let time = i64::try_from(entry.time.unix_timestamp_nanos()).unwrap_or(i64::MAX);
    let row = c
        .query_one(
            "INSERT INTO journal_entry (time, route, status, doc) VALUES ($1, $2, $3, $4) RETURNING seq",
            &[&time, &entry.route, &i32::from(entry.status), &doc],
        )
        .await?;
    let seq: i64 = row.get(0);
    if seq % TRIM_EVERY == 0 {
        c.execute("DELETE FROM journal_entry WHERE seq <= $1", &[&(seq - cap(capacity))]).await?;
    }
    Ok(())
}

/// How often an append trims the journal.
const TRIM_EVERY: i64 = 64;

fn cap(capacity: usize) -> i64 {
    i64::try_from(capacity).unwrap_or(i64::MAX)
}

/// The newest `capacity` entries that `query` selects, newest first.
pub(super) async fn journal_query(
    c: &impl GenericClient,
    query: &JournalQuery,
    capacity: usize,
) -> Result<Vec<JournalEntry>, StoreError> {
    let (low, high) = match query.status {
        None => (0, i32::MAX),
        Some(StatusFilter::Exact(s)) => (i32::from(s), i32::from(s)),
        Some(StatusFilter::Class(c)) => (i32::from(c) * 100, i32::from(c) * 100 + 99),
    };
    let since = query.since.map_or(i64::MIN, |t| i64::try_from(t.unix_timestamp_nanos()).unwrap_or(i64::MAX));
    let limit = i64::try_from(query.limit.min(capacity)).unwrap_or(i64::MAX);
    let rows = c
        .query(
            "SELECT doc FROM journal_entry
             WHERE seq > (SELECT coalesce(max(seq), 0) FROM journal_entry) - $1
               AND ($2::TEXT IS NULL OR route = $2) AND status BETWEEN $3 AND $4 AND time >= $5
             ORDER BY seq DESC LIMIT $6",
            &[&cap(capacity), &query.route, &low, &high, &since, &limit],
        )
        .await?;
    rows.iter()
        .map(|r| serde_json::from_str(r.get(0)).map_err(|e| StoreError::Corrupt(format!("a journal entry: {e}"))))
        .collect()
}

/// Empties the journal.
pub(super) async fn journal_clear(c: &impl GenericClient) -> Result<(), StoreError> {
    c.execute("DELETE FROM journal_entry", &[]).await?;
    Ok(())
}
