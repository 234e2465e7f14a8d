//! The staging database and its writer thread: ingest's own write path.
//!
//! Each accepted bulkUpload is one row (its operations encoded together), written by a thread that owns the
//! staging file's only write connection. The thread takes every request waiting when it becomes free and
//! commits them in one transaction (group commit): under load one fsync serves many requests, and each
//! request still gets its answer — and its 202 — only after its own row is durable. The engine never writes
//! this file: what it applied is recorded in the main database (`job_progress`, in the same transaction as
//! its writes), and applied rows are trimmed from here afterwards, so a crash between the two can neither
//! lose nor repeat an operation.

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, Sender, TryRecvError};

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use super::super::{NewOperation, StagedOperation, StagedRequest, StoreError};
use super::open::give_back_free_pages;
use crate::graph_time::from_ticks;

/// The staging schema (created when missing; its version is `user_version` 1).
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS staged_request (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,  -- arrival order; never reused, so watermarks stay valid
    job_id     TEXT NOT NULL,
    request_id TEXT NOT NULL,
    received   INTEGER NOT NULL,                   -- 100 ns ticks since the Unix epoch
    operations INTEGER NOT NULL,
    body       BLOB NOT NULL                       -- zstd of postcard: [(bulkId, externalId, data JSON)]
) STRICT;
CREATE INDEX IF NOT EXISTS staged_request_by_job ON staged_request (job_id, seq);
";

/// Most requests one group commit takes.
const MAX_GROUP: usize = 1024;

/// Free pages (16 KiB each) the staging file may hold before a group gives them back: vacuuming after every
/// trim would add work to the commit every request in the group waits for.
const VACUUM_AFTER_FREE_PAGES: i64 = 64;

#[derive(Serialize)]
struct OperationRef<'a> {
    bulk_id: &'a str,
    external_id: &'a str,
    data: &'a str,
}

#[derive(Deserialize)]
struct OperationOwned {
    bulk_id: String,
    external_id: String,
    data: String,
}

