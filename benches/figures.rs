//! The measuring tools `bench/run.sh` drives (not a test, not a criterion bench): each subcommand measures one
//! figure of BENCHMARKS.md against a running emulator (or in process) and prints it as JSON on one line.
//!
//! - `body FIRST` — a BulkRequest of 50 realistic users (from index FIRST), for wrk to post.
//! - `ceiling SECONDS` — the in-process parse ceiling: `parse_bulk_request` on that body, on every core.
//! - `latency BASE TOKEN SECONDS RATE` — open-loop uploads of unique users at RATE requests/s: the 202's
//!   latency, and the time from sending an upload until its last user's log entry is queryable.
//! - `load BASE TOKEN USERS CONNECTIONS` — uploads USERS unique users (requests of 50, honouring 429
//!   `Retry-After`) and waits until the job has processed them.
//! - `start BIN RUNS` — spawn → first `/health` 200, median of RUNS starts; and the idle RSS.
//! - `memory PID` — a process's resident memory plus the private temporary files it writes.
//! - `scim BASE TOKEN USERS BATCH SINGLES` — a SCIM service provider's create rate, from one sequential client
//!   with keep-alive: USERS users in `POST {BASE}/Bulk` requests of BATCH, then SINGLES `POST {BASE}/Users`
//!   (every answer checked: 200/201 and every operation 201). The same run measures the emulator and
//!   `scim2-server`, so the two rates compare.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper_util::rt::TokioIo;
use serde_json::json;

#[path = "common/workload.rs"]
mod workload;

type Error = Box<dyn std::error::Error + Send + Sync>;

const SP: &str = "c0ffee00-0000-4000-8000-0000000000a1";
const JOB: &str = "API2AAD.c0ffee00000040008000000000000001.c0ffee00-0000-4000-8000-0000000000b1";

fn body(first: usize) -> String {
    workload::bulk((first..first + 50).map(|i| workload::user(i, "Engineer")))
}

fn upload_url(base: &str) -> String {
    format!("{base}/v1.0/servicePrincipals/{SP}/synchronization/jobs/{JOB}/bulkUpload")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ceiling(seconds: u64) {
    let text = body(0);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let started = Instant::now();
    let counts: Vec<usize> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0;
                    while started.elapsed() < Duration::from_secs(seconds) {
                        n += entra_inbound::scim::bulk::parse_bulk_request(text.as_bytes()).map_or(0, |ops| ops.len());
                    }
                    n
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or(0)).collect()
    });
    let ops: usize = counts.iter().sum();
    println!(
        "{}",
        json!({"parse_ceiling_ops_per_s": (ops as f64 / started.elapsed().as_secs_f64()).round(), "threads": threads})
    );
}

async fn latency(base: String, token: String, seconds: u64, rate: u64) -> Result<(), Error> {
    let http = reqwest::Client::new();
    let mut tick = tokio::time::interval(Duration::from_nanos(1_000_000_000 / rate.max(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::new();
    for n in 0..seconds * rate {
        tick.tick().await;
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let first = 5_000_000 + n as usize * 50;
            let last = format!("E{:07}", first + 49);
            let sent = Instant::now();
            let r = http
                .post(upload_url(&base))
                .bearer_auth(&token)
                .header("content-type", "application/scim+json")
                .body(body(first))
                .send()
                .await?;
            let accepted = sent.elapsed();
            if r.status() != 202 {
                return Err(format!("upload answered {}", r.status()).into());
            }
            let url = format!("{base}/v1.0/auditLogs/provisioning?$filter=sourceIdentity/id%20eq%20'{last}'&$top=1");
            loop {
                let page: serde_json::Value = http.get(&url).bearer_auth(&token).send().await?.json().await?;
                if page["value"].as_array().is_some_and(|v| !v.is_empty()) {
                    return Ok::<_, Error>((accepted, sent.elapsed()));
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }));
    }
    let (mut accepted, mut visible) = (Vec::new(), Vec::new());
    for t in tasks {
        let (a, v) = t.await??;
        accepted.push(a.as_secs_f64() * 1000.0);
        visible.push(v.as_secs_f64() * 1000.0);
    }
    accepted.sort_by(f64::total_cmp);
    visible.sort_by(f64::total_cmp);
    let round = |x: f64| (x * 100.0).round() / 100.0;
    println!(
        "{}",
        json!({
            "requests": accepted.len(),
            "latency_p50_ms": round(percentile(&accepted, 50.0)),
            "latency_p99_ms": round(percentile(&accepted, 99.0)),
            "visible_p50_ms": round(percentile(&visible, 50.0)),
            "visible_p99_ms": round(percentile(&visible, 99.0)),
        })
    );
    Ok(())
}

async fn load(base: String, token: String, users: usize, connections: usize) -> Result<(), Error> {
    let http = reqwest::Client::new();
    let started = Instant::now();
    let requests = users.div_ceil(50);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let (http, base, token, next) = (http.clone(), base.clone(), token.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if n >= requests {
                        return Ok::<_, Error>(());
                    }
                    let text = body(n * 50);
                    loop {
                        let r = http
                            .post(upload_url(&base))
                            .bearer_auth(&token)
                            .header("content-type", "application/scim+json")
                            .body(text.clone())
                            .send()
                            .await?;
                        match r.status().as_u16() {
                            202 => break,
                            429 => {
                                let wait = r.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse().ok());
                                tokio::time::sleep(Duration::from_secs(wait.unwrap_or(1))).await;
                            }
                            other => return Err(format!("upload answered {other}").into()),
                        }
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.await??;
    }
    let uploaded = started.elapsed().as_secs_f64();
    // A drain answers 408 when the work outlasts its timeout (at most the request timeout): ask again.
    loop {
        let r = http.post(format!("{base}/_emulator/jobs/{JOB}/drain?timeout=25")).send().await?;
        match r.status().as_u16() {
            200 => break,
            408 => continue,
            other => return Err(format!("drain answered {other}").into()),
        }
    }
    println!(
        "{}",
        json!({"users": users, "upload_s": (uploaded * 10.0).round() / 10.0, "total_s": (started.elapsed().as_secs_f64() * 10.0).round() / 10.0})
    );
    Ok(())
}

/// `VmRSS`/`VmHWM` of a process, in KiB.
fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field))?.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir).into_iter().flatten().flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum()
}

