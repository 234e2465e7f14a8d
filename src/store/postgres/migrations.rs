//! Versioned migrations of the PostgreSQL schema: embedded SQL files, applied in order at start, each in its
//! own transaction with its row in `schema_migrations`. Files are appended, never edited. Replicas starting
//! together take an advisory lock first, so one migrates and the others then find the work done. A database
//! newer than this binary is refused with what to do.

use tokio_postgres::Client;

use super::super::StoreError;

/// Migration N is `SQL[N - 1]`.
const SQL: &[&str] = &[
    include_str!("migrations/0001_schema.sql"),
    include_str!("migrations/0002_job_quota.sql"),
    include_str!("migrations/0003_control.sql"),
];

/// The advisory lock key migrations hold (any constant no other lock of ours uses).
const MIGRATION_LOCK: i64 = 0x656e_7472_615f_6d31;

pub(super) async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .await?;
    let current: i64 = tx.query_one("SELECT coalesce(max(version), 0) FROM schema_migrations", &[]).await?.get(0);
    let known = i64::try_from(SQL.len()).unwrap_or(i64::MAX);
    if current > known {
        return Err(StoreError::Corrupt(format!(
            "the database was written by a newer entra-inbound (schema version {current}; this binary reads up to {known}): run that release, or point storage.url at another database"
        )));
    }
    for (i, sql) in SQL.iter().enumerate().skip(usize::try_from(current).unwrap_or(0)) {
        tx.batch_execute(sql).await?;
        let version = i64::try_from(i + 1).unwrap_or(i64::MAX);
        tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&version]).await?;
    }
    tx.commit().await?;
    Ok(())
}
