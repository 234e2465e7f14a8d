//! Tests of the OData module: parsing, checking against the allow-lists, errors (table-driven, plus a garbage
//! loop), `$orderby`/`$top`/`$select` and tokens. How the store translates and runs checked queries is
//! tested with the store (`store::sqlite::sql_tests`).

mod parse;

pub(crate) use parse::{Lcg, random_filter};

use super::*;

/// Every `$filter` form Microsoft material shows for the logs API (docs/fidelity.md A.3).
pub(crate) const SPEC_FORMS: &[&str] = &[
    "jobid eq 'J1'",
    "jobid eq 'J1' and statusInfo/status eq 'failure' and activityDateTime ge 2022-10-10T09:47:34Z",
    "jobid eq 'J1' and sourceIdentity/id eq '701984'",
    "cycleId eq 'C3'",
    "jobid eq 'J1' and cycleId ne 'C1'",
    "activityDateTime ge 2022-10-10T09:47:34Z and servicePrincipal/id eq 'SP1'",
];

fn logs_check(src: &str) -> Result<Filter, ODataError> {
    let f = parse_filter(src)?;
    f.check(&PROVISIONING_LOG_FIELDS)?;
    Ok(f)
}

fn users_check(src: &str) -> Result<Filter, ODataError> {
    let f = parse_filter(src)?;
    f.check(&USER_FIELDS)?;
    Ok(f)
}
