//! Page queries of the readers: log entries and users under a checked [`PageQuery`], with the sort keys of
//! the last row for the next `$skiptoken`, and the column allow-lists that map OData properties to SQL.
//!
//! Log queries join each entry to its `log_context` row with `CROSS JOIN`, which keeps the entry table as
//! the outer loop: the planner walks `log_entry_by_time` in the requested order and looks the (few)
//! contexts up by key, rather than scanning entries once per context.

use rusqlite::types::ValueRef;
use rusqlite::{Connection, Row, params_from_iter};

use super::super::sql::{Columns, Dialect, USER_COLUMN_NAMES, Value, filter_sql, page_sql};
use super::super::{LogPage, StoreError, UserPage};
use super::blocks::BlockCache;
use super::dictionary::Dictionary;
use super::{logs, users};
use crate::graph_time::from_ticks;
use crate::odata::{FieldKind, KeyValue, PROVISIONING_LOG_FIELDS, PageQuery, USER_FIELDS};

/// Where a log page reads from.
const LOG_FROM: &str = "log_entry e CROSS JOIN log_context c ON c.id = e.ctx";

pub(super) static LOG_COLUMNS: Columns = Columns {
    dialect: Dialect::Sqlite,
    fields: &PROVISIONING_LOG_FIELDS,
    columns: &[
        ("id", "e.id"),
        ("activityDateTime", "e.activity"),
        ("jobId", "c.job_id"),
        ("cycleId", "c.cycle_id"),
        ("changeId", "e.change_id"),
        ("durationInMilliseconds", "e.duration_ms"),
        ("provisioningAction", "e.action"),
        ("provisioningStatusInfo/status", "e.status"),
        ("sourceIdentity/id", "e.source_id"),
        ("sourceIdentity/displayName", "e.source_name"),
        ("sourceIdentity/identityType", "coalesce(e.source_type, 'User')"),
        ("targetIdentity/id", "e.target_id"),
        ("targetIdentity/displayName", "e.target_name"),
        ("targetIdentity/identityType", "coalesce(e.target_type, 'User')"),
        ("servicePrincipal/id", "c.sp_id"),
        ("servicePrincipal/displayName", "c.sp_name"),
        ("sourceSystem/displayName", "c.source_system"),
        ("targetSystem/displayName", "c.target_system"),
        ("tenantId", "c.tenant_id"),
    ],
    not_null: &["id", "activityDateTime", "jobId", "cycleId", "changeId", "durationInMilliseconds"],
};

pub(super) static USER_COLUMNS: Columns = Columns {
    dialect: Dialect::Sqlite,
    fields: &USER_FIELDS,
    columns: USER_COLUMN_NAMES,
    not_null: &["id", "createdDateTime", "accountEnabled"],
};

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => rusqlite::types::ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Integer(i) => rusqlite::types::ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Text(t) => rusqlite::types::ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
        })
    }
}

/// Number of columns [`logs::COLUMNS`] selects.
const LOG_COLUMN_COUNT: usize = 15;

/// The sort keys of a row, read after its first `at` columns.
fn keys(row: &Row<'_>, at: usize, query: &PageQuery, columns: &Columns) -> Result<Vec<KeyValue>, StoreError> {
    query
        .order
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let kind = columns.fields.lookup(o.property).map_or(FieldKind::Text, |f| f.kind);
            Ok(match (kind, row.get_ref(at + i)?) {
                (_, ValueRef::Null) => KeyValue::Null,
                (FieldKind::DateTime, ValueRef::Integer(t)) => KeyValue::DateTime(from_ticks(t)),
                (FieldKind::Boolean, ValueRef::Integer(b)) => KeyValue::Boolean(b != 0),
                (_, ValueRef::Integer(n)) => KeyValue::Integer(n),
                (_, ValueRef::Real(f)) => KeyValue::Text(f.to_string()),
                (_, ValueRef::Text(t) | ValueRef::Blob(t)) => KeyValue::Text(String::from_utf8_lossy(t).into_owned()),
            })
        })
        .collect()
}

