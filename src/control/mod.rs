//! What the control API and the test-suite controls keep, without HTTP (the routes are in `api/`): fault rules,
//! the request journal, the client conformance report, Prometheus metrics. Each holder of resettable state has an
//! inherent `reset`.

pub mod faults;
pub mod journal;
pub mod metrics;
pub mod report;
