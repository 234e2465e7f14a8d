//! Typed configuration, layered: embedded `config/default.toml` → `--config FILE` → `ENTRA_INBOUND__…`
//! environment variables → command-line flags (README "Configuration").
//!
//! Design constraints: every struct denies unknown fields so a typo is an error that names the key; keys are
//! snake_case because config-rs folds key case; the defaults carry the fixed, documented ids.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use config::{Environment, File, FileFormat};
use serde::{Deserialize, Serialize};

/// The embedded defaults (also the documented reference of every key).
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// Environment prefix for layered keys: `ENTRA_INBOUND__SERVER__LISTEN`.
pub const ENV_PREFIX: &str = "ENTRA_INBOUND";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration error: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration error: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub staging: StagingConfig,
    pub logs: LogsConfig,
    pub journal: JournalConfig,
    pub tenant: TenantConfig,
    pub auth: AuthConfig,
    pub admin: AdminConfig,
    pub clients: Vec<ClientConfig>,
    pub service_principals: Vec<ServicePrincipalConfig>,
    pub tls: TlsConfig,
    pub scim: ScimConfig,
}

/// The SCIM 2.0 service provider's limits (`/scim/v2`, `/admin/v1`): advertised in its ServiceProviderConfig
/// and enforced.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScimConfig {
    /// `bulk.maxOperations`.
    pub max_operations: usize,
    /// `bulk.maxPayloadSize` in bytes, also the limit of every SCIM request body.
    pub max_payload_bytes: usize,
    /// `filter.maxResults`: the most resources a page holds.
    pub max_results: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub public_base_url: String,
    /// Address of the optional HTTPS listener; empty = no TLS listener.
    pub tls_listen: String,
    pub public_tls_base_url: String,
    pub request_timeout_secs: u64,
    /// A request's headers must be complete this long after its first byte (and a TLS handshake as fast).
    pub header_read_timeout_secs: u64,
    /// A connection with no request in progress and nothing received for this long is closed.
    pub keep_alive_timeout_secs: u64,
    /// Most connections open at once, both listeners together.
    pub max_connections: usize,
    pub body_limit_bytes: usize,
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// Where state is kept: the embedded store (default) or a PostgreSQL database shared by replicas.
    pub backend: Backend,
    /// The PostgreSQL connection URL (`postgres://user:password@host:port/database`); `postgres` only.
    pub url: String,
    pub data_dir: String,
    pub synchronous: Synchronous,
}

/// The storage backend (`storage.backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    Full,
    Normal,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StagingConfig {
    pub queue_capacity: usize,
}

/// How long provisioning log entries are kept (docs/fidelity.md, B.2: the real service keeps 30 days).
/// The request journal (`/_emulator/journal`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalConfig {
    /// Requests kept, the newest; 0 records none.
    pub capacity: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogsConfig {
    pub retention_days: u32,
    /// Most entries kept (the newest); 0 = no limit besides retention.
    pub max_entries: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    pub id: String,
    pub default_domain: String,
    pub verified_domains: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    pub mode: AuthMode,
    pub signing_key_file: String,
    pub signing_cert_file: String,
    pub token_lifetime_secs: u64,
    pub leeway_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    Strict,
    Lenient,
}

