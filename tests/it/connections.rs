//! Connection limits of both listeners (issue 15): headers that never finish, idle connections and a full
//! house of connections, driven with raw TCP clients. Timeouts are configured small; the tests assert
//! that connections close (or are served), never how long that took. `WATCHDOG` only turns a regression
//! into a failure instead of a hung test run.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

const WATCHDOG: Duration = Duration::from_secs(60);

/// A server whose connections time out after `header_read` and `keep_alive` seconds.
async fn server(header_read: u64, keep_alive: u64, max_connections: usize) -> TestServer {
    TestServer::with_config(|c| {
        c.server.header_read_timeout_secs = header_read;
        c.server.keep_alive_timeout_secs = keep_alive;
        c.server.max_connections = max_connections;
    })
    .await
}

fn addr(s: &TestServer) -> SocketAddr {
    s.state.config.server.listen
}

/// Reads until the server closes the connection; returns what it sent before closing.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(WATCHDOG, stream.read_to_end(&mut received));
    // A reset is as closed as an end of stream.
    let _ = read.await.expect("the server never closed the connection");
    received
}

#[tokio::test]
async fn headers_that_never_finish_are_cut_off() {
    let s = server(1, 3600, 1024).await;
    let mut stream = TcpStream::connect(addr(&s)).await.unwrap();
    stream.write_all(b"GET /health HTTP/1.1\r\nHost: emulator\r\n").await.unwrap();
    assert_eq!(read_until_closed(&mut stream).await, b"", "closed without an answer");
}

#[tokio::test]
async fn trickling_header_bytes_does_not_keep_a_connection_open() {
    let s = server(1, 3600, 1024).await;
    let mut stream = TcpStream::connect(addr(&s)).await.unwrap();
    stream.write_all(b"GET /health HTTP/1.1\r\nX-Slow: ").await.unwrap();
    // One more byte every 100 ms: the connection is never idle, yet its headers never end.
    let mut written = 0;
    while stream.write_all(b"a").await.is_ok() {
        written += 1;
        assert!(written < 600, "the connection was never closed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_connection_that_never_sends_anything_is_closed() {
    let s = server(3600, 1, 1024).await;
    let mut stream = TcpStream::connect(addr(&s)).await.unwrap();
    assert_eq!(read_until_closed(&mut stream).await, b"");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_its_response() {
    let s = server(3600, 1, 1024).await;
    let mut stream = TcpStream::connect(addr(&s)).await.unwrap();
    stream.write_all(b"GET /health HTTP/1.1\r\nHost: emulator\r\n\r\n").await.unwrap();
    let received = String::from_utf8(read_until_closed(&mut stream).await).unwrap();
    assert!(received.starts_with("HTTP/1.1 200 OK\r\n"), "{received}");
    assert!(received.ends_with(r#"{"status":"healthy"}"#), "one response, then the close: {received}");
}

#[tokio::test]
async fn a_request_in_progress_outlives_both_timeouts() {
    let s = TestServer::with_config(|c| {
        c.server.header_read_timeout_secs = 1;
        c.server.keep_alive_timeout_secs = 1;
        c.service_principals[0].jobs[0].processing_delay_ms = 2500;
    })
    .await;
    assert_eq!(s.upload(bulk_of(&[scim_user("K1", "k1@contoso.com", None)])).await.status(), 202);
    // The drain waits for the delayed batch, longer than either timeout, on a connection with no traffic.
    let drained = s.drain(JOB).await;
    assert_eq!(drained["pending"], 0);
}

#[tokio::test]
async fn a_connection_over_the_cap_waits_for_a_free_slot() {
    // The idle connection holds the only slot until its keep-alive timeout; the request waits, then is served.
    let s = server(10, 1, 1).await;
    let mut idle = TcpStream::connect(addr(&s)).await.unwrap();
    let waiting = tokio::spawn(s.http.get(format!("{}/health", s.base)).send());
    assert_eq!(read_until_closed(&mut idle).await, b"");
    assert_eq!(waiting.await.unwrap().unwrap().status(), 200);
}

#[tokio::test]
async fn a_connection_that_waits_too_long_for_a_slot_is_closed() {
    let s = server(1, 3600, 1).await;
    let _idle = TcpStream::connect(addr(&s)).await.unwrap();
    let mut waiting = TcpStream::connect(addr(&s)).await.unwrap();
    waiting.write_all(b"GET /health HTTP/1.1\r\nHost: emulator\r\n\r\n").await.unwrap();
    assert_eq!(read_until_closed(&mut waiting).await, b"", "closed without being served");
}

#[tokio::test]
async fn the_https_listener_has_the_same_limits() {
    let clock = Arc::new(entra_inbound::clock::ManualClock::new(time::macros::datetime!(2025-01-15 10:00 UTC)));
    let s = TlsTestServer::start(clock, |c| {
        c.server.header_read_timeout_secs = 1;
        c.server.keep_alive_timeout_secs = 1;
    })
    .await;
    let tls_addr = s.https_base.trim_start_matches("https://").to_owned();
    // A handshake that never starts, and one that stops halfway through its first record.
    let mut silent = TcpStream::connect(&tls_addr).await.unwrap();
    assert_eq!(read_until_closed(&mut silent).await, b"");
    let mut partial = TcpStream::connect(&tls_addr).await.unwrap();
    partial.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]).await.unwrap();
    assert_eq!(read_until_closed(&mut partial).await, b"");
    // Requests over TLS are still served, and a head over the limit gets the Graph envelope there too.
    let r = s.https_client().get(format!("{}/health", s.https_base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let url = format!("{}/health", s.https_base);
    let many = (0..150).fold(s.https_client().get(url), |r, i| r.header(format!("x-h{i}"), "1"));
    let r = many.send().await.unwrap();
    assert_eq!(r.status(), 431);
    assert_eq!(r.headers()["content-type"], "application/json");
}

#[tokio::test]
async fn a_body_that_stops_arriving_gets_408_once_the_request_timeout_passes() {
    let s = TestServer::with_config(|c| c.server.request_timeout_secs = 1).await;
    let mut stream = TcpStream::connect(addr(&s)).await.unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: emulator\r\nAuthorization: Bearer {}\r\nContent-Type: application/scim+json\r\nContent-Length: 1000\r\n\r\n{{\"schemas\":",
        s.upload_url("v1.0", SP, JOB).trim_start_matches(&s.base),
        s.token()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // The rest of the body never comes; the answer does.
    let answer = String::from_utf8_lossy(&read_until_closed(&mut stream).await).into_owned();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":"RequestTimeout""#) && answer.contains("The request timed out."), "{answer}");
}
