//! The SCIM service provider's write turns in the private mode (no `--data-dir`): answered from memory, written
//! behind.
//!
//! Why: a single `POST /Users` spent most of its store time writing the row and its index entries and
//! committing them, on the request's path. In the private mode nothing has to survive the process, so a turn
//! ([`MemTurn`]) checks and records its changes against an in-memory index of every resource's keys —
//! kind, case-folded `userName`, group members — and queues them; a thread of its own ([`run`]) writes the
//! queue to the tables in order, a whole queue per transaction.
//!
//! What keeps it invisible: a resource stays in [`State::latest`] until the transaction holding its last
//! change has committed, so a turn never misses it; and every other use of the database — each read on a
//! reader connection, each write on the writer connection, an export, a reset, an import — first writes the
//! queue out (`writer::Held::settled`), so no answered change is ever missing from what anyone reads. A reset
//! or an import rebuilds the index from the tables while it holds the queue ([`Behind::exclusive`]).
//!
//! Locks: the writer connection, then the state, never the other way round; a turn takes only the state
//! (and a reader connection for a resource the queue does not hold).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use rusqlite::Connection;

use super::super::StoreError;
use super::super::scim_records::{ScimKind, ScimRecord, ScimWriter};
use super::pool::Pool;
use super::scim::{Turn, get};
use super::writer::Writer;

/// The facts about one resource that turns check without reading it.
#[derive(Debug, Clone)]
struct Keys {
    kind: ScimKind,
    unique_key: Option<String>,
    members: Vec<String>,
}

/// Every resource's [`Keys`], with the lookups turns need.
#[derive(Debug, Default)]
struct Index {
    by_id: HashMap<String, Keys>,
    by_unique_key: HashMap<(ScimKind, String), String>,
    /// Member id → the groups listing it.
    groups_of: HashMap<String, Vec<String>>,
}

impl Index {
    /// Sets (or with `None` removes) the keys of `id`; returns what they were.
    fn set(&mut self, id: &str, keys: Option<Keys>) -> Option<Keys> {
        let old = self.by_id.remove(id);
        if let Some(old) = &old {
            if let Some(key) = &old.unique_key {
                self.by_unique_key.remove(&(old.kind, key.clone()));
            }
            for member in &old.members {
                if let Some(groups) = self.groups_of.get_mut(member) {
                    groups.retain(|g| g != id);
                    if groups.is_empty() {
                        self.groups_of.remove(member);
                    }
                }
            }
        }
        if let Some(keys) = keys {
            if let Some(key) = &keys.unique_key {
                self.by_unique_key.insert((keys.kind, key.clone()), id.to_owned());
            }
            for member in &keys.members {
                self.groups_of.entry(member.clone()).or_default().push(id.to_owned());
            }
            self.by_id.insert(id.to_owned(), keys);
        }
        old
    }

    fn keys_of(record: &ScimRecord) -> Keys {
        Keys { kind: record.kind, unique_key: record.unique_key.clone(), members: record.members.clone() }
    }

    /// Every resource in the tables.
    fn load(conn: &Connection) -> Result<Self, StoreError> {
        let mut index = Index::default();
        let mut members: HashMap<String, Vec<String>> = HashMap::new();
        let mut stmt = conn.prepare("SELECT group_id, member_id FROM scim_member")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            members.entry(row.get(0)?).or_default().push(row.get(1)?);
        }
        let mut stmt = conn.prepare("SELECT id, kind, unique_key FROM scim_resource")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let id: String = row.get(0)?;
            let kind = ScimKind::from_code(row.get(1)?)
                .ok_or_else(|| StoreError::Corrupt(format!("SCIM resource {id}: unknown kind")))?;
            let keys = Keys { kind, unique_key: row.get(2)?, members: members.remove(&id).unwrap_or_default() };
            index.set(&id, Some(keys));
        }
        Ok(index)
    }
}

/// One queued change, written in order.
#[derive(Debug, Clone)]
enum Change {
    Insert(Arc<ScimRecord>),
    Replace(Arc<ScimRecord>),
    Delete(ScimKind, String),
}

