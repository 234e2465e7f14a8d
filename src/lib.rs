//! entra-inbound: a local, high-fidelity emulator of Microsoft Entra ID API-driven inbound provisioning.
//!
//! Module map (dependencies point downwards, DESIGN.md "Layout"):
//! - [`api`] — HTTP only: routing, middleware, extractors, handlers.
//! - [`auth`] — signing keys, token minting and validation, permissions.
//! - [`scim`] — SCIM protocol logic without HTTP (BulkRequest validation).
//! - [`provisioning`] — job registry, quotas, staging back-pressure.
//! - [`store`] — embedded SQLite: migrations and queries.
//! - [`config`], [`clock`], [`error`], [`state`], [`server`], [`telemetry`], [`cli`] — plumbing.
//! - [`expr`] — the attribute-mapping expression language; [`odata`] — OData query options → SQL.
//! - [`directory`] — the emulated Entra user model and its rules.
//! - [`parse`] — the shared parser toolkit; [`graph_time`] — Graph timestamp forms.

pub mod api;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod directory;
pub mod error;
pub mod expr;
pub mod graph_time;
pub mod odata;
pub mod parse;
pub mod provisioning;
pub mod scim;
pub mod server;
pub mod state;
pub mod store;
pub mod telemetry;

/// The application router, exactly as production serves it.
pub fn app(state: state::AppState) -> axum::Router {
    api::router(state)
}
