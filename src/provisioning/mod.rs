//! The provisioning side: the job registry (quotas, schema, run state), the staging gauge that bounds how
//! many accepted operations may wait, and the engine: one worker per job running the pipeline over batches,
//! with scoping, mapping and the log entries it writes.

pub mod jobs;
pub mod log;
pub mod pipeline;
pub mod rate_limit;
pub mod retention;
pub mod schema;
pub mod scoping;
pub mod staging_gauge;
pub mod status;
pub mod worker;
