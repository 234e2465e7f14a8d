//! Test fixture: the real application served on 127.0.0.1:0 with a manual clock, plus helpers to mint
//! tokens and post payloads.

use std::sync::Arc;

use entra_inbound::auth::{SigningKeys, TokenRequest, issue_token, roles};
use entra_inbound::clock::{Clock, ManualClock};
use entra_inbound::config::Config;
use entra_inbound::server::Server;
use entra_inbound::state::AppState;
use time::macros::datetime;
use tokio::sync::oneshot;

use crate::postgres_leg;

pub const TENANT: &str = "c0ffee00-0000-4000-8000-000000000001";
pub const SP: &str = "c0ffee00-0000-4000-8000-0000000000a1";
pub const JOB: &str = "API2AAD.c0ffee00000040008000000000000001.c0ffee00-0000-4000-8000-0000000000b1";
pub const SCIM: &str = "application/scim+json";

pub struct TestServer {
    pub base: String,
    pub state: AppState,
    pub clock: Arc<ManualClock>,
    pub http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::with_config(|_| {}).await
    }

    pub async fn with_config(change: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::defaults().expect("defaults load");
        config.server.listen = "127.0.0.1:0".parse().unwrap();
        change(&mut config);
        postgres_leg::configure(&mut config).await;
        let clock = Arc::new(ManualClock::new(datetime!(2025-01-15 10:00 UTC)));
        let server = Server::bind(config, clock.clone()).await.expect("bind");
        let state = server.state().clone();
        let base = state.config.public_base_url();
        let (tx, rx) = oneshot::channel();
        tokio::spawn(server.serve(async {
            let _ = rx.await;
        }));
        Self { base, state, clock, http: reqwest::Client::new(), shutdown: Some(tx) }
    }

    /// A token for the default client with `roles`, valid at the server's clock.
    pub fn token_with(&self, roles: &[&str], audience: &str, lifetime_secs: i64) -> String {
        let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
        issue_token(
            &SigningKeys::development().unwrap(),
            &TokenRequest {
                tenant_id: TENANT,
                client_id: "c0ffee00-0000-4000-8000-0000000000c1",
                client_display_name: "test",
                roles: &roles,
                audience,
                now: self.clock.now(),
                lifetime_secs,
                auth_method: "1",
            },
        )
        .unwrap()
    }

    /// A token holding every role.
    pub fn token(&self) -> String {
        self.token_with(roles::ALL, "https://graph.microsoft.com", 3600)
    }

    pub fn upload_url(&self, version: &str, sp: &str, job: &str) -> String {
        format!("{}/{version}/servicePrincipals/{sp}/synchronization/jobs/{job}/bulkUpload", self.base)
    }

    /// POST `body` to the default job's bulkUpload on v1.0 with a full token.
    pub async fn upload(&self, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.upload_as(&self.token(), body).await
    }

    /// POST `body` to the default job's bulkUpload on v1.0 with `token`.
    pub async fn upload_as(&self, token: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.http
            .post(self.upload_url("v1.0", SP, JOB))
            .bearer_auth(token)
            .header("content-type", SCIM)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Operations staged and not yet applied, across jobs (read through the store boundary).
    pub async fn staged_count(&self) -> usize {
        let mut n = 0;
        for job in self.state.jobs.all() {
            n += self.state.store.backlog(&job.id, job.applied_through()).await.unwrap();
        }
        n
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Assert a Graph error envelope: status, code, message; returns the body.
pub async fn assert_graph_error(
    response: reqwest::Response,
    status: u16,
    code: &str,
    message: &str,
) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status, "status");
    assert_eq!(response.headers()["content-type"], "application/json");
    let request_id = response.headers()["request-id"].to_str().unwrap().to_owned();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], code, "{body}");
    assert_eq!(body["error"]["message"], message, "{body}");
    let inner = &body["error"]["innerError"];
    assert_eq!(inner["request-id"], request_id.as_str());
    assert_eq!(inner["date"], "2025-01-15T10:00:00");
    assert!(inner["client-request-id"].is_string());
    body
}

impl TestServer {
    /// POST /_emulator/jobs/{job}/drain and assert it succeeded.
    pub async fn drain(&self, job: &str) -> serde_json::Value {
        let r = self.http.post(format!("{}/_emulator/jobs/{job}/drain?timeout=10", self.base)).send().await.unwrap();
        assert_eq!(r.status(), 200, "drain");
        r.json().await.unwrap()
    }

