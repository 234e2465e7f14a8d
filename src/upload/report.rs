//! What `entra-inbound upload` reports: one outcome per record, as a table for people or (`--json`) an array of
//! `{"externalId","action","status","errorCode","reason"}`, and whether any record failed (exit status 1).
//!
//! `action` and `status` are the provisioning log's (`create` … `stagedDelete`; `success`, `failure`,
//! `skipped`, `warning`) when the record's entry was found; otherwise status is `failure` (the request carrying
//! it was refused or never sent), `pending` (no log entry within `--wait-timeout`) or `accepted`
//! (`--wait-timeout 0`: not waited for).

use serde::Serialize;

/// One record's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub external_id: String,
    pub action: Option<String>,
    pub status: String,
    pub error_code: Option<String>,
    pub reason: Option<String>,
}

impl Outcome {
    pub fn new(external_id: &str, status: &str) -> Self {
        Outcome {
            external_id: external_id.to_owned(),
            action: None,
            status: status.to_owned(),
            error_code: None,
            reason: None,
        }
    }

    pub fn failed(external_id: &str, code: &str, reason: &str) -> Self {
        Outcome {
            error_code: Some(code.to_owned()),
            reason: Some(reason.to_owned()),
            ..Outcome::new(external_id, "failure")
        }
    }

    /// Failed, or without a known outcome although it was waited for.
    pub fn is_failure(&self) -> bool {
        matches!(self.status.as_str(), "failure" | "pending")
    }
}

/// The outcomes as a JSON array.
pub fn json(outcomes: &[Outcome]) -> String {
    serde_json::to_string_pretty(outcomes).unwrap_or_else(|_| "[]".into())
}

/// The outcomes as an aligned table, one row per record.
pub fn table(outcomes: &[Outcome]) -> String {
    let header = ["externalId", "action", "status", "errorCode", "reason"];
    let rows: Vec<[&str; 5]> = outcomes
        .iter()
        .map(|o| {
            [
                o.external_id.as_str(),
                o.action.as_deref().unwrap_or("-"),
                o.status.as_str(),
                o.error_code.as_deref().unwrap_or("-"),
                o.reason.as_deref().unwrap_or(""),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 5]| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i == 4 {
                out += cell;
            } else {
                out += &format!("{cell:<width$}  ", width = widths[i]);
            }
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = line(header);
    for row in rows {
        out += &line(row);
    }
    out
}

/// One line: how many records ended how.
pub fn summary(outcomes: &[Outcome]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for o in outcomes {
        match counts.iter_mut().find(|(s, _)| *s == o.status) {
            Some((_, n)) => *n += 1,
            None => counts.push((&o.status, 1)),
        }
    }
    let parts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    format!("{} records: {}", outcomes.len(), parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Outcome> {
        vec![
            Outcome { action: Some("create".into()), ..Outcome::new("701984", "success") },
            Outcome::failed("701985", "AzureActiveDirectoryInvalidUserPrincipalName", "UPN taken"),
            Outcome::new("9", "pending"),
        ]
    }

    #[test]
    fn the_table_aligns_every_column() {
        let t = table(&sample());
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "externalId  action  status   errorCode                                     reason");
        assert_eq!(lines[1], "701984      create  success  -");
        assert_eq!(lines[2], "701985      -       failure  AzureActiveDirectoryInvalidUserPrincipalName  UPN taken");
        assert_eq!(lines[3], "9           -       pending  -");
    }

    #[test]
    fn json_has_the_documented_members() {
        let v: serde_json::Value = serde_json::from_str(&json(&sample())).unwrap();
        assert_eq!(
            v[0],
            serde_json::json!({"externalId": "701984", "action": "create", "status": "success", "errorCode": null, "reason": null})
        );
        assert_eq!(v[1]["errorCode"], "AzureActiveDirectoryInvalidUserPrincipalName");
    }

    #[test]
    fn failures_and_pending_records_fail_the_run() {
        let s = sample();
        assert_eq!(s.iter().map(Outcome::is_failure).collect::<Vec<_>>(), [false, true, true]);
        assert!(!Outcome::new("x", "skipped").is_failure() && !Outcome::new("x", "accepted").is_failure());
        assert_eq!(summary(&s), "3 records: 1 success, 1 failure, 1 pending");
    }
}