impl Change {
    fn id(&self) -> &str {
        match self {
            Change::Insert(r) | Change::Replace(r) => &r.id,
            Change::Delete(_, id) => id,
        }
    }
}

/// A resource with queued changes: its state after the last of them (`None`: deleted), and how many are
/// not committed yet.
#[derive(Debug, Clone)]
struct Latest {
    record: Option<Arc<ScimRecord>>,
    uncommitted: usize,
}

#[derive(Debug, Default)]
struct State {
    index: Index,
    latest: HashMap<String, Latest>,
    queue: VecDeque<Change>,
    stopped: bool,
}

/// The shared state of the private mode's SCIM writes.
#[derive(Debug, Default)]
pub(super) struct Behind {
    state: Mutex<State>,
    /// Changes answered are not committed yet — queued, or being written (readers look here without taking
    /// the lock; a reader that finds it set writes the queue out, or waits for the write in progress, through
    /// the writer connection).
    queued: AtomicBool,
    wake: Condvar,
}

fn poisoned() -> StoreError {
    StoreError::Task("the SCIM write-behind lock was poisoned".into())
}

impl Behind {
    /// The state of the resources in the tables (none, for new private files).
    pub(super) fn open(conn: &Connection) -> Result<Self, StoreError> {
        let state = State { index: Index::load(conn)?, ..State::default() };
        Ok(Self { state: Mutex::new(state), ..Self::default() })
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        self.state.lock().map_err(|_| poisoned())
    }

    /// Whether changes wait to be written.
    pub(super) fn queued(&self) -> bool {
        self.queued.load(Ordering::Acquire)
    }

    /// Runs one turn against the index and the queue: its changes are kept when it returns `Ok` and undone
    /// when it fails; the writing thread is woken for them.
    pub(super) fn turn<T>(
        &self,
        readers: &Pool,
        turn: impl FnOnce(&mut dyn ScimWriter) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut state = self.lock()?;
        let queued_before = state.queue.len();
        let mut t = MemTurn { state: &mut state, readers, undo: Vec::new(), queued_before };
        let out = turn(&mut t);
        if out.is_err() {
            t.undo();
        }
        // Set under the lock: the writing thread, woken by a non-empty queue, must find it set.
        let wrote = state.queue.len() > queued_before;
        if wrote {
            self.queued.store(true, Ordering::Release);
        }
        drop(state);
        // Only a queue that was empty needs the thread woken: one that was not has woken it already.
        if wrote && queued_before == 0 {
            self.wake.notify_one();
        }
        out
    }

    /// Writes every queued change to the tables in one transaction, on `conn` (the writer connection, which
    /// the caller holds). A failed write leaves the changes queued.
    pub(super) fn flush(&self, conn: &mut Connection) -> Result<(), StoreError> {
        // The lock is let go while the changes are written: turns go on meanwhile.
        let changes = std::mem::take(&mut self.lock()?.queue);
        let written = write(conn, &changes);
        self.settle(&mut *self.lock()?, changes, written)
    }

    /// After a write of `changes`: drops what committed from [`State::latest`], or queues them again.
    fn settle(
        &self,
        state: &mut State,
        changes: VecDeque<Change>,
        written: Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        if written.is_err() {
            for change in changes.into_iter().rev() {
                state.queue.push_front(change);
            }
            return written;
        }
        // Only now: a reader that found the flag set while these were being written waited for them.
        if state.queue.is_empty() {
            self.queued.store(false, Ordering::Release);
        }
        for change in &changes {
            if let Some(latest) = state.latest.get_mut(change.id()) {
                latest.uncommitted -= 1;
                if latest.uncommitted == 0 {
                    state.latest.remove(change.id());
                }
            }
        }
        Ok(())
    }

    /// Runs `f` — a reset or an import, on the writer connection the caller holds — with no turn running (it
    /// holds the state throughout), the queue written out first, and the index rebuilt from the tables after.
    pub(super) fn exclusive<T>(
        &self,
        conn: &mut Connection,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut state = self.lock()?;
        let changes = std::mem::take(&mut state.queue);
        let written = write(conn, &changes);
        self.settle(&mut state, changes, written)?;
        let out = f(conn);
        state.index = Index::load(conn)?;
        state.latest.clear();
        out
    }

