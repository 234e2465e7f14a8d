//! The main file's one write connection. In the private mode it also carries the SCIM changes answered but not
//! written yet (`scim_behind`): whoever takes the connection gets it with them written out
//! ([`Held::settled`]), so no read or write ever runs on a database that misses an answered change.

use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use rusqlite::Connection;

use super::super::StoreError;
use super::scim_behind::Behind;

/// The writer connection behind its mutex.
#[derive(Debug)]
pub(super) struct Writer {
    conn: Mutex<Connection>,
    /// The private mode's queued SCIM changes; `None` with a data dir.
    behind: Option<Arc<Behind>>,
}

fn lock_failed() -> StoreError {
    StoreError::Task("the writer connection lock was poisoned".into())
}

impl Writer {
    pub(super) fn new(conn: Connection, behind: Option<Arc<Behind>>) -> Self {
        Self { conn: Mutex::new(conn), behind }
    }

    /// Waits for the connection.
    pub(super) fn lock(&self) -> Result<Held<'_>, StoreError> {
        Ok(Held { conn: self.conn.lock().map_err(|_| lock_failed())?, behind: self.behind.as_deref() })
    }

    /// The connection if no one holds it.
    pub(super) fn try_lock(&self) -> Result<Option<Held<'_>>, StoreError> {
        match self.conn.try_lock() {
            Ok(conn) => Ok(Some(Held { conn, behind: self.behind.as_deref() })),
            Err(TryLockError::Poisoned(_)) => Err(lock_failed()),
            Err(TryLockError::WouldBlock) => Ok(None),
        }
    }

    /// Whether SCIM changes wait to be written (checked without the lock).
    pub(super) fn unsettled(&self) -> bool {
        self.behind.as_ref().is_some_and(|b| b.queued())
    }

    /// The private mode's SCIM turns; `None` with a data dir.
    pub(super) fn behind(&self) -> Option<&Arc<Behind>> {
        self.behind.as_ref()
    }
}

/// The locked connection.
pub(super) struct Held<'w> {
    conn: MutexGuard<'w, Connection>,
    behind: Option<&'w Behind>,
}

impl Held<'_> {
    /// The connection, with every queued SCIM change written first.
    pub(super) fn settled(&mut self) -> Result<&mut Connection, StoreError> {
        if let Some(behind) = self.behind.filter(|b| b.queued()) {
            behind.flush(&mut self.conn)?;
        }
        Ok(&mut self.conn)
    }

    /// Runs `f` (a reset or an import) with no SCIM turn running meanwhile and the SCIM index rebuilt after it
    /// (`Behind::exclusive`); with a data dir, just `f`.
    pub(super) fn exclusive<T>(
        &mut self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match self.behind {
            Some(behind) => behind.exclusive(&mut self.conn, f),
            None => f(&mut self.conn),
        }
    }
}
