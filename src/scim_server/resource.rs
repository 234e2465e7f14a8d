//! Resources as clients write them and as the service answers them (RFC 7643 §2–§4, RFC 7644 §3.3):
//! checking and normalising a written User or Group against its schemas, and rendering a stored record with
//! `schemas`, `id`, `meta` and a user's `groups` (docs/fidelity.md#s1-scim-20-service-provider).
//!
//! Design constraints: attribute names are case-insensitive on the way in and canonical on the way out; values
//! keep the shape the client sent (no sub-attribute is invented), so what a client writes is what it reads back;
//! Entra's SCIM client quirks are accepted (booleans as the strings `"True"`/`"False"`); read-only attributes a
//! client sends are ignored (RFC 7644 §3.3); the password is accepted and never stored.

use std::fmt::Display;

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::error::{ScimError, ScimType};
use super::schema::{self, AttrDef, AttrType, Mutability, SchemaDef};
use crate::scim::record::{Record, RecordObject, distinct_members, last_member};
use crate::store::{Membership, ScimKind, ScimRecord};

/// The collection path of a kind.
pub fn endpoint(kind: ScimKind) -> &'static str {
    match kind {
        ScimKind::User => "/Users",
        ScimKind::Group => "/Groups",
    }
}

/// The `resourceType` name of a kind.
pub fn type_name(kind: ScimKind) -> &'static str {
    match kind {
        ScimKind::User => "User",
        ScimKind::Group => "Group",
    }
}

pub fn core_schema(kind: ScimKind) -> &'static SchemaDef {
    match kind {
        ScimKind::User => &schema::USER,
        ScimKind::Group => &schema::GROUP,
    }
}

static USER_EXTENSIONS: [&SchemaDef; 1] = [&schema::ENTERPRISE_USER];

/// The schema extensions a kind may carry.
pub fn extensions(kind: ScimKind) -> &'static [&'static SchemaDef] {
    match kind {
        ScimKind::User => &USER_EXTENSIONS,
        ScimKind::Group => &[],
    }
}

/// The extension whose URN is `urn` (case-insensitive).
pub fn extension(kind: ScimKind, urn: &str) -> Option<&'static SchemaDef> {
    extensions(kind).iter().copied().find(|s| s.id.eq_ignore_ascii_case(urn))
}

/// The schema a URN names for this kind: its core schema or one of its extensions.
pub fn schema_named(kind: ScimKind, urn: &str) -> Option<&'static SchemaDef> {
    let core = core_schema(kind);
    if core.id.eq_ignore_ascii_case(urn) { Some(core) } else { extension(kind, urn) }
}

/// A POST or PUT body as the service keeps it: an object whose `schemas` name the kind's core schema, checked
/// and normalised ([`normalize`]).
pub fn written_resource(kind: ScimKind, body: &Record<'_>) -> Result<Map<String, Value>, ScimError> {
    let Some(body) = body.as_object() else {
        return Err(ScimError::bad_request(ScimType::InvalidSyntax, "The body must be a JSON object."));
    };
    check_schemas(kind, body)?;
    normalize(kind, body)
}

/// Checks a POST or PUT body's `schemas`: a list of URIs naming the kind's core schema and only schemas it serves.
fn check_schemas(kind: ScimKind, body: &RecordObject<'_>) -> Result<(), ScimError> {
    let core = core_schema(kind).id;
    let Some(list) = last_member(body, "schemas") else {
        return Err(ScimError::bad_request(
            ScimType::InvalidSyntax,
            format!("The attribute 'schemas' is required and must contain '{core}'."),
        ));
    };
    let Some(list) = list.as_array().filter(|l| l.iter().all(Record::is_string)) else {
        return Err(ScimError::bad_request(
            ScimType::InvalidSyntax,
            "The attribute 'schemas' must be an array of URIs.",
        ));
    };
    let mut has_core = false;
    for urn in list.iter().filter_map(Record::as_str) {
        match schema_named(kind, urn) {
            Some(s) if s.id == core => has_core = true,
            Some(_) => {}
            None => {
                return Err(ScimError::bad_request(
                    ScimType::InvalidValue,
                    format!("The schema '{urn}' is not served for {} resources.", type_name(kind)),
                ));
            }
        }
    }
    if has_core {
        Ok(())
    } else {
        Err(ScimError::bad_request(ScimType::InvalidValue, format!("The attribute 'schemas' must contain '{core}'.")))
    }
}

