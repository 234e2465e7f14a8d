//! `entra-inbound upload FILE`: the CSV2SCIM of this project. Reads HR records (CSV or JSON Lines,
//! [`source`]), maps each to a SCIM user ([`mapping`], or CSV2SCIM's `AttributeMapping.psd1` through
//! [`psd1`]), posts BulkRequests of at most 50 operations to bulkUpload ([`client`]: 429s waited out, nothing
//! sent twice), waits for the provisioning-log entries of the records and reports each one's outcome
//! ([`report`]). Exit status: 0 when no record failed, 1 when one did (or has no outcome by
//! `--wait-timeout`), 2 when the upload could not run (a bad file or mapping, no token).
//!
//! The bulkUpload contract it speaks is `docs/fidelity.md#a1-bulkupload-request-handling`; against the emulator
//! every default applies (its URL, service principal, job, tenant and client), and against Graph the same flags
//! name the real ones. A record's outcome is the first log entry with its externalId dated from the first
//! accepted request's `Date` on (less a second of clock granularity).

pub mod client;
pub mod mapping;
pub mod psd1;
pub mod report;
pub mod source;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};

use crate::cli::print_stdout;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use client::Posted;
use mapping::Mapping;
use report::Outcome;

/// Operations in one BulkRequest (the service's limit).
pub const MAX_OPERATIONS: usize = 50;

#[derive(Debug, Args)]
pub struct UploadArgs {
    /// HR records: CSV with a header row, or JSON Lines (`.jsonl`, `.ndjson`), one flat object a line.
    pub file: PathBuf,
    /// Columns → SCIM attributes: a TOML file shaped like the SCIM user, or CSV2SCIM's AttributeMapping.psd1
    /// [default: the standard columns: externalId (or employeeId), userName, givenName, familyName,
    /// displayName, email, department, title, managerId, active].
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// Base URL of the service: the emulator, or Graph (help text below).
    #[arg(
        long,
        env = "ENTRA_INBOUND_URL",
        default_value = "http://127.0.0.1:8080",
        help = "Base URL of the service: the emulator, or https://graph.microsoft.com"
    )]
    pub url: String,
    /// Service principal id [default: the emulator's].
    #[arg(long, env = "ENTRA_INBOUND_SP")]
    pub sp: Option<String>,
    /// Synchronization job id [default: the emulator's].
    #[arg(long, env = "ENTRA_INBOUND_JOB")]
    pub job: Option<String>,
    /// A bearer token to use as it is (instead of client credentials).
    #[arg(long, env = "ENTRA_INBOUND_TOKEN", conflicts_with_all = ["tenant", "client_id", "client_secret", "authority"])]
    pub token: Option<String>,
    /// Tenant id or domain for the token request [default: the emulator's tenant].
    #[arg(long, env = "ENTRA_INBOUND_TENANT")]
    pub tenant: Option<String>,
    /// Client (application) id [default: the emulator's default client].
    #[arg(long, env = "ENTRA_INBOUND_CLIENT_ID", requires = "client_secret")]
    pub client_id: Option<String>,
    /// Client secret.
    #[arg(long, env = "ENTRA_INBOUND_CLIENT_SECRET", requires = "client_id")]
    pub client_secret: Option<String>,
    /// Token authority (help text below).
    #[arg(
        long,
        env = "ENTRA_INBOUND_AUTHORITY",
        help = "Token authority [default: the --url base (the emulator's own token endpoint); https://login.microsoftonline.com when --url is https://graph.microsoft.com]"
    )]
    pub authority: Option<String>,
    /// Seconds to wait for the records' provisioning-log entries; 0 reports them as accepted without waiting.
    #[arg(long, default_value_t = 120)]
    pub wait_timeout: u64,
    /// Print the outcomes as a JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Print the bulkUpload requests instead of sending them.
    #[arg(long)]
    pub dry_run: bool,
}

/// Runs the upload, prints the report, and gives the exit status.
pub async fn run(args: &UploadArgs) -> ExitCode {
    match upload(args).await {
        Ok(outcomes) if outcomes.iter().any(Outcome::is_failure) => ExitCode::from(1),
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("entra-inbound upload: {e}");
            ExitCode::from(2)
        }
    }
}

/// A record ready to send: its SCIM user and its externalId.
struct Prepared {
    external_id: String,
    operation: Value,
}

