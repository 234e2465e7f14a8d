//! Unmodified client libraries obtain tokens and upload (issue 5 acceptance): Python's azure-identity
//! (`ClientSecretCredential` with an https authority and `disable_instance_discovery=True`) and MSAL
//! (`ConfidentialClientApplication.acquire_token_for_client`, which reads the discovery document first).
//! And the SCIM service provider (issue 11 acceptance): `scim2-tester` checks both dialects, `scim2-client`
//! drives `/admin/v1` with a token from `/oauth2/v1/token` (`tests/python/test_scim.py`).
//!
//! Design constraints: this runs in the README's `cargo test --locked` on a fresh machine, so it makes its own
//! virtual environment in `target/py-venv` and installs the pinned `tests/python/requirements.txt` from PyPI once
//! (a stamp file skips the install while the pins are unchanged). Without python3, venv or pip it FAILS with a
//! message saying what is missing — it never passes silently. Every step has a time limit; all traffic is loopback.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use entra_inbound::clock::SystemClock;
use tokio::process::Command;

use crate::identity::{CLIENT, SECRET};
use crate::support::*;

const PIP_TIMEOUT: Duration = Duration::from_secs(600);
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(180);

pub fn python_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("python")
}

/// `<target>/py-venv` (the integration-test temp dir is `<target>/tmp`).
fn venv_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("py-venv")
}

pub fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) { venv.join("Scripts").join("python.exe") } else { venv.join("bin").join("python") }
}

/// Run to completion within `limit`, killing the process when it is exceeded.
pub async fn run(command: &mut Command, what: &str, limit: Duration) -> Output {
    command.kill_on_drop(true);
    let child = command.output();
    match tokio::time::timeout(limit, child).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => panic!("{what}: cannot start it: {e}"),
        Err(_) => panic!("{what}: did not finish within {limit:?}"),
    }
}

pub fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `target/{name}` with the locked npm packages of the repo's `tests/{name_in_tests}` (`npm ci`, again only
/// when the lock changes); `needs` says what a failing install needs.
pub async fn npm_project(name: &str, name_in_tests: &str, needs: &str) -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join(name_in_tests);
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.parent().unwrap_or(tmp).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let lock = std::fs::read_to_string(repo.join("package-lock.json")).unwrap();
    let stamp = dir.join("installed-package-lock.json");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(lock.as_str()) {
        std::fs::copy(repo.join("package.json"), dir.join("package.json")).unwrap();
        std::fs::write(dir.join("package-lock.json"), &lock).unwrap();
        let out = run(
            Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--loglevel=error"]).current_dir(&dir),
            &format!("npm ci in target/{name} (needs {needs}, e.g. apt-get install nodejs npm, and the npm registry)"),
            Duration::from_secs(600),
        )
        .await;
        assert!(out.status.success(), "npm ci failed: {}", describe(&out));
        std::fs::write(&stamp, lock).unwrap();
    }
    dir
}

/// The virtual environment with the pinned packages, created or updated once per test run (the tests using it
/// run in parallel and must not install into it at the same time).
pub async fn ensure_venv() -> PathBuf {
    static VENV: tokio::sync::OnceCell<PathBuf> = tokio::sync::OnceCell::const_new();
    VENV.get_or_init(prepare_venv).await.clone()
}

async fn prepare_venv() -> PathBuf {
    let venv = venv_dir();
    let python = venv_python(&venv);
    if !python.exists() {
        let out = run(
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
            "python3 -m venv (these tests need Python 3 with the venv module and pip, e.g. apt-get install python3-venv)",
            Duration::from_secs(120),
        )
        .await;
        assert!(out.status.success(), "creating the virtual environment {} failed: {}", venv.display(), describe(&out));
    }
    let requirements = python_dir().join("requirements.txt");
    let wanted = std::fs::read_to_string(&requirements).unwrap();
    let stamp = venv.join("installed-requirements.txt");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
        let started = std::time::Instant::now();
        let out = run(
            Command::new(&python)
                .args(["-m", "pip", "install", "--disable-pip-version-check", "--quiet", "-r"])
                .arg(&requirements),
            "pip install -r tests/python/requirements.txt (needs pip and access to PyPI)",
            PIP_TIMEOUT,
        )
        .await;
        assert!(out.status.success(), "installing the pinned Python packages failed: {}", describe(&out));
        eprintln!("python_clients: pip install took {:.1}s", started.elapsed().as_secs_f64());
        std::fs::write(&stamp, wanted).unwrap();
    }
    python
}

#[tokio::test(flavor = "multi_thread")]
async fn azure_identity_and_msal_get_tokens_and_upload_over_http_and_https() {
    let python = ensure_venv().await;
    // Real libraries check token lifetimes against the wall clock, so the server uses it too.
    let s = TlsTestServer::start(Arc::new(SystemClock), |_| {}).await;
    let mut command = Command::new(&python);
    command.arg(python_dir().join("test_clients.py"));
    for (k, _) in std::env::vars() {
        // Keep the developer's Azure settings (authority host, regional endpoints, …) out of the libraries.
        if k.starts_with("AZURE_") || k.starts_with("MSAL_") {
            command.env_remove(k);
        }
    }
    command
        .env("ENTRA_TENANT", TENANT)
        .env("ENTRA_CLIENT_ID", CLIENT)
        .env("ENTRA_CLIENT_SECRET", SECRET)
        .env("ENTRA_HTTP_BASE", &s.http_base)
        .env("ENTRA_HTTPS_BASE", &s.https_base)
        .env("ENTRA_SP", SP)
        .env("ENTRA_JOB", JOB)
        .env("ENTRA_BULK_FILE", Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/example1.json"))
        .env("REQUESTS_CA_BUNDLE", &s.ca_file)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let out = run(&mut command, "tests/python/test_clients.py", SCRIPT_TIMEOUT).await;
    assert!(out.status.success(), "the Python client checks failed: {}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprint!("{stdout}");
    for check in ["azure_identity_client_secret", "azure_identity_wrong_secret", "msal_confidential_client"] {
        assert!(stdout.contains(&format!("ok {check}")), "{check} did not run: {}", describe(&out));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn scim2_tester_passes_both_dialects_and_scim2_client_drives_admin_v1() {
    let python = ensure_venv().await;
    let s = TestServer::start().await;
    let token = s.token_with(&["Directory.ReadWrite.All"], "https://graph.microsoft.com", 3600);
    let mut command = Command::new(&python);
    command
        .arg(python_dir().join("test_scim.py"))
        .env("SCIM_BASE", &s.base)
        .env("SCIM_GRAPH_TOKEN", token)
        .env("SCIM_CLIENT_ID", CLIENT)
        .env("SCIM_CLIENT_SECRET", SECRET)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let out = run(&mut command, "tests/python/test_scim.py", SCRIPT_TIMEOUT).await;
    assert!(out.status.success(), "the SCIM client checks failed: {}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprint!("{stdout}");
    for check in [
        "scim2_tester /scim/v2",
        "scim2_tester /admin/v1",
        "scim2_client_bulk",
        "scim2_client_filtered_query",
        "scim2_client_patch",
        "scim2_client_delete",
    ] {
        assert!(stdout.contains(&format!("ok {check}")), "{check} did not run: {}", describe(&out));
    }
}
