//! The PostgreSQL leg of the test matrix: the same integration suite, every test app on a PostgreSQL database.
//!
//! `the_integration_suite_passes_on_postgresql` starts a real server (initdb into a temporary directory,
//! listening on 127.0.0.1 on a free port, its sockets in that directory; as the `postgres` user when run as
//! root) and runs this test binary again with `ENTRA_INBOUND_TEST_POSTGRES` naming it. In that run,
//! [`configure`] (called by `support::TestServer` for every app) points each app at a database of its own:
//! a fresh one, or, for a test that gives a data directory (a restart on the same state), one named after that
//! directory, so the second app finds what the first kept.
//!
//! Not run in the PostgreSQL leg, and why ([`SQLITE_ONLY`]): tests that start the emulator's binary instead of
//! a `TestServer` (they test the command line, the embedded store's files, kill -9 with a data directory, the
//! published recipes and client fixtures; they would only run the embedded store a second time) and the test
//! of this leg itself. Everything else runs on both backends, and this leg also runs the tests marked
//! `#[ignore]` for needing PostgreSQL (`replicas.rs`: several apps on one database).
//!
//! PostgreSQL missing is a failure with the command that installs it, never a skip.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use entra_inbound::config::{Backend, Config};

/// The server URL (no database) the PostgreSQL leg runs against.
pub const SERVER_VAR: &str = "ENTRA_INBOUND_TEST_POSTGRES";

/// Test-name filters the PostgreSQL leg leaves out, with why (see the module header).
pub const SQLITE_ONLY: &[(&str, &str)] = &[
    ("postgres_leg::", "this leg itself"),
    ("cli::", "the binary's command line and the embedded store's data directory (files, permissions, kill -9)"),
    ("crash::", "kill -9 of the binary with a data directory: the embedded store's files"),
    ("readme_recipes::", "the README's recipes run the binary with its default (embedded) store"),
    ("client_fixtures::", "the fixture clients run against the binary with its default (embedded) store"),
    ("python_clients::", "the Python clients run against the binary with its default (embedded) store"),
];

/// In the PostgreSQL leg, points `config` at a database of its own on the leg's server.
pub async fn configure(config: &mut Config) {
    let Ok(server) = std::env::var(SERVER_VAR) else { return };
    let name = if config.storage.data_dir.is_empty() {
        format!("t_{}", uuid::Uuid::new_v4().simple())
    } else {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        config.storage.data_dir.hash(&mut h);
        format!("d_{:016x}", h.finish())
    };
    config.storage.backend = Backend::Postgres;
    config.storage.url = database(&server, &name).await;
    config.storage.data_dir = String::new();
}

/// A fresh database on the PostgreSQL leg's server, as a URL; for tests that start the binary on PostgreSQL.
/// Panics outside the PostgreSQL leg: such tests are `#[ignore]`d, and the leg runs them.
pub async fn fresh_database() -> String {
    let server = std::env::var(SERVER_VAR).expect("a PostgreSQL-only test runs in the PostgreSQL leg");
    database(&server, &format!("t_{}", uuid::Uuid::new_v4().simple())).await
}

/// Creates database `name` on `server` unless it exists; its URL.
async fn database(server: &str, name: &str) -> String {
    let (client, connection) = tokio_postgres::connect(&format!("{server}/postgres"), tokio_postgres::NoTls)
        .await
        .expect("connect to the leg's server");
    let task = tokio::spawn(connection);
    if let Err(e) = client.batch_execute(&format!("CREATE DATABASE {name}")).await
        && e.code() != Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE)
    {
        panic!("CREATE DATABASE {name}: {e}");
    }
    drop(client);
    let _ = task.await;
    format!("{server}/{name}")
}

/// The directory holding `initdb` and `pg_ctl`: the newest `/usr/lib/postgresql/*/bin` (Debian's layout).
fn server_binaries() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
        .collect();
    found.sort_by_key(|p| {
        p.file_name().map(|_| {
            p.parent()
                .and_then(|v| v.file_name())
                .and_then(|v| v.to_str())
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(0)
        })
    });
    found.pop().unwrap_or_else(|| {
        panic!(
            "the PostgreSQL leg needs a PostgreSQL server (initdb, pg_ctl under /usr/lib/postgresql/*/bin): install it \
             with `apt-get install postgresql` (Debian/Ubuntu)"
        )
    })
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| o.stdout.trim_ascii() == b"0").unwrap_or(false)
}

/// A throwaway PostgreSQL server; stopped (immediately) when dropped.
struct Server {
    bin: PathBuf,
    data: PathBuf,
    as_postgres: bool,
    url: String,
    _dir: tempfile::TempDir,
}

impl Server {
    fn command(bin: &Path, tool: &str, as_postgres: bool) -> Command {
        if as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(bin.join(tool));
            c
        } else {
            Command::new(bin.join(tool))
        }
    }

    fn start() -> Self {
        let bin = server_binaries();
        let as_postgres = is_root();
        let dir = tempfile::tempdir().unwrap();
        if as_postgres {
            let ok = Command::new("chown").args(["postgres:", &dir.path().display().to_string()]).status().unwrap();
            assert!(ok.success(), "chown postgres {}", dir.path().display());
        }
        let data = dir.path().join("data");
        let out = Self::command(&bin, "initdb", as_postgres)
            .args(["-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C", "-D"])
            .arg(&data)
            .output()
            .unwrap();
        assert!(out.status.success(), "initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=400",
            dir.path().display()
        );
        let out = Self::command(&bin, "pg_ctl", as_postgres)
            .args(["-w", "-D"])
            .arg(&data)
            .args(["-l"])
            .arg(dir.path().join("server.log"))
            .args(["-o", &options, "start"])
            .output()
            .unwrap();
        let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
        assert!(out.status.success(), "pg_ctl start failed: {}\n{log}", String::from_utf8_lossy(&out.stderr));
        Self { bin, data, as_postgres, url: format!("postgres://postgres@127.0.0.1:{port}"), _dir: dir }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Self::command(&self.bin, "pg_ctl", self.as_postgres)
            .args(["-D"])
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .status();
    }
}

#[test]
fn the_integration_suite_passes_on_postgresql() {
    let server = Server::start();
    let mut run = Command::new(std::env::current_exe().unwrap());
    for (filter, _) in SQLITE_ONLY {
        run.args(["--skip", filter]);
    }
    // The ignored tests are the ones that need PostgreSQL (several apps on one database: `replicas.rs`).
    run.arg("--include-ignored");
    let out = run.env(SERVER_VAR, &server.url).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary = stdout.lines().filter(|l| l.starts_with("test result:")).collect::<Vec<_>>().join("\n");
    assert!(
        out.status.success(),
        "the integration suite failed on PostgreSQL:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("PostgreSQL leg: {summary}");
}