async fn upload(args: &UploadArgs) -> Result<Vec<Outcome>, String> {
    let mapping = load_mapping(args.mapping.as_deref())?;
    let prepared = prepare(&args.file, &mapping)?;
    let defaults = Config::defaults().map_err(|e| e.to_string())?;
    let base = args.url.trim_end_matches('/').to_owned();
    let first_job = defaults.service_principals.first().and_then(|sp| sp.jobs.first().map(|j| (sp, j)));
    let sp = args.sp.clone().or_else(|| first_job.map(|(sp, _)| sp.id.clone())).unwrap_or_default();
    let job = args.job.clone().or_else(|| first_job.map(|(_, j)| j.id.clone())).unwrap_or_default();
    let url = format!("{base}/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}/bulkUpload");
    let requests: Vec<String> = prepared
        .chunks(MAX_OPERATIONS)
        .map(|chunk| {
            let operations: Vec<&Value> = chunk.iter().map(|p| &p.operation).collect();
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": operations})
                .to_string()
        })
        .collect();
    if args.dry_run {
        print_dry_run(&url, &requests, args.json);
        return Ok(Vec::new());
    }
    let http = client::http()?;
    let token = match &args.token {
        Some(t) => t.clone(),
        None => {
            let authority = args.authority.clone().unwrap_or_else(|| default_authority(&base));
            let tenant = args.tenant.clone().unwrap_or_else(|| defaults.tenant.id.clone());
            let (id, secret) = match (&args.client_id, &args.client_secret, defaults.clients.first()) {
                (Some(id), Some(secret), _) => (id.clone(), secret.clone()),
                (_, _, Some(c)) => (c.client_id.clone(), c.client_secret.clone()),
                _ => return Err("no client configured: pass --client-id and --client-secret, or --token".into()),
            };
            client::client_credentials(&http, &authority, &tenant, &id, &secret).await?
        }
    };

    let bar = progress_bar(prepared.len());
    bar.set_message("uploading");
    let mut outcomes: Vec<Option<Outcome>> = vec![None; prepared.len()];
    let (mut accepted_at, mut throttled, mut fatal) = (None, 0, None::<String>);
    for (n, body) in requests.into_iter().enumerate() {
        let range = n * MAX_OPERATIONS..((n + 1) * MAX_OPERATIONS).min(prepared.len());
        if let Some(why) = &fatal {
            for i in range {
                outcomes[i] = Some(Outcome::failed(&prepared[i].external_id, "NotSent", why));
            }
            continue;
        }
        match client::post_bulk(&http, &url, &token, body).await {
            Posted::Accepted { date, throttled: t } => {
                throttled += t;
                let date = date.unwrap_or_else(|| SystemClock.now());
                accepted_at = Some(accepted_at.map_or(date, |a: time::OffsetDateTime| a.min(date)));
            }
            Posted::Refused { code, reason, throttled: t, fatal: stop } => {
                throttled += t;
                for i in range.clone() {
                    outcomes[i] = Some(Outcome::failed(&prepared[i].external_id, &code, &reason));
                }
                if stop {
                    fatal = Some(format!("not sent: an earlier request failed ({code}: {reason})"));
                }
            }
        }
        bar.inc(range.len() as u64);
    }

    if let Some(since) = accepted_at {
        let waiting: Vec<usize> = (0..prepared.len()).filter(|&i| outcomes[i].is_none()).collect();
        let since = since - Duration::from_secs(1);
        bar.set_message("waiting for the provisioning logs");
        bar.set_position(0);
        bar.set_length(waiting.len() as u64);
        let found =
            wait_for_logs(&http, &base, &token, &job, since, &prepared, &waiting, args.wait_timeout, &bar).await;
        for i in waiting {
            outcomes[i] = Some(match (&found, args.wait_timeout) {
                (Ok(entries), _) if entries.contains_key(&prepared[i].external_id) => {
                    entries[&prepared[i].external_id].clone()
                }
                (_, 0) => Outcome::new(&prepared[i].external_id, "accepted"),
                (Ok(_), t) => Outcome {
                    reason: Some(format!("no provisioning log entry within --wait-timeout {t} s")),
                    ..Outcome::new(&prepared[i].external_id, "pending")
                },
                (Err(e), _) => Outcome { reason: Some(e.clone()), ..Outcome::new(&prepared[i].external_id, "pending") },
            });
        }
    }
    bar.finish_and_clear();
    let outcomes: Vec<Outcome> = outcomes.into_iter().flatten().collect();
    if args.json {
        print_stdout(&format!("{}\n", report::json(&outcomes)));
    } else {
        print_stdout(&report::table(&outcomes));
    }
    let requests = prepared.len().div_ceil(MAX_OPERATIONS);
    eprintln!("{}; {requests} requests, {throttled} throttled (429) and retried", report::summary(&outcomes));
    Ok(outcomes)
}

