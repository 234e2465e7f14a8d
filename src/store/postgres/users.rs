//! Directory users as rows on PostgreSQL: the embedded store's columns (`user_record`), so a user reads and
//! writes as one row. Lookups by lists of keys bind one array (`= ANY($1)`) instead of a list of marks.

use std::collections::HashMap;
use std::sync::LazyLock;

use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, Row};

use super::super::StoreError;
use super::super::sqlite::users::{TEXT_COLUMNS, columns};
use super::params::{text, texts};
use crate::directory::{DirectoryUser, TEXT_PROPERTIES, TargetValue};
use crate::graph_time::{from_ticks, ticks};

fn json_list(list: &[String]) -> Result<Option<String>, StoreError> {
    if list.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(list).map(Some).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// What a user's row holds beside its text columns, owned while the statement runs.
struct RowValues<'a> {
    user: &'a DirectoryUser,
    created: i64,
    enabled: i64,
    phones: Option<String>,
    mails: Option<String>,
    extensions: Option<String>,
}

impl<'a> RowValues<'a> {
    fn of(user: &'a DirectoryUser) -> Result<Self, StoreError> {
        let extensions = if user.extensions.is_empty() {
            None
        } else {
            Some(serde_json::to_string(&user.extensions).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        };
        Ok(Self {
            user,
            created: ticks(user.created),
            enabled: i64::from(user.account_enabled),
            phones: json_list(&user.business_phones)?,
            mails: json_list(&user.other_mails)?,
            extensions,
        })
    }

    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        let u = self.user;
        let mut values: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(TEXT_COLUMNS.len() + 7);
        values.extend([&u.id as &(dyn ToSql + Sync), &self.created, &u.manager_id, &self.enabled]);
        values.extend(u.texts.iter().map(|t| t as &(dyn ToSql + Sync)));
        values.extend([&self.phones as &(dyn ToSql + Sync), &self.mails, &self.extensions]);
        values
    }
}

/// Insert or replace each of `users`: one prepared statement, its executions pipelined (sent together, not
/// one round trip each), in order.
pub(super) async fn save_all<'a>(
    c: &impl GenericClient,
    users: impl IntoIterator<Item = &'a DirectoryUser>,
) -> Result<(), StoreError> {
    static SAVE: LazyLock<String> = LazyLock::new(|| {
        let names: Vec<&str> = columns().split(", ").collect();
        let marks: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
        let set: Vec<String> = names.iter().skip(1).map(|n| format!("{n} = excluded.{n}")).collect();
        format!(
            "INSERT INTO user_record ({}) VALUES ({}) ON CONFLICT (id) DO UPDATE SET {}",
            columns(),
            marks.join(", "),
            set.join(", ")
        )
    });
    let rows = users.into_iter().map(RowValues::of).collect::<Result<Vec<_>, _>>()?;
    if rows.is_empty() {
        return Ok(());
    }
    let stmt = c.prepare(SAVE.as_str()).await?;
    let params: Vec<_> = rows.iter().map(RowValues::params).collect();
    futures_util::future::try_join_all(params.iter().map(|p| c.execute(&stmt, p))).await?;
    Ok(())
}

/// The user in a row of [`columns`], starting at column `at`.
pub(super) fn read(row: &Row, at: usize) -> Result<DirectoryUser, StoreError> {
    let id: String = row.try_get(at)?;
    let corrupt = |what: &str, e: serde_json::Error| StoreError::Corrupt(format!("user {id}: {what}: {e}"));
    let texts =
        (0..TEXT_COLUMNS.len()).map(|i| row.try_get::<_, Option<String>>(at + 4 + i)).collect::<Result<_, _>>()?;
    let list = |i: usize, what: &str| -> Result<Vec<String>, StoreError> {
        match row.try_get::<_, Option<String>>(at + 4 + TEXT_COLUMNS.len() + i)? {
            None => Ok(Vec::new()),
            Some(text) => serde_json::from_str(&text).map_err(|e| corrupt(what, e)),
        }
    };
    let extensions: Vec<(String, TargetValue)> = match row.try_get::<_, Option<String>>(at + 6 + TEXT_COLUMNS.len())? {
        None => Vec::new(),
        Some(text) => serde_json::from_str(&text).map_err(|e| corrupt("extensions", e))?,
    };
    Ok(DirectoryUser {
        created: from_ticks(row.try_get(at + 1)?),
        manager_id: row.try_get(at + 2)?,
        account_enabled: row.try_get::<_, i64>(at + 3)? != 0,
        texts,
        business_phones: list(0, "businessPhones")?,
        other_mails: list(1, "otherMails")?,
        extensions,
        id,
    })
}