/// The private temporary directory process `pid` keeps its state in.
fn private_dir(pid: u32) -> Option<PathBuf> {
    std::fs::read_dir(std::env::temp_dir()).ok()?.flatten().map(|e| e.path()).find(|p| {
        p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("entra-inbound-state-"))
            && std::fs::read_to_string(p.join("pid")).is_ok_and(|s| s.trim() == pid.to_string())
    })
}

fn memory(pid: u32) {
    let files = private_dir(pid).map_or(0, |d| dir_bytes(&d));
    let mib = |kib: u64| (kib as f64 / 1024.0).round();
    println!(
        "{}",
        json!({
            "rss_mib": mib(status_kib(pid, "VmRSS:")),
            "peak_rss_mib": mib(status_kib(pid, "VmHWM:")),
            "files_mib": (files as f64 / 1048576.0).round(),
            "total_mib": mib(status_kib(pid, "VmRSS:") + files / 1024),
        })
    );
}

async fn start(bin: String, runs: usize) -> Result<(), Error> {
    let mut times = Vec::new();
    let mut idle_rss = 0;
    for run in 0..runs {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let started = Instant::now();
        let mut child = Command::new(&bin)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let url = format!("http://127.0.0.1:{port}/health");
        let http = reqwest::Client::new();
        loop {
            if let Ok(r) = http.get(&url).send().await
                && r.status() == 200
            {
                break;
            }
            if started.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                return Err("the server did not answer /health within 10 s".into());
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        if run == 0 {
            tokio::time::sleep(Duration::from_secs(2)).await;
            idle_rss = status_kib(child.id(), "VmRSS:");
        }
        child.kill()?;
        child.wait()?;
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{}",
        json!({"start_ms": (percentile(&times, 50.0) * 10.0).round() / 10.0, "idle_rss_mib": (idle_rss as f64 / 1024.0 * 10.0).round() / 10.0})
    );
    Ok(())
}

/// Creates users through `/Bulk` and then one by one; prints both rates.
async fn scim(base: String, token: String, users: usize, batch: usize, singles: usize) -> Result<(), Error> {
    let mut client = SequentialClient::new(&base, &token)?;
    let batch = batch.max(1);
    let bodies: Vec<String> = (0..users.div_ceil(batch))
        .map(|b| workload::scim_bulk((b * batch..((b + 1) * batch).min(users)).map(|i| workload::user(i, "Engineer"))))
        .collect();
    let started = Instant::now();
    for body in bodies {
        let (status, answer) = client.post("/Bulk", body).await?;
        let answer: serde_json::Value = serde_json::from_slice(&answer)?;
        let ops = answer["Operations"].as_array().map_or(&[][..], Vec::as_slice);
        if !matches!(status, 200 | 201) || ops.iter().any(|o| o["status"] != "201" && o["status"] != 201) {
            return Err(format!("a Bulk request failed: {status} {answer}").into());
        }
    }
    let bulk_s = started.elapsed().as_secs_f64();
    let singles: Vec<String> = (0..singles).map(|i| workload::user(10_000_000 + i, "Engineer").to_string()).collect();
    let count = singles.len();
    let started = Instant::now();
    for body in singles {
        let (status, answer) = client.post("/Users", body).await?;
        if status != 201 {
            return Err(format!("POST /Users failed: {status} {}", String::from_utf8_lossy(&answer)).into());
        }
    }
    let post_s = started.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({"bulk_users_per_s": (users as f64 / bulk_s).round(), "post_users_per_s": (count as f64 / post_s).round()})
    );
    Ok(())
}

