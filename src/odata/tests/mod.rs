//! Tests of the OData module: `parse` checks parsing, translation text and errors (table-driven,
//! plus a garbage loop); `exec` runs the generated SQL against in-memory SQLite tables, including
//! keyset paging.

mod exec;
mod parse;

use super::*;

/// Every `$filter` form Microsoft material shows for the logs API (spec §2.2), with their SQL.
const SPEC_FORMS: &[(&str, &str)] = &[
    ("jobid eq 'J1'", "(job_id = ?)"),
    (
        "jobid eq 'J1' and statusInfo/status eq 'failure' and activityDateTime ge 2022-10-10T09:47:34Z",
        "((job_id = ?) AND (status = ?) AND (activity_time >= ?))",
    ),
    ("jobid eq 'J1' and sourceIdentity/id eq '701984'", "((job_id = ?) AND (source_id = ?))"),
    ("cycleId eq 'C3'", "(cycle_id = ?)"),
    ("jobid eq 'J1' and cycleId ne 'C1'", "((job_id = ?) AND (cycle_id IS NOT ?))"),
    (
        "activityDateTime ge 2022-10-10T09:47:34Z and servicePrincipal/id eq 'SP1'",
        "((activity_time >= ?) AND (sp_id = ?))",
    ),
];

fn logs_sql(src: &str) -> Result<SqlFragment, ODataError> {
    parse_filter(src)?.to_sql(&PROVISIONING_LOG_FIELDS)
}

fn users_sql(src: &str) -> Result<SqlFragment, ODataError> {
    parse_filter(src)?.to_sql(&USER_FIELDS)
}

fn text(s: &str) -> rusqlite::types::Value {
    rusqlite::types::Value::Text(s.to_owned())
}
