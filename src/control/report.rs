//! The client conformance report (README "Client conformance report"): per client id, what the client under
//! test did that the real service would punish or silently mishandle — retrying a 429 before its
//! `Retry-After`, the wrong media type, too many operations, an omitted `active`, one externalId twice in a
//! request, a manager sent after the employee, uploads to a paused job. Without HTTP: `api::journal` and the
//! bulkUpload handler note findings, the job worker notes managers it could not find, `api::report` serves it.
//!
//! Design constraints: bounded — one counter per (client, kind), one pending `Retry-After` per (client,
//! surface), and the clients of the last [`REMEMBERED_UPLOADS`] uploads (so the engine, which knows only an
//! upload's request id, can name its client).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

use serde::Serialize;
use time::OffsetDateTime;

/// Uploads whose client the report remembers for findings the engine makes later.
pub const REMEMBERED_UPLOADS: usize = 10_000;

/// What a client did wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum FindingKind {
    RetryBeforeRetryAfter,
    WrongContentType,
    TooManyOperations,
    ActiveOmitted,
    DuplicateExternalIdInRequest,
    ManagerBeforeItExists,
    UploadToPausedJob,
}

impl FindingKind {
    /// What to do about it.
    pub fn advice(self) -> &'static str {
        match self {
            FindingKind::RetryBeforeRetryAfter => {
                "A request was sent again before the Retry-After of the 429 answering the previous one had passed. Wait at least Retry-After seconds before retrying; retrying sooner keeps the client throttled."
            }
            FindingKind::WrongContentType => {
                "bulkUpload was sent with a Content-Type other than application/scim+json and refused with 400 Invalid Data Format. Send Content-Type: application/scim+json."
            }
            FindingKind::TooManyOperations => {
                "A bulkUpload request held more than 50 operations and was refused. Split the records into requests of at most 50 operations."
            }
            FindingKind::ActiveOmitted => {
                "An operation did not send 'active'. The service imports an omitted 'active' as false and disables the user. Send active: true (or false) for every record."
            }
            FindingKind::DuplicateExternalIdInRequest => {
                "One request held the same externalId in more than one operation. The operations are processed in order, so the last one wins and the others are wasted or overwritten; send each record once per request."
            }
            FindingKind::ManagerBeforeItExists => {
                "An employee named a manager (manager.value) that was not in the directory when the employee was processed; the reference waits and the log entry has a warning. Upload managers before (or in the same request as) their reports."
            }
            FindingKind::UploadToPausedJob => {
                "bulkUpload was accepted (202) while the job was paused: nothing is processed until the job is started. Check the job's state, or start it, before uploading."
            }
        }
    }
}

/// One kind of finding of one client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub kind: FindingKind,
    pub count: u64,
    /// The request id of the first request that showed it.
    pub example_request_id: String,
    pub advice: &'static str,
}

/// The findings of one client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientFindings {
    /// The token's `appid`/`azp`, or the token request's `client_id`; null when the request named no client.
    pub client_id: Option<String>,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Default)]
struct Inner {
    findings: BTreeMap<(Option<String>, FindingKind), (u64, String)>,
    /// (client, surface) → until when its last 429 asked it to wait.
    retry_after: HashMap<(Option<String>, &'static str), OffsetDateTime>,
    uploads: HashMap<String, Option<String>>,
    upload_order: VecDeque<String>,
}

/// The report of one emulator.
#[derive(Debug, Default)]
pub struct Report {
    inner: Mutex<Inner>,
}

impl Report {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts one finding of `client` shown by request `request_id`.
    pub fn note(&self, client: Option<&str>, kind: FindingKind, request_id: &str) {
        let mut inner = self.lock();
        let slot =
            inner.findings.entry((client.map(str::to_owned), kind)).or_insert_with(|| (0, request_id.to_owned()));
        slot.0 += 1;
    }

