//! The HTTP side of `entra-inbound upload`: a client-credentials token, bulkUpload requests that honour 429
//! `Retry-After`, and the provisioning-log entries of the uploaded records. Works against the emulator and
//! against Graph (`https://graph.microsoft.com`, tokens from `https://login.microsoftonline.com`).
//!
//! Design constraints: nothing is sent twice. Only a request the service refused without accepting it is sent
//! again: a 429 (after `Retry-After`) or a connection that could not be opened. Any other failure (a timeout, a
//! dropped connection, a 5xx) leaves the request's records marked failed, never retried. Every call has a
//! time limit. HTTPS trusts the platform's roots, which honour `SSL_CERT_FILE` (the emulator's CA).

use std::time::Duration;

use serde_json::Value;
use time::OffsetDateTime;

/// Attempts for one request while the service answers 429 or cannot be reached.
pub const MAX_ATTEMPTS: u32 = 20;
const TIMEOUT: Duration = Duration::from_secs(60);
/// The longest `Retry-After` honoured; a longer one (a daily cap) ends the upload of that request.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);
pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

pub fn http() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .user_agent(concat!("entra-inbound-upload/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {}", describe(&e)))
}

/// A token from `{authority}/{tenant}/oauth2/v2.0/token` for Graph, by client secret.
pub async fn client_credentials(
    http: &reqwest::Client,
    authority: &str,
    tenant: &str,
    client_id: &str,
    secret: &str,
) -> Result<String, String> {
    let url = format!("{}/{tenant}/oauth2/v2.0/token", authority.trim_end_matches('/'));
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "client_credentials")
        .append_pair("client_id", client_id)
        .append_pair("client_secret", secret)
        .append_pair("scope", GRAPH_SCOPE)
        .finish();
    let response = http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .map_err(|e| format!("token endpoint {url}: {}", describe(&e)))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    match body.get("access_token").and_then(Value::as_str) {
        Some(token) if status.is_success() => Ok(token.to_owned()),
        _ => {
            let why = body["error_description"].as_str().or(body["error"].as_str()).unwrap_or("no token in the answer");
            Err(format!("token endpoint {url} answered {status}: {}", why.lines().next().unwrap_or_default()))
        }
    }
}

/// How one bulkUpload request ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Posted {
    /// 202: the service's `Date` when it accepted the request, and how many 429s came first.
    Accepted { date: Option<OffsetDateTime>, throttled: u32 },
    /// Refused (400, 401, 403, 404, 413, …) or failed: nothing of it can be assumed accepted.
    Refused { code: String, reason: String, throttled: u32, fatal: bool },
}

/// POSTs one BulkRequest, waiting out 429s.
pub async fn post_bulk(http: &reqwest::Client, url: &str, token: &str, body: String) -> Posted {
    let mut throttled = 0;
    for attempt in 1..=MAX_ATTEMPTS {
        let sent = http
            .post(url)
            .bearer_auth(token)
            .header("content-type", "application/scim+json")
            .body(body.clone())
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) if e.is_connect() && attempt < MAX_ATTEMPTS => {
                tokio::time::sleep(Duration::from_millis(250 * u64::from(attempt.min(8)))).await;
                continue;
            }
            Err(e) => {
                let reason = format!("{url}: {} (the request may or may not have been accepted)", describe(&e));
                return Posted::Refused { code: "RequestFailed".into(), reason, throttled, fatal: true };
            }
        };
        let status = response.status().as_u16();
        if status == 202 {
            let date = response
                .headers()
                .get("date")
                .and_then(|d| d.to_str().ok())
                .and_then(|d| OffsetDateTime::parse(d, &time::format_description::well_known::Rfc2822).ok());
            return Posted::Accepted { date, throttled };
        }
        if status == 429 {
            throttled += 1;
            let wait = retry_after(response.headers().get("retry-after").and_then(|v| v.to_str().ok()));
            if wait > MAX_RETRY_AFTER {
                let reason = format!("throttled: Retry-After {} s is longer than this upload waits", wait.as_secs());
                return Posted::Refused { code: "TooManyRequests".into(), reason, throttled, fatal: true };
            }
            tokio::time::sleep(wait).await;
            continue;
        }
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let (code, reason) = graph_error(status, &body);
        // A bad request concerns its own records; anything else (auth, missing job, a server error) every request.
        return Posted::Refused { code, reason, throttled, fatal: status != 400 && status != 413 };
    }
    let reason = format!("still throttled or unreachable after {MAX_ATTEMPTS} attempts");
    Posted::Refused { code: "TooManyRequests".into(), reason, throttled, fatal: true }
}

