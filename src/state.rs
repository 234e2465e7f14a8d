//! `AppState`: the one cloneable bag of cheap handles every handler receives (STYLE.md rule 4).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::auth::{SigningKeys, TokenValidator};
use crate::clock::SharedClock;
use crate::config::Config;
use crate::provisioning::jobs::JobRegistry;
use crate::provisioning::staging_gauge::StagingGauge;
use crate::store::{Store, StoreError, staging};

#[derive(Debug, Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    /// The public base URL (no trailing slash).
    pub base_url: Arc<str>,
    pub clock: SharedClock,
    pub store: Store,
    pub validator: Arc<TokenValidator>,
    pub jobs: Arc<JobRegistry>,
    pub staging: Arc<StagingGauge>,
    ready: Arc<AtomicBool>,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Keys(#[from] crate::auth::KeyError),
}

impl AppState {
    /// Open storage and build every handle from `config`.
    pub fn new(config: Config, clock: SharedClock) -> Result<Self, StateError> {
        let store = Store::open(config.data_dir().as_deref(), config.storage.synchronous)?;
        let keys = SigningKeys::load(&config.auth.signing_key_file, &config.auth.signing_cert_file)?;
        let validator = TokenValidator::new(keys, &config.tenant.id, config.auth.mode, config.auth.leeway_secs);
        let pending = store.call_blocking(|c| staging::count_all(c))?;
        Ok(Self {
            base_url: config.public_base_url().into(),
            jobs: Arc::new(JobRegistry::from_config(&config, &clock)),
            staging: Arc::new(StagingGauge::new(config.staging.queue_capacity, pending)),
            validator: Arc::new(validator),
            config: Arc::new(config),
            clock,
            store,
            ready: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Mark the emulator ready (`/ready` answers 200 from then on).
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}
