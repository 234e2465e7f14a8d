//! The web dashboard (issue 14, README "Dashboard"): `/` redirects to `/_emulator/ui`; the page and its embedded
//! files are served with their media types and a strict Content-Security-Policy, open even with `admin.token`
//! (the page is where the token is typed in), while `GET /_emulator/ui/session` and the rest of the control API
//! stay behind both guards; the dashboard's marked requests stay out of the journal and out of fault rules' way.
//!
//! And the page itself, in a real browser: `tests/browser/dashboard.mjs` drives Debian's headless Chromium with
//! playwright-core against two emulators (one with `admin.token`). Design constraints: part of
//! `cargo test --locked`; a missing Chromium, Node.js or npm FAILS the test with the command that installs it;
//! `npm ci` of tests/browser/package-lock.json goes to `target/browser-tests` and is redone only when the lock
//! changes. `ENTRA_INBOUND_SCREENSHOTS=1` makes the run rewrite `docs/screenshots/*.png`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;

use crate::python_clients::{describe, run};
use crate::support::*;

const ADMIN_TOKEN: &str = "dashboard-admin-token";
const CSP: &str = "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

#[tokio::test]
async fn the_root_redirects_to_the_dashboard_on_the_origin_the_client_used() {
    let s = TestServer::start().await;
    let r = no_redirects().get(format!("{}/", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], format!("{}/_emulator/ui", s.base));
    let r = no_redirects().get(format!("{}/", s.base)).header("host", "entra:8080").send().await.unwrap();
    assert_eq!(r.headers()["location"], "http://entra:8080/_emulator/ui");
}