/// `Retry-After` in seconds (at least one); an HTTP date or nothing waits one second.
fn retry_after(value: Option<&str>) -> Duration {
    Duration::from_secs(value.and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(1).max(1))
}

/// The Graph error envelope's code and message, with its details.
fn graph_error(status: u16, body: &Value) -> (String, String) {
    let error = &body["error"];
    let code = error["code"].as_str().map_or_else(|| format!("HTTP{status}"), str::to_owned);
    let mut reason = error["message"].as_str().map_or_else(|| format!("the service answered {status}"), str::to_owned);
    for detail in error["details"].as_array().into_iter().flatten() {
        if let Some(message) = detail["message"].as_str() {
            let target = detail["target"].as_str().map(|t| format!(" ({t})")).unwrap_or_default();
            reason += &format!("; {message}{target}");
        }
    }
    (code, reason)
}

/// What the upload reports of one provisioning-log entry.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    pub id: String,
    pub external_id: String,
    pub at: String,
    pub action: String,
    pub status: String,
    pub error_code: String,
    pub reason: String,
}

/// The job's provisioning-log entries from `since` on (all pages).
pub async fn log_entries(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    job: &str,
    since: OffsetDateTime,
) -> Result<Vec<LogEntry>, String> {
    let since = since.replace_nanosecond(0).unwrap_or(since);
    let since = since.format(&time::format_description::well_known::Rfc3339).map_err(|e| e.to_string())?;
    let filter = format!("jobId eq '{}' and activityDateTime ge {since}", job.replace('\'', "''"));
    let query = form_urlencoded::Serializer::new(String::new()).append_pair("$filter", &filter).finish();
    let mut url = format!("{base}/v1.0/auditLogs/provisioning?{}", query.replace('+', "%20"));
    let mut out = Vec::new();
    loop {
        let response =
            http.get(&url).bearer_auth(token).send().await.map_err(|e| format!("{url}: {}", describe(&e)))?;
        let status = response.status().as_u16();
        let page: Value = response.json().await.unwrap_or(Value::Null);
        if status != 200 {
            let (code, reason) = graph_error(status, &page);
            return Err(format!("reading the provisioning logs: {status} {code}: {reason}"));
        }
        out.extend(page["value"].as_array().into_iter().flatten().map(log_entry));
        match page["@odata.nextLink"].as_str() {
            Some(next) => url = next.to_owned(),
            None => return Ok(out),
        }
    }
}

fn log_entry(e: &Value) -> LogEntry {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let info = &e["provisioningStatusInfo"];
    LogEntry {
        id: text(&e["id"]),
        external_id: text(&e["sourceIdentity"]["id"]),
        at: text(&e["activityDateTime"]),
        action: text(&e["provisioningAction"]),
        status: text(&info["status"]),
        error_code: text(&info["errorInformation"]["errorCode"]),
        reason: text(&info["errorInformation"]["reason"]),
    }
}

/// A reqwest error with its causes (reqwest's own text omits them).
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text += &format!(": {s}");
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_whole_seconds_of_at_least_one() {
        assert_eq!(retry_after(Some("3")), Duration::from_secs(3));
        assert_eq!(retry_after(Some("0")), Duration::from_secs(1));
        assert_eq!(retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")), Duration::from_secs(1));
        assert_eq!(retry_after(None), Duration::from_secs(1));
    }

    #[test]
    fn graph_errors_carry_their_details() {
        let body = serde_json::json!({"error": {"code": "BadRequest", "message": "Invalid Data Format",
            "details": [{"code": "x", "message": "externalId is required", "target": "$.Operations[0].data.externalId"}]}});
        assert_eq!(
            graph_error(400, &body),
            (
                "BadRequest".into(),
                "Invalid Data Format; externalId is required ($.Operations[0].data.externalId)".into()
            )
        );
        assert_eq!(graph_error(502, &Value::Null), ("HTTP502".into(), "the service answered 502".into()));
    }
}