/// Certificate of the HTTPS listener: configured files, or a generated local CA and server certificate.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub cert_file: String,
    pub key_file: String,
    pub extra_names: Vec<String>,
    pub dir: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    pub token: String,
    /// The largest document `POST /_emulator/import` reads.
    pub import_limit_bytes: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    pub client_id: String,
    pub client_secret: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub roles: Vec<String>,
    /// Certificates (PEM file paths or inline PEM) whose keys may sign `client_assertion`s (private_key_jwt).
    #[serde(default)]
    pub certificates: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServicePrincipalConfig {
    pub id: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub jobs: Vec<JobConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobConfig {
    pub id: String,
    #[serde(default = "default_template")]
    pub template_id: String,
    #[serde(default)]
    pub state: JobState,
    #[serde(default = "default_rate_limit")]
    pub rate_limit: u32,
    #[serde(default = "default_rate_window")]
    pub rate_window_secs: u64,
    #[serde(default)]
    pub daily_cap: u32,
    #[serde(default)]
    pub rate_preset: RatePreset,
    #[serde(default = "default_true")]
    pub omitted_active_disables: bool,
    #[serde(default)]
    pub processing_delay_ms: u64,
    #[serde(default = "default_deletion_threshold")]
    pub deletion_threshold: usize,
    #[serde(default = "default_min_failures")]
    pub quarantine_min_failures: u64,
    #[serde(default = "default_failure_ratio")]
    pub quarantine_failure_ratio: f64,
    #[serde(default = "default_total_failures")]
    pub quarantine_total_failures: u64,
}

fn default_deletion_threshold() -> usize {
    500
}
fn default_min_failures() -> u64 {
    5000
}
fn default_failure_ratio() -> f64 {
    0.4
}
fn default_total_failures() -> u64 {
    40_000
}

fn default_true() -> bool {
    true
}

fn default_template() -> String {
    "API2AAD".to_owned()
}
fn default_rate_limit() -> u32 {
    40
}
fn default_rate_window() -> u64 {
    1
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    #[default]
    Started,
    Paused,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RatePreset {
    #[default]
    #[serde(rename = "")]
    None,
    Graph,
    Troubleshooting,
}

/// One rate quota: `limit` requests per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateQuota {
    pub limit: u32,
    pub window_secs: u64,
}

impl JobConfig {
    /// The quotas this job enforces, shortest window first.
    pub fn quotas(&self) -> Vec<RateQuota> {
        let (limit, window, daily) = match self.rate_preset {
            RatePreset::None => (self.rate_limit, self.rate_window_secs, self.daily_cap),
            RatePreset::Graph => (40, 1, 0),
            RatePreset::Troubleshooting => (40, 5, 6000),
        };
        let mut quotas = vec![RateQuota { limit, window_secs: window }];
        if daily > 0 {
            quotas.push(RateQuota { limit: daily, window_secs: 86_400 });
        }
        quotas
    }
}

/// Overrides that come from command-line flags (the last layer).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub log_format: Option<LogFormat>,
    pub public_base_url: Option<String>,
    pub tls_listen: Option<SocketAddr>,
    pub public_tls_base_url: Option<String>,
}

