//! Values many log entries share, stored once: the detail key lists of steps (an import step lists the same
//! 30 attribute names for every record of a feed), the mapping sets export steps explain themselves with, and
//! each job's entry context per cycle (tenant, job, service principal, systems, cycle id).
//!
//! Ids come from `AUTOINCREMENT` and are never reused (not even after a reset), so a decoded value can be
//! cached by id for the life of the process, by the writer and every reader alike.
//!
//! The writer looks an id up for every step of every entry it stores, so those lookups allocate nothing
//! when they hit: key lists are found by a fast hash of their strings, mapping sets by the address of the
//! job's shared set (the cache holds the `Arc`, so the address cannot be reused), and a batch's context by
//! comparing with the last one used.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, RwLock};

use rusqlite::{Connection, OptionalExtension, params};

use super::super::StoreError;
use crate::provisioning::log::{EntryContext, MappingSet};

/// What a dictionary row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A JSON array of detail keys.
    Keys = 1,
    /// A JSON array of `[target, expression]` pairs.
    Mappings = 2,
}

/// A decoded dictionary value.
#[derive(Debug, Clone)]
pub(super) enum Entry {
    Keys(Arc<Vec<String>>),
    Mappings(Arc<MappingSet>),
}

/// One `log_context` row: the shared facts of the entries of one cycle of one job.
#[derive(Debug, Clone)]
pub(super) struct CycleContext {
    pub(super) context: Arc<EntryContext>,
    pub(super) cycle_id: Arc<str>,
}

/// A stored key list and its id.
type KnownKeys = (Arc<Vec<String>>, i64);

/// A context and a cycle id: what a `log_context` row is looked up by.
type ContextKey = (Arc<EntryContext>, Arc<str>);

/// The process-wide cache of decoded values by id, and of ids by value (for the writer).
#[derive(Debug, Default)]
pub(super) struct Dictionary {
    by_id: RwLock<HashMap<i64, Entry>>,
    contexts: RwLock<HashMap<i64, CycleContext>>,
    /// Key lists by the hash of their strings.
    key_ids: RwLock<HashMap<u64, Vec<KnownKeys>>>,
    /// Mapping sets by the address of the shared set.
    mapping_ids: RwLock<HashMap<usize, (Arc<MappingSet>, i64)>>,
    context_ids: RwLock<HashMap<ContextKey, i64>>,
    /// The context and cycle the writer used last, and its id.
    last_context: Mutex<Option<(Arc<EntryContext>, String, i64)>>,
}

fn hash_keys(keys: &[&str]) -> u64 {
    foldhash::fast::FixedState::default().hash_one(keys)
}

fn poisoned() -> StoreError {
    StoreError::Corrupt("the log dictionary cache lock was poisoned".into())
}

impl Dictionary {
    /// The id of `text` of `kind`, stored on first use (inside the caller's transaction).
    fn intern(&self, conn: &Connection, kind: Kind, text: &str) -> Result<i64, StoreError> {
        let id = match conn
            .prepare_cached("SELECT id FROM log_dictionary WHERE kind = ?1 AND text = ?2")?
            .query_row(params![kind as u8, text], |r| r.get(0))
            .optional()?
        {
            Some(id) => id,
            None => {
                conn.prepare_cached("INSERT INTO log_dictionary (kind, text) VALUES (?1, ?2)")?
                    .execute(params![kind as u8, text])?;
                conn.last_insert_rowid()
            }
        };
        Ok(id)
    }

    /// The id of the key list `keys` (0 for none).
    pub(super) fn keys_id(&self, conn: &Connection, keys: &[&str]) -> Result<i64, StoreError> {
        if keys.is_empty() {
            return Ok(0);
        }
        let hash = hash_keys(keys);
        let same = |k: &Arc<Vec<String>>| k.len() == keys.len() && k.iter().zip(keys).all(|(a, b)| a == b);
        if let Some(found) = self.key_ids.read().map_err(|_| poisoned())?.get(&hash)
            && let Some((_, id)) = found.iter().find(|(k, _)| same(k))
        {
            return Ok(*id);
        }
        let text = serde_json::to_string(keys).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let id = self.intern(conn, Kind::Keys, &text)?;
        let owned = Arc::new(keys.iter().map(|k| (*k).to_owned()).collect());
        self.key_ids.write().map_err(|_| poisoned())?.entry(hash).or_default().push((owned, id));
        Ok(id)
    }

    /// The id of a job's mapping set.
    pub(super) fn mappings_id(&self, conn: &Connection, set: &Arc<MappingSet>) -> Result<i64, StoreError> {
        let address = Arc::as_ptr(set) as usize;
        if let Some((_, id)) = self.mapping_ids.read().map_err(|_| poisoned())?.get(&address) {
            return Ok(*id);
        }
        let text = serde_json::to_string(&set.0).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let id = self.intern(conn, Kind::Mappings, &text)?;
        self.mapping_ids.write().map_err(|_| poisoned())?.insert(address, (Arc::clone(set), id));
        Ok(id)
    }

