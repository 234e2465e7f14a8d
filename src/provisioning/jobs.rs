//! The job registry: the configured service principals and their synchronization jobs, each with its own
//! rate limiter and wake-up signal for its worker. Looked up by the Graph path's `{spId}` and `{jobId}`.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Notify;

use super::rate_limit::JobLimiter;
use crate::clock::SharedClock;
use crate::config::{Config, JobConfig};

/// One synchronization job.
#[derive(Debug)]
pub struct Job {
    pub id: String,
    pub service_principal_id: String,
    pub service_principal_name: String,
    pub config: JobConfig,
    pub limiter: JobLimiter,
    /// Wakes the job's worker when operations are staged.
    pub wake: Notify,
}

/// Why a lookup failed: the id that does not exist (spec A.1 404 row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownResource(pub String);

/// All configured jobs.
#[derive(Debug, Default)]
pub struct JobRegistry {
    service_principals: HashMap<String, Vec<Arc<Job>>>,
}

impl JobRegistry {
    pub fn from_config(config: &Config, clock: &SharedClock) -> Self {
        let mut service_principals = HashMap::new();
        for sp in &config.service_principals {
            let jobs = sp
                .jobs
                .iter()
                .map(|job| {
                    Arc::new(Job {
                        id: job.id.clone(),
                        service_principal_id: sp.id.clone(),
                        service_principal_name: sp.display_name.clone(),
                        config: job.clone(),
                        limiter: JobLimiter::new(&job.quotas(), Arc::clone(clock)),
                        wake: Notify::new(),
                    })
                })
                .collect();
            service_principals.insert(sp.id.to_ascii_lowercase(), jobs);
        }
        Self { service_principals }
    }

    /// The job `job_id` of service principal `sp_id` (the SP id is a GUID, compared case-insensitively).
    pub fn find(&self, sp_id: &str, job_id: &str) -> Result<&Arc<Job>, UnknownResource> {
        let jobs = self
            .service_principals
            .get(&sp_id.to_ascii_lowercase())
            .ok_or_else(|| UnknownResource(sp_id.to_owned()))?;
        jobs.iter().find(|j| j.id == job_id).ok_or_else(|| UnknownResource(job_id.to_owned()))
    }

    /// Every job, in no particular order.
    pub fn all(&self) -> impl Iterator<Item = &Arc<Job>> {
        self.service_principals.values().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;

    #[test]
    fn lookups_name_the_missing_id() {
        let cfg = Config::defaults().unwrap();
        let clock: SharedClock = Arc::new(SystemClock);
        let reg = JobRegistry::from_config(&cfg, &clock);
        let sp = &cfg.service_principals[0];
        let job = &sp.jobs[0].id;
        assert_eq!(reg.find(&sp.id.to_uppercase(), job).unwrap().id, *job);
        assert_eq!(reg.find("nope", job).unwrap_err(), UnknownResource("nope".into()));
        assert_eq!(reg.find(&sp.id, "J").unwrap_err(), UnknownResource("J".into()));
        assert_eq!(reg.all().count(), 1);
    }
}
