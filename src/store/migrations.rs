//! Schema migrations, tracked with `PRAGMA user_version`: migration N (1-based) runs once, in its own
//! transaction, when the database's version is below N. Append new files; never edit an applied one.

use rusqlite::Connection;

use super::StoreError;

const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_staging.sql"),
    include_str!("migrations/0002_directory_and_logs.sql"),
    include_str!("migrations/0003_job_state.sql"),
    include_str!("migrations/0004_compact_logs.sql"),
];

pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let current = usize::try_from(current).unwrap_or(0);
    if current > MIGRATIONS.len() {
        return Err(StoreError::Corrupt(format!(
            "database schema version {current} is newer than this binary ({})",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrating_twice_is_a_no_op() {
        let mut c = Connection::open_in_memory().unwrap();
        migrate(&mut c).unwrap();
        migrate(&mut c).unwrap();
        let v: i64 = c.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(v as usize, MIGRATIONS.len());
    }

    #[test]
    fn log_documents_written_before_migration_4_stay_readable() {
        let mut c = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..3] {
            c.execute_batch(sql).unwrap();
        }
        c.pragma_update(None, "user_version", 3).unwrap();
        c.execute(
            "INSERT INTO provisioning_log (id, activity_time, job_id, cycle_id, change_id, duration_ms, action, status, doc)
             VALUES ('a', '2025-01-15T10:00:00.0000000Z', 'J', 'c', 'x', 1, 'create', 'success', '{\"id\":\"a\"}')",
            [],
        )
        .unwrap();
        migrate(&mut c).unwrap();
        let doc: String = c.query_row("SELECT doc FROM provisioning_log WHERE id = 'a'", [], |r| r.get(0)).unwrap();
        assert_eq!(doc, r#"{"id":"a"}"#);
        // A row holds a document or the engine's form, never both or neither.
        let neither = c.execute(
            "INSERT INTO provisioning_log (id, activity_time, job_id, cycle_id, change_id, duration_ms, action, status)
             VALUES ('b', 't', 'J', 'c', 'x', 1, 'create', 'success')",
            [],
        );
        assert!(neither.is_err());
    }
}
