//! The README's recipes, run as they are printed: every fenced block whose info string carries `recipe=NAME`
//! (`sh`, `python` or `js`) is taken from README.md and run against the emulator with its HTTPS listener, so a
//! recipe that stops working fails here. The Python recipe runs in `target/py-venv` (msgraph-sdk and
//! azure-identity, pinned in tests/python/requirements.txt), the Node one in `target/node-recipes` (npm ci of
//! tests/node/package-lock.json, reinstalled when the lock changes).
//!
//! Design constraints: part of `cargo test --locked`; a missing tool (bash, curl, jq, Node.js, npm, Python's
//! venv) FAILS the test with what to install. Every step has a time limit; all traffic is loopback.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use entra_inbound::clock::SystemClock;
use tokio::process::Command;

use crate::python_clients::{describe, ensure_venv, npm_project, run};
use crate::support::*;

const RECIPE_TIMEOUT: Duration = Duration::from_secs(180);

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The body of the README block whose info string holds `recipe=name`.
fn recipe(name: &str) -> String {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let marker = format!("recipe={name}");
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        if line.starts_with("```") && line.split_whitespace().any(|w| w == marker) {
            return lines.take_while(|l| !l.starts_with("```")).map(|l| format!("{l}\n")).collect();
        }
    }
    panic!("README.md has no block marked {marker}");
}

/// Runs `program file` in `cwd` with the emulator's URLs and CA in the environment.
async fn run_recipe(s: &TlsTestServer, program: &Path, file: &Path, cwd: &Path, what: &str) -> String {
    let ca = s.ca_file.display().to_string();
    let mut command = Command::new(program);
    command.arg(file).current_dir(cwd);
    for (k, _) in std::env::vars() {
        if k.starts_with("AZURE_") || k.starts_with("MSAL_") || k.starts_with("ENTRA_INBOUND") {
            command.env_remove(k);
        }
    }
    command
        .env("BASE", &s.http_base)
        .env("ENTRA_HTTPS_BASE", &s.https_base)
        .env("ENTRA_BULK_FILE", repo().join("tests/fixtures/example1.json"))
        .env("REQUESTS_CA_BUNDLE", &ca)
        .env("SSL_CERT_FILE", &ca)
        .env("NODE_EXTRA_CA_CERTS", &ca)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let out = run(&mut command, what, RECIPE_TIMEOUT).await;
    assert!(out.status.success(), "{what} failed: {}", describe(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn server() -> (TlsTestServer, tempfile::TempDir) {
    // Real client libraries check token lifetimes against the wall clock.
    (TlsTestServer::start(Arc::new(SystemClock), |_| {}).await, tempfile::tempdir().unwrap())
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn the_curl_recipe_uploads_and_reads_back() {
    let (s, dir) = server().await;
    for tool in ["curl", "jq"] {
        let found = run(
            Command::new(tool).arg("--version"),
            &format!("{tool} --version (the curl recipe needs {tool})"),
            Duration::from_secs(30),
        )
        .await;
        assert!(found.status.success(), "{tool} is needed by the curl recipe");
    }
    let script = write(dir.path(), "curl.sh", &format!("set -euo pipefail\n{}", recipe("curl")));
    let out = run_recipe(&s, Path::new("bash"), &script, repo(), "the README's curl recipe").await;
    assert!(out.contains("202\n"), "{out}");
    assert!(out.contains("701984\tcreate\tsuccess") && out.contains("701985\tcreate\tsuccess"), "{out}");
    assert!(out.contains("{\"displayName\":\"Babs Jensen\",\"employeeId\":\"701984\"}"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_schema_recipe_tests_an_expression_then_changes_the_mapping() {
    let (s, dir) = server().await;
    // It writes files (parsed.json, schema.json): run it in a scratch directory holding the fixture it uploads.
    std::fs::create_dir_all(dir.path().join("tests/fixtures")).unwrap();
    std::fs::copy(repo().join("tests/fixtures/example1.json"), dir.path().join("tests/fixtures/example1.json"))
        .unwrap();
    let script =
        write(dir.path(), "schema.sh", &format!("set -euo pipefail\n{}\n{}", recipe("curl"), recipe("schema")));
    let out = run_recipe(&s, Path::new("bash"), &script, dir.path(), "the README's schema recipe").await;
    assert!(out.contains("\"evaluationResult\": [\n    \"Barbara Jensen\"\n  ]"), "{out}");
    assert!(out.contains("PUT schema: 204"), "{out}");
    // The user uploaded again after the change gets the new displayName.
    assert!(out.contains("701984\tBarbara Jensen"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_python_msgraph_recipe_runs_over_https() {
    let python = ensure_venv().await;
    let (s, dir) = server().await;
    let script = write(dir.path(), "recipe.py", &recipe("python-msgraph"));
    let out = run_recipe(&s, &python, &script, repo(), "the README's Python (msgraph-sdk) recipe").await;
    assert!(out.contains("701984 create success") && out.contains("701985 create success"), "{out}");
    assert!(out.contains("[('701984', 'Babs Jensen')]"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_node_msgraph_recipe_runs_over_https() {
    let node_dir = node_recipes().await;
    let (s, _dir) = server().await;
    let script = write(&node_dir, "recipe.mjs", &recipe("node-msgraph"));
    let out =
        run_recipe(&s, Path::new("node"), &script, repo(), "the README's Node (@microsoft/msgraph-sdk) recipe").await;
    assert!(out.contains("701984 create success") && out.contains("701985 create success"), "{out}");
    assert!(out.contains("701984 Babs Jensen"), "{out}");
}

/// `target/node-recipes` with the locked packages of tests/node.
async fn node_recipes() -> PathBuf {
    npm_project("node-recipes", "node", "Node.js and npm").await
}