/// Runs a page query: up to `limit` items, plus the last one's keys when a next page exists.
fn run<T>(
    conn: &Connection,
    query: &PageQuery,
    columns: &Columns,
    select: &str,
    select_count: usize,
    from: &str,
    mut read: impl FnMut(&Row<'_>) -> Result<T, StoreError>,
) -> Result<(Vec<T>, Option<Vec<KeyValue>>), StoreError> {
    let (sql, params) = page_sql(query, columns, select, from)?;
    // Dynamic SQL: not cached, so it never evicts the hot statements.
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(params_from_iter(params.iter()))?;
    let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
    let mut out = Vec::with_capacity(limit.min(1024));
    let mut last = None;
    while let Some(row) = rows.next()? {
        if out.len() == limit {
            return Ok((out, last));
        }
        out.push(read(row)?);
        last = Some(keys(row, select_count, query, columns)?);
    }
    Ok((out, None))
}

pub(super) fn logs(conn: &Connection, dict: &Dictionary, query: &PageQuery) -> Result<LogPage, StoreError> {
    let mut blocks = BlockCache::default();
    let (entries, next) = run(conn, query, &LOG_COLUMNS, logs::COLUMNS, LOG_COLUMN_COUNT, LOG_FROM, |r| {
        logs::read(conn, dict, &mut blocks, r)
    })?;
    Ok(LogPage { entries, next })
}

/// One log entry by id.
pub(super) fn log(
    conn: &Connection,
    dict: &Dictionary,
    id: &str,
) -> Result<Option<crate::provisioning::log::ProvisioningObjectSummary>, StoreError> {
    let sql = format!("SELECT {} FROM {LOG_FROM} WHERE e.id = ?1", logs::COLUMNS);
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([id])?;
    rows.next()?.map(|r| logs::read(conn, dict, &mut BlockCache::default(), r)).transpose()
}

pub(super) fn users(conn: &Connection, query: &PageQuery, count: bool) -> Result<UserPage, StoreError> {
    let select = users::columns();
    let n = select.split(", ").count();
    let (found, next) = run(conn, query, &USER_COLUMNS, select, n, "user_record", |r| users::read(r, 0))?;
    let count = if count {
        let total: i64 = match &query.filter {
            Some(f) => {
                let f = filter_sql(&f.expr, &USER_COLUMNS)?;
                conn.prepare(&format!("SELECT count(*) FROM user_record WHERE {}", f.sql))?
                    .query_row(params_from_iter(f.params.iter()), |r| r.get(0))?
            }
            None => conn.prepare_cached("SELECT count(*) FROM user_record")?.query_row([], |r| r.get(0))?,
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

    #[test]
    fn every_filterable_property_has_a_column() {
        for columns in [&LOG_COLUMNS, &USER_COLUMNS] {
            for f in columns.fields.fields() {
                assert!(columns.columns.iter().any(|(n, _)| *n == f.name), "{} has no column", f.name);
            }
            for n in columns.not_null {
                assert!(columns.fields.lookup(n).is_some(), "{n}");
            }
        }
        assert_eq!(logs::COLUMNS.split(", ").count(), LOG_COLUMN_COUNT);
    }
}

/// The SQL a checked `$filter` and `$orderby` become on the logs and users tables: the `odata` fuzz target's way
/// into the translation, which is otherwise private to the store. Built only by cargo-fuzz (`--cfg fuzzing`).
#[cfg(fuzzing)]
pub fn translate_for_fuzzing(filter: Option<&crate::odata::Filter>, order: &[crate::odata::OrderBy]) {
    for columns in [&LOG_COLUMNS, &USER_COLUMNS] {
        if let Some(filter) = filter.filter(|f| f.check(columns.fields).is_ok()) {
            let _ = filter_sql(&filter.expr, columns);
        }
        if order.iter().all(|o| columns.fields.lookup(o.property).is_some()) {
            let _ = super::super::sql::order_by_sql(order, columns);
        }
    }
}
