//! The SCIM service provider's resources as rows (`scim_resource`, `scim_member`; migration 6): writes through
//! one transaction per turn ([`Turn`], the backend's [`ScimWriter`]; in the private mode turns run in memory
//! and `scim_behind` writes their changes through [`Turn`] behind them), and the readers' lookups.
//!
//! The attributes are one JSON text per row: the service reads and rewrites whole resources, and filters
//! evaluate on the document (`crate::scim_server::filter`), so there is nothing a column per attribute would
//! serve. The columns beside it are the ones lookups and uniqueness need.

use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, Row, Statement, params, params_from_iter};

use super::super::StoreError;
use super::super::scim_records::{
    Membership, SCIM_COLUMNS, ScimKey, ScimKind, ScimRecord, ScimRow, ScimWriter, TurnSize,
};
use crate::graph_time::ticks;

/// A row of [`SCIM_COLUMNS`] as its record.
fn read(row: &Row<'_>) -> Result<ScimRecord, StoreError> {
    let attributes: String = row.get(8)?;
    ScimRow {
        id: row.get(0)?,
        kind: row.get(1)?,
        unique_key: row.get(2)?,
        external_id: row.get(3)?,
        display_name: row.get(4)?,
        version: row.get(5)?,
        created: row.get(6)?,
        last_modified: row.get(7)?,
        attributes: &attributes,
    }
    .record()
}

/// Reads the rows `sql` selects (with [`SCIM_COLUMNS`]) and, for groups, their members.
fn query(conn: &Connection, sql: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Vec<ScimRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(args)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(read(row)?);
    }
    for record in out.iter_mut().filter(|r| r.kind == ScimKind::Group) {
        record.members = members(conn, &record.id)?;
    }
    Ok(out)
}

fn members(conn: &Connection, group_id: &str) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT member_id FROM scim_member WHERE group_id = ?1")?;
    let ids = stmt.query_map(params![group_id], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
    Ok(ids)
}

pub(super) fn get(conn: &Connection, kind: ScimKind, id: &str) -> Result<Option<ScimRecord>, StoreError> {
    let sql = format!("SELECT {SCIM_COLUMNS} FROM scim_resource WHERE id = ?1 AND kind = ?2");
    Ok(query(conn, &sql, &[&id, &kind.code()])?.into_iter().next())
}

/// Every resource of `kind`, oldest first.
pub(super) fn all(conn: &Connection, kind: ScimKind) -> Result<Vec<ScimRecord>, StoreError> {
    let sql = format!("SELECT {SCIM_COLUMNS} FROM scim_resource WHERE kind = ?1 ORDER BY rowid");
    query(conn, &sql, &[&kind.code()])
}

/// The resources of `kind` whose `column` holds one of `values`, oldest first.
pub(super) fn by_keys(
    conn: &Connection,
    kind: ScimKind,
    column: ScimKey,
    values: &[String],
) -> Result<Vec<ScimRecord>, StoreError> {
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders = vec!["?"; values.len()].join(", ");
    let column = match column {
        ScimKey::Id => "id",
        ScimKey::UniqueKey => "unique_key",
        ScimKey::ExternalId => "external_id",
    };
    let sql = format!(
        "SELECT {SCIM_COLUMNS} FROM scim_resource WHERE kind = ? AND {column} IN ({placeholders}) ORDER BY rowid"
    );
    let code = kind.code();
    let mut args: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(values.len() + 1);
    args.push(&code);
    args.extend(values.iter().map(|v| v as &dyn rusqlite::ToSql));
    query(conn, &sql, &args)
}

/// The groups each of `member_ids` belongs to.
pub(super) fn memberships(
    conn: &Connection,
    member_ids: &[String],
) -> Result<HashMap<String, Vec<Membership>>, StoreError> {
    let mut out: HashMap<String, Vec<Membership>> = HashMap::new();
    for chunk in member_ids.chunks(500) {
        let placeholders = vec!["?"; chunk.len()].join(", ");
        let sql = format!(
            "SELECT m.member_id, m.group_id, r.display_name FROM scim_member m JOIN scim_resource r ON r.id = m.group_id
             WHERE m.member_id IN ({placeholders}) ORDER BY r.rowid"
        );
        // One member (every read of a single user) is the hot form: cached. Longer lists vary, so they are not.
        let (mut cached, mut fresh);
        let stmt: &mut Statement<'_> = if chunk.len() == 1 {
            cached = conn.prepare_cached(&sql)?;
            &mut cached
        } else {
            fresh = conn.prepare(&sql)?;
            &mut fresh
        };
        let mut rows = stmt.query(params_from_iter(chunk))?;
        while let Some(row) = rows.next()? {
            out.entry(row.get(0)?).or_default().push(Membership { group_id: row.get(1)?, display_name: row.get(2)? });
        }
    }
    Ok(out)
}

/// One write turn on the writer connection, inside its transaction.
pub(super) struct Turn<'c> {
    pub(super) conn: &'c Connection,
}

