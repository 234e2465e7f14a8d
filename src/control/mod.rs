//! The test-suite control features below HTTP (README "Using it from a test suite"): the state-owner registry
//! a reset walks, snapshots and seeds, the whole-state operations over `AppState`, the clock's durations, fault
//! rules, the request journal, the client conformance report, the metrics registry, and what of these several
//! processes on one PostgreSQL database share (`shared`). Their routes are in
//! `api/` (`api::snapshot`, `api::clock`, `api::faults`, `api::journal`, `api::report`, `api::admin` for reset).

pub mod duration;
pub mod faults;
pub mod journal;
pub mod lifecycle;
pub mod metrics;
pub mod owners;
pub mod report;
pub mod shared;
pub mod snapshot;
pub mod users;

pub use owners::{StateOwner, StateOwners};
