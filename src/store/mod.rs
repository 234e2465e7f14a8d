//! Embedded SQLite storage (rusqlite, bundled): in memory by default, a file under `--data-dir` when given.
//! Owns connections, pragmas and migrations; the query modules below it hold the SQL, which never leaks
//! above this module (DESIGN.md "Layout").
//!
//! Design constraints: one connection behind a mutex, used from `spawn_blocking`, so writes are serialised
//! and the async runtime never blocks on SQLite; WAL + `synchronous=FULL` by default so an operation
//! answered with 202 survives `kill -9` and power loss.

pub mod directory;
pub mod job_state;
pub mod log_query;
pub mod logs;
mod migrations;
pub mod schemas;
pub mod staging;
pub mod user_query;

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use crate::config::Synchronous;

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "entra-inbound.db";

/// Page size of a new database. Log entries and users are rows of 1–3 KB; with SQLite's default 4 KiB pages
/// nearly every insert splits a page (and allocates scratch space to do it). Takes effect only when the
/// database is created.
const PAGE_SIZE: i64 = 16_384;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("storage error: {0}")]
    Io(#[from] std::io::Error),
    #[error("storage error: {0}")]
    Corrupt(String),
    #[error("storage task failed: {0}")]
    Task(String),
}

/// Handle to the database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

impl Store {
    /// Open (and migrate) the store: in memory when `dir` is None.
    pub fn open(dir: Option<&Path>, synchronous: Synchronous) -> Result<Self, StoreError> {
        let conn = match dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                let conn = Connection::open(dir.join(DB_FILE))?;
                conn.pragma_update(None, "page_size", PAGE_SIZE)?;
                conn.pragma_update(None, "journal_mode", "WAL")?;
                let sync = match synchronous {
                    Synchronous::Full => "FULL",
                    Synchronous::Normal => "NORMAL",
                };
                conn.pragma_update(None, "synchronous", sync)?;
                conn
            }
            None => {
                let conn = Connection::open_in_memory()?;
                conn.pragma_update(None, "page_size", PAGE_SIZE)?;
                conn
            }
        };
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Room for every fixed statement of the engine and the APIs.
        conn.set_prepared_statement_cache_capacity(64);
        let mut conn = conn;
        migrations::migrate(&mut conn)?;
        Ok(Self { conn: Arc::new(Mutex::new(conn)) })
    }

    /// Run `f` with the connection on the blocking pool.
    pub async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().map_err(|_| StoreError::Task("connection lock poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Run `f` with the connection on the current thread (start-up, benchmarks, tests).
    pub fn call_blocking<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let mut guard = self.conn.lock().map_err(|_| StoreError::Task("connection lock poisoned".into()))?;
        f(&mut guard)
    }
}
