//! The test-suite fixture packages run their own tests against this build's binary (found through
//! `ENTRA_INBOUND_BIN`, as users' suites find theirs): `clients/python` (entra-inbound-pytest, a pytest plugin)
//! and `clients/node` (entra-inbound-testing, for Jest or `node --test`).
//!
//! Design constraints: part of the README's `cargo test --locked`, so each FAILS with what is missing (Python's
//! venv and pip, Node.js 18+) instead of passing silently. The Python package is installed editable into the
//! shared `target/py-venv` (a stamp skips the install while its `pyproject.toml` is unchanged); the Node package
//! has no dependencies, so nothing is installed. Every step has a time limit; all traffic is loopback.

use std::path::Path;
use std::time::Duration;

use tokio::process::Command;

use crate::python_clients::{describe, ensure_venv, run};

const SUITE_TIMEOUT: Duration = Duration::from_secs(300);
const BIN: &str = env!("CARGO_BIN_EXE_entra-inbound");

fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Keeps the developer's emulator settings out of the suites; the binary is this build's.
fn isolated(command: &mut Command) -> &mut Command {
    for (k, _) in std::env::vars() {
        if k.starts_with("ENTRA_INBOUND") {
            command.env_remove(k);
        }
    }
    command.env("ENTRA_INBOUND_BIN", BIN).env("NO_PROXY", "127.0.0.1,localhost").env("no_proxy", "127.0.0.1,localhost")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pytest_plugin_passes_its_own_tests() {
    let python = ensure_venv().await;
    let venv = python.parent().and_then(Path::parent).unwrap().to_owned();
    let package = repo("clients/python");
    let wanted = std::fs::read_to_string(package.join("pyproject.toml")).unwrap();
    let stamp = venv.join("installed-entra-inbound-pytest.toml");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
        let out = run(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--disable-pip-version-check",
                    "--quiet",
                    "--no-deps",
                    "--no-build-isolation",
                    "-e",
                ])
                .arg(&package),
            "pip install -e clients/python",
            Duration::from_secs(300),
        )
        .await;
        assert!(out.status.success(), "installing clients/python failed: {}", describe(&out));
        std::fs::write(&stamp, wanted).unwrap();
    }
    let mut command = Command::new(&python);
    command.args(["-m", "pytest", "-q", "-p", "no:cacheprovider"]).arg(package.join("tests")).current_dir(&package);
    let out =
        run(isolated(&mut command).env("PYTHONDONTWRITEBYTECODE", "1"), "pytest clients/python/tests", SUITE_TIMEOUT)
            .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprint!("{stdout}");
    assert!(out.status.success(), "the pytest plugin's tests failed: {}", describe(&out));
    assert!(stdout.contains(" passed"), "pytest ran no test: {}", describe(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_node_package_passes_its_own_tests() {
    let version = run(
        Command::new("node").arg("--version"),
        "node --version (the Node package's tests need Node.js 18 or later, e.g. apt-get install nodejs npm)",
        Duration::from_secs(30),
    )
    .await;
    let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
    let major: u32 = version.trim_start_matches('v').split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0);
    assert!(major >= 18, "Node.js {version} is too old for clients/node: it needs 18 or later (fetch, node:test)");
    let package = repo("clients/node");
    let mut command = Command::new("node");
    command.args(["--test", "test/"]).current_dir(&package);
    let out = run(isolated(&mut command), "node --test clients/node/test/", SUITE_TIMEOUT).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprint!("{stdout}");
    assert!(out.status.success(), "the Node package's tests failed: {}", describe(&out));
    assert!(stdout.contains("# fail 0") && !stdout.contains("# pass 0"), "{}", describe(&out));
}
