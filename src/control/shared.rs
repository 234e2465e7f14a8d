//! Control state on a shared database (README "Running several replicas"): the virtual clock and the fault
//! rules one process changes are written to the store and taken on by every other process on the database (a
//! [`StoreNotice::Control`](crate::store::StoreNotice)), a rule's `times` are used up once across all of them,
//! and the request journal is the store's, written by every process before it answers. On the embedded store
//! all of it is the process's own, as before: every function here checks [`Store::is_shared`] first.
//!
//! [`Store::is_shared`]: crate::store::Store::is_shared

use serde_json::{Value, json};

use crate::control::faults::{Faults, Hit, Rule};
use crate::control::journal::{JournalEntry, JournalQuery};
use crate::control::lifecycle;
use crate::state::AppState;
use crate::store::{ControlKey, StoreError};

/// Takes on what the store keeps for every key (at start, and after missed notices).
pub async fn take_on_all(state: &AppState) -> Result<(), StoreError> {
    if state.store.is_shared() {
        for key in [ControlKey::Clock, ControlKey::Faults] {
            take_on(state, key).await?;
        }
    }
    Ok(())
}

/// Takes on what the store keeps under `key` (another process changed it).
pub async fn take_on(state: &AppState, key: ControlKey) -> Result<(), StoreError> {
    let doc = state.store.control(key).await?;
    match key {
        ControlKey::Clock => {
            let offset = doc.as_ref().map(clock_offset).transpose()?;
            lifecycle::change_clock(state, || Some(state.clock.adopt(offset)));
        }
        ControlKey::Faults => state.faults.sync(rules(doc)?),
    }
    Ok(())
}

/// Shares the clock's offset after this process changed it.
pub async fn share_clock(state: &AppState, offset: Option<time::Duration>) -> Result<(), StoreError> {
    if !state.store.is_shared() {
        return Ok(());
    }
    let doc = offset.map(|o| json!({"seconds": o.whole_seconds(), "nanoseconds": o.subsec_nanoseconds()}));
    state.store.change_control(ControlKey::Clock, |_| (doc, ())).await
}

fn clock_offset(doc: &Value) -> Result<time::Duration, StoreError> {
    let seconds = doc["seconds"].as_i64();
    let nanoseconds = doc["nanoseconds"].as_i64().and_then(|n| i32::try_from(n).ok());
    match (seconds, nanoseconds) {
        (Some(s), Some(n)) => Ok(time::Duration::new(s, n)),
        _ => Err(StoreError::Corrupt(format!("the shared clock offset {doc}"))),
    }
}

fn rules(doc: Option<Value>) -> Result<Vec<Rule>, StoreError> {
    doc.map_or(Ok(Vec::new()), |d| {
        serde_json::from_value(d).map_err(|e| StoreError::Corrupt(format!("the shared fault rules: {e}")))
    })
}

/// Applies `change` to the fault rules: on a shared database to the stored set, which this process then takes
/// on (and every other process, by the notice); on the embedded store to this process's set.
pub async fn change_faults<R: Send>(
    state: &AppState,
    change: impl FnOnce(&Faults) -> R + Send,
) -> Result<R, StoreError> {
    if !state.store.is_shared() {
        return Ok(change(&state.faults));
    }
    let (rules, out) = state
        .store
        .change_control(ControlKey::Faults, |doc| {
            let scratch = Faults::default();
            // A stored set that cannot be read is replaced, not kept failing every change.
            scratch.sync(rules(doc).unwrap_or_default());
            let out = change(&scratch);
            let rules = scratch.list();
            (Some(json!(rules)), (rules, out))
        })
        .await?;
    state.faults.sync(rules);
    Ok(out)
}

/// The fault rules in force: the stored set on a shared database (exactly what every process uses up),
/// else this process's.
pub async fn fault_rules(state: &AppState) -> Result<Vec<Rule>, StoreError> {
    if state.store.is_shared() {
        rules(state.store.control(ControlKey::Faults).await?)
    } else {
        Ok(state.faults.list())
    }
}

/// Whether a hit this process drew happens: always, unless its rule has `times` and, on a shared database, the
/// other processes used them up first.
pub async fn claim(state: &AppState, hit: &Hit) -> bool {
    if !hit.counted || !state.store.is_shared() {
        return true;
    }
    match change_faults(state, |faults| faults.use_once(&hit.rule_id)).await {
        Ok(claimed) => claimed,
        Err(e) => {
            tracing::warn!(rule = %hit.rule_id, error = %e, "claiming a fault rule's use failed; the hit happens");
            true
        }
    }
}

/// The error codes `engine` rules fail a job's next `n` operations with, in order (`None`: not failed; an
/// empty list when no rule is in force).
pub async fn engine_failures(state: &AppState, job_id: &str, n: usize) -> Vec<Option<String>> {
    let mut failures = Vec::new();
    if !state.faults.armed() {
        return failures;
    }
    for _ in 0..n {
        let failure = match state.faults.hit("engine", Some(job_id)) {
            Some(hit) if claim(state, &hit).await => hit.error_code,
            _ => None,
        };
        failures.push(failure);
    }
    failures
}

/// Adds an answered request to the journal: the store's on a shared database, else this process's.
pub async fn record(state: &AppState, entry: JournalEntry) {
    let capacity = state.journal.capacity();
    if !state.store.is_shared() {
        state.journal.record(entry);
    } else if capacity > 0
        && let Err(e) = state.store.journal_append(&entry, capacity).await
    {
        tracing::warn!(error = %e, "writing the request journal failed");
    }
}

/// The journal's entries `query` selects, newest first.
pub async fn journal(state: &AppState, query: &JournalQuery) -> Result<Vec<JournalEntry>, StoreError> {
    if state.store.is_shared() {
        state.store.journal_query(query, state.journal.capacity()).await
    } else {
        Ok(state.journal.query(query))
    }
}

/// Empties the journal.
pub async fn clear_journal(state: &AppState) -> Result<(), StoreError> {
    if state.store.is_shared() {
        return state.store.journal_clear().await;
    }
    state.journal.reset();
    Ok(())
}
