//! The provisioning side: the job registry with per-job quotas, and the staging gauge that bounds how many
//! accepted operations may wait for their job's worker.

pub mod jobs;
pub mod rate_limit;
pub mod staging_gauge;
