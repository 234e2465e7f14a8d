//! PATCH (RFC 7644 §3.5.2): a `PatchOp` message parsed, then applied to a resource's stored attributes
//! (docs/fidelity.md#s1-scim-20-service-provider). Paths are parsed by the `scim_v2` crate (depth-limited) and
//! resolved against the schemas like filters.
//!
//! Accepted as Entra's SCIM client sends them: `op` in any case (`"Replace"`), booleans as `"True"`/`"False"`,
//! path-less values whose keys are paths (`"name.givenName"`, `"emails[type eq \"work\"].value"`) or an
//! extension URN, `remove` of `members` with the members to drop in `value`, and `add` through a value filter
//! that matches nothing (`emails[type eq "work"].value`), which adds an element with the filter's equalities.

use std::str::FromStr;

use scim_v2::filter::{AttrExp, CompValue, CompareOp, PatchPath, ValFilter};
use serde_json::{Map, Value};

use super::error::{ScimError, ScimType};
use super::filter::{Target, check_val, eval_val, target};
use super::resource::{checked, extension};
use super::schema::{AttrType, Mutability};
use crate::store::ScimKind;

pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

/// One parsed operation.
#[derive(Debug, Clone)]
struct Operation {
    op: Op,
    path: Option<String>,
    value: Option<Value>,
}

/// A parsed `PatchOp` message.
#[derive(Debug, Clone)]
pub struct PatchRequest {
    operations: Vec<Operation>,
}

fn syntax(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request(ScimType::InvalidSyntax, detail)
}

/// The member of `obj` named `name`, compared case-insensitively (RFC 7643 §2.1). A PATCH body arrives as the
/// owned tree `record::owned` builds, where each name appears once (the last repeat won), so the first match
/// is the only one.
fn field<'v>(obj: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

impl PatchRequest {
    /// Reads a PATCH body: `schemas` with the PatchOp URN and a non-empty `Operations` array.
    pub fn parse(body: &Value) -> Result<Self, ScimError> {
        let body = body.as_object().ok_or_else(|| syntax("The body must be a PatchOp object."))?;
        let schemas_ok = field(body, "schemas")
            .and_then(Value::as_array)
            .is_some_and(|s| s.iter().any(|u| u.as_str().is_some_and(|u| u.eq_ignore_ascii_case(PATCH_SCHEMA))));
        if !schemas_ok {
            return Err(syntax(format!("The attribute 'schemas' must contain '{PATCH_SCHEMA}'.")));
        }
        let ops = field(body, "Operations")
            .and_then(Value::as_array)
            .filter(|o| !o.is_empty())
            .ok_or_else(|| syntax("'Operations' must be a non-empty array."))?;
        let mut operations = Vec::with_capacity(ops.len());
        for (i, o) in ops.iter().enumerate() {
            let o = o.as_object().ok_or_else(|| syntax(format!("Operations[{i}] must be an object.")))?;
            let get = |name: &str| field(o, name);
            let op = match get("op").and_then(Value::as_str).map(str::to_ascii_lowercase).as_deref() {
                Some("add") => Op::Add,
                Some("replace") => Op::Replace,
                Some("remove") => Op::Remove,
                _ => return Err(syntax(format!("Operations[{i}].op must be 'add', 'replace' or 'remove'."))),
            };
            let path = match get("path") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) => Some(p.clone()),
                Some(_) => {
                    return Err(ScimError::bad_request(
                        ScimType::InvalidPath,
                        format!("Operations[{i}].path must be a string."),
                    ));
                }
            };
            let value = get("value").filter(|v| !v.is_null()).cloned();
            if op != Op::Remove && value.is_none() {
                return Err(syntax(format!("Operations[{i}] needs a 'value'.")));
            }
            operations.push(Operation { op, path, value });
        }
        Ok(Self { operations })
    }

    /// Applies every operation in order to `attributes` (a resource's stored attributes).
    pub fn apply(&self, kind: ScimKind, attributes: &mut Map<String, Value>) -> Result<(), ScimError> {
        for o in &self.operations {
            match (&o.path, o.op) {
                (None, Op::Remove) => {
                    return Err(ScimError::bad_request(ScimType::NoTarget, "A 'remove' operation needs a 'path'."));
                }
                (None, op) => pathless(kind, attributes, op, o.value.as_ref())?,
                (Some(path), op) => at_path(kind, attributes, op, path, o.value.as_ref())?,
            }
        }
        Ok(())
    }
}