    /// A request of `client` to `surface` arrived at `now`: a finding when its last 429 there asked it to wait
    /// longer. Then, when this request was answered 429 with `retry_after_secs`, it must wait again.
    pub fn request(
        &self,
        client: Option<&str>,
        surface: &'static str,
        now: OffsetDateTime,
        request_id: &str,
        retry_after_secs: Option<u64>,
    ) {
        let key = (client.map(str::to_owned), surface);
        let early = {
            let mut inner = self.lock();
            let early = inner.retry_after.get(&key).is_some_and(|until| now < *until);
            match retry_after_secs {
                Some(secs) => {
                    let wait = time::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX));
                    inner.retry_after.insert(key, now.checked_add(wait).unwrap_or(now));
                }
                None => {
                    inner.retry_after.remove(&key);
                }
            }
            early
        };
        if early {
            self.note(client, FindingKind::RetryBeforeRetryAfter, request_id);
        }
    }

    /// Remembers which client sent upload `request_id` (for findings the engine makes later).
    pub fn upload_sent(&self, request_id: &str, client: Option<&str>) {
        let mut inner = self.lock();
        if inner.upload_order.len() == REMEMBERED_UPLOADS
            && let Some(oldest) = inner.upload_order.pop_front()
        {
            inner.uploads.remove(&oldest);
        }
        inner.upload_order.push_back(request_id.to_owned());
        inner.uploads.insert(request_id.to_owned(), client.map(str::to_owned));
    }

    /// A finding of the upload `request_id`, for its client when remembered.
    pub fn note_upload(&self, request_id: &str, kind: FindingKind) {
        let client = self.lock().uploads.get(request_id).cloned().flatten();
        self.note(client.as_deref(), kind, request_id);
    }

    /// Every client with findings, by client id; each client's findings in the order of [`FindingKind`].
    pub fn clients(&self) -> Vec<ClientFindings> {
        let inner = self.lock();
        let mut out: Vec<ClientFindings> = Vec::new();
        for ((client, kind), (count, example)) in &inner.findings {
            let finding =
                Finding { kind: *kind, count: *count, example_request_id: example.clone(), advice: kind.advice() };
            match out.last_mut() {
                Some(last) if last.client_id == *client => last.findings.push(finding),
                _ => out.push(ClientFindings { client_id: client.clone(), findings: vec![finding] }),
            }
        }
        out
    }

    /// Forgets everything (reset).
    pub fn reset(&self) {
        *self.lock() = Inner::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2025-01-15 10:00 UTC);

    #[test]
    fn a_retry_inside_retry_after_is_a_finding_and_one_after_it_is_not() {
        let report = Report::default();
        report.request(Some("c"), "bulkUpload", T0, "r1", Some(5));
        report.request(Some("c"), "bulkUpload", T0 + time::Duration::seconds(1), "r2", None);
        report.request(Some("other"), "bulkUpload", T0, "r3", None);
        report.request(Some("c"), "bulkUpload", T0, "r4", Some(1));
        report.request(Some("c"), "bulkUpload", T0 + time::Duration::seconds(1), "r5", None);
        report.request(Some("far"), "bulkUpload", T0, "r6", Some(u64::MAX));
        let clients = report.clients();
        assert_eq!(clients.len(), 1);
        assert_eq!(clients[0].client_id.as_deref(), Some("c"));
        assert_eq!(clients[0].findings[0].kind, FindingKind::RetryBeforeRetryAfter);
        assert_eq!(clients[0].findings[0].count, 1);
        assert_eq!(clients[0].findings[0].example_request_id, "r2");
    }

    #[test]
    fn engine_findings_reach_the_client_of_the_upload() {
        let report = Report::default();
        report.upload_sent("u1", Some("c"));
        report.note_upload("u1", FindingKind::ManagerBeforeItExists);
        report.note_upload("unknown", FindingKind::ManagerBeforeItExists);
        report.note(Some("c"), FindingKind::ActiveOmitted, "u0");
        let clients = report.clients();
        assert_eq!(clients[0].client_id, None);
        let c = &clients[1];
        let kinds: Vec<_> = c.findings.iter().map(|f| f.kind).collect();
        assert_eq!(kinds, [FindingKind::ActiveOmitted, FindingKind::ManagerBeforeItExists]);
        report.reset();
        assert!(report.clients().is_empty());
    }

    #[test]
    fn the_uploads_remembered_are_bounded() {
        let report = Report::default();
        for n in 0..=REMEMBERED_UPLOADS {
            report.upload_sent(&format!("u{n}"), Some("c"));
        }
        report.note_upload("u0", FindingKind::ManagerBeforeItExists);
        assert_eq!(report.clients()[0].client_id, None, "the oldest upload was forgotten");
    }
}
