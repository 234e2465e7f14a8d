//! The test-suite control features below HTTP (README "Using it from a test suite"): the state-owner registry
//! a reset walks, snapshots and seeds, the whole-state operations over `AppState`, and the clock's durations.
//! Their routes are in `api::snapshot` and `api::clock` (and `api::admin` for reset).

pub mod duration;
pub mod lifecycle;
pub mod owners;
pub mod snapshot;
pub mod users;

pub use owners::{StateOwner, StateOwners};
