//! A job's `synchronizationStatus` (docs/fidelity.md B.3): the state code, the last executions with their counters,
//! quarantine, steady-state times — and the rules that move a job into quarantine (docs/fidelity.md A.2 "Quarantine"; thresholds from
//! configuration so tests can reach them with small numbers).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::pipeline::BatchResult;
use crate::graph_time::graph_datetime;

/// Why a job is quarantined (Graph `quarantineReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum QuarantineReason {
    EscrowProportion,
    TotalEscrow,
    TooManyDeletes,
}

impl QuarantineReason {
    pub fn as_str(self) -> &'static str {
        match self {
            QuarantineReason::EscrowProportion => "EncounteredEscrowProportionThreshold",
            QuarantineReason::TotalEscrow => "EncounteredTotalEscrowThreshold",
            QuarantineReason::TooManyDeletes => "TooManyDeletes",
        }
    }

    fn message(self) -> &'static str {
        match self {
            QuarantineReason::EscrowProportion => {
                "Too large a share of the operations processed since the last restart failed; fix the errors in the provisioning logs, then restart the job."
            }
            QuarantineReason::TotalEscrow => {
                "Too many operations failed since the last restart; fix the errors in the provisioning logs, then restart the job."
            }
            QuarantineReason::TooManyDeletes => {
                "A cycle would have disabled more users than the accidental-deletion threshold allows; the disables were not applied (see the stagedDelete entries). Restart the job to continue."
            }
        }
    }
}

/// Quarantine thresholds of one job.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub min_failures: u64,
    pub failure_ratio: f64,
    pub total_failures: u64,
}

/// One `synchronizationTaskExecution`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    pub cycle_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub began: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ended: OffsetDateTime,
    pub result: BatchResult,
}