    /// Every provisioning-log entry in processing order, as the logs API returns them (all pages).
    pub async fn log_entries(&self) -> Vec<serde_json::Value> {
        let url = format!("{}/v1.0/auditLogs/provisioning?$orderby=activityDateTime%20asc&$top=1000", self.base);
        all_pages(&self.http, &self.token(), url).await
    }

    /// GET /_emulator/export: 200 and the document's bytes.
    pub async fn export(&self) -> Vec<u8> {
        let r = self.http.get(format!("{}/_emulator/export", self.base)).send().await.unwrap();
        assert_eq!(r.status(), 200, "export");
        assert_eq!(r.headers()["content-type"], "application/json");
        r.bytes().await.unwrap().to_vec()
    }

    /// POST /_emulator/import with `body`.
    pub async fn import(&self, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.http.post(format!("{}/_emulator/import", self.base)).body(body).send().await.unwrap()
    }

    /// POST /_emulator/clock with `body`.
    pub async fn move_clock(&self, body: serde_json::Value) -> reqwest::Response {
        self.http.post(format!("{}/_emulator/clock", self.base)).json(&body).send().await.unwrap()
    }

    /// The directory user with this employeeId (read through the store boundary).
    pub async fn user(&self, employee_id: &str) -> entra_inbound::directory::DirectoryUser {
        use entra_inbound::odata::{PageQuery, USER_FIELDS, USER_ORDER, parse_filter};
        let filter = parse_filter(&format!("employeeId eq '{}'", employee_id.replace('\'', "''"))).unwrap();
        let query = PageQuery::new(&USER_FIELDS, &USER_ORDER, Some(filter), &[], None, 2).unwrap();
        let page = self.state.store.query_users(query, false).await.unwrap();
        page.users.into_iter().next().unwrap_or_else(|| panic!("no user with employeeId {employee_id}"))
    }

    /// The directory user with this employeeId as Graph beta shows it (every property).
    pub async fn user_doc(&self, employee_id: &str) -> serde_json::Value {
        let id = self.user(employee_id).await.id;
        let r = self.http.get(format!("{}/beta/users/{id}", self.base)).bearer_auth(self.token()).send().await.unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }
}

/// Every item of a Graph list, following `@odata.nextLink` (each page must answer 200).
pub async fn all_pages(http: &reqwest::Client, token: &str, mut url: String) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    loop {
        let r = http.get(&url).bearer_auth(token).send().await.unwrap();
        assert_eq!(r.status(), 200, "{url}");
        let page: serde_json::Value = r.json().await.unwrap();
        out.extend(page["value"].as_array().unwrap().iter().cloned());
        match page["@odata.nextLink"].as_str() {
            Some(next) => url = next.to_owned(),
            None => return out,
        }
    }
}

/// A one-user BulkRequest.
pub fn bulk_of(users: &[serde_json::Value]) -> String {
    let ops: Vec<serde_json::Value> = users
        .iter()
        .enumerate()
        .map(|(i, data)| {
            serde_json::json!({"method": "POST", "bulkId": format!("b{i}"), "path": "/Users", "data": data})
        })
        .collect();
    serde_json::json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops}).to_string()
}

/// A client-credentials token request from the default client with `secret` (a wrong one gets 401), to check
/// that a secret a client sent is never recorded.
pub async fn token_request_with_secret(http: &reqwest::Client, base: &str, secret: &str) -> reqwest::Response {
    http.post(format!("{base}/{TENANT}/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "c0ffee00-0000-4000-8000-0000000000c1"),
            ("client_secret", secret),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap()
}

/// Quarantine thresholds a test reaches with a few failures: at least 2 failures and a 40 % failure ratio.
pub fn quarantine_early(c: &mut entra_inbound::config::Config) {
    let job = &mut c.service_principals[0].jobs[0];
    job.quarantine_min_failures = 2;
    job.quarantine_failure_ratio = 0.4;
}

/// A BulkRequest of `count` partial records (externalId and `active` only) for users that do not exist: every
/// create fails.
pub fn failing_creates(prefix: &str, count: usize) -> String {
    let users: Vec<serde_json::Value> = (0..count)
        .map(|i| serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "externalId": format!("{prefix}{i}"), "active": true}))
        .collect();
    bulk_of(&users)
}

