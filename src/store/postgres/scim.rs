//! The SCIM service provider's resources on PostgreSQL (`scim_resource`, `scim_member`), as on the embedded
//! store. A write turn ([`super::super::Store::scim_write`]) is a synchronous closure over a [`ScimWriter`]:
//! it runs on Tokio's blocking pool with one pooled connection in one transaction, each call waiting for its
//! statement with `Handle::block_on`. That keeps the SCIM service's turn (reads and writes interleaved with its
//! own decisions, all-or-nothing) unchanged for both backends, at the price of one blocking thread per turn.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::runtime::Handle;
use tokio_postgres::{GenericClient, Row, Transaction};

use super::super::StoreError;
use super::super::scim_records::{Membership, SCIM_COLUMNS, ScimKey, ScimKind, ScimRecord, ScimRow, ScimWriter};
use super::params::{opt_text, text, texts};
use crate::graph_time::ticks;

/// A row of [`SCIM_COLUMNS`] as its record.
fn read(row: &Row) -> Result<ScimRecord, StoreError> {
    ScimRow {
        id: row.try_get(0)?,
        kind: row.try_get(1)?,
        unique_key: row.try_get(2)?,
        external_id: row.try_get(3)?,
        display_name: row.try_get(4)?,
        version: row.try_get(5)?,
        created: row.try_get(6)?,
        last_modified: row.try_get(7)?,
        attributes: row.try_get(8)?,
    }
    .record()
}

