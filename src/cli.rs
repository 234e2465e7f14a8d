//! The command line (README "Command line"): `serve` (the default), `token`, `healthcheck`, `upload` (in
//! [`crate::upload`]).
//! Every flag also has an environment variable.
//!
//! The start-up banner goes to stdout, which ends up in CI logs and `docker logs`: it shows only what is
//! public anyway — the embedded default client secret and a token signed by the well-known development key
//! — and never a configured secret or a token signed by a configured key (it says how to get them instead).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::auth::{SigningKeys, TokenRequest, issue_token, roles};
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, LogFormat, Overrides};

/// The logging part of `--help`.
const LOGGING_HELP: &str = "Logging: to stderr, at INFO by default: the start-up, one line per rejected request (route, status, \
reason, request id) and one per processed batch (created, updated, disabled, skipped, failed). RUST_LOG filters it \
like env_logger: RUST_LOG=warn (less), RUST_LOG=debug (more), RUST_LOG=info,entra_inbound::api=warn (per module), \
RUST_LOG=entra_inbound::provisioning=debug. Colours only when stderr is a terminal and NO_COLOR is not set; \
--log-format json writes one JSON object per line.";

#[derive(Debug, Parser)]
#[command(name = "entra-inbound", version, about = "Emulator of Microsoft Entra ID API-driven inbound provisioning")]
#[command(after_help = LOGGING_HELP)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the emulator (the default).
    Serve(ServeArgs),
    /// Print a signed access token the emulator accepts.
    Token(TokenArgs),
    /// Exit 0 when the emulator answers /health (for container HEALTHCHECKs).
    Healthcheck(HealthcheckArgs),
    /// Upload HR records (CSV or JSON Lines) as SCIM users and report each record's outcome.
    Upload(crate::upload::UploadArgs),
    /// Print the emulator's OpenAPI 3.1 document (what `GET /openapi.json` serves; the repository's openapi.json).
    Openapi,
}

#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// Plain-HTTP listen address [default: 127.0.0.1:8080].
    #[arg(long, env = "ENTRA_INBOUND_LISTEN")]
    pub listen: Option<std::net::SocketAddr>,
    /// Also serve HTTPS on this address (e.g. 127.0.0.1:8443), for clients that need an https authority.
    #[arg(long, env = "ENTRA_INBOUND_TLS_LISTEN")]
    pub tls_listen: Option<std::net::SocketAddr>,
    /// TOML configuration file layered over the embedded defaults.
    #[arg(long, env = "ENTRA_INBOUND_CONFIG")]
    pub config: Option<PathBuf>,
    /// Keep state in a SQLite database in this directory (default: in memory).
    #[arg(long, env = "ENTRA_INBOUND_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Log format.
    #[arg(long, env = "ENTRA_INBOUND_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Public base URL of the HTTP listener: every link in its responses starts with it, e.g. http://entra:8080
    /// [default: the Host the client used].
    #[arg(long, env = "ENTRA_INBOUND_PUBLIC_BASE_URL")]
    pub public_base_url: Option<String>,
    /// Public base URL of the HTTPS listener, e.g. https://entra:8443 [default: the Host the client used].
    #[arg(long, env = "ENTRA_INBOUND_PUBLIC_TLS_BASE_URL")]
    pub public_tls_base_url: Option<String>,
    /// Start from this snapshot or seed document (what GET /_emulator/export writes, or {"users": [...]}),
    /// replacing the stored state.
    #[arg(long = "import", value_name = "FILE", env = "ENTRA_INBOUND_IMPORT")]
    pub import: Option<PathBuf>,
    /// At shutdown (ctrl-c, SIGTERM), write a snapshot document of the state to this file.
    #[arg(long, value_name = "FILE", env = "ENTRA_INBOUND_EXPORT_ON_EXIT")]
    pub export_on_exit: Option<PathBuf>,
}

