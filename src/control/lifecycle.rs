//! Whole-state operations over [`AppState`] (README "Complete reset", "Snapshots and seeding", "Virtual
//! clock"): what `/_emulator/reset`, `/_emulator/export`, `/_emulator/import` and `/_emulator/clock` do, apart
//! from HTTP. A reset empties the store and resets every registered in-memory owner (`control::owners`); an
//! import replaces the store's state and then reloads the jobs from it, as a start does.

use time::OffsetDateTime;

use crate::clock::ClockReading;
use crate::control::snapshot;
use crate::state::AppState;
use crate::store::{StateRecords, StoreError};

fn job_ids(state: &AppState) -> Vec<String> {
    let mut ids: Vec<String> = state.jobs.all().map(|j| j.id.clone()).collect();
    ids.sort();
    ids
}

/// Back to how a fresh start with the same configuration finds the emulator.
pub async fn reset(state: &AppState) -> Result<(), StoreError> {
    let dropped = state.store.reset(job_ids(state)).await?;
    state.staging.release(dropped.operations.values().sum());
    state.owners.reset_all();
    for job in state.jobs.all() {
        job.mark_through(dropped.through);
    }
    Ok(())
}

/// The snapshot document of the current state.
pub async fn export(state: &AppState) -> Result<Vec<u8>, StoreError> {
    let records = state.store.export_state(job_ids(state)).await?;
    Ok(snapshot::render(&records))
}

/// Why an import did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The document cannot be imported (the message names the problem); nothing changed.
    #[error("{0}")]
    Document(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Replaces the state with a snapshot's or a seed's (`body`). The in-memory state that is not part of a
/// snapshot (the clock, and what other owners keep about requests) stays.
pub async fn import(state: &AppState, body: &[u8]) -> Result<(), ImportError> {
    let ids = job_ids(state);
    let records: StateRecords = snapshot::read(body, &ids, state.clock.now()).map_err(ImportError::Document)?;
    let staged: usize = records.staged.iter().map(|r| r.operations.len()).sum();
    let dropped = state.store.import_state(records, ids).await?;
    state.staging.release(dropped.operations.values().sum());
    state.staging.hold(staged);
    state.jobs.reset();
    for job in state.jobs.all() {
        let record = state.store.resume_job(&job.id).await?;
        // The document's schemas were compiled when it was read.
        job.resume(record).map_err(|e| ImportError::Document(e.to_string()))?;
        job.wake.notify_one();
    }
    Ok(())
}

/// A change of the virtual clock, applied by `change`; when it moved time backwards, every job's quotas are
/// full again (a quota's window would otherwise hold requests back until virtual time caught up).
pub fn change_clock(state: &AppState, change: impl FnOnce() -> Option<ClockReading>) -> Option<ClockReading> {
    let before: OffsetDateTime = state.clock.now();
    let reading = change()?;
    if reading.now < before {
        for job in state.jobs.all() {
            job.limiter.reset();
        }
    }
    Some(reading)
}