fn read_all(rows: &[Row]) -> Result<Vec<DirectoryUser>, StoreError> {
    rows.iter().map(|r| read(r, 0)).collect()
}

/// Users by object id (unknown ids are left out).
pub(super) async fn by_ids(
    c: &impl GenericClient,
    ids: &[String],
) -> Result<HashMap<String, DirectoryUser>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!("SELECT {} FROM user_record WHERE id = ANY($1)", columns());
    let rows = c.query(&sql, &[&texts(ids)]).await?;
    Ok(read_all(&rows)?.into_iter().map(|u| (u.id.clone(), u)).collect())
}

/// The user whose object id or userPrincipalName (ASCII case-insensitive) is `key`.
pub(super) async fn find(c: &impl GenericClient, key: &str) -> Result<Option<DirectoryUser>, StoreError> {
    let sql = format!(
        "(SELECT {c} FROM user_record WHERE id = $1)
         UNION ALL (SELECT {c} FROM user_record WHERE lower(upn) = $2 AND id <> $1 ORDER BY id LIMIT 1) LIMIT 1",
        c = columns()
    );
    let key = text(key);
    let rows = c.query(&sql, &[&key, &key.to_ascii_lowercase()]).await?;
    rows.first().map(|r| read(r, 0)).transpose()
}

/// Every user holding one of `values` in `property` (a mapping target), in creation order (see the embedded
/// store's `holding`).
pub(super) async fn holding(
    c: &impl GenericClient,
    property: &str,
    values: &[String],
) -> Result<Vec<DirectoryUser>, StoreError> {
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let column = match TEXT_PROPERTIES.iter().position(|p| *p == property) {
        Some(0) => Some("lower(upn)"),
        Some(i) => Some(TEXT_COLUMNS[i]),
        None if property == "id" || property == "objectId" => Some("id"),
        None => None,
    };
    let values = &texts(values);
    let rows = match column {
        Some("lower(upn)") => {
            let lowered: Vec<String> = values.iter().map(|v| v.to_ascii_lowercase()).collect();
            let sql = format!("SELECT {} FROM user_record WHERE lower(upn) = ANY($1)", columns());
            c.query(&sql, &[&lowered]).await?
        }
        Some(col) => {
            c.query(&format!("SELECT {} FROM user_record WHERE {col} = ANY($1)", columns()), &[&values]).await?
        }
        None => {
            // A custom target: the extension pairs are stored as `[name, {"Text": value}]`.
            let sql = format!(
                "SELECT {} FROM user_record u WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(u.extensions::jsonb) e
                    WHERE e.value->>0 = $1 AND e.value->1->>'Text' = ANY($2))",
                super::super::sqlite::users::columns_of("u")
            );
            c.query(&sql, &[&property, &values]).await?
        }
    };
    let mut out = read_all(&rows)?;
    out.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
    Ok(out)
}

/// The ids of users whose userPrincipalName is one of `upns` (ASCII case-insensitive), with that UPN in ASCII
/// lower case.
pub(super) async fn upn_holders(c: &impl GenericClient, upns: &[String]) -> Result<Vec<(String, String)>, StoreError> {
    if upns.is_empty() {
        return Ok(Vec::new());
    }
    let lowered: Vec<String> = upns.iter().map(|v| text(v).to_ascii_lowercase()).collect();
    let rows = c.query("SELECT lower(upn), id FROM user_record WHERE lower(upn) = ANY($1)", &[&lowered]).await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

pub(super) async fn count(c: &impl GenericClient) -> Result<u64, StoreError> {
    let n: i64 = c.query_one("SELECT count(*) FROM user_record", &[]).await?.get(0);
    Ok(u64::try_from(n).unwrap_or(0))
}
