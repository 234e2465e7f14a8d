//! The engine's write operations — create, replace, patch, delete — over one store write turn, shared by single
//! requests and every Bulk operation (docs/fidelity.md#s1-scim-20-service-provider).
//!
//! Rules: `userName` is unique case-insensitively (409 `uniqueness`); a group's members must exist (400
//! `invalidValue`); `If-Match` (or a Bulk operation's `version`) naming another version is 412; a change bumps
//! `meta.version` and `meta.lastModified`, a PATCH that changes nothing leaves both; deleting a resource removes
//! it from every group that listed it (and bumps those groups' versions).

use std::sync::Arc;

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::error::{ScimError, ScimType};
use super::patch::PatchRequest;
use super::resource::{self, etag, normalize_owned, type_name, unique_key};
use crate::store::{ScimKind, ScimRecord, ScimWriter, StoreError};

/// Why a write did not happen: the client's mistake, or the store's failure (a 500).
#[derive(Debug)]
pub enum Failure {
    Scim(ScimError),
    Store(StoreError),
}

impl From<ScimError> for Failure {
    fn from(e: ScimError) -> Self {
        Failure::Scim(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

/// Splits a turn's outcome: client errors stay inside (the turn still commits), store errors abort it.
pub fn settle<T>(r: Result<T, Failure>) -> Result<Result<T, ScimError>, StoreError> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(Failure::Scim(e)) => Ok(Err(e)),
        Err(Failure::Store(e)) => Err(e),
    }
}

/// The write operations of one turn.
pub struct Writes<'w> {
    pub w: &'w mut dyn ScimWriter,
    pub now: OffsetDateTime,
}

/// `If-Match` against a version: `*` or any listed (weak or strong) tag naming it.
fn check_version(if_match: Option<&str>, version: u64) -> Result<(), ScimError> {
    let Some(header) = if_match else { return Ok(()) };
    let current = version.to_string();
    let matches = header
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag).trim_matches('"') == current);
    if matches { Ok(()) } else { Err(ScimError::version_mismatch(&etag(version))) }
}