/// The stored form of a request's operations: compressed (zstd, fastest level), since the records of one
/// request repeat each other — about a tenth of the JSON, so a long queue stays small.
pub(in crate::store) fn encode(ops: &[NewOperation<'_>]) -> Result<Vec<u8>, StoreError> {
    let refs: Vec<OperationRef<'_>> =
        ops.iter().map(|o| OperationRef { bulk_id: o.bulk_id, external_id: o.external_id, data: o.data }).collect();
    let plain =
        postcard::to_allocvec(&refs).map_err(|e| StoreError::Corrupt(format!("encoding staged operations: {e}")))?;
    Ok(zstd::bulk::compress(&plain, 1)?)
}

pub(in crate::store) fn decode(seq: i64, body: &[u8]) -> Result<Vec<StagedOperation>, StoreError> {
    let unreadable =
        |e: &dyn std::fmt::Display| StoreError::Corrupt(format!("staged request {seq} cannot be read: {e}"));
    let plain = zstd::stream::decode_all(body).map_err(|e| unreadable(&e))?;
    let ops: Vec<OperationOwned> = postcard::from_bytes(&plain).map_err(|e| unreadable(&e))?;
    Ok(ops
        .into_iter()
        .map(|o| StagedOperation { bulk_id: o.bulk_id, external_id: o.external_id, data: o.data })
        .collect())
}

/// Work for the ingest thread.
pub(super) enum Command {
    Stage {
        job_id: String,
        request_id: String,
        received: i64,
        operations: i64,
        body: Vec<u8>,
        reply: oneshot::Sender<Result<i64, StoreError>>,
    },
    /// Remove a job's requests up to and including `through` (applied or purged).
    Trim { job_id: String, through: i64 },
    /// Remove every request, then stage `restage` in its order (an import; empty for a reset); answers the
    /// highest sequence number issued before `restage` (one more than any request had, when restaging:
    /// `skip_one_seq`) and, per job, the operations removed that were staged after the job's `applied`
    /// progress (never processed).
    Clear { applied: HashMap<String, i64>, restage: Vec<Restaged>, reply: oneshot::Sender<Result<Cleared, StoreError>> },
}

/// A request an import stages again: [`Command::Stage`]'s fields.
#[derive(Debug)]
pub(super) struct Restaged {
    pub(super) job_id: String,
    pub(super) request_id: String,
    pub(super) received: i64,
    pub(super) operations: i64,
    pub(super) body: Vec<u8>,
}

/// What a [`Command::Clear`] removed.
#[derive(Debug)]
pub(super) struct Cleared {
    pub(super) highest: i64,
    pub(super) unprocessed: HashMap<String, usize>,
}

/// One command's answer.
enum Answer {
    Seq(i64),
    Cleared(Cleared),
    Nothing,
}

/// Runs the ingest thread until every sender is gone.
pub(super) fn run(mut conn: Connection, commands: Receiver<Command>) {
    while let Ok(first) = commands.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match commands.try_recv() {
                Ok(c) => group.push(c),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        match apply(&mut conn, &group) {
            Ok(answers) => {
                for (command, answer) in group.into_iter().zip(answers) {
                    match (command, answer) {
                        (Command::Stage { reply, .. }, Answer::Seq(seq)) => {
                            let _ = reply.send(Ok(seq));
                        }
                        (Command::Clear { reply, .. }, Answer::Cleared(c)) => {
                            let _ = reply.send(Ok(c));
                        }
                        _ => {}
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, commands = group.len(), "staging failed; its requests are refused");
                let failed = || StoreError::Corrupt(format!("staging failed: {e}"));
                for command in group {
                    match command {
                        Command::Stage { reply, .. } => {
                            let _ = reply.send(Err(failed()));
                        }
                        Command::Clear { reply, .. } => {
                            let _ = reply.send(Err(failed()));
                        }
                        Command::Trim { .. } => {}
                    }
                }
            }
        }
    }
}

/// One transaction for a group; one answer per command.
fn apply(conn: &mut Connection, group: &[Command]) -> Result<Vec<Answer>, StoreError> {
    let tx = conn.transaction()?;
    let mut answers = Vec::with_capacity(group.len());
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO staged_request (job_id, request_id, received, operations, body) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for command in group {
            answers.push(match command {
                Command::Stage { job_id, request_id, received, operations, body, .. } => {
                    insert.execute(params![job_id, request_id, received, operations, body])?;
                    Answer::Seq(tx.last_insert_rowid())
                }
                Command::Trim { job_id, through } => {
                    tx.prepare_cached("DELETE FROM staged_request WHERE job_id = ?1 AND seq <= ?2")?
                        .execute(params![job_id, through])?;
                    Answer::Nothing
                }
                Command::Clear { applied, restage, .. } => {
                    let mut unprocessed: HashMap<String, usize> = HashMap::new();
                    let mut rows = tx.prepare("SELECT job_id, seq, operations FROM staged_request")?;
                    let rows =
                        rows.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)))?;
                    for row in rows {
                        let (job, seq, ops) = row?;
                        if seq > applied.get(&job).copied().unwrap_or(0) {
                            *unprocessed.entry(job).or_default() += usize::try_from(ops).unwrap_or(0);
                        }
                    }
                    tx.execute("DELETE FROM staged_request", [])?;
                    if !restage.is_empty() {
                        skip_one_seq(&tx)?;
                    }
                    let highest = highest_seq(&tx)?;
                    for r in restage {
                        insert.execute(params![r.job_id, r.request_id, r.received, r.operations, r.body])?;
                    }
                    Answer::Cleared(Cleared { highest, unprocessed })
                }
            });
        }
    }
    if group.iter().any(|c| !matches!(c, Command::Stage { .. })) {
        // Trimmed rows leave free pages: give them back in the same commit (one fsync for both), once enough
        // have gathered.
        let free: i64 = tx.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
        if free >= VACUUM_AFTER_FREE_PAGES {
            give_back_free_pages(&tx, None)?;
        }
    }
    tx.commit()?;
    Ok(answers)
}

/// The highest sequence number ever issued (0 before the first).
pub(super) fn highest_seq(conn: &Connection) -> Result<i64, StoreError> {
    let seq: Option<i64> = conn
        .query_row("SELECT seq FROM sqlite_sequence WHERE name = 'staged_request'", [], |r| r.get(0))
        .or_else(|e| if matches!(e, rusqlite::Error::QueryReturnedNoRows) { Ok(None) } else { Err(e) })?;
    Ok(seq.unwrap_or(0))
}

