//! A small pool of read-only connections to one database file. A read takes an idle connection (or opens
//! one, up to [`MAX_READERS`]; beyond that it waits for one to come back), runs its work (`blocking::run`) and
//! returns the connection. Connections open lazily, so an idle emulator holds one or none.

use std::sync::{Arc, Condvar, Mutex};

use rusqlite::Connection;

use super::super::StoreError;
use super::open::{Location, Role, connect};
use crate::config::Synchronous;

/// Most connections open at once per file.
const MAX_READERS: usize = 4;

#[derive(Debug)]
pub(super) struct Pool {
    dir: std::path::PathBuf,
    durable: bool,
    file: &'static str,
    synchronous: Synchronous,
    state: Mutex<State>,
    returned: Condvar,
}

#[derive(Debug, Default)]
struct State {
    idle: Vec<Connection>,
    open: usize,
}

fn poisoned() -> StoreError {
    StoreError::Task("a reader pool lock was poisoned".into())
}

impl Pool {
    pub(super) fn new(location: &Location, file: &'static str, synchronous: Synchronous) -> Self {
        Self {
            dir: location.path().to_owned(),
            durable: location.is_durable(),
            file,
            synchronous,
            state: Mutex::new(State::default()),
            returned: Condvar::new(),
        }
    }

    fn take(&self) -> Result<Connection, StoreError> {
        let mut state = self.state.lock().map_err(|_| poisoned())?;
        loop {
            if let Some(conn) = state.idle.pop() {
                return Ok(conn);
            }
            if state.open < MAX_READERS {
                state.open += 1;
                drop(state);
                return connect(&self.dir, self.durable, self.file, Role::Reader, self.synchronous).inspect_err(|_| {
                    if let Ok(mut s) = self.state.lock() {
                        s.open -= 1;
                    }
                });
            }
            state = self.returned.wait(state).map_err(|_| poisoned())?;
        }
    }

    /// An idle connection, if one is waiting (never opens one or waits).
    fn try_take(&self) -> Result<Option<Connection>, StoreError> {
        Ok(self.state.lock().map_err(|_| poisoned())?.idle.pop())
    }

    fn give_back(&self, conn: Connection) {
        if let Ok(mut state) = self.state.lock() {
            state.idle.push(conn);
        }
        self.returned.notify_one();
    }

    /// Runs `f` with a reader connection on the calling thread, waiting for one if all are busy.
    pub(super) fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let conn = self.take()?;
        let out = f(&conn);
        self.give_back(conn);
        out
    }

    /// Runs a point read on the calling thread when a connection is idle: it takes microseconds, less than a
    /// hand-off to another thread would (`blocking`). Otherwise as [`Pool::run`].
    pub(super) async fn run_point<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        if let Some(conn) = self.try_take()? {
            let out = f(&conn);
            self.give_back(conn);
            return out;
        }
        self.run(f).await
    }

    /// Runs `f` with a reader connection (`blocking::run`).
    pub(super) async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let pool = Arc::clone(self);
        super::blocking::run(move || pool.with(f)).await
    }
}