impl Config {
    /// Load the layered configuration from the process environment.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        Self::load_with_env(file, None, overrides)
    }

    /// Load with an explicit environment map (tests) instead of the process environment.
    pub fn load_with_env(
        file: Option<&Path>,
        env: Option<config::Map<String, String>>,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        let mut builder = config::Config::builder().add_source(File::from_str(DEFAULT_TOML, FileFormat::Toml));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::Invalid(format!("config file {} does not exist", path.display())));
            }
            builder = builder.add_source(File::from(path).format(FileFormat::Toml));
        }
        builder = builder.add_source(
            Environment::with_prefix(ENV_PREFIX)
                .prefix_separator("__")
                .separator("__")
                .list_separator(",")
                .with_list_parse_key("tenant.verified_domains")
                .with_list_parse_key("tls.extra_names")
                .try_parsing(true)
                .source(env),
        );
        let mut cfg: Config = builder.build()?.try_deserialize()?;
        if let Some(listen) = overrides.listen {
            cfg.server.listen = listen;
        }
        if let Some(dir) = &overrides.data_dir {
            cfg.storage.data_dir = dir.display().to_string();
        }
        if let Some(format) = overrides.log_format {
            cfg.server.log_format = format;
        }
        if let Some(url) = &overrides.public_base_url {
            cfg.server.public_base_url = url.clone();
        }
        if let Some(addr) = overrides.tls_listen {
            cfg.server.tls_listen = addr.to_string();
        }
        if let Some(url) = &overrides.public_tls_base_url {
            cfg.server.public_tls_base_url = url.clone();
        }
        cfg.validate()?;
        Ok(cfg)
    }

    /// The embedded defaults alone.
    pub fn defaults() -> Result<Config, ConfigError> {
        Self::load_with_env(None, Some(config::Map::new()), &Overrides::default())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        if uuid::Uuid::parse_str(&self.tenant.id).is_err() {
            return invalid(format!("tenant.id '{}' is not a GUID", self.tenant.id));
        }
        let mut seen = std::collections::HashSet::new();
        for sp in &self.service_principals {
            for job in &sp.jobs {
                if !seen.insert(job.id.as_str()) {
                    return invalid(format!("job id '{}' is configured twice", job.id));
                }
                if job.quotas().iter().any(|q| q.limit == 0 || q.window_secs == 0) {
                    return invalid(format!("job '{}': rate limits must be positive", job.id));
                }
            }
        }
        match (self.storage.backend, self.storage.url.trim().is_empty()) {
            (Backend::Postgres, true) => {
                return invalid(
                    "storage.url must be set when storage.backend is \"postgres\" (postgres://user:password@host:port/database)"
                        .into(),
                );
            }
            (Backend::Postgres, false) => {
                if let Err(e) = self.storage.url.parse::<tokio_postgres::Config>() {
                    return invalid(format!("storage.url is not a PostgreSQL connection URL: {e}"));
                }
            }
            (Backend::Sqlite, false) => {
                return invalid("storage.url is only read when storage.backend is \"postgres\"".into());
            }
            (Backend::Sqlite, true) => {}
        }
        if self.logs.retention_days == 0 {
            return invalid("logs.retention_days must be at least 1".into());
        }
        if self.admin.import_limit_bytes == 0 {
            return invalid("admin.import_limit_bytes must be positive".into());
        }
        if self.server.body_limit_bytes == 0 {
            return invalid("server.body_limit_bytes must be positive".into());
        }
        if self.scim.max_operations == 0 || self.scim.max_payload_bytes == 0 || self.scim.max_results == 0 {
            return invalid("scim.max_operations, scim.max_payload_bytes and scim.max_results must be positive".into());
        }
        if self.server.header_read_timeout_secs == 0 || self.server.keep_alive_timeout_secs == 0 {
            return invalid(
                "server.header_read_timeout_secs and server.keep_alive_timeout_secs must be positive".into(),
            );
        }
        if !(1..=tokio::sync::Semaphore::MAX_PERMITS).contains(&self.server.max_connections) {
            return invalid(format!(
                "server.max_connections must be between 1 and {}",
                tokio::sync::Semaphore::MAX_PERMITS
            ));
        }
        for (key, url) in [
            ("server.public_base_url", &self.server.public_base_url),
            ("server.public_tls_base_url", &self.server.public_tls_base_url),
        ] {
            if !url.is_empty() && !is_base_url(url) {
                return invalid(format!(
                    "{key} '{url}' is not a base URL like https://entra:8443 (http:// or https://, a host, an optional \
                     port and path; no query or fragment)"
                ));
            }
        }
        self.tls_listen()?;
        if self.tls.cert_file.is_empty() != self.tls.key_file.is_empty() {
            return invalid("tls.cert_file and tls.key_file must be set together".into());
        }
        Ok(())
    }

    /// Base URL of the plain-HTTP listener: `server.public_base_url`, else its own address. Links in responses
    /// follow the listener a request came in on (`api::BaseUrl`); this one is for the banner and the logs.
    pub fn public_base_url(&self) -> String {
        let configured = self.server.public_base_url.trim_end_matches('/');
        if configured.is_empty() { format!("http://{}", self.server.listen) } else { configured.to_owned() }
    }

    /// The HTTPS listener's address, when one is configured.
    pub fn tls_listen(&self) -> Result<Option<SocketAddr>, ConfigError> {
        let raw = self.server.tls_listen.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        raw.parse().map(Some).map_err(|_| {
            ConfigError::Invalid(format!("server.tls_listen '{raw}' is not an address like 127.0.0.1:8443"))
        })
    }

    /// Base URL of the HTTPS listener, when there is one: `server.public_tls_base_url`, else its own address. An
    /// unspecified bind address (0.0.0.0, ::) is published as `localhost`, a name the generated certificate holds.
    pub fn public_tls_base_url(&self) -> Option<String> {
        let configured = self.server.public_tls_base_url.trim_end_matches('/');
        if !configured.is_empty() {
            return Some(configured.to_owned());
        }
        let addr = self.tls_listen().ok().flatten()?;
        Some(if addr.ip().is_unspecified() {
            format!("https://localhost:{}", addr.port())
        } else {
            format!("https://{addr}")
        })
    }

    /// The data directory, when state is durable.
    pub fn data_dir(&self) -> Option<PathBuf> {
        (!self.storage.data_dir.is_empty()).then(|| PathBuf::from(&self.storage.data_dir))
    }

    /// The effective configuration as JSON with secrets redacted (`print-config`, `/_emulator/config`).
    pub fn redacted(&self) -> serde_json::Value {
        let mut copy = self.clone();
        for c in &mut copy.clients {
            c.client_secret = "***".into();
        }
        if !copy.admin.token.is_empty() {
            copy.admin.token = "***".into();
        }
        if !copy.storage.url.is_empty() {
            copy.storage.url = "***".into(); // it may hold a password
        }
        serde_json::to_value(copy).unwrap_or(serde_json::Value::Null)
    }
}

