//! Directory users as rows: one column per property (no JSON document to parse or rewrite), so a read is a
//! row decode and an update rewrites one row. Collections and extension values are small JSON texts.
//!
//! Indexes: the primary key (object id), `userPrincipalName` (case-insensitive: lookups, uniqueness checks
//! and the default listing order) and `employeeId` (matching). Nothing else is written per user.

use std::collections::HashMap;
use std::sync::LazyLock;

use rusqlite::{Connection, Row, ToSql, params, params_from_iter};

use super::super::StoreError;
use crate::directory::{DirectoryUser, TEXT_PROPERTIES, TargetValue};
use crate::graph_time::{from_ticks, ticks};

/// The column of each [`TEXT_PROPERTIES`] entry, in the same order.
pub(in crate::store) const TEXT_COLUMNS: &[&str] = &[
    "upn",
    "employee_id",
    "display_name",
    "given_name",
    "surname",
    "mail",
    "mail_nickname",
    "job_title",
    "department",
    "company_name",
    "employee_type",
    "user_type",
    "city",
    "country",
    "state",
    "street_address",
    "postal_code",
    "office_location",
    "mobile_phone",
    "fax_number",
    "preferred_language",
    "usage_location",
    "employee_hire_date",
    "employee_leave_date_time",
    "division",
    "cost_center",
];

/// The columns [`read`] reads, in order: id, created, manager, enabled, the text columns, the JSON columns.
pub(in crate::store) fn columns() -> &'static str {
    static COLUMNS: LazyLock<String> = LazyLock::new(|| {
        format!(
            "id, created, manager_id, account_enabled, {}, business_phones, other_mails, extensions",
            TEXT_COLUMNS.join(", ")
        )
    });
    &COLUMNS
}

/// The same list with `prefix.` before each column (for joins).
pub(in crate::store) fn columns_of(prefix: &str) -> String {
    columns().split(", ").map(|c| format!("{prefix}.{c}")).collect::<Vec<_>>().join(", ")
}

fn json_list(list: &[String]) -> Result<Option<String>, StoreError> {
    if list.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(list).map(Some).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Insert or replace `user`.
pub(super) fn save(conn: &Connection, user: &DirectoryUser) -> Result<(), StoreError> {
    static SAVE: LazyLock<String> = LazyLock::new(|| {
        let marks = vec!["?"; columns().split(", ").count()].join(", ");
        format!("INSERT OR REPLACE INTO user_record ({}) VALUES ({marks})", columns())
    });
    let mut stmt = conn.prepare_cached(&SAVE)?;
    let extensions = if user.extensions.is_empty() {
        None
    } else {
        Some(serde_json::to_string(&user.extensions).map_err(|e| StoreError::Corrupt(e.to_string()))?)
    };
    let (created, enabled) = (ticks(user.created), i64::from(user.account_enabled));
    let (phones, mails) = (json_list(&user.business_phones)?, json_list(&user.other_mails)?);
    let mut values: Vec<&dyn ToSql> = Vec::with_capacity(TEXT_COLUMNS.len() + 7);
    values.extend([&user.id as &dyn ToSql, &created, &user.manager_id, &enabled]);
    values.extend(user.texts.iter().map(|t| t as &dyn ToSql));
    values.extend([&phones as &dyn ToSql, &mails, &extensions]);
    stmt.execute(params_from_iter(values))?;
    Ok(())
}

/// The user in a row of [`columns`], starting at column `at`.
pub(super) fn read(row: &Row<'_>, at: usize) -> Result<DirectoryUser, StoreError> {
    let id: String = row.get(at)?;
    let corrupt = |what: &str, e: serde_json::Error| StoreError::Corrupt(format!("user {id}: {what}: {e}"));
    let texts = (0..TEXT_COLUMNS.len()).map(|i| row.get::<_, Option<String>>(at + 4 + i)).collect::<Result<_, _>>()?;
    let list = |i: usize, what: &str| -> Result<Vec<String>, StoreError> {
        match row.get::<_, Option<String>>(at + 4 + TEXT_COLUMNS.len() + i)? {
            None => Ok(Vec::new()),
            Some(text) => serde_json::from_str(&text).map_err(|e| corrupt(what, e)),
        }
    };
    let extensions: Vec<(String, TargetValue)> = match row.get::<_, Option<String>>(at + 6 + TEXT_COLUMNS.len())? {
        None => Vec::new(),
        Some(text) => serde_json::from_str(&text).map_err(|e| corrupt("extensions", e))?,
    };
    Ok(DirectoryUser {
        created: from_ticks(row.get(at + 1)?),
        manager_id: row.get(at + 2)?,
        account_enabled: row.get::<_, i64>(at + 3)? != 0,
        texts,
        business_phones: list(0, "businessPhones")?,
        other_mails: list(1, "otherMails")?,
        extensions,
        id,
    })
}

/// Users by object id (unknown ids are left out).
pub(super) fn by_ids(conn: &Connection, ids: &[&str]) -> Result<HashMap<String, DirectoryUser>, StoreError> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let sql = format!("SELECT {} FROM user_record WHERE id IN ({marks})", columns());
        let mut stmt = conn.prepare(&sql)?;
        let mut rows = stmt.query(params_from_iter(chunk.iter()))?;
        while let Some(row) = rows.next()? {
            let user = read(row, 0)?;
            out.insert(user.id.clone(), user);
        }
    }
    Ok(out)
}

