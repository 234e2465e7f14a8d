//! The binary as a new user runs it: `token`, `healthcheck`, config errors, and durability across `kill -9`.

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn the_token_command_mints_what_the_server_accepts() {
    let s = TestServer::start().await;
    // The server's manual clock sits in 2025; the CLI uses the wall clock, so align them.
    s.clock.set(entra_inbound::clock::Clock::now(&entra_inbound::clock::SystemClock));
    let out = command().arg("token").output().unwrap();
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let r = s.upload_as(&token, fixture("example1.json")).await;
    assert_eq!(r.status(), 202);

    let out = command().args(["token", "--role", "AuditLog.Read.All"]).output().unwrap();
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let r = s.upload_as(&token, fixture("example1.json")).await;
    assert_eq!(r.status(), 403);

    let out = command().args(["token", "--expires-in", "-600"]).output().unwrap();
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let r = s.http.post(s.upload_url("v1.0", SP, JOB)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 401);

    let out = command().args(["token", "--audience", "api://x"]).output().unwrap();
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let r = s.http.post(s.upload_url("v1.0", SP, JOB)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    // `entra-inbound token | head -c 0`: the reader is gone before anything is written.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = command().arg("token").stdout(writer).stderr(std::process::Stdio::piped()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn healthcheck_exits_zero_only_when_the_server_answers() {
    let s = TestServer::start().await;
    let ok = command().args(["healthcheck", "--url", &format!("{}/health", s.base)]).status().unwrap();
    assert!(ok.success());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = command().args(["healthcheck", "--url", &format!("http://127.0.0.1:{port}/health")]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("entra-inbound:"));
}

#[tokio::test(flavor = "multi_thread")]
async fn healthcheck_over_http_needs_no_certificate_roots() {
    // A slim image has no CA bundle: SSL_CERT_FILE naming an empty file leaves the platform's roots empty too.
    let s = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("none.pem");
    std::fs::write(&empty, "").unwrap();
    let out = command()
        .args(["healthcheck", "--url", &format!("{}/health", s.base)])
        .env("SSL_CERT_FILE", &empty)
        .env("SSL_CERT_DIR", dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Over HTTPS it does need them, and says why it cannot start.
    let out = command()
        .args(["healthcheck", "--url", "https://127.0.0.1:1/health"])
        .env("SSL_CERT_FILE", &empty)
        .env("SSL_CERT_DIR", dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot build the HTTP client: builder error: "), "{err}");
}

#[test]
fn an_unknown_config_key_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[server]\nlisen = \"127.0.0.1:1\"\n").unwrap();
    let out = command().args(["serve", "--config", path.to_str().unwrap()]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("lisen"), "{err}");
}

#[tokio::test]
async fn accepted_operations_survive_kill_9_with_a_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    // A paused job keeps operations staged, so the store shows exactly what was accepted.
    let config = dir.path().join("paused.toml");
    std::fs::write(
        &config,
        format!(
            "[[service_principals]]\nid = \"{SP}\"\n[[service_principals.jobs]]\nid = \"{JOB}\"\nstate = \"paused\"\n"
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let args = ["--data-dir", data.to_str().unwrap(), "--config", config.to_str().unwrap()];
    let mut server = spawn_server(&args);
    let base = server.base.clone();
    let token = String::from_utf8(command().arg("token").output().unwrap().stdout).unwrap();
    let http = reqwest::Client::new();
    let url = format!("{base}/v1.0/servicePrincipals/{SP}/synchronization/jobs/{JOB}/bulkUpload");
    for example in ["example1.json", "example2.json"] {
        let r = http
            .post(&url)
            .bearer_auth(token.trim())
            .header("content-type", SCIM)
            .body(fixture(example))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
    }
    server.kill_9();

    let mut server = spawn_server(&args);
    let health = http.get(format!("{}/health", server.base)).send().await.unwrap();
    assert_eq!(health.status(), 200);
    server.kill_9();

    let store = entra_inbound::store::Store::open(Some(&data), entra_inbound::config::Synchronous::Full).unwrap();
    let staged = store.read_staged(JOB, 0, 100).await.unwrap();
    let ops: Vec<_> = staged.iter().flat_map(|r| &r.operations).collect();
    let ids: Vec<&str> = ops.iter().map(|o| o.external_id.as_str()).collect();
    assert_eq!(ids, vec!["701984", "701985", "701984", "701985"]);
    let data: serde_json::Value = serde_json::from_str(&ops[2].data).unwrap();
    assert_eq!(data["urn:contoso:employee"]["JobCode"], "AB-1002");
}

/// The port of a `http://127.0.0.1:PORT` base URL.
fn port_of(base: &str) -> u16 {
    base.rsplit(':').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn healthcheck_without_a_url_probes_the_listen_address_on_loopback() {
    let s = TestServer::start().await;
    let port = port_of(&s.base);
    // What a container sets: an unspecified address, probed on loopback.
    let ok = command().arg("healthcheck").env("ENTRA_INBOUND_LISTEN", format!("0.0.0.0:{port}")).status().unwrap();
    assert!(ok.success());
    let ok = command().args(["healthcheck", "--listen", &format!("127.0.0.1:{port}")]).status().unwrap();
    assert!(ok.success());
    // The config file's server.listen counts too.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("listen.toml");
    std::fs::write(&config, format!("[server]\nlisten = \"0.0.0.0:{port}\"\n")).unwrap();
    let ok = command().args(["healthcheck", "--config", config.to_str().unwrap()]).status().unwrap();
    assert!(ok.success());
    // Nothing listens there: the failure names the URL it probed.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = command().arg("healthcheck").env("ENTRA_INBOUND_LISTEN", format!("0.0.0.0:{free}")).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with(&format!("entra-inbound: http://127.0.0.1:{free}/health: ")), "{stderr}");
    // A bad listen address is an error, not a probe of some default.
    let out = command().arg("healthcheck").env("ENTRA_INBOUND_LISTEN", "nowhere").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nowhere"));
}

#[test]
fn logs_written_to_a_pipe_carry_no_colour_codes() {
    use std::io::{BufRead, BufReader, Read};
    let mut child = command()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut banner = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut banner).unwrap();
    assert!(banner.contains("listening on"), "{banner}");
    // Read the log up to its "ready" line, then stop the server and take the rest.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut logs = String::new();
    while !logs.contains("entra-inbound ready") {
        assert_ne!(stderr.read_line(&mut logs).unwrap(), 0, "the log ended before the ready line: {logs}");
    }
    child.kill().unwrap();
    child.wait().unwrap();
    stderr.read_to_string(&mut logs).unwrap();
    assert!(!logs.contains('\u{1b}'), "ANSI escape codes in piped logs: {logs:?}");
}

#[cfg(target_os = "linux")]
#[test]
fn an_unwritable_data_dir_is_refused_with_permission_denied_the_path_and_the_uid() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o555)).unwrap();
    let mut c = command();
    c.args(["serve", "--listen", "127.0.0.1:0", "--data-dir", data.to_str().unwrap()]);
    // Root writes anywhere: run as nobody then, as a container's user meets a root-owned bind mount.
    let me = std::fs::metadata("/proc/self").unwrap().uid();
    let uid = if me == 0 {
        c.uid(65534).gid(65534);
        65534
    } else {
        me
    };
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.to_lowercase().contains("permission denied"), "{stderr}");
    assert!(stderr.contains(&format!("cannot write to the data directory {}", data.display())), "{stderr}");
    assert!(stderr.contains(&format!("the process runs as uid {uid}")), "{stderr}");
}