/// The written attributes of a resource, checked against its schemas and normalised: canonical names, booleans
/// as booleans, nulls and empty values dropped, read-only and write-only attributes dropped, extensions under
/// their URN. `id`, `meta` and `schemas` are the service's and are dropped too.
///
/// Design decision (throughput, measured): the body is read from the borrowed tree it parsed into, and each
/// value it keeps is copied once, into the result; building an owned tree first and moving its values cost a
/// second copy of every key and string, and an ordered map per object.
pub fn normalize(kind: ScimKind, body: &RecordObject<'_>) -> Result<Map<String, Value>, ScimError> {
    let core = core_schema(kind);
    // Sized up front: growing an ordered map rehashes it, a measurable share of a Bulk request's time.
    let mut out = Map::with_capacity(body.len());
    for (key, value) in distinct_members(body) {
        if ["schemas", "id", "meta"].iter().any(|k| k.eq_ignore_ascii_case(key)) {
            continue;
        }
        if key.eq_ignore_ascii_case("externalId") {
            if let Some(v) = checked_at(&schema::EXTERNAL_ID, value, &key)? {
                out.insert("externalId".into(), v);
            }
            continue;
        }
        if let Some(ext) = extension(kind, key) {
            let fields = match value {
                Record::Object(fields) => fields,
                Record::Null => continue,
                _ => {
                    return Err(ScimError::bad_request(
                        ScimType::InvalidSyntax,
                        format!("The extension '{key}' must be an object."),
                    ));
                }
            };
            let mut attrs = Map::with_capacity(fields.len());
            for (name, v) in distinct_members(fields) {
                let def = known(ext.attributes, name, key)?;
                if let Some(v) = written(def, v, &name)? {
                    attrs.insert(def.name.into(), v);
                }
            }
            if !attrs.is_empty() {
                out.insert(ext.id.into(), Value::Object(attrs));
            }
            continue;
        }
        let def = known(core.attributes, key, core.id)?;
        if let Some(v) = written(def, value, &key)? {
            out.insert(def.name.into(), v);
        }
    }
    for def in core.attributes.iter().filter(|a| a.required) {
        let present = out.get(def.name).is_some_and(|v| v.as_str().is_none_or(|s| !s.trim().is_empty()));
        if !present {
            return Err(ScimError::bad_request(
                ScimType::InvalidValue,
                format!("The attribute '{}' is required.", def.name),
            ));
        }
    }
    Ok(out)
}

/// [`normalize`] of attributes already in the owned tree (a PATCH's result), read through a borrowed view.
pub fn normalize_owned(kind: ScimKind, attributes: &Map<String, Value>) -> Result<Map<String, Value>, ScimError> {
    let view: RecordObject<'_> = attributes.iter().map(|(k, v)| (k.as_str(), Record::from(v))).collect();
    normalize(kind, &view)
}

