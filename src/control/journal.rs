//! The request journal (README "Request journal"): the last `journal.capacity` requests the emulator answered,
//! newest first, for a test (or a person) asking "what did my client send, and what did it get?". Without HTTP:
//! `api::journal` records each request and serves `/_emulator/journal`.
//!
//! Design constraints: bounded (a ring; the oldest entry goes first), one short mutex per request, and nothing
//! secret in it — an entry holds the path without its query, ids, counts and the error message the emulator
//! itself wrote, never a header value or a body a client sent.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One answered request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JournalEntry {
    /// When the request arrived (the emulator's clock).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String)]
    pub time: OffsetDateTime,
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The surface, as fault rules name it (`bulkUpload`, `token`, `scim`, …).
    pub route: String,
    pub status: u16,
    pub duration_ms: u64,
    pub request_id: String,
    pub client_request_id: String,
    /// The token's `appid`/`azp`, or the token request's `client_id`, when known.
    pub client_id: Option<String>,
    /// The error message of a 4xx or 5xx answer.
    pub reason: Option<String>,
    /// bulkUpload: the number of operations accepted.
    pub operations: Option<usize>,
    /// bulkUpload: the operations' bulkIds, in order.
    pub bulk_ids: Option<Vec<String>>,
}

/// Which entries a reader wants.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JournalQuery {
    pub limit: usize,
    pub route: Option<String>,
    pub status: Option<StatusFilter>,
    pub since: Option<OffsetDateTime>,
}

/// An exact status, or a class (`4xx`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Exact(u16),
    Class(u16),
}

impl StatusFilter {
    /// `429` or `4xx`; `None` for anything else.
    pub fn parse(raw: &str) -> Option<Self> {
        if let Some(class) = raw.strip_suffix("xx").or_else(|| raw.strip_suffix("XX")) {
            return class.parse().ok().filter(|c| (1..=5).contains(c)).map(StatusFilter::Class);
        }
        raw.parse().ok().filter(|s| (100..=599).contains(s)).map(StatusFilter::Exact)
    }

    fn matches(self, status: u16) -> bool {
        match self {
            StatusFilter::Exact(s) => status == s,
            StatusFilter::Class(c) => status / 100 == c,
        }
    }
}

/// The ring of entries.
#[derive(Debug)]
pub struct Journal {
    capacity: usize,
    entries: Mutex<VecDeque<JournalEntry>>,
}

impl Journal {
    /// A journal keeping the last `capacity` entries (0 keeps none).
    pub fn new(capacity: usize) -> Self {
        Self { capacity, entries: Mutex::new(VecDeque::with_capacity(capacity.min(4096))) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<JournalEntry>> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Adds an entry, dropping the oldest when full.
    pub fn record(&self, entry: JournalEntry) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.lock();
        if entries.len() == self.capacity {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    /// The entries `query` selects, newest first.
    pub fn query(&self, query: &JournalQuery) -> Vec<JournalEntry> {
        self.lock()
            .iter()
            .rev()
            .filter(|e| query.route.as_deref().is_none_or(|r| e.route == r))
            .filter(|e| query.status.is_none_or(|s| s.matches(e.status)))
            .filter(|e| query.since.is_none_or(|t| e.time >= t))
            .take(query.limit)
            .cloned()
            .collect()
    }

    /// Empties the journal (`DELETE /_emulator/journal`, and reset).
    pub fn reset(&self) {
        self.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn entry(n: i64, route: &str, status: u16) -> JournalEntry {
        JournalEntry {
            time: datetime!(2025-01-15 10:00 UTC) + time::Duration::seconds(n),
            method: "POST".into(),
            path: "/p".into(),
            route: route.into(),
            status,
            duration_ms: 1,
            request_id: format!("r{n}"),
            client_request_id: format!("r{n}"),
            client_id: None,
            reason: None,
            operations: None,
            bulk_ids: None,
        }
    }

    fn ids(entries: &[JournalEntry]) -> Vec<&str> {
        entries.iter().map(|e| e.request_id.as_str()).collect()
    }

    #[test]
    fn the_ring_keeps_the_newest_and_answers_newest_first() {
        let journal = Journal::new(3);
        for n in 0..5 {
            journal.record(entry(n, "bulkUpload", 202));
        }
        let all = journal.query(&JournalQuery { limit: 10, ..JournalQuery::default() });
        assert_eq!(ids(&all), ["r4", "r3", "r2"]);
        journal.reset();
        assert!(journal.query(&JournalQuery { limit: 10, ..JournalQuery::default() }).is_empty());
    }

    #[test]
    fn filters_combine() {
        let journal = Journal::new(10);
        journal.record(entry(0, "bulkUpload", 400));
        journal.record(entry(1, "token", 200));
        journal.record(entry(2, "bulkUpload", 429));
        journal.record(entry(3, "bulkUpload", 202));
        let q = |route: Option<&str>, status: Option<&str>, since: Option<i64>, limit| JournalQuery {
            limit,
            route: route.map(str::to_owned),
            status: status.map(|s| StatusFilter::parse(s).unwrap()),
            since: since.map(|s| datetime!(2025-01-15 10:00 UTC) + time::Duration::seconds(s)),
        };
        assert_eq!(ids(&journal.query(&q(Some("bulkUpload"), None, None, 10))), ["r3", "r2", "r0"]);
        assert_eq!(ids(&journal.query(&q(None, Some("4xx"), None, 10))), ["r2", "r0"]);
        assert_eq!(ids(&journal.query(&q(None, Some("429"), None, 10))), ["r2"]);
        assert_eq!(ids(&journal.query(&q(None, None, Some(1), 10))), ["r3", "r2", "r1"]);
        assert_eq!(ids(&journal.query(&q(None, None, None, 1))), ["r3"]);
    }

    #[test]
    fn status_filters_parse_exact_statuses_and_classes() {
        assert_eq!(StatusFilter::parse("429"), Some(StatusFilter::Exact(429)));
        assert_eq!(StatusFilter::parse("5xx"), Some(StatusFilter::Class(5)));
        assert_eq!(StatusFilter::parse("9xx"), None);
        assert_eq!(StatusFilter::parse("abc"), None);
        assert_eq!(StatusFilter::parse("42"), None);
    }
}
