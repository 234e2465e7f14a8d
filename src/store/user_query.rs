//! Reading the directory (spec A.3b): one page of users under a `$filter`, an `$orderby` and a keyset
//! position (optionally with the `$count` of the filter), one user by object id or userPrincipalName,
//! and managers by id (for `$expand=manager` and `/users/{id}/manager`).
//!
//! Design constraints and decisions:
//! - Keyset paging through [`PageSql`] (never `OFFSET`); see `log_query` for the mechanics.
//! - Default order `userPrincipalName` (ascending). The spec is silent; Graph's own listing comes back
//!   in UPN order in the sample tenants, and `directory_user_upn` (unique, `NOCASE`) both serves that
//!   order and makes it total, so no tiebreaker is needed. A client `$orderby` gets `id` appended
//!   unless it already names a unique key. Orders on `displayName`/`createdDateTime` have no index in
//!   migration 0002 and are sorted per page (bounded by the filter, still no `OFFSET`).
//! - `{id}` lookups accept the object id or the UPN (case-insensitive), as Graph does.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};
use serde_json::Value;

use super::StoreError;
use super::log_query::{PageSql, Table};
use crate::directory::DirectoryUser;
use crate::odata::{Filter, ODataError, OrderBy, USER_FIELDS};

/// The default listing order (see the module docs).
pub const DEFAULT_ORDER: &[OrderBy] = &[OrderBy { property: "userPrincipalName", descending: false }];

const USERS: Table = Table {
    name: "directory_user",
    columns: &["id", "manager_id", "doc"],
    fields: &USER_FIELDS,
    not_null: &["id", "user_principal_name", "created_time"],
    unique: &["id", "userPrincipalName"],
    tiebreaker: "id",
};

/// A page of users; `next` holds the keys for the next `$skiptoken`; `count` the filter's total when asked.
#[derive(Debug, Clone, PartialEq)]
pub struct UserPage {
    pub users: Vec<DirectoryUser>,
    pub next: Option<Vec<Value>>,
    pub count: Option<u64>,
}

/// A validated users query, ready to run on the store's connection.
#[derive(Debug, Clone)]
pub struct UserQuery {
    page: PageSql,
    count: bool,
}

impl UserQuery {
    /// Translates the parsed options; fails (→ 400) on a property, operator or token that does not fit.
    pub fn new(
        filter: Option<&Filter>,
        order: &[OrderBy],
        after: Option<&[Value]>,
        limit: u32,
        count: bool,
    ) -> Result<Self, ODataError> {
        Ok(Self { page: PageSql::build(&USERS, filter, order, DEFAULT_ORDER, after, limit)?, count })
    }
}

fn read_user(row: &Row<'_>) -> Result<DirectoryUser, StoreError> {
    let doc: String = row.get(2)?;
    let doc = serde_json::from_str(&doc).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(DirectoryUser { id: row.get(0)?, manager_id: row.get(1)?, doc })
}

/// One page of users (and the count of every user the filter matches, when asked).
pub fn list(conn: &Connection, query: &UserQuery) -> Result<UserPage, StoreError> {
    let (users, next) = query.page.run(conn, read_user)?;
    let count = if query.count {
        let n: i64 = match &query.page.filter {
            Some(f) => conn
                .prepare(&format!("SELECT count(*) FROM directory_user WHERE {}", f.sql))?
                .query_row(params_from_iter(f.params.iter()), |r| r.get(0))?,
            None => conn.prepare_cached("SELECT count(*) FROM directory_user")?.query_row([], |r| r.get(0))?,
        };
        Some(u64::try_from(n).unwrap_or(0))
    } else {
        None
    };
    Ok(UserPage { users, next, count })
}

/// The user whose object id or userPrincipalName (case-insensitive) is `key`.
pub fn find(conn: &Connection, key: &str) -> Result<Option<DirectoryUser>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, manager_id, doc FROM directory_user WHERE id = ?1
         UNION ALL
         SELECT id, manager_id, doc FROM directory_user WHERE user_principal_name = ?1 COLLATE NOCASE AND id <> ?1
         LIMIT 1",
    )?;
    let row = stmt
        .query_row(params![key], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, String>(2)?))
        })
        .optional()?;
    row.map(|(id, manager_id, doc)| {
        let doc = serde_json::from_str(&doc).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(DirectoryUser { id, manager_id, doc })
    })
    .transpose()
}

/// The users with these object ids (managers of a page), by id; unknown ids are left out.
pub fn by_ids(conn: &Connection, ids: &[&str]) -> Result<HashMap<String, DirectoryUser>, StoreError> {
    let mut out = HashMap::new();
    // SQLite's default limit on bound parameters is far above a page (≤ 999 users).
    for chunk in ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let mut stmt =
            conn.prepare(&format!("SELECT id, manager_id, doc FROM directory_user WHERE id IN ({marks})"))?;
        let mut rows = stmt.query(params_from_iter(chunk.iter()))?;
        while let Some(row) = rows.next()? {
            let user = read_user(row)?;
            out.insert(user.id.clone(), user);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::odata::parse_filter;

    fn user(i: usize, manager: Option<&str>) -> DirectoryUser {
        let mut u = DirectoryUser::new(format!("00000000-0000-4000-8000-{i:012}"), "2025-01-15T10:00:00Z");
        u.doc.insert("userPrincipalName".into(), Value::String(format!("User{i:03}@contoso.com")));
        u.doc.insert("displayName".into(), Value::String(format!("User {i}")));
        u.manager_id = manager.map(str::to_owned);
        u
    }

    #[test]
    fn pages_in_upn_order_with_count_and_lookups() {
        let s = crate::store::Store::open(None, crate::config::Synchronous::Full).unwrap();
        s.call_blocking(|c| {
            for i in (0..25).rev() {
                crate::store::directory::save(c, &user(i, (i > 0).then_some("00000000-0000-4000-8000-000000000000")))?;
            }
            let f = parse_filter("startswith(userPrincipalName,'user01')").unwrap();
            let mut after: Option<Vec<Value>> = None;
            let mut seen = Vec::new();
            loop {
                let page = list(c, &UserQuery::new(Some(&f), &[], after.as_deref(), 3, true).unwrap())?;
                assert_eq!(page.count, Some(10));
                seen.extend(page.users.into_iter().map(|u| u.text("userPrincipalName").unwrap().to_owned()));
                match page.next {
                    Some(k) => after = Some(k),
                    None => break,
                }
            }
            let expected: Vec<String> = (10..20).map(|i| format!("User{i:03}@contoso.com")).collect();
            assert_eq!(seen, expected);
            assert_eq!(find(c, "user003@CONTOSO.com")?.unwrap().id, user(3, None).id);
            assert_eq!(find(c, &user(4, None).id)?.unwrap().text("displayName"), Some("User 4"));
            assert!(find(c, "nobody@contoso.com")?.is_none());
            let m = by_ids(c, &[&user(0, None).id, "missing"])?;
            assert_eq!(m.len(), 1);
            Ok(())
        })
        .unwrap();
    }
}