/// A minimal SCIM user.
pub fn scim_user(external_id: &str, user_name: &str, manager: Option<&str>) -> serde_json::Value {
    let mut u = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": external_id,
        "userName": user_name,
        "displayName": format!("User {external_id}"),
        "active": true,
    });
    if let Some(m) = manager {
        u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] = serde_json::json!({"manager": {"value": m}});
    }
    u
}

/// The names of an entry's steps with their status.
pub fn steps(entry: &serde_json::Value) -> Vec<(String, String, String)> {
    entry["provisioningSteps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["provisioningStepType"].as_str().unwrap().to_owned(),
                s["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// `displayName → (oldValue, newValue)` of an entry's modifiedProperties.
pub fn modified(
    entry: &serde_json::Value,
) -> std::collections::BTreeMap<String, (serde_json::Value, serde_json::Value)> {
    entry["modifiedProperties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["displayName"].as_str().unwrap().to_owned(), (m["oldValue"].clone(), m["newValue"].clone())))
        .collect()
}

/// The real application with its HTTPS listener too: a generated CA in a private temp dir, any clock.
pub struct TlsTestServer {
    /// The public base URLs of the two listeners (their own addresses unless configured).
    pub http_base: String,
    pub https_base: String,
    /// Where the two listeners are bound.
    pub http_addr: std::net::SocketAddr,
    pub https_addr: std::net::SocketAddr,
    pub ca_file: std::path::PathBuf,
    _dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), entra_inbound::server::ServerError>>>,
}

impl TlsTestServer {
    pub async fn start(clock: entra_inbound::clock::SharedClock, change: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::defaults().expect("defaults load");
        config.server.listen = "127.0.0.1:0".parse().unwrap();
        config.server.tls_listen = "127.0.0.1:0".into();
        config.tls.dir = dir.path().display().to_string();
        change(&mut config);
        let server = Server::bind(config, clock).await.expect("bind");
        let state = server.state().clone();
        let https_base = state.config.public_tls_base_url().expect("a TLS listener");
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(server.serve(async {
            let _ = rx.await;
        }));
        Self {
            http_base: state.config.public_base_url(),
            https_base,
            http_addr: state.config.server.listen,
            https_addr: state.config.tls_listen().unwrap().expect("a TLS listener"),
            ca_file: entra_inbound::auth::tls::ca_file(&state.config).expect("a generated CA"),
            _dir: dir,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// A client that trusts only the emulator's generated CA.
    pub fn https_client(&self) -> reqwest::Client {
        let ca = reqwest::Certificate::from_pem(&std::fs::read(&self.ca_file).unwrap()).unwrap();
        reqwest::Client::builder().tls_certs_only([ca]).build().unwrap()
    }

    /// Signal shutdown and wait until both listeners have stopped.
    pub async fn stop(mut self) -> Result<(), entra_inbound::server::ServerError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.take().unwrap().await.unwrap()
    }
}

impl Drop for TlsTestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

const BIN: &str = env!("CARGO_BIN_EXE_entra-inbound");

/// The `entra-inbound` binary, with the developer's `ENTRA_INBOUND*` environment kept out of the test.
pub fn command() -> std::process::Command {
    let mut c = std::process::Command::new(BIN);
    for (k, _) in std::env::vars() {
        if k.starts_with("ENTRA_INBOUND") {
            c.env_remove(k);
        }
    }
    c
}

/// A running `entra-inbound serve`; killed (SIGKILL) when dropped, so a failing test leaves nothing behind.
pub struct ServerProcess {
    child: std::process::Child,
    pub base: String,
}

impl ServerProcess {
    /// SIGKILL, and wait until it is gone.
    pub fn kill_9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerProcess {
    /// SIGTERM (a graceful shutdown), and its exit status.
    #[cfg(unix)]
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        self.child.wait().unwrap()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill_9();
    }
}

/// Start the binary on a free port (its base URL read from the banner).
pub fn spawn_server(args: &[&str]) -> ServerProcess {
    spawn_server_with(args, &[])
}

/// [`spawn_server`] with these environment variables set (e.g. `ENTRA_INBOUND__STORAGE__URL`).
pub fn spawn_server_with(args: &[&str], env: &[(&str, &str)]) -> ServerProcess {
    use std::io::{BufRead, BufReader};
    let mut child = command()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    // Keep draining the banner so the child never writes into a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let base = line.trim().rsplit(' ').next().unwrap().to_owned();
    let server = ServerProcess { child, base };
    assert!(server.base.starts_with("http://127.0.0.1:"), "{line}");
    server
}
