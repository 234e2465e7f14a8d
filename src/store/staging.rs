//! The staging queue: operations of an accepted bulkUpload, committed in one transaction before the 202 is
//! sent (issue 2 §4), read back by the job worker in arrival order.

use rusqlite::{Connection, params};

use super::StoreError;

/// One operation as staged.
#[derive(Debug, Clone, PartialEq)]
pub struct StagedOperation {
    pub seq: i64,
    pub job_id: String,
    pub request_id: String,
    pub op_index: i64,
    pub bulk_id: String,
    pub external_id: String,
    /// The operation's `data` as staged (JSON text). Reading a batch does not parse it: the worker parses
    /// records while the previous batch commits, off the connection.
    pub data_text: String,
    pub received_time: String,
}

impl StagedOperation {
    /// The operation's `data`, parsed.
    pub fn data(&self) -> Result<serde_json::Value, StoreError> {
        serde_json::from_str(&self.data_text).map_err(|e| StoreError::Corrupt(e.to_string()))
    }
}

/// An operation about to be staged.
#[derive(Debug, Clone)]
pub struct NewOperation<'a> {
    pub bulk_id: &'a str,
    pub external_id: &'a str,
    pub data: &'a serde_json::Value,
}

/// Stage all operations of one request atomically.
pub fn stage_bulk_request(
    conn: &mut Connection,
    job_id: &str,
    request_id: &str,
    received_time: &str,
    ops: &[NewOperation<'_>],
) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO staged_operation (job_id, request_id, op_index, bulk_id, external_id, data, received_time)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for (i, op) in ops.iter().enumerate() {
            let data = serde_json::to_string(op.data).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            stmt.execute(params![job_id, request_id, i as i64, op.bulk_id, op.external_id, data, received_time])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Number of staged operations across all jobs.
pub fn count_all(conn: &Connection) -> Result<usize, StoreError> {
    Ok(conn.query_row("SELECT count(*) FROM staged_operation", [], |r| r.get::<_, i64>(0))? as usize)
}

/// The oldest `limit` staged operations of a job, in arrival order.
pub fn oldest(conn: &Connection, job_id: &str, limit: usize) -> Result<Vec<StagedOperation>, StoreError> {
    oldest_after(conn, job_id, 0, limit)
}

/// The oldest `limit` staged operations of a job after sequence number `after`, in arrival order.
pub fn oldest_after(
    conn: &Connection,
    job_id: &str,
    after: i64,
    limit: usize,
) -> Result<Vec<StagedOperation>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, job_id, request_id, op_index, bulk_id, external_id, data, received_time
         FROM staged_operation WHERE job_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![job_id, after, limit as i64], |r| {
        Ok(StagedOperation {
            seq: r.get(0)?,
            job_id: r.get(1)?,
            request_id: r.get(2)?,
            op_index: r.get(3)?,
            bulk_id: r.get(4)?,
            external_id: r.get(5)?,
            data_text: r.get(6)?,
            received_time: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Remove a job's staged operations up to and including `seq` (they were processed).
pub fn remove_through(conn: &Connection, job_id: &str, seq: i64) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached("DELETE FROM staged_operation WHERE job_id = ?1 AND seq <= ?2")?
        .execute(params![job_id, seq])?)
}

/// The newest staged sequence number of a job (None when nothing is staged).
pub fn newest_seq(conn: &Connection, job_id: &str) -> Result<Option<i64>, StoreError> {
    Ok(conn.query_row("SELECT max(seq) FROM staged_operation WHERE job_id = ?1", params![job_id], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Synchronous;
    use crate::store::Store;
    use serde_json::json;

    #[test]
    fn staged_operations_come_back_in_order_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(Some(dir.path()), Synchronous::Full).unwrap();
        let data = json!({"externalId": "1"});
        let ops = [
            NewOperation { bulk_id: "a", external_id: "1", data: &data },
            NewOperation { bulk_id: "a", external_id: "2", data: &data },
        ];
        store.call_blocking(|c| stage_bulk_request(c, "J", "r1", "t", &ops)).unwrap();
        drop(store);
        let store = Store::open(Some(dir.path()), Synchronous::Full).unwrap();
        let got = store.call_blocking(|c| oldest(c, "J", 10)).unwrap();
        assert_eq!(got.iter().map(|o| o.external_id.as_str()).collect::<Vec<_>>(), vec!["1", "2"]);
        assert_eq!(got[1].data().unwrap(), data);
        assert_eq!(store.call_blocking(|c| count_all(c)).unwrap(), 2);
        assert!(store.call_blocking(|c| oldest(c, "other", 10)).unwrap().is_empty());
    }
}
