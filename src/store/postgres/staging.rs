//! Ingest on PostgreSQL: accepted requests are rows of `staged_request` (the embedded store's encoding), and
//! one task per process commits every request waiting in one transaction (group commit), answering each only
//! once its row is durable. Each staging transaction first takes [`STAGING_LOCK`] (released at its commit), so
//! sequence numbers become visible in the order they were issued, whichever replica staged them; resets and
//! imports take it too.

use tokio::sync::{mpsc, oneshot};
use tokio_postgres::GenericClient;

use super::super::sqlite::ingest::{decode, encode};
use super::super::{NewOperation, StagedRequest, StoreError};
use crate::graph_time::{from_ticks, ticks};

/// The advisory lock every transaction that issues sequence numbers holds.
pub(super) const STAGING_LOCK: i64 = 0x656e_7472_615f_7331;

/// Most requests one group commit takes.
const MAX_GROUP: usize = 1024;

/// One request for the staging task.
pub(super) struct Stage {
    job_id: String,
    request_id: String,
    received: i64,
    operations: i64,
    body: Vec<u8>,
    reply: oneshot::Sender<Result<i64, StoreError>>,
}

pub(super) async fn stage(
    tx: &mpsc::UnboundedSender<Stage>,
    job_id: &str,
    request_id: &str,
    received: time::OffsetDateTime,
    ops: &[NewOperation<'_>],
) -> Result<i64, StoreError> {
    let (reply, answer) = oneshot::channel();
    let stage = Stage {
        job_id: job_id.to_owned(),
        request_id: request_id.to_owned(),
        received: ticks(received),
        operations: i64::try_from(ops.len()).unwrap_or(i64::MAX),
        body: encode(ops)?,
        reply,
    };
    tx.send(stage).map_err(|_| StoreError::Task("the staging task has stopped".into()))?;
    answer.await.map_err(|_| StoreError::Task("the staging task stopped".into()))?
}

/// Runs the staging task until every sender is gone.
pub(super) async fn run(pool: deadpool_postgres::Pool, instance: String, mut requests: mpsc::UnboundedReceiver<Stage>) {
    while let Some(first) = requests.recv().await {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match requests.try_recv() {
                Ok(s) => group.push(s),
                Err(_) => break,
            }
        }
        match commit_group(&pool, &instance, &group).await {
            Ok(seqs) => {
                for (s, seq) in group.into_iter().zip(seqs) {
                    let _ = s.reply.send(Ok(seq));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, requests = group.len(), "staging failed; its requests are refused");
                for s in group {
                    let _ = s.reply.send(Err(StoreError::Corrupt(format!("staging failed: {e}"))));
                }
            }
        }
    }
}

async fn commit_group(pool: &deadpool_postgres::Pool, instance: &str, group: &[Stage]) -> Result<Vec<i64>, StoreError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&STAGING_LOCK]).await?;
    let insert = tx
        .prepare(
            "INSERT INTO staged_request (job_id, request_id, received, operations, body) VALUES ($1, $2, $3, $4, $5)
             RETURNING seq",
        )
        .await?;
    let mut seqs = Vec::with_capacity(group.len());
    let mut jobs: Vec<&str> = Vec::new();
    for s in group {
        let row = tx.query_one(&insert, &[&s.job_id, &s.request_id, &s.received, &s.operations, &s.body]).await?;
        seqs.push(row.get(0));
        if !jobs.contains(&s.job_id.as_str()) {
            jobs.push(&s.job_id);
        }
    }
    for job_id in jobs {
        // Delivered when the transaction commits: the process holding the job reads the rows then.
        let payload = super::replicas::payload(instance, job_id);
        tx.execute("SELECT pg_notify($1, $2)", &[&super::replicas::CHANNEL, &payload]).await?;
    }
    tx.commit().await?;
    Ok(seqs)
}

/// Inserts a request inside the caller's transaction (an import restaging), its seq.
pub(super) async fn insert(c: &impl GenericClient, r: &StagedRequest) -> Result<i64, StoreError> {
    let ops: Vec<NewOperation<'_>> = r
        .operations
        .iter()
        .map(|o| NewOperation { bulk_id: &o.bulk_id, external_id: &o.external_id, data: &o.data })
        .collect();
    let (received, n) = (ticks(r.received), i64::try_from(ops.len()).unwrap_or(i64::MAX));
    let row = c
        .query_one(
            "INSERT INTO staged_request (job_id, request_id, received, operations, body) VALUES ($1, $2, $3, $4, $5)
             RETURNING seq",
            &[&r.job_id, &r.request_id, &received, &n, &encode(&ops)?],
        )
        .await?;
    Ok(row.get(0))
}

/// Removes a job's requests up to and including `through` (applied or purged).
pub(super) async fn trim(c: &impl GenericClient, job_id: &str, through: i64) -> Result<(), StoreError> {
    c.execute("DELETE FROM staged_request WHERE job_id = $1 AND seq <= $2", &[&job_id, &through]).await?;
    Ok(())
}

/// A job's requests after `after`, oldest first, whole, until they hold at least `max_ops` operations.
pub(super) async fn read_after(
    c: &impl GenericClient,
    job_id: &str,
    after: i64,
    max_ops: usize,
) -> Result<Vec<StagedRequest>, StoreError> {
    // Enough rows for `max_ops` (each request holds at least one operation), read in one round trip.
    let limit = i64::try_from(max_ops).unwrap_or(i64::MAX);
    let rows = c
        .query(
            "SELECT seq, request_id, received, body FROM staged_request WHERE job_id = $1 AND seq > $2
             ORDER BY seq LIMIT $3",
            &[&job_id, &after, &limit],
        )
        .await?;
    let (mut out, mut ops) = (Vec::new(), 0usize);
    for row in rows {
        if ops >= max_ops {
            break;
        }
        let seq: i64 = row.get(0);
        let body: Vec<u8> = row.get(3);
        let operations = decode(seq, &body)?;
        ops += operations.len();
        out.push(StagedRequest {
            seq,
            job_id: job_id.to_owned(),
            request_id: row.get(1),
            received: from_ticks(row.get(2)),
            operations,
        });
    }
    Ok(out)
}

pub(super) async fn newest_seq(c: &impl GenericClient, job_id: &str) -> Result<Option<i64>, StoreError> {
    Ok(c.query_one("SELECT max(seq) FROM staged_request WHERE job_id = $1", &[&job_id]).await?.get(0))
}

/// Operations of a job's requests in `(after, through]`.
pub(super) async fn operations_between(
    c: &impl GenericClient,
    job_id: &str,
    after: i64,
    through: i64,
) -> Result<usize, StoreError> {
    let n: i64 = c
        .query_one(
            "SELECT coalesce(sum(operations), 0)::BIGINT FROM staged_request WHERE job_id = $1 AND seq > $2 AND seq <= $3",
            &[&job_id, &after, &through],
        )
        .await?
        .get(0);
    Ok(usize::try_from(n).unwrap_or(0))
}

/// The highest sequence number ever issued (0 before the first).
pub(super) async fn highest_seq(c: &impl GenericClient) -> Result<i64, StoreError> {
    let row = c.query_one("SELECT last_value, is_called FROM staged_request_seq_seq", &[]).await?;
    Ok(if row.get::<_, bool>(1) { row.get(0) } else { 0 })
}

/// Uses up one sequence number that no request gets (see the embedded store's `skip_one_seq`).
pub(super) async fn skip_one_seq(c: &impl GenericClient) -> Result<(), StoreError> {
    c.execute("SELECT nextval('staged_request_seq_seq')", &[]).await?;
    Ok(())
}
