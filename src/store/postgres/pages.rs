//! Page queries of the readers on PostgreSQL: the shared OData translation (`store::sql`) in the PostgreSQL
//! dialect over this schema's columns, with the sort keys of the last row for the next `$skiptoken`.

use tokio_postgres::{GenericClient, Row};

use super::super::sql::{Columns, Dialect, USER_COLUMN_NAMES, filter_sql, numbered, page_sql};
use super::super::{LogPage, StoreError, UserPage};
use super::params::refs;
use super::{logs, users};
use crate::graph_time::from_ticks;
use crate::odata::{FieldKind, KeyValue, PROVISIONING_LOG_FIELDS, PageQuery, USER_FIELDS};

pub(super) static LOG_COLUMNS: Columns = Columns {
    dialect: Dialect::Postgres,
    fields: &PROVISIONING_LOG_FIELDS,
    columns: &[
        ("id", "e.id"),
        ("activityDateTime", "e.activity"),
        ("jobId", "e.job_id"),
        ("cycleId", "e.cycle_id"),
        ("changeId", "e.change_id"),
        ("durationInMilliseconds", "e.duration_ms"),
        ("provisioningAction", "e.action"),
        ("provisioningStatusInfo/status", "e.status"),
        ("sourceIdentity/id", "e.source_id"),
        ("sourceIdentity/displayName", "e.source_name"),
        ("sourceIdentity/identityType", "e.source_type"),
        ("targetIdentity/id", "e.target_id"),
        ("targetIdentity/displayName", "e.target_name"),
        ("targetIdentity/identityType", "e.target_type"),
        ("servicePrincipal/id", "e.sp_id"),
        ("servicePrincipal/displayName", "e.sp_name"),
        ("sourceSystem/displayName", "e.source_system"),
        ("targetSystem/displayName", "e.target_system"),
        ("tenantId", "e.tenant_id"),
    ],
    not_null: &["id", "activityDateTime", "jobId", "cycleId", "changeId", "durationInMilliseconds"],
};

pub(super) static USER_COLUMNS: Columns = Columns {
    dialect: Dialect::Postgres,
    fields: &USER_FIELDS,
    columns: USER_COLUMN_NAMES,
    not_null: &["id", "createdDateTime", "accountEnabled"],
};

/// The sort keys of a row, read after its first `at` columns (integers, ticks and Booleans are `BIGINT`).
fn keys(row: &Row, at: usize, query: &PageQuery, columns: &Columns) -> Result<Vec<KeyValue>, StoreError> {
    let mut out = Vec::with_capacity(query.order.len());
    for (i, o) in query.order.iter().enumerate() {
        let kind = columns.fields.lookup(o.property).map_or(FieldKind::Text, |f| f.kind);
        out.push(match kind {
            FieldKind::Text | FieldKind::TextNoCase => {
                row.try_get::<_, Option<String>>(at + i)?.map_or(KeyValue::Null, KeyValue::Text)
            }
            FieldKind::DateTime => {
                row.try_get::<_, Option<i64>>(at + i)?.map_or(KeyValue::Null, |t| KeyValue::DateTime(from_ticks(t)))
            }
            FieldKind::Boolean => {
                row.try_get::<_, Option<i64>>(at + i)?.map_or(KeyValue::Null, |b| KeyValue::Boolean(b != 0))
            }
            FieldKind::Integer => row.try_get::<_, Option<i64>>(at + i)?.map_or(KeyValue::Null, KeyValue::Integer),
        });
    }
    Ok(out)
}

/// Runs a page query: up to `limit` items, plus the last one's keys when a next page exists.
async fn run<T>(
    c: &impl GenericClient,
    query: &PageQuery,
    columns: &Columns,
    (select, select_count, from): (&str, usize, &str),
    read: impl Fn(&Row) -> Result<T, StoreError>,
) -> Result<(Vec<T>, Option<Vec<KeyValue>>), StoreError> {
    let (sql, params) = page_sql(query, columns, select, from)?;
    let rows = c.query(&numbered(&sql), &refs(&params)).await?;
    let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
    let mut out = Vec::with_capacity(rows.len().min(limit));
    let mut last = None;
    for row in &rows {
        if out.len() == limit {
            return Ok((out, last));
        }
        out.push(read(row)?);
        last = Some(keys(row, select_count, query, columns)?);
    }
    Ok((out, None))
}

pub(super) async fn logs(c: &impl GenericClient, query: &PageQuery) -> Result<LogPage, StoreError> {
    let (entries, next) =
        run(c, query, &LOG_COLUMNS, (logs::COLUMNS, logs::COLUMN_COUNT, "log_entry e"), logs::read).await?;
    Ok(LogPage { entries, next })
}

pub(super) async fn users(c: &impl GenericClient, query: &PageQuery, count: bool) -> Result<UserPage, StoreError> {
    let select = super::super::sqlite::users::columns();
    let n = select.split(", ").count();
    let (found, next) = run(c, query, &USER_COLUMNS, (select, n, "user_record"), |r| users::read(r, 0)).await?;
    let count = if count {
        let total: i64 = match &query.filter {
            Some(f) => {
                let f = filter_sql(&f.expr, &USER_COLUMNS)?;
                let sql = numbered(&format!("SELECT count(*) FROM user_record WHERE {}", f.sql));
                c.query_one(&sql, &refs(&f.params)).await?.get(0)
            }
            None => c.query_one("SELECT count(*) FROM user_record", &[]).await?.get(0),
        };
        Some(u64::try_from(total).unwrap_or(0))
    } else {
        None
    };
    Ok(UserPage { users: found, next, count })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::odata::parse_filter;

    fn translated(src: &str, columns: &Columns) -> String {
        let f = parse_filter(src).unwrap();
        f.check(columns.fields).unwrap();
        numbered(&filter_sql(&f.expr, columns).unwrap().sql)
    }

    #[test]
    fn filters_translate_to_the_postgresql_dialect() {
        let cases = [
            ("userPrincipalName eq 'A@x'", &USER_COLUMNS, "(lower(upn) = lower($1))"),
            ("displayName ne 'a'", &USER_COLUMNS, "(lower(display_name) IS DISTINCT FROM lower($1))"),
            ("jobId eq 'J' and cycleId ne 'C'", &LOG_COLUMNS, "((e.job_id = $1) AND (e.cycle_id IS DISTINCT FROM $2))"),
            ("not (durationInMilliseconds gt 5)", &LOG_COLUMNS, "((e.duration_ms > $1) IS NOT TRUE)"),
            ("startswith(displayName, 'ad')", &USER_COLUMNS, "(strpos(lower(display_name), lower($1)) = 1)"),
            ("endswith(mail, 'z')", &USER_COLUMNS, "(lower(right(mail, length($1))) = lower($2))"),
            ("userPrincipalName in ('a', 'b')", &USER_COLUMNS, "(lower(upn) IN (lower($1), lower($2)))"),
            ("accountEnabled", &USER_COLUMNS, "(account_enabled = 1)"),
        ];
        for (src, columns, want) in cases {
            assert_eq!(translated(src, columns), want, "{src}");
        }
    }

    #[test]
    fn every_filterable_property_has_a_column() {
        for columns in [&LOG_COLUMNS, &USER_COLUMNS] {
            for f in columns.fields.fields() {
                assert!(columns.columns.iter().any(|(n, _)| *n == f.name), "{} has no column", f.name);
            }
        }
    }
}
