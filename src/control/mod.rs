//! What the control API (`/_emulator/*`) keeps for test suites, without HTTP: fault rules, the request journal,
//! the client conformance report. Each holder has an inherent `reset`.

pub mod faults;
pub mod journal;
pub mod report;
