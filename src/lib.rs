//! entra-inbound: a local, high-fidelity emulator of Microsoft Entra ID API-driven inbound provisioning.
//!
//! What it reproduces of the real service, from which public source and pinned by which test, is the contract
//! in `docs/fidelity.md`.
//!
//! Module map (dependencies point downwards; `ARCHITECTURE.md` has the data flow, the storage design and
//! what may depend on what):
//! - [`api`] — HTTP only: routing, middleware, extractors, handlers.
//! - [`auth`] — signing keys, token minting and validation, permissions.
//! - [`scim`] — SCIM protocol logic without HTTP (BulkRequest validation).
//! - [`scim_server`] — the SCIM 2.0 service provider (`/scim/v2`, `/admin/v1`): resources, queries, PATCH, Bulk.
//! - [`provisioning`] — jobs, quotas, staging back-pressure, the job worker and its pipeline, log entries.
//! - [`store`] — the storage boundary: intent-named operations, typed records; embedded SQLite behind it.
//! - [`control`] — test-suite controls that keep state: Prometheus metrics.
//! - [`config`], [`clock`], [`error`], [`state`], [`server`], [`telemetry`], [`cli`] — plumbing.
//! - [`upload`] — `entra-inbound upload`: HR files to bulkUpload requests, and each record's outcome.
//! - [`expr`] — the attribute-mapping expression language; [`odata`] — OData query options → a checked
//!   page query the store translates.
//! - [`directory`] — the emulated Entra user model and its rules.
//! - [`parse`] — the shared parser toolkit; [`graph_time`] — Graph timestamp forms.
//!
//! # Embedding the emulator in a Rust test
//!
//! Tests can run the real application in-process, exactly as the binary serves it: bind on port 0 (a free
//! port), read the bound base URL, serve until a shutdown future resolves. A [`clock::ManualClock`] instead of
//! the system clock makes token lifetimes and `activityDateTime` deterministic; `tests/it/support.rs` is a
//! complete fixture built this way.
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use entra_inbound::clock::SystemClock;
//! use entra_inbound::config::{AuthMode, Config};
//! use entra_inbound::server::Server;
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = Config::defaults()?; // the embedded defaults: one tenant, service principal and job
//! config.server.listen = "127.0.0.1:0".parse()?; // port 0: the OS picks a free port
//! config.auth.mode = AuthMode::Lenient; // any bearer token will do (or mint real ones: `auth::issue_token`)
//! let server = Server::bind(config, Arc::new(SystemClock)).await?;
//! let base = server.state().config.public_base_url(); // e.g. "http://127.0.0.1:41237"
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let serving = tokio::spawn(server.serve(async {
//!     let _ = stopped.await;
//! }));
//!
//! // POST {base}/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}/bulkUpload (application/scim+json),
//! // POST {base}/_emulator/jobs/{job}/drain to wait until it is processed,
//! // GET {base}/v1.0/auditLogs/provisioning and {base}/v1.0/users to assert on the outcome.
//! println!("emulator at {base}");
//!
//! let _ = stop.send(()); // graceful shutdown: requests in flight finish first
//! serving.await??;
//! # Ok(())
//! # }
//! ```

pub mod api;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod control;
pub mod directory;
pub mod error;
pub mod expr;
pub mod graph_time;
pub mod odata;
pub mod parse;
pub mod provisioning;
pub mod scim;
pub mod scim_server;
pub mod server;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod upload;

/// The application router, exactly as production serves it.
pub fn app(state: state::AppState) -> axum::Router {
    api::router(state)
}