    /// Stops the writing thread (the store is closing; the private files go with it).
    pub(super) fn stop(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.stopped = true;
        }
        self.wake.notify_all();
    }
}

/// Writes `changes` in order in one transaction (none for no changes).
fn write(conn: &mut Connection, changes: &VecDeque<Change>) -> Result<(), StoreError> {
    if changes.is_empty() {
        return Ok(());
    }
    let tx = conn.transaction()?;
    let mut turn = Turn { conn: &tx };
    for change in changes {
        match change {
            Change::Insert(r) => turn.insert(r)?,
            Change::Replace(r) => turn.replace(r)?,
            Change::Delete(kind, id) => {
                turn.delete(*kind, id)?;
            }
        }
    }
    tx.commit()?;
    Ok(())
}

/// How long the writing thread waits after a failed write before it tries again (a read tries at once).
const RETRY_AFTER: std::time::Duration = std::time::Duration::from_millis(100);

/// How long the writing thread lets changes gather once the queue has some: one transaction then writes the
/// changes of many turns, rewriting each page it touches once instead of once per turn (a sequential client's
/// `POST /Users` each otherwise commit alone). Nothing waits for it: a read or write writes the queue out itself.
const GATHER: std::time::Duration = std::time::Duration::from_millis(2);

/// The writing thread: waits for queued changes and writes them, all that queued meanwhile at a time.
pub(super) fn run(writer: &Writer, behind: &Behind) {
    let mut failed = false;
    loop {
        {
            let Ok(mut state) = behind.lock() else { return };
            while state.queue.is_empty() && !state.stopped {
                let Ok(s) = behind.wake.wait(state) else { return };
                state = s;
            }
            // Then a pause — to gather, or to retry after a failed write (whose changes stay queued). Turns go
            // on meanwhile (the wait lets go of the lock); only a stop cuts it short.
            let until = std::time::Instant::now() + if failed { RETRY_AFTER } else { GATHER };
            while let Some(left) = until.checked_duration_since(std::time::Instant::now())
                && !state.stopped
            {
                let Ok((s, _)) = behind.wake.wait_timeout(state, left) else { return };
                state = s;
            }
            if state.stopped {
                return;
            }
        }
        let flushed = writer.lock().and_then(|mut held| held.settled().map(|_| ()));
        failed = flushed.is_err();
        if let Err(e) = flushed {
            tracing::error!(error = %e, "writing the SCIM resources failed; the changes stay queued");
        }
    }
}

/// What undoes one change of a failed turn.
enum Undo {
    Keys(String, Option<Keys>),
    Latest(String, Option<Latest>),
}

/// A write turn over the index and the queue.
struct MemTurn<'s> {
    state: &'s mut State,
    readers: &'s Pool,
    undo: Vec<Undo>,
    queued_before: usize,
}

impl MemTurn<'_> {
    fn record(&mut self, change: Change, after: Option<Arc<ScimRecord>>, keys: Option<Keys>) {
        let id = change.id().to_owned();
        let old_keys = self.state.index.set(&id, keys);
        self.undo.push(Undo::Keys(id.clone(), old_keys));
        let old_latest = self.state.latest.get(&id).cloned();
        let uncommitted = old_latest.as_ref().map_or(0, |l| l.uncommitted) + 1;
        self.state.latest.insert(id.clone(), Latest { record: after, uncommitted });
        self.undo.push(Undo::Latest(id, old_latest));
        self.state.queue.push_back(change);
    }

    fn undo(&mut self) {
        for undo in std::mem::take(&mut self.undo).into_iter().rev() {
            match undo {
                Undo::Keys(id, keys) => {
                    self.state.index.set(&id, keys);
                }
                Undo::Latest(id, Some(latest)) => {
                    self.state.latest.insert(id, latest);
                }
                Undo::Latest(id, None) => {
                    self.state.latest.remove(&id);
                }
            }
        }
        self.state.queue.truncate(self.queued_before);
    }
}