/// `http://` or `https://`, a non-empty authority, an optional path; no query, fragment, space or control
/// character (links are built by appending to it, and it goes into `Location` headers).
fn is_base_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://")) else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    !authority.is_empty()
        && !authority.contains('@')
        && !rest.contains(['?', '#'])
        && !rest.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Option<config::Map<String, String>> {
        Some(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn defaults_carry_the_documented_ids() {
        let c = Config::defaults().unwrap();
        assert_eq!(c.tenant.id, "c0ffee00-0000-4000-8000-000000000001");
        assert_eq!(c.service_principals[0].id, "c0ffee00-0000-4000-8000-0000000000a1");
        assert_eq!(
            c.service_principals[0].jobs[0].id,
            "API2AAD.c0ffee00000040008000000000000001.c0ffee00-0000-4000-8000-0000000000b1"
        );
        assert_eq!(c.clients[0].client_id, "c0ffee00-0000-4000-8000-0000000000c1");
        assert_eq!(c.clients[0].client_secret, "emulator-secret");
        assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.public_base_url(), "http://127.0.0.1:8080");
    }

    #[test]
    fn file_then_env_then_flags_override_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[server]\nlisten = \"127.0.0.1:9000\"\nrequest_timeout_secs = 5\n").unwrap();
        let c = Config::load_with_env(
            Some(&path),
            env(&[("ENTRA_INBOUND__SERVER__REQUEST_TIMEOUT_SECS", "7")]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.server.listen.port(), 9000);
        assert_eq!(c.server.request_timeout_secs, 7);
        let c = Config::load_with_env(
            Some(&path),
            env(&[]),
            &Overrides { listen: Some("127.0.0.1:9100".parse().unwrap()), ..Default::default() },
        )
        .unwrap();
        assert_eq!(c.server.listen.port(), 9100);
    }

    #[test]
    fn unknown_keys_are_errors_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[server]\nlisten_addr = \"127.0.0.1:9000\"\n").unwrap();
        let err = Config::load_with_env(Some(&path), env(&[]), &Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("listen_addr"), "{err}");
        let err = Config::load_with_env(None, env(&[("ENTRA_INBOUND__TENANT__COLOUR", "x")]), &Overrides::default())
            .unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
    }

    #[test]
    fn several_service_principals_and_jobs_can_be_configured() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            r#"
