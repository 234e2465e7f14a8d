//! The emulator's test-suite controls that hold state of their own, without HTTP (the routes are in `api/`).

pub mod metrics;