impl ServeArgs {
    pub fn load_config(&self) -> Result<Config, crate::config::ConfigError> {
        let overrides = Overrides {
            listen: self.listen,
            data_dir: self.data_dir.clone(),
            log_format: self.log_format,
            public_base_url: self.public_base_url.clone(),
            tls_listen: self.tls_listen,
            public_tls_base_url: self.public_tls_base_url.clone(),
        };
        Config::load(self.config.as_deref(), &overrides)
    }
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Role (application permission) to grant; repeat for several [default: the client's configured roles].
    #[arg(long = "role")]
    pub roles: Vec<String>,
    /// Lifetime in seconds (negative mints an expired token, for tests).
    #[arg(long, default_value_t = 3599, allow_negative_numbers = true)]
    pub expires_in: i64,
    /// Audience (`aud`).
    #[arg(long, default_value = "https://graph.microsoft.com")]
    pub audience: String,
    /// Client (application) id [default: the first configured client].
    #[arg(long)]
    pub client_id: Option<String>,
    /// Configuration file (for the tenant, clients and signing key).
    #[arg(long, env = "ENTRA_INBOUND_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// URL of the emulator's /health endpoint [default: derived from the listen address, an unspecified
    /// address such as 0.0.0.0 probed on loopback].
    #[arg(long, env = "ENTRA_INBOUND_HEALTHCHECK_URL")]
    pub url: Option<String>,
    /// The emulator's plain-HTTP listen address, as given to `serve`.
    #[arg(long, env = "ENTRA_INBOUND_LISTEN")]
    pub listen: Option<std::net::SocketAddr>,
    /// The emulator's configuration file, as given to `serve` (for `server.listen`).
    #[arg(long, env = "ENTRA_INBOUND_CONFIG")]
    pub config: Option<PathBuf>,
}

impl HealthcheckArgs {
    /// `--url`, or the /health URL of the listener `serve` would bind with the same flags, file and environment.
    pub fn url(&self) -> Result<String, String> {
        if let Some(url) = &self.url {
            return Ok(url.clone());
        }
        let overrides = Overrides { listen: self.listen, ..Overrides::default() };
        let config = Config::load(self.config.as_deref(), &overrides).map_err(|e| e.to_string())?;
        Ok(health_url(config.server.listen))
    }
}

/// `serve --import FILE`: replaces the state with the document in `path`.
pub async fn import_file(state: &crate::state::AppState, path: &std::path::Path) -> Result<(), String> {
    let body = std::fs::read(path).map_err(|e| format!("--import {}: {e}", path.display()))?;
    crate::control::lifecycle::import(state, &body).await.map_err(|e| format!("--import {}: {e}", path.display()))
}

/// `serve --export-on-exit FILE`: writes a snapshot document to `path` (through a temporary file beside it, so
/// `path` is never half-written).
pub async fn export_file(state: &crate::state::AppState, path: &std::path::Path) -> Result<(), String> {
    let failed = |e: &dyn std::fmt::Display| format!("--export-on-exit {}: {e}", path.display());
    let doc = crate::control::lifecycle::export(state).await.map_err(|e| failed(&e))?;
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    std::fs::write(&partial, doc).map_err(|e| failed(&e))?;
    std::fs::rename(&partial, path).map_err(|e| failed(&e))
}

/// The /health URL that reaches a listener bound to `listen`: an unspecified address (0.0.0.0, ::) accepts
/// connections on loopback, so that is where it is probed.
pub fn health_url(listen: std::net::SocketAddr) -> String {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/health", std::net::SocketAddr::new(ip, listen.port()))
}

/// Mint a token for `client_id` (or the first client) with `roles` (or the client's roles).
pub fn mint_token(
    config: &Config,
    client_id: Option<&str>,
    roles: &[String],
    audience: &str,
    lifetime_secs: i64,
) -> Result<String, String> {
    let keys =
        SigningKeys::load(&config.auth.signing_key_file, &config.auth.signing_cert_file).map_err(|e| e.to_string())?;
    let client = match client_id {
        Some(id) => config.clients.iter().find(|c| c.client_id == id),
        None => config.clients.first(),
    };
    let client_id = client_id.or(client.map(|c| c.client_id.as_str())).unwrap_or_default();
    let name = client.map(|c| c.display_name.as_str()).unwrap_or_default();
    let roles: Vec<String> = if !roles.is_empty() {
        roles.to_vec()
    } else if let Some(c) = client {
        c.roles.clone()
    } else {
        roles::ALL.iter().map(|r| (*r).to_owned()).collect()
    };
    issue_token(
        &keys,
        &TokenRequest {
            tenant_id: &config.tenant.id,
            client_id,
            client_display_name: name,
            roles: &roles,
            audience,
            now: SystemClock.now(),
            lifetime_secs,
            auth_method: "1",
        },
    )
    .map_err(|e| e.to_string())
}

/// `entra-inbound token`.
pub fn run_token(args: &TokenArgs) -> Result<(), String> {
    let config = Config::load(args.config.as_deref(), &Overrides::default()).map_err(|e| e.to_string())?;
    let token = mint_token(&config, args.client_id.as_deref(), &args.roles, &args.audience, args.expires_in)?;
    print_stdout(&format!("{token}\n"));
    Ok(())
}

/// Writes a command's output. A reader that stopped reading (`entra-inbound token | head -c 20`) leaves the
/// rest unread, as with any command-line tool; `println!` would panic on the broken pipe instead.
pub fn print_stdout(text: &str) {
    use std::io::Write;
    if let Err(e) = std::io::stdout().lock().write_all(text.as_bytes())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("entra-inbound: writing to standard output failed: {e}");
    }
}

