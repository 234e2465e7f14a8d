//! Reading provisioning logs (spec A.3): one page of `provisioningObjectSummary` documents under a
//! `$filter`, an `$orderby` and a keyset position, and one entry by id. Also home of [`PageSql`], the
//! keyset-paged `SELECT` that `user_query` builds on.
//!
//! Design constraints and decisions:
//! - Keyset paging only, never `OFFSET`: page n+1 is "rows that sort after the last row of page n"
//!   ([`crate::odata::keyset_sql`]), so a page costs the same wherever it is and rows inserted between
//!   page fetches never shift or repeat rows (a `$skiptoken` stays valid under concurrent writes).
//! - Default order `activityDateTime desc, id desc`. Spec A.3 says `activityDateTime desc, id`; the id
//!   tiebreaker runs in the same direction so `provisioning_log_by_time (activity_time DESC, id DESC)`
//!   (or `provisioning_log_by_job` under `jobId eq …`) serves both the order and the seek. A client
//!   `$orderby` always gets `id` appended (direction of its last key) as the unique tiebreaker.
//! - The keyset predicate is an `OR` chain the planner cannot seek on, so a redundant bound on the
//!   leading key (`k1 <= v1` descending, `k1 >= v1` ascending) is added when that column is `NOT NULL`;
//!   it turns a full index scan into a range search (checked by a unit test on the query plan).
//! - One page fetches `limit + 1` rows: the extra row only says whether a next page exists.

use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, Row, params, params_from_iter};
use serde_json::Value;

use super::StoreError;
use crate::odata::{
    FieldKind, FieldTable, Filter, ODataError, OrderBy, PROVISIONING_LOG_FIELDS, SqlFragment, keyset_sql, order_by_sql,
};

/// Spec A.3's default order (see the module docs for the id direction).
pub const DEFAULT_ORDER: &[OrderBy] =
    &[OrderBy { property: "activityDateTime", descending: true }, OrderBy { property: "id", descending: true }];

/// `provisioning_log` columns declared `NOT NULL` (SQL names), where a leading seek bound is safe.
const LOG_NOT_NULL: &[&str] = &["id", "activity_time", "job_id", "cycle_id", "change_id", "duration_ms"];

/// A prepared page query: `SELECT {columns}, {sort keys} FROM {table} WHERE … ORDER BY … LIMIT n+1`.
#[derive(Debug, Clone)]
pub struct PageSql {
    sql: String,
    params: Vec<SqlValue>,
    /// Index of the first sort-key column in the result rows.
    key_offset: usize,
    key_count: usize,
    limit: usize,
    /// The `$filter` fragment alone (for `$count`).
    pub(crate) filter: Option<SqlFragment>,
}

/// How one table pages: its name, the leading columns a row reader wants, its allow-list, its
/// `NOT NULL` columns, its unique sortable properties and the tiebreaker appended when none is ordered.
pub(crate) struct Table {
    pub name: &'static str,
    pub columns: &'static [&'static str],
    pub fields: &'static FieldTable,
    pub not_null: &'static [&'static str],
    pub unique: &'static [&'static str],
    pub tiebreaker: &'static str,
}

