//! `AppState`: the one cloneable bag of cheap handles every handler receives (CONTRIBUTING.md code rule 4).
//! The handles sit behind one `Arc`: a request clones the state once per middleware layer and extractor, and
//! one reference count is cheaper to move than fourteen.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::auth::{ClientRegistry, SigningKeys, TokenValidator};
use crate::clock::{SharedClock, VirtualClock};
use crate::config::Config;
use crate::control::faults::Faults;
use crate::control::journal::Journal;
use crate::control::metrics::Metrics;
use crate::control::owners::StateOwners;
use crate::control::report::Report;
use crate::provisioning::jobs::JobRegistry;
use crate::provisioning::staging_gauge::StagingGauge;
use crate::store::{Store, StoreError};

#[derive(Debug, Clone)]
pub struct AppState(Arc<Handles>);

/// What [`AppState`] shares; its fields are read through the state (`state.store`).
#[derive(Debug)]
pub struct Handles {
    pub config: Arc<Config>,
    /// Virtual time: the injected clock plus the offset `/_emulator/clock` sets.
    pub clock: Arc<VirtualClock>,
    pub store: Store,
    pub validator: Arc<TokenValidator>,
    /// The client applications the token endpoint authenticates.
    pub clients: Arc<ClientRegistry>,
    pub jobs: Arc<JobRegistry>,
    pub staging: Arc<StagingGauge>,
    /// Fault rules (`/_emulator/faults`).
    pub faults: Arc<Faults>,
    /// The request journal (`/_emulator/journal`).
    pub journal: Arc<Journal>,
    /// The client conformance report (`/_emulator/report`).
    pub report: Arc<Report>,
    /// Every piece of in-memory state a reset brings back (`control::owners`).
    pub owners: StateOwners,
    /// What `GET /metrics` renders (one registry per application, not a process-global recorder).
    pub metrics: Metrics,
    ready: AtomicBool,
}

impl std::ops::Deref for AppState {
    type Target = Handles;

    fn deref(&self) -> &Handles {
        &self.0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Keys(#[from] crate::auth::KeyError),
    #[error(transparent)]
    ClientCertificate(#[from] crate::auth::ClientCertError),
    #[error("job schema: {0}")]
    Schema(#[from] crate::provisioning::schema::SchemaError),
}

impl AppState {
    /// Open storage and build every handle from `config`.
    pub async fn new(config: Config, clock: SharedClock) -> Result<Self, StateError> {
        let clock = Arc::new(VirtualClock::new(clock));
        let shared: SharedClock = clock.clone();
        let store = Store::from_config(&config.storage).await?;
        let keys = SigningKeys::load(&config.auth.signing_key_file, &config.auth.signing_cert_file)?;
        let clients = ClientRegistry::from_config(&config.clients)?;
        let validator = TokenValidator::new(keys, &config.tenant.id, config.auth.mode, config.auth.leeway_secs);
        let jobs = Arc::new(JobRegistry::from_config(&config, &shared)?);
        let mut pending = 0;
        for job in jobs.all() {
            let record = store.resume_job(&job.id).await?;
            let through = record.applied_through;
            job.resume(record)?;
            pending += store.backlog(&job.id, through).await?;
        }
        let faults = Arc::new(Faults::default());
        let journal = Arc::new(Journal::new(config.journal.capacity));
        let report = Arc::new(Report::default());
        let mut owners = StateOwners::default();
        owners.register("jobs", jobs.clone());
        owners.register("clock", clock.clone());
        owners.register("faults", faults.clone());
        owners.register("journal", journal.clone());
        owners.register("report", report.clone());
        let metrics = Metrics::new(jobs.all().map(|j| j.id.as_str()));
        let state = Self(Arc::new(Handles {
            metrics,
            clients: Arc::new(clients),
            owners,
            jobs,
            staging: Arc::new(StagingGauge::new(config.staging.queue_capacity, pending)),
            validator: Arc::new(validator),
            faults,
            journal,
            report,
            config: Arc::new(config),
            clock,
            store,
            ready: AtomicBool::new(false),
        }));
        crate::control::shared::take_on_all(&state).await?;
        Ok(state)
    }

    /// Persist a job's run state and status (after start, pause, restart).
    pub async fn save_job_state(&self, job: &crate::provisioning::jobs::Job) -> Result<(), StoreError> {
        let (paused, status) = job.snapshot();
        self.store.save_job_state(&job.id, paused, status).await
    }

    /// Mark the emulator ready (`/ready` answers 200 from then on).
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}