/// `entra-inbound openapi`: the document `GET /openapi.json` serves, byte for byte.
pub fn run_openapi() -> Result<(), String> {
    let text = crate::api::openapi::document_json().map_err(|e| format!("the OpenAPI document: {e}"))?;
    std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes()).map_err(|e| format!("writing to stdout: {e}"))
}

/// `entra-inbound healthcheck`. A plain-HTTP probe needs no certificate roots: the client for it is built without
/// the platform's (a slim image has none, and loading them would fail the probe of a healthy server).
pub async fn run_healthcheck(args: &HealthcheckArgs) -> Result<(), String> {
    let url = args.url()?;
    let mut builder = reqwest::Client::builder().timeout(std::time::Duration::from_secs(5));
    if url.starts_with("http://") {
        builder = builder.tls_certs_only(Vec::new());
    }
    let client = builder.build().map_err(|e| format!("cannot build the HTTP client: {}", error_chain(&e)))?;
    let response = client.get(&url).send().await.map_err(|e| format!("{url}: {e}"))?;
    if response.status().is_success() { Ok(()) } else { Err(format!("{url} answered {}", response.status())) }
}

/// An error with its sources, so "builder error" says what went wrong.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text += &format!(": {s}");
        source = s.source();
    }
    text
}

/// The HTTPS lines of the banner: the authority to give MSAL/azure-identity and the CA file to trust.
fn tls_banner(config: &Config) -> String {
    let Some(https) = config.public_tls_base_url() else { return String::new() };
    let mut out = format!("  https              {https}\n");
    out += &format!("  token endpoint     {https}/{}/oauth2/v2.0/token\n", config.tenant.id);
    if let Some(ca) = crate::auth::tls::ca_file(config) {
        let ca = ca.display();
        out += &format!("  CA certificate     {ca}\n");
        out += &format!(
            "    trust it with    REQUESTS_CA_BUNDLE={ca} (Python requests/azure-identity/MSAL), SSL_CERT_FILE={ca} (OpenSSL), NODE_EXTRA_CA_CERTS={ca} (Node)\n"
        );
    }
    out
}

/// A client secret as the banner may show it: only the embedded default's, which is public.
fn shown_secret(client: &crate::config::ClientConfig) -> &str {
    let is_default = Config::defaults().is_ok_and(|d| {
        d.clients.iter().any(|c| c.client_id == client.client_id && c.client_secret == client.client_secret)
    });
    match client.client_secret.as_str() {
        "" => "(none)",
        secret if is_default => secret,
        _ => "*** (configured)",
    }
}

/// Whether tokens are signed by the well-known development key (so one may be printed).
fn signs_with_development_key(config: &Config) -> bool {
    let public = |k: SigningKeys| k.jwk_json().get("n").cloned();
    match (SigningKeys::load(&config.auth.signing_key_file, &config.auth.signing_cert_file), SigningKeys::development())
    {
        (Ok(used), Ok(dev)) => public(used).is_some_and(|n| Some(n) == public(dev)),
        _ => false,
    }
}