impl PageSql {
    /// Builds the page query; `order` empty means `default_order`; `after` holds the decoded
    /// `$skiptoken` keys of the previous page's last row.
    pub(crate) fn build(
        table: &Table,
        filter: Option<&Filter>,
        order: &[OrderBy],
        default_order: &[OrderBy],
        after: Option<&[Value]>,
        limit: u32,
    ) -> Result<Self, ODataError> {
        let mut order: Vec<OrderBy> = if order.is_empty() { default_order.to_vec() } else { order.to_vec() };
        if !order.iter().any(|o| table.unique.contains(&o.property)) {
            let descending = order.last().is_some_and(|o| o.descending);
            order.push(OrderBy { property: table.tiebreaker, descending });
        }
        let key_sql: Vec<&'static str> =
            order.iter().filter_map(|o| table.fields.lookup(o.property)).map(|f| f.sql).collect();
        let filter = filter.map(|f| f.to_sql(table.fields)).transpose()?;
        let mut conditions: Vec<String> = Vec::new();
        let mut params: Vec<SqlValue> = Vec::new();
        if let Some(f) = &filter {
            conditions.push(f.sql.clone());
            params.extend(f.params.iter().cloned());
        }
        if let Some(last) = after {
            let keyset = keyset_sql(&order, table.fields, last)?;
            if let Some(bound) = leading_bound(table, &order, last) {
                conditions.push(bound.sql);
                params.extend(bound.params);
            }
            conditions.push(keyset.sql);
            params.extend(keyset.params);
        }
        let where_sql =
            if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
        let order_sql = order_by_sql(&order, table.fields)?;
        let limit = usize::try_from(limit).unwrap_or(usize::MAX).max(1);
        params.push(SqlValue::Integer(i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1)));
        let sql = format!(
            "SELECT {}, {} FROM {}{where_sql} ORDER BY {order_sql} LIMIT ?",
            table.columns.join(", "),
            key_sql.join(", "),
            table.name
        );
        Ok(Self { sql, params, key_offset: table.columns.len(), key_count: key_sql.len(), limit, filter })
    }

    /// Runs the query: up to `limit` rows read by `read`, plus the last row's sort keys when a next
    /// page exists.
    pub(crate) fn run<T>(
        &self,
        conn: &Connection,
        read: impl Fn(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<(Vec<T>, Option<Vec<Value>>), StoreError> {
        // Dynamic SQL: not cached, so it never evicts the engine's hot statements.
        let mut stmt = conn.prepare(&self.sql)?;
        let mut rows = stmt.query(params_from_iter(self.params.iter()))?;
        let mut out = Vec::with_capacity(self.limit.min(1024));
        let mut last_keys = None;
        while let Some(row) = rows.next()? {
            if out.len() == self.limit {
                return Ok((out, last_keys));
            }
            out.push(read(row)?);
            let keys = (0..self.key_count)
                .map(|i| row.get_ref(self.key_offset + i).map(key_json))
                .collect::<Result<Vec<_>, _>>()?;
            last_keys = Some(keys);
        }
        Ok((out, None))
    }

    #[cfg(test)]
    fn plan(&self, conn: &Connection) -> String {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {}", self.sql)).unwrap();
        let rows = stmt.query_map(params_from_iter(self.params.iter()), |r| r.get::<_, String>(3)).unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("\n")
    }
}

/// The redundant seek bound on the leading sort key (`k1 <= v1` descending, `k1 >= v1` ascending), when
/// its column is `NOT NULL` (otherwise NULL rows after `v1` would be cut off).
fn leading_bound(table: &Table, order: &[OrderBy], last: &[Value]) -> Option<SqlFragment> {
    let first = order.first()?;
    let field = table.fields.lookup(first.property).filter(|f| table.not_null.contains(&f.sql))?;
    let param = match last.first()? {
        Value::Number(n) => SqlValue::Integer(n.as_i64()?),
        Value::String(s) => SqlValue::Text(s.clone()),
        _ => return None,
    };
    // Same collation as the ORDER BY, so the index range applies.
    let collate = if field.kind == FieldKind::TextNoCase { " COLLATE NOCASE" } else { "" };
    let op = if first.descending { "<=" } else { ">=" };
    Some(SqlFragment { sql: format!("{} {op} ?{collate}", field.sql), params: vec![param] })
}

/// A sort-key value as it goes into a `$skiptoken`.
fn key_json(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => Value::from(f),
        ValueRef::Text(t) | ValueRef::Blob(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
    }
}

/// The columns [`read_log`] reads, in order.
const LOG_COLUMNS: &[&str] = &[
    "doc",
    "body",
    "(SELECT s.doc FROM log_mapping_set s WHERE s.id = mapping_set)",
    "id",
    "activity_time",
    "tenant_id",
    "job_id",
    "cycle_id",
    "change_id",
    "sp_id",
    "sp_display_name",
];

const LOGS: Table = Table {
    name: "provisioning_log",
    columns: LOG_COLUMNS,
    fields: &PROVISIONING_LOG_FIELDS,
    not_null: LOG_NOT_NULL,
    unique: &["id"],
    tiebreaker: "id",
};

/// A stored log entry: a v1.0 document, or the engine's compact form with what it is rendered with.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredLog {
    Document(Value),
    Compact(CompactLog),
}

/// An entry in the engine's compact form (rendered by `provisioning::log_render`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactLog {
    pub id: String,
    /// Storage form of `activityDateTime` (`crate::odata::datetime_key`).
    pub activity_key: String,
    pub tenant_id: String,
    pub job_id: String,
    pub cycle_id: String,
    pub change_id: String,
    pub service_principal_id: String,
    pub service_principal_name: String,
    pub body: Vec<u8>,
    /// The entry's mapping set as JSON text (`[[target, expression], …]`).
    pub mapping_set: String,
}

/// A page of log entries and, when more follow, the keys for the next `$skiptoken`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogPage {
    pub entries: Vec<StoredLog>,
    pub next: Option<Vec<Value>>,
}

/// A validated logs query, ready to run on the store's connection.
#[derive(Debug, Clone)]
pub struct LogQuery(PageSql);

impl LogQuery {
    /// Translates the parsed options; fails (→ 400) on a property, operator or token that does not fit.
    pub fn new(
        filter: Option<&Filter>,
        order: &[OrderBy],
        after: Option<&[Value]>,
        limit: u32,
    ) -> Result<Self, ODataError> {
        PageSql::build(&LOGS, filter, order, DEFAULT_ORDER, after, limit).map(Self)
    }
}