    /// The decoded value of `id`.
    pub(super) fn get(&self, conn: &Connection, id: i64) -> Result<Entry, StoreError> {
        if let Some(e) = self.by_id.read().map_err(|_| poisoned())?.get(&id) {
            return Ok(e.clone());
        }
        let (kind, text): (u8, String) = conn
            .prepare_cached("SELECT kind, text FROM log_dictionary WHERE id = ?1")?
            .query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?
            .ok_or_else(|| StoreError::Corrupt(format!("log dictionary entry {id} is missing")))?;
        let bad = |e: serde_json::Error| StoreError::Corrupt(format!("log dictionary entry {id}: {e}"));
        let entry = match kind {
            1 => Entry::Keys(Arc::new(serde_json::from_str(&text).map_err(bad)?)),
            2 => Entry::Mappings(Arc::new(MappingSet(serde_json::from_str(&text).map_err(bad)?))),
            other => return Err(StoreError::Corrupt(format!("log dictionary entry {id} has kind {other}"))),
        };
        self.by_id.write().map_err(|_| poisoned())?.insert(id, entry.clone());
        Ok(entry)
    }

    pub(super) fn keys(&self, conn: &Connection, id: i64) -> Result<Arc<Vec<String>>, StoreError> {
        if id == 0 {
            return Ok(Arc::default());
        }
        match self.get(conn, id)? {
            Entry::Keys(k) => Ok(k),
            Entry::Mappings(_) => Err(StoreError::Corrupt(format!("log dictionary entry {id} is not a key list"))),
        }
    }

    pub(super) fn mappings(&self, conn: &Connection, id: i64) -> Result<Arc<MappingSet>, StoreError> {
        match self.get(conn, id)? {
            Entry::Mappings(m) => Ok(m),
            Entry::Keys(_) => Err(StoreError::Corrupt(format!("log dictionary entry {id} is not a mapping set"))),
        }
    }

    /// The `log_context` id of this context and cycle, stored on first use.
    pub(super) fn context_id(
        &self,
        conn: &Connection,
        context: &Arc<EntryContext>,
        cycle_id: &str,
    ) -> Result<i64, StoreError> {
        let mut last = self.last_context.lock().map_err(|_| poisoned())?;
        if let Some((c, cycle, id)) = last.as_ref()
            && Arc::ptr_eq(c, context)
            && cycle == cycle_id
        {
            return Ok(*id);
        }
        let id = self.find_context(conn, context, cycle_id)?;
        *last = Some((Arc::clone(context), cycle_id.to_owned(), id));
        Ok(id)
    }

    fn find_context(&self, conn: &Connection, context: &Arc<EntryContext>, cycle_id: &str) -> Result<i64, StoreError> {
        let key = (Arc::clone(context), Arc::<str>::from(cycle_id));
        if let Some(id) = self.context_ids.read().map_err(|_| poisoned())?.get(&key) {
            return Ok(*id);
        }
        let text = serde_json::to_string(&**context).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let found: Option<i64> = conn
            .prepare_cached("SELECT id FROM log_context WHERE context = ?1 AND cycle_id = ?2")?
            .query_row(params![text, cycle_id], |r| r.get(0))
            .optional()?;
        let id = match found {
            Some(id) => id,
            None => {
                let c = &**context;
                conn.prepare_cached(
                    "INSERT INTO log_context (context, cycle_id, job_id, tenant_id, sp_id, sp_name, source_system,
                        target_system) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?
                .execute(params![
                    text,
                    cycle_id,
                    c.job_id,
                    c.tenant_id,
                    c.service_principal.id,
                    c.service_principal.display_name,
                    c.source_system.display_name,
                    c.target_system.display_name
                ])?;
                conn.last_insert_rowid()
            }
        };
        let mut ids = self.context_ids.write().map_err(|_| poisoned())?;
        if ids.len() > 4096 {
            // One context per cycle: keep the writer's cache from growing with the log.
            ids.clear();
        }
        ids.insert(key, id);
        Ok(id)
    }

    /// The context and cycle of `log_context` row `id`.
    pub(super) fn context(&self, conn: &Connection, id: i64) -> Result<CycleContext, StoreError> {
        if let Some(c) = self.contexts.read().map_err(|_| poisoned())?.get(&id) {
            return Ok(c.clone());
        }
        let (text, cycle): (String, String) = conn
            .prepare_cached("SELECT context, cycle_id FROM log_context WHERE id = ?1")?
            .query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?
            .ok_or_else(|| StoreError::Corrupt(format!("log context {id} is missing")))?;
        let context: EntryContext =
            serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("log context {id}: {e}")))?;
        let value = CycleContext { context: Arc::new(context), cycle_id: cycle.into() };
        let mut contexts = self.contexts.write().map_err(|_| poisoned())?;
        if contexts.len() > 4096 {
            contexts.clear();
        }
        contexts.insert(id, value.clone());
        Ok(value)
    }

    /// Forget every value → id mapping (after a reset deleted the rows); id → value mappings stay true.
    pub(super) fn forget_ids(&self) -> Result<(), StoreError> {
        self.context_ids.write().map_err(|_| poisoned())?.clear();
        self.key_ids.write().map_err(|_| poisoned())?.clear();
        self.mapping_ids.write().map_err(|_| poisoned())?.clear();
        *self.last_context.lock().map_err(|_| poisoned())? = None;
        Ok(())
    }
}