/// Reads the rows `sql` selects (with [`SCIM_COLUMNS`]) and, for groups, their members.
async fn query(
    c: &impl GenericClient,
    sql: &str,
    args: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<ScimRecord>, StoreError> {
    let mut out = c.query(sql, args).await?.iter().map(read).collect::<Result<Vec<_>, _>>()?;
    for record in out.iter_mut().filter(|r| r.kind == ScimKind::Group) {
        record.members = members(c, &record.id).await?;
    }
    Ok(out)
}

async fn members(c: &impl GenericClient, group_id: &str) -> Result<Vec<String>, StoreError> {
    let rows = c.query("SELECT member_id FROM scim_member WHERE group_id = $1", &[&text(group_id)]).await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

pub(super) async fn get(c: &impl GenericClient, kind: ScimKind, id: &str) -> Result<Option<ScimRecord>, StoreError> {
    let sql = format!("SELECT {SCIM_COLUMNS} FROM scim_resource WHERE id = $1 AND kind = $2");
    Ok(query(c, &sql, &[&text(id), &kind.code()]).await?.into_iter().next())
}

pub(super) async fn all(c: &impl GenericClient, kind: ScimKind) -> Result<Vec<ScimRecord>, StoreError> {
    let sql = format!("SELECT {SCIM_COLUMNS} FROM scim_resource WHERE kind = $1 ORDER BY pos");
    query(c, &sql, &[&kind.code()]).await
}

pub(super) async fn by_keys(
    c: &impl GenericClient,
    kind: ScimKind,
    column: ScimKey,
    values: &[String],
) -> Result<Vec<ScimRecord>, StoreError> {
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let column = match column {
        ScimKey::Id => "id",
        ScimKey::UniqueKey => "unique_key",
        ScimKey::ExternalId => "external_id",
    };
    let sql = format!("SELECT {SCIM_COLUMNS} FROM scim_resource WHERE kind = $1 AND {column} = ANY($2) ORDER BY pos");
    query(c, &sql, &[&kind.code(), &texts(values)]).await
}

pub(super) async fn memberships(
    c: &impl GenericClient,
    member_ids: &[String],
) -> Result<HashMap<String, Vec<Membership>>, StoreError> {
    let rows = c
        .query(
            "SELECT m.member_id, m.group_id, r.display_name FROM scim_member m JOIN scim_resource r ON r.id = m.group_id
             WHERE m.member_id = ANY($1) ORDER BY r.pos",
            &[&texts(member_ids)],
        )
        .await?;
    let mut out: HashMap<String, Vec<Membership>> = HashMap::new();
    for row in rows {
        out.entry(row.get(0)).or_default().push(Membership { group_id: row.get(1), display_name: row.get(2) });
    }
    Ok(out)
}

/// Inserts the row, or (`update`) rewrites the row with its id in place, keeping its position in listings.
pub(super) async fn write_row(c: &impl GenericClient, r: &ScimRecord, update: bool) -> Result<(), StoreError> {
    let attributes = serde_json::to_string(&r.attributes)
        .map_err(|e| StoreError::Corrupt(format!("SCIM resource {}: attributes: {e}", r.id)))?;
    let sql = if update {
        "UPDATE scim_resource SET kind = $2, unique_key = $3, external_id = $4, display_name = $5, version = $6,
            created = $7, last_modified = $8, attributes = $9 WHERE id = $1"
    } else {
        "INSERT INTO scim_resource (id, kind, unique_key, external_id, display_name, version, created,
            last_modified, attributes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    };
    let version = i64::try_from(r.version).unwrap_or(i64::MAX);
    c.execute(
        sql,
        &[
            &text(&r.id),
            &r.kind.code(),
            &opt_text(r.unique_key.as_deref()),
            &opt_text(r.external_id.as_deref()),
            &opt_text(r.display_name.as_deref()),
            &version,
            &ticks(r.created),
            &ticks(r.last_modified),
            &attributes,
        ],
    )
    .await?;
    Ok(())
}

/// Replaces a group's member rows with its `members`.
pub(super) async fn write_members(c: &impl GenericClient, r: &ScimRecord) -> Result<(), StoreError> {
    c.execute("DELETE FROM scim_member WHERE group_id = $1", &[&text(&r.id)]).await?;
    if !r.members.is_empty() {
        c.execute(
            "INSERT INTO scim_member (group_id, member_id) SELECT $1, m FROM unnest($2::text[]) m ON CONFLICT DO NOTHING",
            &[&text(&r.id), &texts(&r.members)],
        )
        .await?;
    }
    Ok(())
}

/// One write turn: a transaction, driven from a blocking thread.
struct Turn<'c> {
    tx: Transaction<'c>,
    handle: Handle,
}

impl ScimWriter for Turn<'_> {
    fn get(&mut self, kind: ScimKind, id: &str) -> Result<Option<ScimRecord>, StoreError> {
        self.handle.block_on(get(&self.tx, kind, id))
    }

    fn kind_of(&mut self, id: &str) -> Result<Option<ScimKind>, StoreError> {
        let row =
            self.handle.block_on(self.tx.query_opt("SELECT kind FROM scim_resource WHERE id = $1", &[&text(id)]))?;
        Ok(row.and_then(|r| ScimKind::from_code(r.get(0))))
    }

    fn holder(&mut self, kind: ScimKind, unique_key: &str) -> Result<Option<String>, StoreError> {
        let row = self.handle.block_on(self.tx.query_opt(
            "SELECT id FROM scim_resource WHERE kind = $1 AND unique_key = $2",
            &[&kind.code(), &text(unique_key)],
        ))?;
        Ok(row.map(|r| r.get(0)))
    }

    fn insert(&mut self, record: &Arc<ScimRecord>) -> Result<(), StoreError> {
        self.handle.block_on(async {
            write_row(&self.tx, record, false).await?;
            if !record.members.is_empty() {
                write_members(&self.tx, record).await?;
            }
            Ok(())
        })
    }

    fn replace(&mut self, record: &Arc<ScimRecord>) -> Result<(), StoreError> {
        self.handle.block_on(async {
            write_row(&self.tx, record, true).await?;
            if record.kind == ScimKind::Group {
                write_members(&self.tx, record).await?;
            }
            Ok(())
        })
    }

    fn delete(&mut self, kind: ScimKind, id: &str) -> Result<bool, StoreError> {
        self.handle.block_on(async {
            let id = text(id);
            let n =
                self.tx.execute("DELETE FROM scim_resource WHERE id = $1 AND kind = $2", &[&id, &kind.code()]).await?;
            self.tx.execute("DELETE FROM scim_member WHERE group_id = $1 OR member_id = $1", &[&id]).await?;
            Ok(n > 0)
        })
    }

    fn groups_with_member(&mut self, member_id: &str) -> Result<Vec<String>, StoreError> {
        let rows = self
            .handle
            .block_on(self.tx.query("SELECT group_id FROM scim_member WHERE member_id = $1", &[&text(member_id)]))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}

impl super::Postgres {
    /// Runs `turn` in one transaction on a blocking thread; commits when it returns `Ok`. The SCIM writers of
    /// one database take turns (a transaction-scoped advisory lock), as the embedded store's single writer does.
    pub(crate) async fn scim_write<T: Send + 'static>(
        &self,
        turn: impl FnOnce(&mut dyn ScimWriter) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let mut client = self.client().await?;
        let handle = Handle::current();
        tokio::task::spawn_blocking(move || {
            let client: &mut tokio_postgres::Client = &mut client;
            let tx = handle.block_on(client.transaction())?;
            handle.block_on(tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCIM_LOCK]))?;
            let mut t = Turn { tx, handle: handle.clone() };
            let out = turn(&mut t)?;
            handle.block_on(t.tx.commit())?;
            Ok(out)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    pub(crate) async fn scim_get(&self, kind: ScimKind, id: &str) -> Result<Option<ScimRecord>, StoreError> {
        get(&**self.client().await?, kind, id).await
    }

    pub(crate) async fn scim_all(&self, kind: ScimKind) -> Result<Vec<ScimRecord>, StoreError> {
        all(&**self.client().await?, kind).await
    }

    pub(crate) async fn scim_by_keys(
        &self,
        kind: ScimKind,
        column: ScimKey,
        values: Vec<String>,
    ) -> Result<Vec<ScimRecord>, StoreError> {
        by_keys(&**self.client().await?, kind, column, &values).await
    }

    pub(crate) async fn scim_memberships(
        &self,
        member_ids: Vec<String>,
    ) -> Result<HashMap<String, Vec<Membership>>, StoreError> {
        memberships(&**self.client().await?, &member_ids).await
    }
}

/// The advisory lock SCIM write turns hold (and a reset or an import, which replaces their tables).
pub(super) const SCIM_LOCK: i64 = 0x656e_7472_615f_6331;
