//! Every error a user of `entra-inbound upload` can hit, with its exit status and message: 2 when nothing could
//! be sent (file, mapping, token), 1 when records failed or have no outcome.

use crate::support::*;
use crate::upload::{fixture_path, job_config, outcomes, text, upload};

fn write(dir: &std::path::Path, name: &str, content: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.display().to_string()
}

/// Exit status 2 and a message starting with `entra-inbound upload: ` that contains `needle`.
async fn refused(args: &[&str], needle: &str) {
    let out = upload(args, &[]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("entra-inbound upload: ") && stderr.contains(needle), "{needle:?} not in {stderr}");
    assert!(out.stdout.is_empty(), "nothing reported: {}", text(&out.stdout));
}

#[tokio::test]
async fn files_and_mappings_that_cannot_be_read_are_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Port 9 (discard) never answers here: had anything been sent, the message would be about the connection.
    let url = ["--url", "http://127.0.0.1:9"];
    let missing = d.join("missing.csv").display().to_string();
    refused(&[&missing, url[0], url[1]], "cannot read ").await;
    let no_anchor = write(d, "a.csv", "userName,active\nx@contoso.com,true\n");
    refused(&[&no_anchor, url[0], url[1]], "has neither an externalId nor an employeeId column").await;
    let ragged = write(d, "r.csv", "externalId,userName\n1,a\n2\n");
    refused(&[&ragged, url[0], url[1]], "r.csv: line 3: 1 fields, but the header has 2").await;
    let blank = write(d, "b.csv", "externalId,userName\n1,a\n,b\n");
    refused(&[&blank, url[0], url[1]], "b.csv line 3: the record has no externalId").await;
    let twice = write(d, "t.csv", "externalId,userName\n1,a\n2,b\n1,c\n");
    refused(&[&twice, url[0], url[1]], "t.csv line 4: externalId 1 again (first on line 2)").await;

    let csv = fixture_path("upload/hr.csv");
    let unknown = write(d, "m.toml", "externalId = \"EmployeeNumber\"\ntitle = \"Jobtitel\"\n");
    refused(&[&csv, "--mapping", &unknown, url[0], url[1]], "the mapping names columns").await;
    refused(&[&csv, "--mapping", &unknown, url[0], url[1]], "does not have: Jobtitel (its columns: EmployeeNumber,")
        .await;
    let bad_toml = write(d, "bad.toml", "externalId = true\n");
    refused(&[&csv, "--mapping", &bad_toml, url[0], url[1]], "bad.toml: externalId: boolean is neither").await;
    let bad_psd1 = write(d, "bad.psd1", "@{\n  externalId = 'EmployeeNumber'\n  mail = { $_.Login.ToLower() }\n}\n");
    refused(
        &[&csv, "--mapping", &bad_psd1, url[0], url[1]],
        "bad.psd1: line 3: cannot read `mail = { $_.Login.ToLower() }`",
    )
    .await;
    let other = write(d, "m.json", "{}");
    refused(&[&csv, "--mapping", &other, url[0], url[1]], "m.json: a mapping file ends in .toml or .psd1").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn token_and_flag_errors() {
    let server = spawn_server(&[]);
    let csv = fixture_path("upload/hr.csv");
    let mapping = fixture_path("upload/mapping.toml");
    let base = ["--mapping", &mapping, "--url", &server.base];
    let wrong = [
        &csv,
        base[0],
        base[1],
        base[2],
        base[3],
        "--client-id",
        "c0ffee00-0000-4000-8000-0000000000c1",
        "--client-secret",
        "nope",
    ];
    refused(&wrong, "answered 401 Unauthorized: AADSTS7000215").await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let closed = format!("http://127.0.0.1:{port}");
    refused(
        &[&csv, "--mapping", &mapping, "--url", &closed],
        &format!("token endpoint {closed}/c0ffee00-0000-4000-8000-000000000001/oauth2/v2.0/token:"),
    )
    .await;
    // Flags that go together, or exclude each other: clap's usage errors (status 2).
    let out = upload(&[&csv, "--client-id", "x"], &[]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--client-secret"), "{}", text(&out.stderr));
    let out = upload(&[&csv, "--token", "t", "--tenant", "x"], &[]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot be used with"), "{}", text(&out.stderr));
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_requests_fail_their_records_and_stop_the_rest() {
    let server = spawn_server(&[]);
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("externalId,userName,active\n");
    for i in 1..=60 {
        csv += &format!("{i},u{i}@contoso.com,true\n");
    }
    let file = write(dir.path(), "hr.csv", &csv);
    // A token the emulator does not accept: the first request is refused (401), the second is never sent.
    let out = upload(&[&file, "--url", &server.base, "--token", "not-a-jwt", "--json"], &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let o = outcomes(&out);
    assert_eq!(o.len(), 60);
    assert_eq!(
        (o["1"]["status"].as_str(), o["1"]["errorCode"].as_str()),
        (Some("failure"), Some("InvalidAuthenticationToken"))
    );
    assert_eq!(o["51"]["errorCode"], "NotSent");
    assert!(
        o["51"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("not sent: an earlier request failed (InvalidAuthenticationToken: ")
    );
    // A job that does not exist: 404 names it.
    let out = upload(&[&file, "--url", &server.base, "--job", "nope", "--json"], &[]).await;
    assert_eq!(out.status.code(), Some(1));
    let o = outcomes(&out);
    assert_eq!(o["1"]["errorCode"], "Request_ResourceNotFound");
    assert!(o["1"]["reason"].as_str().unwrap().contains("nope"), "{}", o["1"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_over_the_limit_fails_only_its_own_records() {
    let dir = tempfile::tempdir().unwrap();
    // Room for one small request, not for fifty users.
    let config = write(dir.path(), "limit.toml", "[server]\nbody_limit_bytes = 2000\n");
    let server = spawn_server(&["--config", &config]);
    let mut csv = String::from("externalId,userName,displayName,active\n");
    for i in 1..=52 {
        csv += &format!("{i},u{i}@contoso.com,User {i},true\n");
    }
    let file = write(dir.path(), "hr.csv", &csv);
    let out = upload(&[&file, "--url", &server.base, "--json"], &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let o = outcomes(&out);
    assert_eq!(o["1"]["errorCode"], "RequestEntityTooLarge");
    assert_eq!((o["51"]["status"].as_str(), o["52"]["action"].as_str()), (Some("success"), Some("create")));
}

#[tokio::test(flavor = "multi_thread")]
async fn records_without_a_log_entry_in_time_are_pending_unless_not_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    // A paused job accepts uploads and processes nothing.
    let server = spawn_server(&["--config", &job_config(dir.path(), "state = \"paused\"")]);
    let csv = fixture_path("upload/hr.csv");
    let mapping = fixture_path("upload/mapping.toml");
    let out = upload(&[&csv, "--mapping", &mapping, "--url", &server.base, "--json", "--wait-timeout", "1"], &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let o = outcomes(&out);
    assert_eq!(o["E1002"]["status"], "pending");
    assert_eq!(o["E1002"]["reason"], "no provisioning log entry within --wait-timeout 1 s");
    let out = upload(&[&csv, "--mapping", &mapping, "--url", &server.base, "--wait-timeout", "0"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("E1003       -       accepted"), "{}", text(&out.stdout));
}
