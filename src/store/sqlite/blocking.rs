//! Runs a store call's blocking SQLite work from async code without a thread hop where the runtime allows.
//!
//! A hop to Tokio's blocking pool and back costs about 110 µs on a small VM — more than the SQLite work of a
//! single-resource read or write. On the multi-thread runtime (the server's) the work runs in place instead
//! (`block_in_place`: the worker hands its other tasks to another thread while this one waits on SQLite);
//! on a current-thread runtime, where that is not allowed, it still goes to the blocking pool.

use tokio::runtime::{Handle, RuntimeFlavor};

use super::super::StoreError;

/// Runs `f` to completion off the async scheduler's hot path.
pub(super) async fn run<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    if Handle::current().runtime_flavor() == RuntimeFlavor::MultiThread {
        return tokio::task::block_in_place(f);
    }
    tokio::task::spawn_blocking(f).await.map_err(|e| StoreError::Task(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runs_in_place_on_the_servers_runtime() {
        let worker = std::thread::current().id();
        let ran_on = run(move || Ok(std::thread::current().id())).await.unwrap();
        assert_eq!(ran_on, worker, "no hop to another thread");
    }

    #[tokio::test]
    async fn goes_to_the_blocking_pool_on_a_current_thread_runtime() {
        let caller = std::thread::current().id();
        let ran_on = run(move || Ok(std::thread::current().id())).await.unwrap();
        assert_ne!(ran_on, caller, "block_in_place is not allowed here");
        let failed = run(|| Err::<(), _>(StoreError::Task("x".into()))).await;
        assert!(matches!(failed, Err(StoreError::Task(m)) if m == "x"));
    }
}