/// A path-less `add`/`replace`: every key of the value object is a path (or an extension URN).
fn pathless(kind: ScimKind, attrs: &mut Map<String, Value>, op: Op, value: Option<&Value>) -> Result<(), ScimError> {
    let Some(Value::Object(fields)) = value else {
        return Err(syntax("Without a 'path', the 'value' must be an object of attributes."));
    };
    for (key, v) in fields {
        if ["schemas", "id", "meta"].iter().any(|k| k.eq_ignore_ascii_case(key)) {
            continue;
        }
        at_path(kind, attrs, op, key, Some(v))?;
    }
    Ok(())
}

fn at_path(
    kind: ScimKind,
    attrs: &mut Map<String, Value>,
    op: Op,
    path: &str,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    if let Some(ext) = extension(kind, path) {
        // The path names a whole extension: its value is an object of the extension's attributes.
        return match (op, value) {
            (Op::Remove, _) => {
                attrs.remove(ext.id);
                Ok(())
            }
            (_, Some(Value::Object(fields))) => {
                for (name, v) in fields.iter().filter(|(name, _)| !name.eq_ignore_ascii_case("schemas")) {
                    at_path(kind, attrs, op, &format!("{}:{name}", ext.id), Some(v))?;
                }
                Ok(())
            }
            _ => Err(syntax(format!("The value for '{path}' must be an object."))),
        };
    }
    let parsed = PatchPath::from_str(path)
        .map_err(|e| ScimError::bad_request(ScimType::InvalidPath, format!("The path '{path}' is invalid: {e}")))?;
    let invalid_path =
        |e: ScimError| ScimError::bad_request(ScimType::InvalidPath, e.detail.replace("in the filter ", ""));
    match parsed {
        PatchPath::Attr(attr_path) => {
            let t = target(kind, &attr_path, None).map_err(invalid_path)?;
            writable(&t, path)?;
            plain(attrs, &t, op, value, path)
        }
        PatchPath::Value(vp) => {
            let t = target(kind, &vp.attr, None).map_err(invalid_path)?;
            if t.def.ty != AttrType::Complex || t.sub.is_some() {
                return Err(ScimError::bad_request(ScimType::InvalidPath, format!("'{}' takes no [filter].", vp.attr)));
            }
            check_val(kind, &vp.filter, &t).map_err(|e| ScimError::bad_request(ScimType::InvalidFilter, e.detail))?;
            let sub = match &vp.sub_attr {
                Some(s) => Some(t.def.sub_attr(s).ok_or_else(|| {
                    ScimError::bad_request(ScimType::InvalidPath, format!("'{}' has no sub-attribute '{s}'.", vp.attr))
                })?),
                None => None,
            };
            let t = Target { sub, ..t };
            writable(&t, path)?;
            filtered(kind, attrs, &t, &vp.filter, op, value, path)
        }
    }
}

fn writable(t: &Target, path: &str) -> Result<(), ScimError> {
    let read_only =
        t.def.mutability == Mutability::ReadOnly || t.sub.is_some_and(|s| s.mutability == Mutability::ReadOnly);
    if read_only {
        Err(ScimError::new(400, Some(ScimType::Mutability), format!("The attribute '{path}' is read-only.")))
    } else {
        Ok(())
    }
}

/// The object holding the target's attribute: the resource, or its extension object (created when `create`).
fn container<'a>(attrs: &'a mut Map<String, Value>, t: &Target, create: bool) -> Option<&'a mut Map<String, Value>> {
    match t.extension {
        None => Some(attrs),
        Some(urn) => {
            if create && !attrs.contains_key(urn) {
                attrs.insert(urn.into(), Value::Object(Map::new()));
            }
            attrs.get_mut(urn).and_then(Value::as_object_mut)
        }
    }
}