#[tokio::test]
async fn the_page_and_its_files_are_served_with_their_media_types_and_a_strict_csp() {
    let s = TestServer::start().await;
    for (path, media_type) in [
        ("/_emulator/ui", "text/html; charset=utf-8"),
        ("/_emulator/ui/app.js", "text/javascript; charset=utf-8"),
        ("/_emulator/ui/logs.js", "text/javascript; charset=utf-8"),
        ("/_emulator/ui/app.css", "text/css; charset=utf-8"),
        ("/_emulator/ui/icon.svg", "image/svg+xml"),
    ] {
        let r = s.http.get(format!("{}{path}", s.base)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["content-type"], media_type, "{path}");
        assert_eq!(r.headers()["content-security-policy"], CSP, "{path}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff", "{path}");
        assert!(!r.text().await.unwrap().is_empty(), "{path}");
    }
    let page = s.http.get(format!("{}/_emulator/ui", s.base)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(r#"<script type="module" src="ui/app.js"></script>"#), "{page}");
    assert!(!page.contains("http://") && !page.contains("https://"), "the page loads nothing from elsewhere");
}

#[tokio::test]
async fn an_unknown_dashboard_file_is_404_in_the_graph_envelope() {
    let s = TestServer::start().await;
    for name in ["nope.js", "index.html"] {
        let r = s.http.get(format!("{}/_emulator/ui/{name}", s.base)).send().await.unwrap();
        let message = format!("Resource not found for the segment '/_emulator/ui/{name}'.");
        assert_graph_error(r, 404, "NotFound", &message).await;
    }
}

#[tokio::test]
async fn the_session_names_the_tenant_the_client_with_a_secret_and_each_job_with_its_queue() {
    let s =
        TestServer::with_config(|c| c.service_principals[0].jobs[0].state = entra_inbound::config::JobState::Paused)
            .await;
    assert_eq!(s.upload(fixture("example1.json")).await.status(), 202);
    let r = s.http.get(format!("{}/_emulator/ui/session", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "tenantId": TENANT,
            "client": {"clientId": "c0ffee00-0000-4000-8000-0000000000c1", "clientSecret": "emulator-secret"},
            "servicePrincipals": [{
                "id": SP,
                "displayName": "API-driven provisioning to Microsoft Entra ID",
                "jobs": [{"id": JOB, "queued": 2}],
            }],
        })
    );
}

#[tokio::test]
async fn without_a_client_secret_the_session_has_no_client() {
    let s = TestServer::with_config(|c| c.clients[0].client_secret.clear()).await;
    let body: serde_json::Value =
        s.http.get(format!("{}/_emulator/ui/session", s.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(body["client"], serde_json::Value::Null);
}

#[tokio::test]
async fn with_an_admin_token_the_page_opens_but_the_session_and_the_control_api_need_the_token() {
    let s = TestServer::with_config(|c| c.admin.token = ADMIN_TOKEN.into()).await;
    for path in ["/_emulator/ui", "/_emulator/ui/app.js", "/_emulator/ui/app.css"] {
        let r = s.http.get(format!("{}{path}", s.base)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path} is the sign-in page: it needs no token");
    }
    for path in ["/_emulator/ui/session", "/_emulator/journal"] {
        let r = s.http.get(format!("{}{path}", s.base)).send().await.unwrap();
        assert_graph_error(r, 401, "InvalidAuthenticationToken", "Access token is empty.").await;
        let r = s.http.get(format!("{}{path}", s.base)).bearer_auth("wrong").send().await.unwrap();
        assert_graph_error(r, 401, "InvalidAuthenticationToken", "The admin token is not valid.").await;
        let r = s.http.get(format!("{}{path}", s.base)).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn a_link_from_another_site_opens_the_page_but_another_site_cannot_read_the_session() {
    let s = TestServer::start().await;
    let r = s.http.get(format!("{}/_emulator/ui", s.base)).header("sec-fetch-site", "cross-site").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = s
        .http
        .get(format!("{}/_emulator/ui/session", s.base))
        .header("origin", "http://evil.example")
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    let message =
        "The emulator control API refuses requests sent by web pages of other sites (Origin or Sec-Fetch-Site header).";
    assert_graph_error(r, 403, "Authorization_RequestDenied", message).await;
}

#[tokio::test]
async fn a_fault_rule_is_left_for_the_client_under_test_by_the_dashboards_marked_requests() {
    let s = TestServer::start().await;
    let rule = serde_json::json!({"route": "users", "status": 503, "times": 1});
    let r = s.http.post(format!("{}/_emulator/faults", s.base)).json(&rule).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let url = format!("{}/v1.0/users", s.base);
    let token = s.token();
    let marked = s.http.get(&url).bearer_auth(&token).header("x-entra-inbound-dashboard", "1").send().await.unwrap();
    assert_eq!(marked.status(), 200, "the dashboard's read is not hit");
    let unmarked = s.http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(unmarked.status(), 503, "the rule's one time is still there for the client");
}

#[tokio::test]
async fn the_dashboards_marked_requests_are_not_journaled() {
    let s = TestServer::start().await;
    let url = format!("{}/v1.0/users", s.base);
    let token = s.token();
    s.http.get(&url).bearer_auth(&token).header("x-entra-inbound-dashboard", "1").send().await.unwrap();
    s.http.get(&url).bearer_auth(&token).send().await.unwrap();
    let journal: serde_json::Value =
        s.http.get(format!("{}/_emulator/journal", s.base)).send().await.unwrap().json().await.unwrap();
    let entries = journal["value"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{journal}");
    assert_eq!(entries[0]["route"], "users");
}

/// The Chromium executable: `$CHROMIUM`, else the first of `chromium`, `chromium-browser`, `google-chrome-stable`,
/// `google-chrome` on the PATH.
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome-stable", "google-chrome"] {
            if dir.join(name).is_file() {
                return dir.join(name);
            }
        }
    }
    panic!(
        "the dashboard's browser test needs Chromium: install it (Debian/Ubuntu: apt-get install -y chromium) or \
         set CHROMIUM to its executable"
    );
}

/// `target/browser-tests` with the locked packages of tests/browser.
async fn browser_tests() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.parent().unwrap_or(tmp).join("browser-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let lock = std::fs::read_to_string(repo().join("tests/browser/package-lock.json")).unwrap();
    let stamp = dir.join("installed-package-lock.json");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(lock.as_str()) {
        std::fs::copy(repo().join("tests/browser/package.json"), dir.join("package.json")).unwrap();
        std::fs::write(dir.join("package-lock.json"), &lock).unwrap();
        let out = run(
            Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--loglevel=error"]).current_dir(&dir),
            "npm ci in target/browser-tests (needs Node.js 20+ and npm, e.g. apt-get install nodejs npm, and the npm registry)",
            Duration::from_secs(600),
        )
        .await;
        assert!(out.status.success(), "npm ci failed: {}", describe(&out));
        std::fs::write(&stamp, lock).unwrap();
    }
    std::fs::copy(repo().join("tests/browser/dashboard.mjs"), dir.join("dashboard.mjs")).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_works_in_headless_chromium() {
    let chromium = chromium();
    let dir = browser_tests().await;
    let s = TestServer::start().await;
    let admin = TestServer::with_config(|c| {
        c.admin.token = ADMIN_TOKEN.into();
        quarantine_early(c);
    })
    .await;
    let mut command = Command::new("node");
    command
        .arg("dashboard.mjs")
        .current_dir(&dir)
        .env("CHROMIUM", &chromium)
        .env("BASE", &s.base)
        .env("ADMIN_BASE", &admin.base)
        .env("ADMIN_TOKEN", ADMIN_TOKEN)
        .env("FIXTURES", repo().join("tests/fixtures"))
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost");
    if std::env::var_os("ENTRA_INBOUND_SCREENSHOTS").is_some() {
        let shots = repo().join("docs/screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        command.env("SCREENSHOTS", shots);
    }
    let out =
        run(&mut command, "node dashboard.mjs (the dashboard in headless Chromium)", Duration::from_secs(180)).await;
    assert!(out.status.success(), "the dashboard's browser test failed: {}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().filter(|l| l.starts_with("ok - ")).count(), 12, "{stdout}");
}