/// One row of [`LOG_COLUMNS`].
fn read_log(row: &Row<'_>) -> Result<StoredLog, StoreError> {
    if let Some(doc) = row.get::<_, Option<String>>(0)? {
        return serde_json::from_str(&doc).map(StoredLog::Document).map_err(|e| StoreError::Corrupt(e.to_string()));
    }
    let text = |i: usize| -> Result<String, StoreError> { Ok(row.get::<_, Option<String>>(i)?.unwrap_or_default()) };
    Ok(StoredLog::Compact(CompactLog {
        body: row.get::<_, Option<Vec<u8>>>(1)?.unwrap_or_default(),
        mapping_set: text(2)?,
        id: text(3)?,
        activity_key: text(4)?,
        tenant_id: text(5)?,
        job_id: text(6)?,
        cycle_id: text(7)?,
        change_id: text(8)?,
        service_principal_id: text(9)?,
        service_principal_name: text(10)?,
    }))
}

/// One page of log entries.
pub fn list(conn: &Connection, query: &LogQuery) -> Result<LogPage, StoreError> {
    let (entries, next) = query.0.run(conn, read_log)?;
    Ok(LogPage { entries, next })
}

/// The entry with this id.
pub fn get(conn: &Connection, id: &str) -> Result<Option<StoredLog>, StoreError> {
    let sql = format!("SELECT {} FROM provisioning_log WHERE id = ?1", LOG_COLUMNS.join(", "));
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![id])?;
    rows.next()?.map(read_log).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::odata::{parse_filter, parse_orderby};
    use serde_json::json;

    fn store() -> crate::store::Store {
        crate::store::Store::open(None, crate::config::Synchronous::Full).unwrap()
    }

    fn entry(i: usize, job: &str) -> (Value, String) {
        let key = format!("2025-01-15T10:00:{:02}.0000000Z", i % 60);
        (
            json!({"id": format!("id-{i:04}"), "jobId": job, "cycleId": "c", "changeId": "x",
                "provisioningAction": "create", "provisioningStatusInfo": {"status": "success"}}),
            key,
        )
    }

    #[test]
    fn pages_cover_every_row_once_in_order() {
        let s = store();
        s.call_blocking(|c| {
            for i in 0..250 {
                let (doc, key) = entry(i, "J");
                crate::store::logs::insert_doc(c, &doc, &key)?;
            }
            let mut seen: Vec<String> = Vec::new();
            let mut after: Option<Vec<Value>> = None;
            loop {
                let q = LogQuery::new(None, &[], after.as_deref(), 100).unwrap();
                let page = list(c, &q)?;
                seen.extend(page.entries.iter().map(|e| match e {
                    StoredLog::Document(d) => d["id"].as_str().unwrap().to_owned(),
                    StoredLog::Compact(c) => c.id.clone(),
                }));
                match page.next {
                    Some(k) => after = Some(k),
                    None => break,
                }
            }
            assert_eq!(seen.len(), 250);
            let mut sorted = seen.clone();
            sorted.sort_by_key(|id| {
                let i: usize = id[3..].parse().unwrap();
                (std::cmp::Reverse(i % 60), std::cmp::Reverse(i))
            });
            assert_eq!(seen, sorted);
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn pages_seek_on_the_time_indexes() {
        let s = store();
        let after = [json!("2025-01-15T10:00:00.0000000Z"), json!("id-1")];
        let plans = s
            .call_blocking(|c| {
                let all = LogQuery::new(None, &[], Some(&after), 100).unwrap().0.plan(c);
                let f = parse_filter("jobid eq 'J'").unwrap();
                let job = LogQuery::new(Some(&f), &[], Some(&after), 100).unwrap().0.plan(c);
                let o = parse_orderby("activityDateTime", &PROVISIONING_LOG_FIELDS).unwrap();
                let asc = LogQuery::new(Some(&f), &o, Some(&after), 100).unwrap().0.plan(c);
                Ok([all, job, asc])
            })
            .unwrap();
        assert!(plans[0].contains("SEARCH provisioning_log USING INDEX provisioning_log_by_time"), "{}", plans[0]);
        assert!(
            plans[1].contains("USING INDEX provisioning_log_by_job (job_id=? AND activity_time<?)"),
            "{}",
            plans[1]
        );
        assert!(
            plans[2].contains("USING INDEX provisioning_log_by_job (job_id=? AND activity_time>?)"),
            "{}",
            plans[2]
        );
        assert!(plans.iter().all(|p| !p.contains("TEMP B-TREE")), "{plans:?}");
    }

    #[test]
    fn get_returns_the_stored_document() {
        let s = store();
        let (doc, key) = entry(1, "J");
        s.call_blocking(|c| crate::store::logs::insert_doc(c, &doc, &key)).unwrap();
        assert_eq!(s.call_blocking(|c| get(c, "id-0001")).unwrap(), Some(StoredLog::Document(doc)));
        assert_eq!(s.call_blocking(|c| get(c, "nope")).unwrap(), None);
    }
}