/// Drops an extension object left empty.
fn tidy(attrs: &mut Map<String, Value>, t: &Target) {
    if let Some(urn) = t.extension
        && attrs.get(urn).and_then(Value::as_object).is_some_and(Map::is_empty)
    {
        attrs.remove(urn);
    }
}

fn value_of<'a>(value: Option<&'a Value>, path: &str) -> Result<&'a Value, ScimError> {
    value.ok_or_else(|| syntax(format!("The operation on '{path}' needs a 'value'.")))
}

/// add / replace / remove at a plain attribute path.
fn plain(
    attrs: &mut Map<String, Value>,
    t: &Target,
    op: Op,
    value: Option<&Value>,
    path: &str,
) -> Result<(), ScimError> {
    let name = t.def.name;
    match (op, t.sub) {
        (Op::Remove, None) => {
            if let Some(c) = container(attrs, t, false) {
                match value.filter(|_| t.def.multi) {
                    // Remove only the listed values (Entra removes members this way).
                    Some(listed) => remove_listed(c, name, listed),
                    None => {
                        c.remove(name);
                    }
                }
            }
        }
        (Op::Remove, Some(sub)) => {
            if let Some(c) = container(attrs, t, false) {
                match c.get_mut(name) {
                    Some(Value::Object(o)) => {
                        o.remove(sub.name);
                        if o.is_empty() {
                            c.remove(name);
                        }
                    }
                    Some(Value::Array(items)) => {
                        for item in items.iter_mut().filter_map(Value::as_object_mut) {
                            item.remove(sub.name);
                        }
                        items.retain(|i| i.as_object().is_none_or(|o| !o.is_empty()));
                    }
                    _ => {}
                }
            }
        }
        (Op::Add | Op::Replace, None) => {
            let Some(new) = checked(t.def, value_of(value, path)?, path)? else { return Ok(()) };
            let c = container(attrs, t, true).ok_or_else(|| syntax(format!("Cannot write '{path}'.")))?;
            match (op, c.get_mut(name), new) {
                (Op::Add, Some(Value::Array(items)), Value::Array(added)) => {
                    for v in added {
                        if !items.contains(&v) {
                            if v.get("primary") == Some(&Value::Bool(true)) {
                                clear_primary(items);
                            }
                            items.push(v);
                        }
                    }
                }
                (Op::Add, Some(Value::Object(existing)), Value::Object(fields)) => existing.extend(fields),
                (_, _, new) => {
                    c.insert(name.into(), new);
                }
            }
        }
        (Op::Add | Op::Replace, Some(sub)) => {
            let Some(new) = checked(sub, value_of(value, path)?, path)? else { return Ok(()) };
            let c = container(attrs, t, true).ok_or_else(|| syntax(format!("Cannot write '{path}'.")))?;
            match c.get_mut(name) {
                Some(Value::Array(items)) => {
                    for item in items.iter_mut().filter_map(Value::as_object_mut) {
                        item.insert(sub.name.into(), new.clone());
                    }
                }
                Some(Value::Object(o)) => {
                    o.insert(sub.name.into(), new);
                }
                _ if t.def.multi => {
                    return Err(ScimError::bad_request(
                        ScimType::NoTarget,
                        format!("'{name}' has no values to set '{path}' on."),
                    ));
                }
                _ => {
                    let mut o = Map::new();
                    o.insert(sub.name.into(), new);
                    c.insert(name.into(), Value::Object(o));
                }
            }
        }
    }
    tidy(attrs, t);
    Ok(())
}

fn clear_primary(items: &mut [Value]) {
    for item in items.iter_mut().filter_map(Value::as_object_mut) {
        if item.get("primary") == Some(&Value::Bool(true)) {
            item.insert("primary".into(), Value::Bool(false));
        }
    }
}