/// The user whose object id or userPrincipalName (case-insensitive) is `key`.
pub(super) fn find(conn: &Connection, key: &str) -> Result<Option<DirectoryUser>, StoreError> {
    static FIND: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {c} FROM user_record WHERE id = ?1
             UNION ALL SELECT {c} FROM user_record WHERE upn = ?1 COLLATE NOCASE AND id <> ?1 LIMIT 1",
            c = columns()
        )
    });
    let mut stmt = conn.prepare_cached(&FIND)?;
    let mut rows = stmt.query(params![key])?;
    rows.next()?.map(|r| read(r, 0)).transpose()
}

/// Every user holding one of `values` in `property` (a mapping target), in creation order. Text properties
/// compare exactly except `userPrincipalName` (case-insensitive); an extension target compares its stored
/// string.
pub(super) fn holding(conn: &Connection, property: &str, values: &[String]) -> Result<Vec<DirectoryUser>, StoreError> {
    let column = match TEXT_PROPERTIES.iter().position(|p| *p == property) {
        Some(0) => Some("upn COLLATE NOCASE"),
        Some(i) => Some(TEXT_COLUMNS[i]),
        None if property == "id" || property == "objectId" => Some("id"),
        None => None,
    };
    let mut out = Vec::new();
    for chunk in values.chunks(400) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let (sql, params): (String, Vec<String>) = match column {
            Some(col) => (format!("SELECT {} FROM user_record WHERE {col} IN ({marks})", columns()), chunk.to_vec()),
            None => {
                // A custom target: the extension pairs are stored as `[name, {"Text": value}]`.
                let sql = format!(
                    "SELECT {} FROM user_record u WHERE EXISTS (SELECT 1 FROM json_each(u.extensions) e
                        WHERE json_extract(e.value, '$[0]') = ?1 AND json_extract(e.value, '$[1].Text') IN ({}))",
                    columns_of("u"),
                    (0..chunk.len()).map(|i| format!("?{}", i + 2)).collect::<Vec<_>>().join(", ")
                );
                (sql, std::iter::once(property.to_owned()).chain(chunk.iter().cloned()).collect())
            }
        };
        let mut stmt = conn.prepare(&sql)?;
        let mut rows = stmt.query(params_from_iter(params.iter()))?;
        while let Some(row) = rows.next()? {
            out.push(read(row, 0)?);
        }
    }
    out.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
    Ok(out)
}

/// The ids of users whose userPrincipalName is one of `upns` (ASCII case-insensitive, as SQLite's `NOCASE`),
/// with that UPN in ASCII lower case.
pub(super) fn upn_holders(conn: &Connection, upns: &[String]) -> Result<Vec<(String, String)>, StoreError> {
    let mut out = Vec::new();
    for chunk in upns.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let sql = format!("SELECT lower(upn), id FROM user_record WHERE upn COLLATE NOCASE IN ({marks})");
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(params_from_iter(chunk.iter()), |r| Ok((r.get(0)?, r.get(1)?)))?;
        for row in rows {
            out.push(row?);
        }
    }
    Ok(out)
}

/// Number of users.
pub(super) fn count(conn: &Connection) -> Result<u64, StoreError> {
    let n: i64 = conn.prepare_cached("SELECT count(*) FROM user_record")?.query_row([], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}
