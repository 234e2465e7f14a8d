//! Log retention (docs/fidelity.md, B.2): entries older than `logs.retention_days` by the emulator's clock,
//! and with `logs.max_entries` all but the newest, are deleted — a bounded chunk after every committed batch
//! (so a busy emulator never grows past its bounds by more than a batch) and everything due once a minute
//! (so an idle one forgets old entries too).

use std::time::Duration;

use crate::state::AppState;
use crate::store::StoreError;

/// Deletes one chunk of what is due; the number deleted.
pub async fn expire_some(state: &AppState) -> Result<usize, StoreError> {
    let logs = &state.config.logs;
    let cutoff = state.clock.now() - time::Duration::days(i64::from(logs.retention_days));
    state.store.expire_logs(cutoff, (logs.max_entries > 0).then_some(logs.max_entries)).await
}

/// Deletes everything due, chunk by chunk.
pub async fn expire_all(state: &AppState) -> Result<usize, StoreError> {
    let mut total = 0;
    loop {
        match expire_some(state).await? {
            0 => return Ok(total),
            n => total += n,
        }
    }
}

/// Runs [`expire_all`] once a minute for as long as the runtime lives.
pub fn spawn(state: &AppState) {
    let state = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            match expire_all(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "expired provisioning log entries"),
                Err(e) => tracing::error!(error = %e, "log retention failed; retrying in a minute"),
            }
        }
    });
}