[[service_principals]]
id = "11111111-0000-4000-8000-000000000001"
display_name = "Employees"
[[service_principals.jobs]]
id = "API2AAD.c0ffee00000040008000000000000001.11111111-0000-4000-8000-0000000000b1"
[[service_principals]]
id = "22222222-0000-4000-8000-000000000001"
display_name = "Contractors"
[[service_principals.jobs]]
id = "API2AAD.c0ffee00000040008000000000000001.22222222-0000-4000-8000-0000000000b1"
state = "paused"
rate_preset = "troubleshooting"
"#,
        )
        .unwrap();
        let c = Config::load_with_env(Some(&path), env(&[]), &Overrides::default()).unwrap();
        assert_eq!(c.service_principals.len(), 2);
        let contractors = &c.service_principals[1].jobs[0];
        assert_eq!(contractors.state, JobState::Paused);
        assert_eq!(
            contractors.quotas(),
            vec![RateQuota { limit: 40, window_secs: 5 }, RateQuota { limit: 6000, window_secs: 86_400 }]
        );
    }

    #[test]
    fn tls_keys_are_checked_and_derive_the_https_base() {
        let c = Config::load_with_env(
            None,
            env(&[]),
            &Overrides { tls_listen: "0.0.0.0:8443".parse().ok(), ..Default::default() },
        )
        .unwrap();
        assert_eq!(c.public_tls_base_url().as_deref(), Some("https://localhost:8443"));
        assert_eq!(Config::defaults().unwrap().public_tls_base_url(), None);
        let err =
            Config::load_with_env(None, env(&[("ENTRA_INBOUND__SERVER__TLS_LISTEN", "nope")]), &Overrides::default())
                .unwrap_err();
        assert!(err.to_string().contains("server.tls_listen 'nope'"), "{err}");
        let err =
            Config::load_with_env(None, env(&[("ENTRA_INBOUND__TLS__CERT_FILE", "c.pem")]), &Overrides::default())
                .unwrap_err();
        assert!(err.to_string().contains("tls.cert_file and tls.key_file"), "{err}");
    }

    #[test]
    fn connection_limits_must_be_positive() {
        let c = Config::defaults().unwrap();
        assert_eq!(
            (c.server.header_read_timeout_secs, c.server.keep_alive_timeout_secs, c.server.max_connections),
            (10, 60, 1024)
        );
        for key in ["HEADER_READ_TIMEOUT_SECS", "KEEP_ALIVE_TIMEOUT_SECS"] {
            let err = Config::load_with_env(
                None,
                env(&[(&format!("ENTRA_INBOUND__SERVER__{key}"), "0")]),
                &Overrides::default(),
            )
            .unwrap_err();
            assert!(err.to_string().contains("must be positive"), "{err}");
        }
        let err =
            Config::load_with_env(None, env(&[("ENTRA_INBOUND__SERVER__MAX_CONNECTIONS", "0")]), &Overrides::default())
                .unwrap_err();
        assert!(err.to_string().contains("server.max_connections must be between 1 and"), "{err}");
    }

    #[test]
    fn public_base_urls_must_be_http_or_https_bases() {
        let load = |key: &str, url: &str| {
            Config::load_with_env(None, env(&[(key, url)]), &Overrides::default()).map_err(|e| e.to_string())
        };
        for key in ["ENTRA_INBOUND__SERVER__PUBLIC_BASE_URL", "ENTRA_INBOUND__SERVER__PUBLIC_TLS_BASE_URL"] {
            for good in ["http://entra:8080", "https://entra:8443/", "https://[::1]:8443", "https://gw.example/entra"] {
                assert!(load(key, good).is_ok(), "{key}={good}");
            }
            for bad in ["entra:8080", "ftp://entra", "https://", "https://u@entra", "http://e/?a=1", "http://e/#x"] {
                let err = load(key, bad).unwrap_err();
                assert!(err.contains(&format!("'{bad}' is not a base URL")), "{err}");
            }
        }
        let flags = Overrides { public_tls_base_url: Some("https://entra:8443".into()), ..Default::default() };
        let c = Config::load_with_env(None, env(&[]), &flags).unwrap();
        assert_eq!(c.server.public_tls_base_url, "https://entra:8443");
        let err = Config::load_with_env(None, env(&[]), &Overrides { public_base_url: Some("x".into()), ..flags })
            .unwrap_err();
        assert!(err.to_string().contains("server.public_base_url 'x'"), "{err}");
    }

    #[test]
    fn duplicate_job_ids_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "[[service_principals]]\nid = \"a\"\n[[service_principals.jobs]]\nid = \"J\"\n[[service_principals.jobs]]\nid = \"J\"\n",
        )
        .unwrap();
        let err = Config::load_with_env(Some(&path), env(&[]), &Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("'J' is configured twice"), "{err}");
    }

    #[test]
    fn the_storage_backend_and_its_url_are_checked_together() {
        let load = |pairs: &[(&str, &str)]| Config::load_with_env(None, env(pairs), &Overrides::default());
        assert_eq!(load(&[]).unwrap().storage.backend, Backend::Sqlite);
        let err = load(&[("ENTRA_INBOUND__STORAGE__BACKEND", "postgres")]).unwrap_err().to_string();
        assert!(err.contains("storage.url must be set when storage.backend is \"postgres\""), "{err}");
        let err = load(&[
            ("ENTRA_INBOUND__STORAGE__BACKEND", "postgres"),
            ("ENTRA_INBOUND__STORAGE__URL", "postgres://a:b@h:notaport/d"),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("storage.url is not a PostgreSQL connection URL"), "{err}");
        let err = load(&[("ENTRA_INBOUND__STORAGE__URL", "postgres://h/d")]).unwrap_err().to_string();
        assert!(err.contains("storage.url is only read when storage.backend is \"postgres\""), "{err}");
        let err = load(&[("ENTRA_INBOUND__STORAGE__BACKEND", "mysql")]).unwrap_err().to_string();
        assert!(err.contains("mysql"), "{err}");
        let ok = load(&[
            ("ENTRA_INBOUND__STORAGE__BACKEND", "postgres"),
            ("ENTRA_INBOUND__STORAGE__URL", "postgres://entra:secret@db:5432/entra"),
        ])
        .unwrap();
        assert_eq!(ok.storage.backend, Backend::Postgres);
        assert_eq!(ok.redacted()["storage"]["url"], "***", "the URL may hold a password");
    }
}