/// The records' outcomes from the provisioning logs, polled until every record has one or the time is up.
#[allow(clippy::too_many_arguments)]
async fn wait_for_logs(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    job: &str,
    since: time::OffsetDateTime,
    prepared: &[Prepared],
    waiting: &[usize],
    timeout_secs: u64,
    bar: &ProgressBar,
) -> Result<std::collections::HashMap<String, Outcome>, String> {
    let mut found = std::collections::HashMap::new();
    if timeout_secs == 0 {
        return Ok(found);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout_secs);
    let mut pause = Duration::from_millis(100);
    loop {
        let mut entries = client::log_entries(http, base, token, job, since).await?;
        // The first entry of a record is its own processing; later ones are consequences (a manager set).
        entries.sort_by(|a, b| (&a.at, &a.id).cmp(&(&b.at, &b.id)));
        for e in entries {
            let wanted = waiting.iter().any(|&i| prepared[i].external_id == e.external_id);
            if wanted && !found.contains_key(&e.external_id) {
                let outcome = Outcome {
                    external_id: e.external_id.clone(),
                    action: Some(e.action),
                    status: e.status,
                    error_code: Some(e.error_code).filter(|c| !c.is_empty()),
                    reason: Some(e.reason).filter(|r| !r.is_empty()),
                };
                found.insert(e.external_id, outcome);
            }
        }
        bar.set_position(found.len() as u64);
        if found.len() == waiting.len() || tokio::time::Instant::now() >= deadline {
            return Ok(found);
        }
        tokio::time::sleep(pause.min(deadline.saturating_duration_since(tokio::time::Instant::now()))).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

fn load_mapping(path: Option<&Path>) -> Result<Mapping, String> {
    let Some(path) = path else { return Ok(Mapping::default_columns()) };
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
    let parsed = match ext.as_str() {
        "toml" => Mapping::from_toml(&text),
        "psd1" => psd1::parse(&text),
        _ => return Err(format!("{}: a mapping file ends in .toml or .psd1", path.display())),
    };
    parsed.map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads and maps every record; refuses the file (nothing is sent) when a record cannot be uploaded.
fn prepare(file: &Path, mapping: &Mapping) -> Result<Vec<Prepared>, String> {
    let source = source::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let name = file.display();
    if let Some(header) = &source.header {
        let has = |c: &str| header.iter().any(|h| h.eq_ignore_ascii_case(c));
        if mapping.optional_columns {
            if !has("externalId") && !has("employeeId") {
                return Err(format!(
                    "{name} has neither an externalId nor an employeeId column (the source anchor; or pass --mapping)"
                ));
            }
            if !has("active") {
                eprintln!(
                    "entra-inbound upload: warning: {name} has no active column; the service imports an omitted active as false and disables those users"
                );
            }
        } else {
            let missing: Vec<&str> = mapping.columns().into_iter().filter(|c| !has(c)).collect();
            if !missing.is_empty() {
                return Err(format!(
                    "the mapping names columns {name} does not have: {} (its columns: {})",
                    missing.join(", "),
                    header.join(", ")
                ));
            }
        }
    }
    let mut seen: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    let mut out = Vec::with_capacity(source.records.len());
    for record in &source.records {
        let user = mapping.user(record);
        let Some(external_id) = user.get("externalId").and_then(Value::as_str).map(str::to_owned) else {
            return Err(format!("{name} line {}: the record has no externalId", record.line));
        };
        if let Some(first) = seen.insert(external_id.clone(), record.line) {
            return Err(format!(
                "{name} line {}: externalId {external_id} again (first on line {first}); the outcomes could not be told apart",
                record.line
            ));
        }
        let operation =
            json!({"method": "POST", "bulkId": format!("line-{}", record.line), "path": "/Users", "data": user});
        out.push(Prepared { external_id, operation });
    }
    Ok(out)
}

fn default_authority(base: &str) -> String {
    if base.eq_ignore_ascii_case("https://graph.microsoft.com") {
        "https://login.microsoftonline.com".into()
    } else {
        base.to_owned()
    }
}

/// A progress bar on stderr when it is a terminal; hidden otherwise (pipes, files, CI logs).
fn progress_bar(len: usize) -> ProgressBar {
    let target =
        if std::io::stderr().is_terminal() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
    let bar = ProgressBar::with_draw_target(Some(len as u64), target);
    if let Ok(style) = ProgressStyle::with_template("{msg:34} [{bar:30}] {pos}/{len} records") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

fn print_dry_run(url: &str, requests: &[String], as_json: bool) {
    let bodies: Vec<Value> = requests.iter().filter_map(|r| serde_json::from_str(r).ok()).collect();
    if as_json {
        let all: Vec<Value> = bodies.iter().map(|b| json!({"method": "POST", "url": url, "body": b})).collect();
        print_stdout(&format!("{}\n", serde_json::to_string_pretty(&all).unwrap_or_default()));
        return;
    }
    for (i, body) in bodies.iter().enumerate() {
        let ops = body["Operations"].as_array().map_or(0, Vec::len);
        let pretty = serde_json::to_string_pretty(body).unwrap_or_default();
        print_stdout(&format!(
            "# request {} of {} ({ops} operations)\nPOST {url}\nContent-Type: application/scim+json\n\n{pretty}\n\n",
            i + 1,
            bodies.len()
        ));
    }
}