/// Uses up one sequence number that no request gets. An import moves every job's progress to it, so a batch
/// the engine read before the import (its progress below it) never commits, even when nothing was staged before.
fn skip_one_seq(conn: &Connection) -> Result<(), StoreError> {
    let moved = conn.execute("UPDATE sqlite_sequence SET seq = seq + 1 WHERE name = 'staged_request'", [])?;
    if moved == 0 {
        conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('staged_request', 1)", [])?;
    }
    Ok(())
}

/// Hands `command` to the ingest thread.
pub(super) fn send(commands: &Sender<Command>, command: Command) -> Result<(), StoreError> {
    commands.send(command).map_err(|_| StoreError::Task("the ingest thread has stopped".into()))
}

/// A job's requests after `after`, oldest first, whole, until they hold at least `max_ops` operations.
pub(super) fn read_after(
    conn: &Connection,
    job_id: &str,
    after: i64,
    max_ops: usize,
) -> Result<Vec<StagedRequest>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, request_id, received, body FROM staged_request WHERE job_id = ?1 AND seq > ?2 ORDER BY seq",
    )?;
    let mut rows = stmt.query(params![job_id, after])?;
    let (mut out, mut ops) = (Vec::new(), 0usize);
    while ops < max_ops {
        let Some(row) = rows.next()? else { break };
        let seq: i64 = row.get(0)?;
        let body: Vec<u8> = row.get(3)?;
        let operations = decode(seq, &body)?;
        ops += operations.len();
        out.push(StagedRequest {
            seq,
            job_id: job_id.to_owned(),
            request_id: row.get(1)?,
            received: from_ticks(row.get(2)?),
            operations,
        });
    }
    Ok(out)
}

/// The newest sequence number staged for a job, if any is staged.
pub(super) fn newest_seq(conn: &Connection, job_id: &str) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT max(seq) FROM staged_request WHERE job_id = ?1")?
        .query_row(params![job_id], |r| r.get(0))?)
}

/// Operations of a job's requests in `(after, through]`.
pub(super) fn operations_between(
    conn: &Connection,
    job_id: &str,
    after: i64,
    through: i64,
) -> Result<usize, StoreError> {
    let n: i64 = conn
        .prepare_cached(
            "SELECT coalesce(sum(operations), 0) FROM staged_request WHERE job_id = ?1 AND seq > ?2 AND seq <= ?3",
        )?
        .query_row(params![job_id, after, through], |r| r.get(0))?;
    Ok(usize::try_from(n).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Synchronous;
    use crate::store::sqlite::open::{Role, connect};

    fn stage(conn: &mut Connection, body: Vec<u8>) -> i64 {
        let (reply, _) = oneshot::channel();
        let command =
            Command::Stage { job_id: "J".into(), request_id: "r".into(), received: 0, operations: 1, body, reply };
        match apply(conn, &[command]).unwrap()[..] {
            [Answer::Seq(seq)] => seq,
            _ => panic!("a stage answers its sequence number"),
        }
    }

    #[test]
    fn trims_give_the_pages_of_applied_requests_back_in_their_own_commit() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = connect(dir.path(), true, "staging.db", Role::Writer, Synchronous::Normal).unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        let pages = |c: &Connection| -> (i64, i64) {
            let count = c.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
            (count, c.query_row("PRAGMA freelist_count", [], |r| r.get(0)).unwrap())
        };
        // A few free pages stay until enough gather; then one trim returns them all.
        let last = stage(&mut conn, vec![7; 20_000]);
        apply(&mut conn, &[Command::Trim { job_id: "J".into(), through: last }]).unwrap();
        let (_, free) = pages(&conn);
        assert!(free > 0 && free < VACUUM_AFTER_FREE_PAGES, "{free}");
        let mut last = 0;
        for _ in 0..100 {
            last = stage(&mut conn, vec![7; 20_000]);
        }
        let (before, _) = pages(&conn);
        apply(&mut conn, &[Command::Trim { job_id: "J".into(), through: last }]).unwrap();
        let (after, free) = pages(&conn);
        assert_eq!(free, 0);
        assert!(after < before / 10, "{before} pages → {after}");
    }
}