/// The start-up banner: where it listens (the bound address, port 0 resolved; then a configured public base URL
/// on its own line), the fixed ids, a ready token and a curl example.
pub fn banner(config: &Config) -> String {
    let mut out = format!("entra-inbound {} listening on http://{}\n", env!("CARGO_PKG_VERSION"), config.server.listen);
    let base_url = config.public_base_url();
    if !config.server.public_base_url.trim().is_empty() {
        out += &format!("  public base URL    {base_url}\n");
    }
    out += &format!("  tenant id          {}\n", config.tenant.id);
    if let Some(c) = config.clients.first() {
        out += &format!("  client id / secret {} / {}\n", c.client_id, shown_secret(c));
    }
    for sp in &config.service_principals {
        out += &format!("  service principal  {} ({})\n", sp.id, sp.display_name);
        for job in &sp.jobs {
            out += &format!("    job              {} [{:?}]\n", job.id, job.state);
        }
    }
    out += &format!(
        "  storage            {}\n",
        config.data_dir().map_or("in memory".into(), |d| d.display().to_string())
    );
    out += &tls_banner(config);
    if signs_with_development_key(config) {
        let token = mint_token(config, None, &[], "https://graph.microsoft.com", 86_400).unwrap_or_default();
        out += &format!("\nBearer token (24 h, every role of the default client):\n{token}\n");
    } else {
        out += "\nBearer token: not printed, tokens are signed by the configured key (auth.signing_key_file);\n  mint one with `entra-inbound token --config FILE` or from the token endpoint.\n";
    }
    if let Some(sp) = config.service_principals.first()
        && let Some(job) = sp.jobs.first()
    {
        out += &format!(
            "\nTry it:\n  curl -i -X POST '{base_url}/v1.0/servicePrincipals/{}/synchronization/jobs/{}/bulkUpload' \\\n    -H \"Authorization: Bearer $(entra-inbound token)\" -H 'Content-Type: application/scim+json' \\\n    -d @tests/fixtures/example1.json\n",
            sp.id, job.id
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The banner's token: the line after its heading, when there is one.
    fn printed_token(banner: &str) -> Option<&str> {
        let mut lines = banner.lines().skip_while(|l| !l.starts_with("Bearer token (24 h"));
        lines.next().and(lines.next())
    }

    #[test]
    fn the_health_url_follows_the_listen_address_with_unspecified_on_loopback() {
        let url = |a: &str| health_url(a.parse().unwrap());
        assert_eq!(url("0.0.0.0:9090"), "http://127.0.0.1:9090/health");
        assert_eq!(url("[::]:9090"), "http://[::1]:9090/health");
        assert_eq!(url("127.0.0.2:8080"), "http://127.0.0.2:8080/health");
        assert_eq!(url("[::1]:8081"), "http://[::1]:8081/health");
        assert_eq!(url("192.0.2.7:80"), "http://192.0.2.7:80/health");
    }

    #[test]
    fn the_first_line_is_the_bound_address_and_a_public_base_url_has_its_own_line() {
        let mut config = Config::defaults().unwrap();
        config.server.listen = "127.0.0.1:41237".parse().unwrap();
        let b = banner(&config);
        let first = b.lines().next().unwrap();
        assert_eq!(first, format!("entra-inbound {} listening on http://127.0.0.1:41237", env!("CARGO_PKG_VERSION")));
        assert!(!b.contains("public base URL"), "{b}");
        config.server.public_base_url = "https://gateway.example/entra".into();
        let b = banner(&config);
        let lines: Vec<&str> = b.lines().take(2).collect();
        assert_eq!(lines[0], first, "the first line stays the bound address");
        assert_eq!(lines[1], "  public base URL    https://gateway.example/entra");
        assert!(b.contains("curl -i -X POST 'https://gateway.example/entra/v1.0/"), "{b}");
    }

    #[test]
    fn the_default_banner_shows_the_public_secret_and_a_development_token() {
        let b = banner(&Config::defaults().unwrap());
        assert!(b.contains("client id / secret c0ffee00-0000-4000-8000-0000000000c1 / emulator-secret"), "{b}");
        let token = printed_token(&b).unwrap();
        let keys = SigningKeys::development().unwrap();
        let header = jsonwebtoken::decode_header(token).unwrap();
        assert_eq!(header.kid.as_deref(), Some(keys.kid.as_str()));
    }

    #[test]
    fn a_configured_secret_is_never_printed() {
        let mut config = Config::defaults().unwrap();
        config.clients[0].client_secret = "s3cr3t-from-the-vault".into();
        let b = banner(&config);
        assert!(!b.contains("s3cr3t-from-the-vault"), "{b}");
        assert!(b.contains("/ *** (configured)"), "{b}");
        // The default secret under another client id is not that client's default.
        let mut config = Config::defaults().unwrap();
        config.clients[0].client_id = "11111111-0000-4000-8000-0000000000c1".into();
        assert!(banner(&config).contains("/ *** (configured)"));
        config.clients[0].client_secret = String::new();
        assert!(banner(&config).contains("/ (none)"));
    }

    #[test]
    fn no_token_is_printed_when_a_configured_key_signs_them() {
        let dir = env!("CARGO_MANIFEST_DIR");
        let mut config = Config::defaults().unwrap();
        config.auth.signing_key_file = format!("{dir}/tests/fixtures/client-key.pem");
        config.auth.signing_cert_file = format!("{dir}/tests/fixtures/client-cert.pem");
        let b = banner(&config);
        assert_eq!(printed_token(&b), None, "{b}");
        assert!(b.contains("Bearer token: not printed"), "{b}");
        assert!(!b.contains("eyJ"), "no JWT anywhere: {b}");
        // A key file that cannot be read prints no token either.
        config.auth.signing_key_file = format!("{dir}/tests/fixtures/missing.pem");
        assert!(banner(&config).contains("Bearer token: not printed"));
        // The development key itself, configured as a file, is still the well-known key.
        config.auth.signing_key_file = format!("{dir}/config/dev-signing-key.pem");
        config.auth.signing_cert_file = String::new();
        assert!(printed_token(&banner(&config)).is_some());
    }
}