/// One sequential client on a keep-alive HTTP/1.1 connection, through hyper's connection-level client: nothing
/// but hyper between the measurement and the wire. On one connection the client's own work per request adds to
/// every round trip, and reqwest's (a pool checkout, a URL parsed, a redirect policy) cost about half as much CPU
/// as the emulator's answer to a POST, so the figure measured the client too. A server that closes the
/// connection after an answer (scim2-server's HTTP/1.0 `wsgiref` server) gets a new one for the next request,
/// as any client opens it.
struct SequentialClient {
    authority: String,
    prefix: String,
    authorization: HeaderValue,
    connection: Option<SendRequest<Full<Bytes>>>,
}

impl SequentialClient {
    /// A client of `base` (`http://host:port/prefix`) that sends `Bearer {token}` with every request.
    fn new(base: &str, token: &str) -> Result<Self, Error> {
        let uri: hyper::Uri = base.parse()?;
        if uri.scheme_str() != Some("http") {
            return Err(format!("{base}: only an http:// base is measured").into());
        }
        let authority = uri.authority().ok_or_else(|| format!("{base} names no host"))?.to_string();
        let prefix = uri.path().trim_end_matches('/').to_owned();
        let authorization = HeaderValue::try_from(format!("Bearer {token}"))?;
        Ok(Self { authority, prefix, authorization, connection: None })
    }

    /// POSTs `body` to `{prefix}{path}` as `application/scim+json`; the answer's status and body.
    async fn post(&mut self, path: &str, body: String) -> Result<(u16, Bytes), Error> {
        let mut request = hyper::Request::post(format!("{}{path}", self.prefix))
            .header(HOST, &self.authority)
            .header(AUTHORIZATION, &self.authorization)
            .header(CONTENT_TYPE, "application/scim+json")
            .body(Full::new(Bytes::from(body)))?;
        // A connection the server closed shows when the request cannot go out on it: it goes on a new one.
        for _ in 0..2 {
            let open = match self.connection.take() {
                Some(mut send) => send.ready().await.is_ok().then_some(send),
                None => None,
            };
            let mut send = match open {
                Some(send) => send,
                None => connect(&self.authority).await?,
            };
            match send.try_send_request(request).await {
                Ok(response) => {
                    self.connection = Some(send);
                    let status = response.status().as_u16();
                    return Ok((status, response.into_body().collect().await?.to_bytes()));
                }
                Err(mut unsent) => match unsent.take_message() {
                    Some(back) => request = back,
                    None => return Err(unsent.into_error().into()),
                },
            }
        }
        Err(format!("{}: two new connections closed before taking a request", self.authority).into())
    }
}

/// A new HTTP/1.1 connection to `authority`, its I/O driven by a task of its own.
async fn connect(authority: &str) -> Result<SendRequest<Full<Bytes>>, Error> {
    let stream = tokio::net::TcpStream::connect(authority).await?;
    stream.set_nodelay(true)?;
    let (send, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(send)
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let arg = |i: usize| args.get(i).cloned().ok_or_else(|| Error::from(format!("missing argument {i}")));
    let num = |i: usize| -> Result<u64, Error> { Ok(arg(i)?.parse()?) };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match arg(0)?.as_str() {
        "body" => println!("{}", body(usize::try_from(num(1)?)?)),
        "ceiling" => ceiling(num(1)?),
        "latency" => runtime.block_on(latency(arg(1)?, arg(2)?, num(3)?, num(4)?))?,
        "load" => runtime.block_on(load(arg(1)?, arg(2)?, usize::try_from(num(3)?)?, usize::try_from(num(4)?)?))?,
        "start" => runtime.block_on(start(arg(1)?, usize::try_from(num(2)?)?))?,
        "memory" => memory(u32::try_from(num(1)?)?),
        // One sequential client: a single-threaded runtime, so its own thread hand-offs do not bound the figure.
        "scim" => tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(scim(
            arg(1)?,
            arg(2)?,
            usize::try_from(num(3)?)?,
            usize::try_from(num(4)?)?,
            usize::try_from(num(5)?)?,
        ))?,
        other => return Err(format!("unknown subcommand {other}").into()),
    }
    Ok(())
}