/// Removes from a multi-valued attribute the elements whose `value` one of `listed` names.
fn remove_listed(c: &mut Map<String, Value>, name: &str, listed: &Value) {
    let listed: Vec<&Value> = match listed {
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    let keys: Vec<&Value> = listed.iter().map(|l| l.get("value").unwrap_or(l)).collect();
    if let Some(Value::Array(items)) = c.get_mut(name) {
        items.retain(|i| !keys.contains(&i.get("value").unwrap_or(i)));
        if items.is_empty() {
            c.remove(name);
        }
    }
}

/// add / replace / remove through a value filter (`emails[type eq "work"]`, `members[value eq "…"]`).
fn filtered(
    kind: ScimKind,
    attrs: &mut Map<String, Value>,
    t: &Target,
    filter: &ValFilter,
    op: Op,
    value: Option<&Value>,
    path: &str,
) -> Result<(), ScimError> {
    let name = t.def.name;
    let new = match op {
        Op::Remove => None,
        _ => {
            let def = t.sub.unwrap_or(t.def);
            let v = value_of(value, path)?;
            // A whole element replaces a matching one: check it as one element, not as the multi-valued list.
            let single =
                if t.sub.is_none() && def.multi { checked_element(t, v, path)? } else { checked(def, v, path)? };
            Some(single)
        }
    };
    let c = container(attrs, t, op != Op::Remove).ok_or_else(|| no_target(path))?;
    let mut matched = 0;
    if let Some(Value::Array(items)) = c.get_mut(name) {
        let mut kept = Vec::with_capacity(items.len());
        for mut item in std::mem::take(items) {
            let hit = item.as_object().is_some_and(|o| eval_val(kind, filter, o, t));
            if !hit {
                kept.push(item);
                continue;
            }
            matched += 1;
            match (op, t.sub, &new) {
                (Op::Remove, None, _) => continue,
                (Op::Remove, Some(sub), _) => {
                    if let Some(o) = item.as_object_mut() {
                        o.remove(sub.name);
                    }
                }
                (_, Some(sub), Some(v)) => {
                    if let Some(o) = item.as_object_mut() {
                        match v {
                            Some(v) => o.insert(sub.name.into(), v.clone()),
                            None => o.remove(sub.name),
                        };
                    }
                }
                (_, None, Some(Some(v))) => item = v.clone(),
                _ => {}
            }
            if item.as_object().is_some_and(|o| !o.is_empty()) {
                kept.push(item);
            }
        }
        *items = kept;
        if items.is_empty() {
            c.remove(name);
        }
    }
    if matched == 0 {
        match (op, equalities(filter), new) {
            // Entra's SCIM client adds through a filter that matches nothing yet: create the element.
            (Op::Add, Some(mut element), Some(v)) => {
                match (t.sub, v) {
                    (Some(sub), Some(v)) => {
                        element.insert(sub.name.into(), v);
                    }
                    (None, Some(Value::Object(fields))) => element.extend(fields),
                    _ => {}
                }
                let element = checked_element(t, &Value::Object(element), path)?.unwrap_or(Value::Null);
                match c.get_mut(name) {
                    Some(Value::Array(items)) => items.push(element),
                    _ => {
                        c.insert(name.into(), Value::Array(vec![element]));
                    }
                }
            }
            _ => {
                tidy(attrs, t);
                return Err(no_target(path));
            }
        }
    }
    tidy(attrs, t);
    Ok(())
}

fn no_target(path: &str) -> ScimError {
    ScimError::bad_request(ScimType::NoTarget, format!("No value matches the path '{path}'."))
}

/// One element of a multi-valued complex attribute, checked.
fn checked_element(t: &Target, v: &Value, path: &str) -> Result<Option<Value>, ScimError> {
    let element = checked(t.def, v, path)?;
    Ok(match element {
        Some(Value::Array(mut items)) if items.len() == 1 => items.pop(),
        Some(Value::Array(_)) => return Err(syntax(format!("The value for '{path}' must be one element."))),
        other => other,
    })
}

/// The sub-attribute equalities a filter consists of (`type eq "work" and primary eq true`), as an element.
fn equalities(filter: &ValFilter) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    let mut add = |e: &ValFilter| match e {
        ValFilter::Attr(AttrExp::Comparison(p, CompareOp::Eq, v)) => {
            let v = match v {
                CompValue::Str(s) => Value::String(s.clone()),
                CompValue::True => Value::Bool(true),
                CompValue::False => Value::Bool(false),
                CompValue::Number(n) => Value::Number(n.clone()),
                CompValue::Null => return false,
            };
            out.insert(p.name.clone(), v);
            true
        }
        _ => false,
    };
    let all = match filter {
        ValFilter::And(items) => items.iter().all(&mut add),
        single => add(single),
    };
    all.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(start: Value, ops: Value) -> Result<Value, ScimError> {
        let body = json!({"schemas": [PATCH_SCHEMA], "Operations": ops});
        let mut attrs = start.as_object().cloned().unwrap();
        PatchRequest::parse(&body)?.apply(ScimKind::User, &mut attrs)?;
        Ok(Value::Object(attrs))
    }

    #[test]
    fn entra_shapes_apply() {
        let start = json!({"userName": "a", "active": true, "emails": [{"type": "work", "value": "a@x"}]});
        let out = run(
            start.clone(),
            json!([
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "Add", "path": "emails[type eq \"home\"].value", "value": "h@x"},
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "w@x"},
                {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": {"value": "m1"}},
                {"op": "replace", "value": {"name.givenName": "Ann", "displayName": "Ann A"}},
            ]),
        )
        .unwrap();
        assert_eq!(
            out,
            json!({"userName": "a", "active": false,
                   "emails": [{"type": "work", "value": "w@x"}, {"type": "home", "value": "h@x"}],
                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m1"}},
                   "name": {"givenName": "Ann"}, "displayName": "Ann A"})
        );
    }

    #[test]
    fn remove_by_path_filter_and_listed_values() {
        let body = |ops: Value| json!({"schemas": [PATCH_SCHEMA], "Operations": ops});
        let mut group = json!({"displayName": "g", "members": [{"value": "1"}, {"value": "2"}, {"value": "3"}]})
            .as_object()
            .cloned()
            .unwrap();
        let p = PatchRequest::parse(&body(json!([
            {"op": "remove", "path": "members[value eq \"1\"]"},
            {"op": "Remove", "path": "members", "value": [{"value": "2"}]},
        ])))
        .unwrap();
        p.apply(ScimKind::Group, &mut group).unwrap();
        assert_eq!(Value::Object(group.clone()), json!({"displayName": "g", "members": [{"value": "3"}]}));
        let p = PatchRequest::parse(&body(json!([{"op": "remove", "path": "members"}]))).unwrap();
        p.apply(ScimKind::Group, &mut group).unwrap();
        assert_eq!(Value::Object(group), json!({"displayName": "g"}));
    }

    #[test]
    fn errors_have_their_scim_types() {
        let start = json!({"userName": "a", "emails": [{"type": "work", "value": "a@x"}]});
        let kind = |ops: Value| run(start.clone(), ops).unwrap_err().scim_type;
        assert_eq!(kind(json!([{"op": "remove"}])), Some(ScimType::NoTarget));
        assert_eq!(
            kind(json!([{"op": "replace", "path": "emails[type eq \"home\"].value", "value": "x"}])),
            Some(ScimType::NoTarget)
        );
        assert_eq!(kind(json!([{"op": "add", "path": "nope", "value": "x"}])), Some(ScimType::InvalidPath));
        assert_eq!(kind(json!([{"op": "add", "path": "emails[", "value": "x"}])), Some(ScimType::InvalidPath));
        assert_eq!(
            kind(json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}])),
            Some(ScimType::Mutability)
        );
        assert_eq!(kind(json!([{"op": "move", "path": "title", "value": "x"}])), Some(ScimType::InvalidSyntax));
        assert_eq!(kind(json!([{"op": "add", "path": "active", "value": "perhaps"}])), Some(ScimType::InvalidValue));
        let no_schema = PatchRequest::parse(&json!({"Operations": [{"op": "add", "value": {}}]})).unwrap_err();
        assert_eq!(no_schema.scim_type, Some(ScimType::InvalidSyntax));
    }

    #[test]
    fn an_added_primary_value_demotes_the_old_one() {
        let start = json!({"userName": "a", "emails": [{"value": "a@x", "primary": true}]});
        let out =
            run(start, json!([{"op": "add", "path": "emails", "value": [{"value": "b@x", "primary": true}]}])).unwrap();
        assert_eq!(out["emails"], json!([{"value": "a@x", "primary": false}, {"value": "b@x", "primary": true}]));
    }
}