impl Writes<'_> {
    fn existing(&mut self, kind: ScimKind, id: &str) -> Result<ScimRecord, Failure> {
        self.w.get(kind, id)?.ok_or_else(|| Failure::Scim(ScimError::resource_not_found(resource::endpoint(kind), id)))
    }

    /// Uniqueness and member references of a resource about to be written (`id`: its own, on an update).
    fn admissible(
        &mut self,
        kind: ScimKind,
        attrs: &Map<String, Value>,
        id: Option<&str>,
    ) -> Result<Vec<String>, Failure> {
        if let Some(key) = unique_key(kind, attrs)
            && let Some(holder) = self.w.holder(kind, &key)?
            && Some(holder.as_str()) != id
        {
            let name = attrs.get("userName").and_then(Value::as_str).unwrap_or_default();
            return Err(ScimError::uniqueness(format!(
                "The userName '{name}' is already in use by another {}.",
                type_name(kind)
            ))
            .into());
        }
        let mut members = Vec::new();
        if let Some(Value::Array(list)) = attrs.get("members") {
            for m in list {
                let Some(value) = m.get("value").and_then(Value::as_str) else {
                    return Err(ScimError::bad_request(
                        ScimType::InvalidValue,
                        "Every member needs a 'value' (the member's id).",
                    )
                    .into());
                };
                if Some(value) == id || self.w.kind_of(value)?.is_none() {
                    return Err(ScimError::bad_request(
                        ScimType::InvalidValue,
                        format!("The member '{value}' is not a User or another Group of this service."),
                    )
                    .into());
                }
                if !members.iter().any(|x| x == value) {
                    members.push(value.to_owned());
                }
            }
        }
        Ok(members)
    }

    fn record(
        kind: ScimKind,
        id: String,
        attributes: Map<String, Value>,
        members: Vec<String>,
        created: OffsetDateTime,
        version: u64,
        now: OffsetDateTime,
    ) -> ScimRecord {
        let name = match kind {
            ScimKind::User => attributes.get("displayName").or_else(|| attributes.get("userName")),
            ScimKind::Group => attributes.get("displayName"),
        };
        ScimRecord {
            id,
            kind,
            unique_key: unique_key(kind, &attributes),
            external_id: attributes.get("externalId").and_then(Value::as_str).map(str::to_owned),
            display_name: name.and_then(Value::as_str).map(str::to_owned),
            version,
            created,
            last_modified: now,
            members,
            attributes,
        }
    }

    /// POST: a new resource, of the attributes [`resource::written_resource`] made of its body.
    pub fn create(&mut self, kind: ScimKind, attrs: Map<String, Value>) -> Result<Arc<ScimRecord>, Failure> {
        let members = self.admissible(kind, &attrs, None)?;
        // Time-ordered ids: the rows of one Bulk request land together in the id index instead of on as many
        // pages as it has operations, each of which the commit would write out.
        let record =
            Arc::new(Self::record(kind, uuid::Uuid::now_v7().to_string(), attrs, members, self.now, 1, self.now));
        self.w.insert(&record)?;
        Ok(record)
    }

    /// PUT: every attribute replaced, by what [`resource::written_resource`] made of its body (a body it refused
    /// is answered only once the resource and its version have been checked).
    pub fn replace(
        &mut self,
        kind: ScimKind,
        id: &str,
        attrs: Result<Map<String, Value>, ScimError>,
        if_match: Option<&str>,
    ) -> Result<Arc<ScimRecord>, Failure> {
        let old = self.existing(kind, id)?;
        check_version(if_match, old.version)?;
        let attrs = attrs?;
        let members = self.admissible(kind, &attrs, Some(id))?;
        let record = Arc::new(Self::record(kind, old.id, attrs, members, old.created, old.version + 1, self.now));
        self.w.replace(&record)?;
        Ok(record)
    }

    /// PATCH: the operations applied in order; nothing is written when they change nothing.
    pub fn patch(
        &mut self,
        kind: ScimKind,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<Arc<ScimRecord>, Failure> {
        let old = self.existing(kind, id)?;
        check_version(if_match, old.version)?;
        let request = PatchRequest::parse(body)?;
        let mut attrs = old.attributes.clone();
        request.apply(kind, &mut attrs)?;
        let attrs = normalize_owned(kind, &attrs)?;
        if attrs == old.attributes {
            return Ok(Arc::new(old));
        }
        let members = self.admissible(kind, &attrs, Some(id))?;
        let record = Arc::new(Self::record(kind, old.id, attrs, members, old.created, old.version + 1, self.now));
        self.w.replace(&record)?;
        Ok(record)
    }

    /// DELETE: the resource, and its place in every group.
    pub fn delete(&mut self, kind: ScimKind, id: &str, if_match: Option<&str>) -> Result<(), Failure> {
        let old = self.existing(kind, id)?;
        check_version(if_match, old.version)?;
        for group_id in self.w.groups_with_member(id)? {
            let Some(mut group) = self.w.get(ScimKind::Group, &group_id)? else { continue };
            if let Some(Value::Array(list)) = group.attributes.get_mut("members") {
                list.retain(|m| m.get("value").and_then(Value::as_str) != Some(id));
                if list.is_empty() {
                    group.attributes.remove("members");
                }
            }
            group.members.retain(|m| m != id);
            group.version += 1;
            group.last_modified = self.now;
            self.w.replace(&Arc::new(group))?;
        }
        self.w.delete(kind, id)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_takes_star_weak_and_strong_tags() {
        assert!(check_version(None, 3).is_ok());
        assert!(check_version(Some("*"), 3).is_ok());
        assert!(check_version(Some("W/\"3\""), 3).is_ok());
        assert!(check_version(Some("\"2\", \"3\""), 3).is_ok());
        let e = check_version(Some("W/\"2\""), 3).unwrap_err();
        assert_eq!(e.status, 412);
        assert!(e.detail.contains("W/\"3\""), "{}", e.detail);
    }
}