impl Execution {
    fn to_json(&self) -> Value {
        let r = &self.result;
        json!({
            "activityIdentifier": self.cycle_id,
            "countEntitled": r.processed.saturating_sub(r.out_of_scope),
            "countEntitledForProvisioning": r.processed.saturating_sub(r.out_of_scope),
            "countEscrowed": r.failed,
            "countEscrowedRaw": r.failed,
            "countExported": r.exported,
            "countExports": r.exported,
            "countImported": r.processed,
            "countImportedDeltas": r.processed,
            "countImportedReferenceDeltas": r.references,
            "error": null,
            "state": if r.failed == 0 { "Succeeded" } else { "EntryLevelErrors" },
            "timeBegan": graph_datetime(self.began),
            "timeEnded": graph_datetime(self.ended),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Quarantine {
    reason: QuarantineReason,
    #[serde(with = "time::serde::rfc3339")]
    began: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    series_began: OffsetDateTime,
    series_count: u64,
}

/// The mutable status of a job; serialisable so a durable emulator keeps it across restarts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobStatus {
    last: Option<Execution>,
    last_successful: Option<Execution>,
    last_with_exports: Option<Execution>,
    quarantine: Option<Quarantine>,
    #[serde(with = "time::serde::rfc3339::option")]
    quarantine_series_began: Option<OffsetDateTime>,
    quarantine_series_count: u64,
    #[serde(with = "time::serde::rfc3339::option")]
    steady_first: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    steady_last: Option<OffsetDateTime>,
    /// Operations processed and failed since the last restart that reset escrows.
    processed_since_reset: u64,
    failed_since_reset: u64,
    successive_failures: u64,
}

impl JobStatus {
    /// Account for one processed batch; returns a quarantine reason when a threshold is crossed.
    pub fn record(
        &mut self,
        execution: Execution,
        thresholds: &Thresholds,
        queue_empty: bool,
    ) -> Option<QuarantineReason> {
        let r = execution.result;
        self.processed_since_reset += r.processed as u64;
        self.failed_since_reset += r.failed as u64;
        self.successive_failures =
            if r.failed > 0 && r.failed == r.processed { self.successive_failures + 1 } else { 0 };
        if queue_empty {
            self.steady_first.get_or_insert(execution.ended);
            self.steady_last = Some(execution.ended);
        }
        if r.exported > 0 {
            self.last_with_exports = Some(execution.clone());
        }
        self.last_successful = Some(execution.clone());
        let at = execution.ended;
        self.last = Some(execution);
        let reason = if r.too_many_deletes {
            Some(QuarantineReason::TooManyDeletes)
        } else if self.failed_since_reset >= thresholds.total_failures {
            Some(QuarantineReason::TotalEscrow)
        } else if self.failed_since_reset >= thresholds.min_failures
            && self.processed_since_reset > 0
            && (self.failed_since_reset as f64 / self.processed_since_reset as f64) > thresholds.failure_ratio
        {
            Some(QuarantineReason::EscrowProportion)
        } else {
            None
        };
        if let Some(reason) = reason {
            self.enter_quarantine(reason, at);
        }
        reason
    }

    fn enter_quarantine(&mut self, reason: QuarantineReason, at: OffsetDateTime) {
        let series_began = *self.quarantine_series_began.get_or_insert(at);
        self.quarantine_series_count += 1;
        let series_count = self.quarantine_series_count;
        self.quarantine = Some(Quarantine { reason, began: at, series_began, series_count });
    }

    pub fn is_quarantined(&self) -> bool {
        self.quarantine.is_some()
    }

    /// `restart` with its reset scope.
    pub fn restart(&mut self, scope: &ResetScope) {
        if scope.escrows || scope.full {
            self.processed_since_reset = 0;
            self.failed_since_reset = 0;
            self.successive_failures = 0;
        }
        if scope.quarantine_state || scope.full {
            self.quarantine = None;
            self.quarantine_series_began = None;
            self.quarantine_series_count = 0;
        }
        if scope.full || scope.watermark {
            self.last = None;
            self.last_successful = None;
            self.last_with_exports = None;
            self.steady_first = None;
            self.steady_last = None;
        }
    }

    /// The Graph `synchronizationStatus`; `code` is decided by the caller's run state.
    pub fn to_json(&self, paused: bool, users: u64) -> Value {
        let never = "0001-01-01T00:00:00Z";
        let code = if self.quarantine.is_some() {
            "Quarantine"
        } else if paused {
            "Paused"
        } else if self.last.is_some() {
            "Active"
        } else {
            "NotRun"
        };
        let quarantine = self.quarantine.as_ref().map(|q| {
            json!({
                "currentBegan": graph_datetime(q.began),
                "nextAttempt": graph_datetime(q.began + time::Duration::hours(6)),
                "reason": q.reason.as_str(),
                "seriesBegan": graph_datetime(q.series_began),
                "seriesCount": q.series_count,
                "error": {"code": q.reason.as_str(), "message": q.reason.message(), "tenantActionable": true},
            })
        });
        json!({
            "code": code,
            "countSuccessiveCompleteFailures": self.successive_failures,
            "escrowsPruned": false,
            "lastExecution": self.last.as_ref().map(Execution::to_json),
            "lastSuccessfulExecution": self.last_successful.as_ref().map(Execution::to_json),
            "lastSuccessfulExecutionWithExports": self.last_with_exports.as_ref().map(Execution::to_json),
            "progress": [],
            "quarantine": quarantine,
            "steadyStateFirstAchievedTime": self.steady_first.map_or(never.to_owned(), graph_datetime),
            "steadyStateLastAchievedTime": self.steady_last.map_or(never.to_owned(), graph_datetime),
            "synchronizedEntryCountByType": [{"key": "User", "value": users}],
            "troubleshootingUrl": null,
        })
    }
}

/// `criteria.resetScope` of `restart` (flags: `Watermark, Escrows, QuarantineState`, `Full`, …).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResetScope {
    pub watermark: bool,
    pub escrows: bool,
    pub quarantine_state: bool,
    pub full: bool,
}

impl ResetScope {
    /// Parse the comma-separated flag names; None names the first unknown flag.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut scope = ResetScope::default();
        for flag in text.split(',').map(str::trim).filter(|f| !f.is_empty()) {
            match flag.to_ascii_lowercase().as_str() {
                "none" | "connectordatastore" | "forcedeletes" => {}
                "escrows" => scope.escrows = true,
                "watermark" => scope.watermark = true,
                "quarantinestate" => scope.quarantine_state = true,
                "full" => scope.full = true,
                _ => return Err(flag.to_owned()),
            }
        }
        Ok(scope)
    }

    /// What the portal's "Restart provisioning" sends, used when a restart has no criteria.
    pub fn default_restart() -> Self {
        ResetScope { watermark: true, escrows: true, quarantine_state: true, full: false }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn exec(processed: usize, failed: usize) -> Execution {
        Execution {
            cycle_id: "c".into(),
            began: datetime!(2025-01-01 0:00 UTC),
            ended: datetime!(2025-01-01 0:01 UTC),
            result: BatchResult { processed, failed, ..BatchResult::default() },
        }
    }

    const T: Thresholds = Thresholds { min_failures: 4, failure_ratio: 0.4, total_failures: 100 };

    #[test]
    fn proportion_needs_the_minimum_then_the_ratio() {
        let mut s = JobStatus::default();
        assert_eq!(s.record(exec(3, 3), &T, true), None, "below the minimum");
        assert_eq!(s.record(exec(10, 1), &T, true), None, "4 of 13 is under 40%");
        let mut s = JobStatus::default();
        assert_eq!(s.record(exec(5, 4), &T, true), Some(QuarantineReason::EscrowProportion));
        assert_eq!(s.to_json(false, 0)["code"], "Quarantine");
        assert_eq!(s.to_json(false, 0)["quarantine"]["reason"], "EncounteredEscrowProportionThreshold");
        s.restart(&ResetScope::parse("Escrows, QuarantineState").unwrap());
        assert!(!s.is_quarantined());
        assert_eq!(s.to_json(false, 0)["code"], "Active");
    }

    #[test]
    fn total_threshold_and_codes() {
        let mut s = JobStatus::default();
        assert_eq!(s.to_json(false, 0)["code"], "NotRun");
        assert_eq!(s.to_json(true, 0)["code"], "Paused");
        let t = Thresholds { min_failures: 1000, failure_ratio: 0.99, total_failures: 5 };
        assert_eq!(s.record(exec(100, 5), &t, false), Some(QuarantineReason::TotalEscrow));
        assert_eq!(s.to_json(false, 0)["steadyStateFirstAchievedTime"], "0001-01-01T00:00:00Z");
    }

    #[test]
    fn reset_scope_flags() {
        assert_eq!(ResetScope::parse("Full").unwrap(), ResetScope { full: true, ..ResetScope::default() });
        assert!(ResetScope::parse("Watermark, Escrows").unwrap().escrows);
        assert_eq!(ResetScope::parse("Watermark, Bogus").unwrap_err(), "Bogus");
    }
}