impl ScimWriter for MemTurn<'_> {
    fn get(&mut self, kind: ScimKind, id: &str) -> Result<Option<ScimRecord>, StoreError> {
        if let Some(latest) = self.state.latest.get(id) {
            return Ok(latest.record.as_deref().filter(|r| r.kind == kind).cloned());
        }
        if self.state.index.by_id.get(id).is_none_or(|k| k.kind != kind) {
            return Ok(None);
        }
        // Committed: no change of it is queued.
        self.readers.with(|conn| get(conn, kind, id))
    }

    fn kind_of(&mut self, id: &str) -> Result<Option<ScimKind>, StoreError> {
        Ok(self.state.index.by_id.get(id).map(|k| k.kind))
    }

    fn holder(&mut self, kind: ScimKind, unique_key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.state.index.by_unique_key.get(&(kind, unique_key.to_owned())).cloned())
    }

    fn insert(&mut self, record: &Arc<ScimRecord>) -> Result<(), StoreError> {
        let keys = Index::keys_of(record);
        self.record(Change::Insert(Arc::clone(record)), Some(Arc::clone(record)), Some(keys));
        Ok(())
    }

    fn replace(&mut self, record: &Arc<ScimRecord>) -> Result<(), StoreError> {
        let keys = Index::keys_of(record);
        self.record(Change::Replace(Arc::clone(record)), Some(Arc::clone(record)), Some(keys));
        Ok(())
    }

    fn delete(&mut self, kind: ScimKind, id: &str) -> Result<bool, StoreError> {
        if self.state.index.by_id.get(id).is_none_or(|k| k.kind != kind) {
            return Ok(false);
        }
        // The tables drop every membership row naming it; so does the index.
        let listed_in = self.state.index.groups_of.get(id).cloned().unwrap_or_default();
        for group in listed_in {
            if let Some(mut keys) = self.state.index.by_id.get(&group).cloned() {
                keys.members.retain(|m| m != id);
                let old = self.state.index.set(&group, Some(keys));
                self.undo.push(Undo::Keys(group, old));
            }
        }
        self.record(Change::Delete(kind, id.to_owned()), None, None);
        Ok(true)
    }

    fn groups_with_member(&mut self, member_id: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.state.index.groups_of.get(member_id).cloned().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index_of(records: &[(&str, ScimKind, Option<&str>, &[&str])]) -> Index {
        let mut index = Index::default();
        for (id, kind, key, members) in records {
            let keys = Keys {
                kind: *kind,
                unique_key: key.map(str::to_owned),
                members: members.iter().map(|m| (*m).to_owned()).collect(),
            };
            index.set(id, Some(keys));
        }
        index
    }

    #[test]
    fn the_index_keeps_its_lookups_in_step_with_every_change() {
        let mut index = index_of(&[
            ("u1", ScimKind::User, Some("ann"), &[]),
            ("u2", ScimKind::User, Some("bob"), &[]),
            ("g1", ScimKind::Group, None, &["u1", "u2"]),
        ]);
        assert_eq!(index.by_unique_key.get(&(ScimKind::User, "ann".into())), Some(&"u1".to_owned()));
        assert_eq!(index.groups_of.get("u2"), Some(&vec!["g1".to_owned()]));
        // Renamed, then the group drops a member, then a user goes.
        let old =
            index.set("u1", Some(Keys { kind: ScimKind::User, unique_key: Some("anna".into()), members: vec![] }));
        assert!(old.is_some());
        assert!(!index.by_unique_key.contains_key(&(ScimKind::User, "ann".into())));
        index.set("g1", Some(Keys { kind: ScimKind::Group, unique_key: None, members: vec!["u1".into()] }));
        assert!(!index.groups_of.contains_key("u2"));
        index.set("u2", None);
        assert!(!index.by_id.contains_key("u2"));
        assert_eq!(index.by_unique_key.len(), 1);
    }
}
