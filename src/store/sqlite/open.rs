//! Where the embedded store's files live and how its connections are opened.
//!
//! Two database files: `entra-inbound.db` (directory, logs, job state) and `staging.db` (operations accepted
//! by bulkUpload and not yet applied), so ingest has a write path of its own that never waits for an engine
//! batch (SQLite allows one writer per file). With `--data-dir` they live there, `synchronous=FULL` by
//! default (an operation answered 202 survives power loss). Without it they live in a private temporary
//! directory (mode 0700) removed when the store is dropped, with `synchronous=OFF`: nothing has to survive
//! the process, and the files keep the resident memory small (the page cache, not the process, holds them).
//! A directory left behind by a killed process is removed by the next start.
//!
//! Every connection runs in WAL mode, so readers never wait for a writer and see committed snapshots.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::super::StoreError;
use crate::config::Synchronous;

/// File name of the main database inside the data directory.
pub const MAIN_DB: &str = "entra-inbound.db";
/// File name of the staging database inside the data directory.
pub const STAGING_DB: &str = "staging.db";

/// Page size of a new database: rows are a few hundred bytes to a few KB, so 16 KiB pages split rarely.
const PAGE_SIZE: i64 = 16_384;
/// Prefix of private temporary directories (a pid file inside names their owner).
const TEMP_PREFIX: &str = "entra-inbound-state-";
const PID_FILE: &str = "pid";

/// The directory holding the database files.
#[derive(Debug)]
pub(super) enum Location {
    /// `--data-dir`: durable.
    Durable(PathBuf),
    /// No data dir: a private temporary directory, removed on drop.
    Private(tempfile::TempDir),
}

impl Location {
    pub(super) fn new(data_dir: Option<&Path>) -> Result<Self, StoreError> {
        match data_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| unwritable(dir, &e))?;
                let probe = dir.join(".entra-inbound-write-test");
                std::fs::write(&probe, b"").map_err(|e| unwritable(dir, &e))?;
                let _ = std::fs::remove_file(probe);
                Ok(Location::Durable(dir.to_owned()))
            }
            None => {
                sweep_abandoned(&std::env::temp_dir());
                let dir = tempfile::Builder::new().prefix(TEMP_PREFIX).tempdir()?;
                std::fs::write(dir.path().join(PID_FILE), std::process::id().to_string())?;
                Ok(Location::Private(dir))
            }
        }
    }

    pub(super) fn path(&self) -> &Path {
        match self {
            Location::Durable(p) => p,
            Location::Private(t) => t.path(),
        }
    }

    pub(super) fn is_durable(&self) -> bool {
        matches!(self, Location::Durable(_))
    }
}

/// An I/O error on the data directory, with what to do about the usual cause.
fn unwritable(dir: &Path, e: &std::io::Error) -> StoreError {
    StoreError::Io(std::io::Error::new(
        e.kind(),
        format!(
            "cannot write to the data directory {}: {e} (the process runs as uid {}; make the directory writable by it)",
            dir.display(),
            current_uid()
        ),
    ))
}

/// The process's uid, as the owner of `/proc/self` shows it (Linux); "unknown" elsewhere.
fn current_uid() -> String {
    #[cfg(target_os = "linux")]
    if let Ok(meta) = std::fs::metadata("/proc/self") {
        return std::os::unix::fs::MetadataExt::uid(&meta).to_string();
    }
    "unknown".into()
}

/// Removes private temporary directories whose owning process is gone (it was killed before it could
/// remove its own). Best effort: anything unexpected is left alone.
fn sweep_abandoned(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(TEMP_PREFIX) {
            continue;
        }
        let Ok(pid) = std::fs::read_to_string(entry.path().join(PID_FILE)) else { continue };
        if pid.trim().parse::<u32>().is_ok_and(|pid| !process_alive(pid)) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(target_os = "linux")]
fn process_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(not(target_os = "linux"))]
fn process_alive(_pid: u32) -> bool {
    true
}

/// What a connection is for: it decides the pragmas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// The one writer of a file.
    Writer,
    /// A reader: `query_only`, a smaller page cache.
    Reader,
}

/// Opens `file` in `dir` for `role`; a new file gets the page size and WAL mode. `durable` = `dir` is a
/// data directory (else a private temporary one, which needs no syncing).
pub(super) fn connect(
    dir: &Path,
    durable: bool,
    file: &str,
    role: Role,
    synchronous: Synchronous,
) -> Result<Connection, StoreError> {
    let path = dir.join(file);
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(&path, flags).map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::CannotOpen => {
            unwritable(dir, &std::io::Error::from(std::io::ErrorKind::PermissionDenied))
        }
        other => StoreError::from(other),
    })?;
    conn.busy_timeout(Duration::from_secs(10))?;
    if role == Role::Writer {
        // Both take effect only on a new file. Incremental auto-vacuum lets the store give the pages of trimmed
        // staging rows and expired log entries back (`PRAGMA incremental_vacuum`), so the files shrink again.
        conn.pragma_update(None, "page_size", PAGE_SIZE)?;
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
    }
    let sync = match (durable, synchronous) {
        (false, _) => "OFF",
        (true, Synchronous::Full) => "FULL",
        (true, Synchronous::Normal) => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", sync)?;
    // Negative = KiB: writers keep the engine's working set hot; readers need little.
    let cache_kib: i64 = if role == Role::Writer { 32 * 1024 } else { 4 * 1024 };
    conn.pragma_update(None, "cache_size", -cache_kib)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    if role == Role::Reader {
        conn.pragma_update(None, "query_only", true)?;
    }
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Gives up to `pages` free pages of `conn`'s file back to the file system (every free page with `None`).
/// The pragma frees one page per step, so it is stepped until it is done.
pub(super) fn give_back_free_pages(conn: &Connection, pages: Option<u32>) -> Result<(), StoreError> {
    let sql =
        pages.map_or_else(|| "PRAGMA incremental_vacuum".to_owned(), |n| format!("PRAGMA incremental_vacuum({n})"));
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    while rows.next()?.is_some() {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abandoned_private_directories_are_swept_and_live_ones_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let dead = tmp.path().join(format!("{TEMP_PREFIX}dead"));
        let live = tmp.path().join(format!("{TEMP_PREFIX}live"));
        let other = tmp.path().join("someone-else");
        for d in [&dead, &live, &other] {
            std::fs::create_dir(d).unwrap();
        }
        // No process has pid u32::MAX - 1 (Linux caps pids far below).
        std::fs::write(dead.join(PID_FILE), (u32::MAX - 1).to_string()).unwrap();
        std::fs::write(live.join(PID_FILE), std::process::id().to_string()).unwrap();
        sweep_abandoned(tmp.path());
        assert_eq!(dead.exists(), !cfg!(target_os = "linux"));
        assert!(live.exists() && other.exists());
    }

    #[test]
    fn an_unwritable_data_dir_says_permission_denied_with_the_path_and_uid() {
        let e = unwritable(Path::new("/data/x"), &std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        let text = e.to_string();
        assert!(text.contains("/data/x") && text.contains("uid") && text.contains("ermission denied"), "{text}");
    }
}