fn known(attrs: &'static [AttrDef], name: &str, within: &str) -> Result<&'static AttrDef, ScimError> {
    schema::find(attrs, name).ok_or_else(|| {
        ScimError::bad_request(ScimType::InvalidSyntax, format!("The attribute '{name}' is not defined in '{within}'."))
    })
}

/// A written attribute value: None when it is absent, null, empty, read-only or write-only (never stored).
fn written(def: &AttrDef, value: &Record<'_>, path: &dyn Display) -> Result<Option<Value>, ScimError> {
    if matches!(def.mutability, Mutability::ReadOnly | Mutability::WriteOnly) {
        return Ok(None);
    }
    checked_at(def, value, path)
}

/// A sub-attribute's path (`emails.value`) for error messages, formatted only when one names it: building the
/// text for every value checked is a measurable share of a Bulk request's time.
struct SubPath<'a>(&'a dyn Display, &'a str);

impl Display for SubPath<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

/// `value` checked against `def`, normalised; None for null and empty values.
pub fn checked(def: &AttrDef, value: &Value, path: &str) -> Result<Option<Value>, ScimError> {
    checked_at(def, &Record::from(value), &path)
}

/// [`checked`] of a value in the borrowed tree: what it keeps is copied once, into the result.
fn checked_at(def: &AttrDef, value: &Record<'_>, path: &dyn Display) -> Result<Option<Value>, ScimError> {
    if value.is_null() {
        return Ok(None);
    }
    if def.multi {
        let items = match value {
            Record::Array(items) => items.as_slice(),
            single => std::slice::from_ref(single),
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if let Some(v) = single(def, item, path)? {
                out.push(v);
            }
        }
        let primaries = out.iter().filter(|v| v.get("primary") == Some(&Value::Bool(true))).count();
        if primaries > 1 {
            return Err(ScimError::bad_request(
                ScimType::InvalidValue,
                format!("At most one value of '{path}' may be primary."),
            ));
        }
        return Ok((!out.is_empty()).then_some(Value::Array(out)));
    }
    single(def, value, path)
}

fn invalid(path: &dyn Display, expected: &str) -> ScimError {
    ScimError::bad_request(ScimType::InvalidValue, format!("The value of '{path}' must be {expected}."))
}

/// One value of an attribute (an element, for a multi-valued one).
fn single(def: &AttrDef, value: &Record<'_>, path: &dyn Display) -> Result<Option<Value>, ScimError> {
    Ok(Some(match (def.ty, value) {
        (_, Record::Null) => return Ok(None),
        (AttrType::Complex, Record::Object(fields)) => {
            let mut out = Map::with_capacity(fields.len());
            for (name, v) in distinct_members(fields) {
                let sub = def.sub_attr(name).ok_or_else(|| {
                    ScimError::bad_request(
                        ScimType::InvalidSyntax,
                        format!("The attribute '{path}' has no sub-attribute '{name}'."),
                    )
                })?;
                if let Some(v) = written(sub, v, &SubPath(path, name))? {
                    out.insert(sub.name.into(), v);
                }
            }
            if out.is_empty() {
                return Ok(None);
            }
            Value::Object(out)
        }
        (AttrType::Complex, _) => return Err(invalid(path, "an object")),
        (AttrType::String | AttrType::Reference | AttrType::Binary, Record::Str(s)) => Value::String(s.to_string()),
        (AttrType::String | AttrType::Reference | AttrType::Binary, _) => return Err(invalid(path, "a string")),
        (AttrType::Boolean, Record::Bool(b)) => Value::Bool(*b),
        // Entra's SCIM client sends booleans as "True" / "False".
        (AttrType::Boolean, Record::Str(s)) if s.eq_ignore_ascii_case("true") => Value::Bool(true),
        (AttrType::Boolean, Record::Str(s)) if s.eq_ignore_ascii_case("false") => Value::Bool(false),
        (AttrType::Boolean, _) => return Err(invalid(path, "a boolean")),
        (AttrType::Integer, Record::Number(n)) if n.is_i64() || n.is_u64() => Value::Number((*n).into()),
        (AttrType::Integer, _) => return Err(invalid(path, "an integer")),
        (AttrType::Decimal, Record::Number(n)) => Value::Number((*n).into()),
        (AttrType::Decimal, _) => return Err(invalid(path, "a number")),
        (AttrType::DateTime, Record::Str(s)) if OffsetDateTime::parse(s, &Rfc3339).is_ok() => {
            Value::String(s.to_string())
        }
        (AttrType::DateTime, _) => return Err(invalid(path, "an xsd:dateTime such as 2025-01-15T10:00:00Z")),
    }))
}

/// The case-folded `userName` that makes a User unique (RFC 7643 §4.1.1: case-insensitive).
pub fn unique_key(kind: ScimKind, attributes: &Map<String, Value>) -> Option<String> {
    match kind {
        ScimKind::User => attributes.get("userName").and_then(Value::as_str).map(str::to_lowercase),
        ScimKind::Group => None,
    }
}

/// The time form of `meta.created` / `meta.lastModified`.
pub fn datetime(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// The ETag of a version: `W/"n"`.
pub fn etag(version: u64) -> String {
    format!("W/\"{version}\"")
}

/// The full representation of a record; `base` is the dialect's base URL (`http://host/scim/v2`), `groups`
/// the groups a user belongs to.
pub fn render(record: &ScimRecord, base: &str, groups: &[Membership]) -> Map<String, Value> {
    let mut out = Map::with_capacity(record.attributes.len() + 4);
    let mut schemas = vec![Value::from(core_schema(record.kind).id)];
    schemas.extend(
        extensions(record.kind).iter().filter(|e| record.attributes.contains_key(e.id)).map(|e| Value::from(e.id)),
    );
    out.insert("schemas".into(), Value::Array(schemas));
    out.insert("id".into(), record.id.clone().into());
    for (k, v) in &record.attributes {
        out.insert(k.clone(), v.clone());
    }
    if !groups.is_empty() {
        let list = groups
            .iter()
            .map(|g| {
                let mut m = Map::new();
                m.insert("value".into(), g.group_id.clone().into());
                m.insert("$ref".into(), format!("{base}/Groups/{}", g.group_id).into());
                if let Some(name) = &g.display_name {
                    m.insert("display".into(), name.clone().into());
                }
                m.insert("type".into(), "direct".into());
                Value::Object(m)
            })
            .collect();
        out.insert("groups".into(), Value::Array(list));
    }
    let mut meta = Map::with_capacity(5);
    meta.insert("resourceType".into(), type_name(record.kind).into());
    meta.insert("created".into(), datetime(record.created).into());
    meta.insert("lastModified".into(), datetime(record.last_modified).into());
    meta.insert("location".into(), location(base, record.kind, &record.id).into());
    meta.insert("version".into(), etag(record.version).into());
    out.insert("meta".into(), Value::Object(meta));
    out
}

/// `{base}/Users/{id}` or `{base}/Groups/{id}`.
pub fn location(base: &str, kind: ScimKind, id: &str) -> String {
    format!("{base}{}/{id}", endpoint(kind))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn writes_are_normalised_to_canonical_names_and_types() {
        let body = obj(json!({
            "schemas": [schema::USER_SCHEMA],
            "USERNAME": "Ann", "Active": "True", "password": "secret", "groups": [{"value": "g"}],
            "emails": {"Value": "a@x", "primary": "False"}, "id": "mine", "nickName": null,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"Department": "R&D"},
        }));
        let out = normalize_owned(ScimKind::User, &body).unwrap();
        assert_eq!(
            Value::Object(out),
            json!({"userName": "Ann", "active": true, "emails": [{"value": "a@x", "primary": false}],
                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"}})
        );
    }

    #[test]
    fn bad_writes_name_the_attribute() {
        let detail = |v: Value| normalize_owned(ScimKind::User, &obj(v)).unwrap_err();
        let e = detail(json!({"userName": "a", "nope": 1}));
        assert_eq!((e.status, e.scim_type), (400, Some(ScimType::InvalidSyntax)));
        assert!(e.detail.contains("'nope'"), "{}", e.detail);
        assert_eq!(detail(json!({"userName": 5})).scim_type, Some(ScimType::InvalidValue));
        assert!(detail(json!({"displayName": "x"})).detail.contains("'userName' is required"));
        assert!(detail(json!({"userName": "a", "active": "maybe"})).detail.contains("boolean"));
        let two =
            json!({"userName": "a", "emails": [{"value": "a", "primary": true}, {"value": "b", "primary": true}]});
        assert!(detail(two).detail.contains("primary"));
    }

    #[test]
    fn schemas_must_name_the_core_schema_and_nothing_unknown() {
        let check = |kind, v: Value| written_resource(kind, &Record::from(&v)).map(|_| ());
        assert!(check(ScimKind::Group, json!({"schemas": [schema::GROUP_SCHEMA], "displayName": "g"})).is_ok());
        assert!(check(ScimKind::Group, json!({"displayName": "g"})).is_err());
        assert!(check(ScimKind::Group, json!({"schemas": [schema::USER_SCHEMA]})).is_err());
        assert!(check(ScimKind::User, json!({"schemas": [schema::USER_SCHEMA, "urn:x"]})).is_err());
        let e = check(ScimKind::User, json!(["not", "an", "object"])).unwrap_err();
        assert_eq!((e.status, e.scim_type), (400, Some(ScimType::InvalidSyntax)));
    }

    #[test]
    fn of_members_sharing_a_name_the_last_counts() {
        let body = crate::scim::record::parse(
            r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":5,"USERNAME":"ann",
                "name":{"givenName":1,"givenName":"Ann"}}"#,
        )
        .unwrap();
        let out = written_resource(ScimKind::User, &body).unwrap();
        assert_eq!(Value::Object(out), json!({"userName": "ann", "name": {"givenName": "Ann"}}));
        // An object of many members (indexed, not scanned): the same answer.
        let many: String = (0..40).map(|_| r#""title":7,"#).collect();
        let text = format!(r#"{{"schemas":["{}"],{many}"userName":"ann","Title":"Boss"}}"#, schema::USER_SCHEMA);
        let out = written_resource(ScimKind::User, &crate::scim::record::parse(&text).unwrap()).unwrap();
        assert_eq!(Value::Object(out), json!({"title": "Boss", "userName": "ann"}));
    }
}
