//! The records of the SCIM 2.0 service provider's resource store (`/scim/v2`, `/admin/v1`), as they cross the
//! store boundary: a resource with the facts the store indexes beside its attributes, and [`ScimWriter`], the
//! operations one write turn offers. No backend type appears; the service logic lives in `crate::scim_server`.

use std::sync::Arc;

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::StoreError;
use crate::graph_time::from_ticks;

/// Which collection a resource belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScimKind {
    User,
    Group,
}

impl ScimKind {
    /// The stored code (never change one: databases keep it).
    pub(crate) fn code(self) -> i64 {
        match self {
            ScimKind::User => 1,
            ScimKind::Group => 2,
        }
    }

    pub(crate) fn from_code(code: i64) -> Option<Self> {
        match code {
            1 => Some(ScimKind::User),
            2 => Some(ScimKind::Group),
            _ => None,
        }
    }
}

/// An indexed fact a resource can be looked up by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimKey {
    Id,
    /// [`ScimRecord::unique_key`].
    UniqueKey,
    ExternalId,
}

/// One stored resource.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimRecord {
    pub id: String,
    pub kind: ScimKind,
    /// Unique per kind when present: the case-folded `userName` of a User.
    pub unique_key: Option<String>,
    pub external_id: Option<String>,
    /// The name other resources show for it (a group's `displayName`, in a user's `groups`).
    pub display_name: Option<String>,
    /// `meta.version`: 1 when created, one more on every change.
    pub version: u64,
    pub created: OffsetDateTime,
    pub last_modified: OffsetDateTime,
    /// The ids of the resources a group lists as members (empty for a user).
    pub members: Vec<String>,
    /// Every attribute but `id` and `meta`.
    pub attributes: Map<String, Value>,
}

/// The columns a backend selects to read a resource, in the order [`ScimRow`] takes them.
pub(crate) const SCIM_COLUMNS: &str =
    "id, kind, unique_key, external_id, display_name, version, created, last_modified, attributes";

/// One stored resource's columns ([`SCIM_COLUMNS`]) as a backend read them: each backend only takes its row
/// apart, and the record is built here, once for both.
pub(crate) struct ScimRow<'a> {
    pub(crate) id: String,
    /// [`ScimKind::code`].
    pub(crate) kind: i64,
    pub(crate) unique_key: Option<String>,
    pub(crate) external_id: Option<String>,
    pub(crate) display_name: Option<String>,
    pub(crate) version: i64,
    /// `crate::graph_time` ticks.
    pub(crate) created: i64,
    pub(crate) last_modified: i64,
    /// The attributes' JSON text.
    pub(crate) attributes: &'a str,
}

impl ScimRow<'_> {
    /// The record, without members: a backend adds a group's from `scim_member`. A kind code or attribute
    /// text this version cannot read is [`StoreError::Corrupt`], naming the resource.
    pub(crate) fn record(self) -> Result<ScimRecord, StoreError> {
        let id = self.id;
        let kind = ScimKind::from_code(self.kind)
            .ok_or_else(|| StoreError::Corrupt(format!("SCIM resource {id}: unknown kind")))?;
        let attributes = serde_json::from_str(self.attributes)
            .map_err(|e| StoreError::Corrupt(format!("SCIM resource {id}: attributes: {e}")))?;
        Ok(ScimRecord {
            kind,
            unique_key: self.unique_key,
            external_id: self.external_id,
            display_name: self.display_name,
            version: u64::try_from(self.version).unwrap_or(0),
            created: from_ticks(self.created),
            last_modified: from_ticks(self.last_modified),
            members: Vec::new(),
            attributes,
            id,
        })
    }
}

/// A group one resource is a member of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub group_id: String,
    pub display_name: Option<String>,
}

/// How much a write turn does, so the backend can run a one-resource turn — microseconds — without handing
/// it to another thread, and a Bulk request's off the async scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnSize {
    /// One resource (a single POST, PUT, PATCH or DELETE).
    One,
    /// Any number (a Bulk request).
    Many,
}

/// The operations of one write turn ([`crate::store::Store::scim_write`]): everything done through it commits
/// together when the turn returns `Ok`, and nothing does when it returns an error.
pub trait ScimWriter {
    fn get(&mut self, kind: ScimKind, id: &str) -> Result<Option<ScimRecord>, StoreError>;
    /// The kind of the resource with this id, if there is one.
    fn kind_of(&mut self, id: &str) -> Result<Option<ScimKind>, StoreError>;
    /// The id of the resource of `kind` holding `unique_key`.
    fn holder(&mut self, kind: ScimKind, unique_key: &str) -> Result<Option<String>, StoreError>;
    /// Adds a new resource (shared: a backend may keep it, not copy it).
    fn insert(&mut self, record: &Arc<ScimRecord>) -> Result<(), StoreError>;
    /// Replaces the stored resource with the same id (and its memberships).
    fn replace(&mut self, record: &Arc<ScimRecord>) -> Result<(), StoreError>;
    /// Deletes a resource and its memberships; false when there was none.
    fn delete(&mut self, kind: ScimKind, id: &str) -> Result<bool, StoreError>;
    /// The ids of the groups listing `member_id` as a member.
    fn groups_with_member(&mut self, member_id: &str) -> Result<Vec<String>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: i64, attributes: &str) -> ScimRow<'_> {
        ScimRow {
            id: "r1".into(),
            kind,
            unique_key: Some("ann".into()),
            external_id: None,
            display_name: Some("Ann".into()),
            version: 3,
            created: 0,
            last_modified: 0,
            attributes,
        }
    }

    #[test]
    fn a_row_becomes_its_record_and_an_unreadable_one_is_corrupt() {
        let r = row(ScimKind::User.code(), r#"{"userName":"Ann"}"#).record().unwrap();
        assert_eq!((r.kind, r.version, r.unique_key.as_deref()), (ScimKind::User, 3, Some("ann")));
        assert_eq!(r.attributes.get("userName").and_then(Value::as_str), Some("Ann"));
        let kind = row(9, "{}").record().unwrap_err();
        assert!(matches!(&kind, StoreError::Corrupt(m) if m == "SCIM resource r1: unknown kind"), "{kind:?}");
        let text = row(ScimKind::Group.code(), "{").record().unwrap_err();
        assert!(matches!(&text, StoreError::Corrupt(m) if m.starts_with("SCIM resource r1: attributes:")), "{text:?}");
    }
}