/// Inserts the row, or (`update`) rewrites the row with its id in place, keeping its position in listings.
pub(super) fn write_row(conn: &Connection, r: &ScimRecord, update: bool) -> Result<(), StoreError> {
    let attributes = serde_json::to_string(&r.attributes)
        .map_err(|e| StoreError::Corrupt(format!("SCIM resource {}: attributes: {e}", r.id)))?;
    let sql = if update {
        "UPDATE scim_resource SET kind = ?2, unique_key = ?3, external_id = ?4, display_name = ?5, version = ?6,
            created = ?7, last_modified = ?8, attributes = ?9 WHERE id = ?1"
    } else {
        "INSERT INTO scim_resource (id, kind, unique_key, external_id, display_name, version, created,
            last_modified, attributes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    };
    conn.prepare_cached(sql)?.execute(params![
        r.id,
        r.kind.code(),
        r.unique_key,
        r.external_id,
        r.display_name,
        i64::try_from(r.version).unwrap_or(i64::MAX),
        ticks(r.created),
        ticks(r.last_modified),
        attributes,
    ])?;
    Ok(())
}

/// Replaces a group's member rows with its `members`.
pub(super) fn write_members(conn: &Connection, r: &ScimRecord) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM scim_member WHERE group_id = ?1")?.execute(params![r.id])?;
    let mut insert = conn.prepare_cached("INSERT OR IGNORE INTO scim_member (group_id, member_id) VALUES (?1, ?2)")?;
    for member in &r.members {
        insert.execute(params![r.id, member])?;
    }
    Ok(())
}

impl ScimWriter for Turn<'_> {
    fn get(&mut self, kind: ScimKind, id: &str) -> Result<Option<ScimRecord>, StoreError> {
        get(self.conn, kind, id)
    }

    fn kind_of(&mut self, id: &str) -> Result<Option<ScimKind>, StoreError> {
        let code: Option<i64> = self
            .conn
            .prepare_cached("SELECT kind FROM scim_resource WHERE id = ?1")?
            .query_row(params![id], |r| r.get(0))
            .optional()?;
        Ok(code.and_then(ScimKind::from_code))
    }

    fn holder(&mut self, kind: ScimKind, unique_key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT id FROM scim_resource WHERE kind = ?1 AND unique_key = ?2")?
            .query_row(params![kind.code(), unique_key], |r| r.get(0))
            .optional()?)
    }

    fn insert(&mut self, record: &Arc<ScimRecord>) -> Result<(), StoreError> {
        write_row(self.conn, record, false)?;
        if !record.members.is_empty() {
            write_members(self.conn, record)?;
        }
        Ok(())
    }

    fn replace(&mut self, record: &Arc<ScimRecord>) -> Result<(), StoreError> {
        write_row(self.conn, record, true)?;
        if record.kind == ScimKind::Group {
            write_members(self.conn, record)?;
        }
        Ok(())
    }

    fn delete(&mut self, kind: ScimKind, id: &str) -> Result<bool, StoreError> {
        let n = self
            .conn
            .prepare_cached("DELETE FROM scim_resource WHERE id = ?1 AND kind = ?2")?
            .execute(params![id, kind.code()])?;
        self.conn
            .prepare_cached("DELETE FROM scim_member WHERE group_id = ?1 OR member_id = ?1")?
            .execute(params![id])?;
        Ok(n > 0)
    }

    fn groups_with_member(&mut self, member_id: &str) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT group_id FROM scim_member WHERE member_id = ?1")?;
        let ids = stmt.query_map(params![member_id], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
        Ok(ids)
    }
}

impl super::Sqlite {
    /// Runs `turn`; its changes are kept when it returns `Ok`. With `--data-dir` it is one transaction on the
    /// writer connection, committed before this returns; in the private mode it runs against the in-memory
    /// index and queue of `scim_behind`, written behind. A one-resource turn runs on the calling thread.
    pub(crate) async fn scim_write<T: Send + 'static>(
        &self,
        size: TurnSize,
        turn: impl FnOnce(&mut dyn ScimWriter) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let Some(behind) = self.writer.behind() else {
            let run = move |c: &mut Connection, _: &super::dictionary::Dictionary| {
                let tx = c.transaction()?;
                let out = turn(&mut Turn { conn: &tx })?;
                tx.commit()?;
                Ok(out)
            };
            return self.write(run).await;
        };
        match size {
            TurnSize::One => behind.turn(&self.readers, turn),
            TurnSize::Many => {
                let (behind, readers) = (Arc::clone(behind), Arc::clone(&self.readers));
                super::blocking::run(move || behind.turn(&readers, turn)).await
            }
        }
    }

    pub(crate) async fn scim_get(&self, kind: ScimKind, id: &str) -> Result<Option<ScimRecord>, StoreError> {
        let id = id.to_owned();
        self.read_point(move |c, _| get(c, kind, &id)).await
    }

    pub(crate) async fn scim_all(&self, kind: ScimKind) -> Result<Vec<ScimRecord>, StoreError> {
        self.read(move |c, _| all(c, kind)).await
    }

    pub(crate) async fn scim_by_keys(
        &self,
        kind: ScimKind,
        column: ScimKey,
        values: Vec<String>,
    ) -> Result<Vec<ScimRecord>, StoreError> {
        if values.len() == 1 {
            return self.read_point(move |c, _| by_keys(c, kind, column, &values)).await;
        }
        self.read(move |c, _| by_keys(c, kind, column, &values)).await
    }

    pub(crate) async fn scim_memberships(
        &self,
        member_ids: Vec<String>,
    ) -> Result<HashMap<String, Vec<Membership>>, StoreError> {
        if member_ids.len() == 1 {
            return self.read_point(move |c, _| memberships(c, &member_ids)).await;
        }
        self.read(move |c, _| memberships(c, &member_ids)).await
    }
}
