//! Which attributes an answer returns (RFC 7644 §3.9, RFC 7643 §7 `returned`): `attributes` (only these, plus
//! those returned always: `id`, `schemas`) or `excludedAttributes` (all but these), in RFC 7644 §3.10 attribute
//! notation, resolved against the schemas — an unknown name is `invalidPath`, both lists at once `invalidSyntax`
//! (docs/fidelity.md#s2-queries).

use serde_json::{Map, Value};

use super::error::{ScimError, ScimType};
use super::resource::{core_schema, extensions};
use super::schema::{self, Returned};
use crate::store::ScimKind;

/// The attributes a response returns (RFC 7644 §3.9): `attributes` (only these, plus those returned always)
/// or `excludedAttributes` (all but these). Names are RFC 7644 §3.10 attribute notation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub attributes: Vec<String>,
    pub excluded: Vec<String>,
}

/// One selected name, resolved: the top-level key, and the sub-attribute (or extension attribute) below it.
struct Selected {
    top: String,
    sub: Option<String>,
    sub_sub: Option<String>,
}

impl Selection {
    /// Checks every name against the kind's schemas (an unknown name is `invalidPath`) and that at most one
    /// of the two lists is given.
    pub fn check(&self, kind: ScimKind) -> Result<(), ScimError> {
        if !self.attributes.is_empty() && !self.excluded.is_empty() {
            return Err(ScimError::bad_request(
                ScimType::InvalidSyntax,
                "'attributes' and 'excludedAttributes' may not be used together.",
            ));
        }
        for name in self.attributes.iter().chain(&self.excluded) {
            resolve(kind, name)?;
        }
        Ok(())
    }

    /// Applies the selection to a rendered resource.
    pub fn apply(&self, kind: ScimKind, resource: &mut Map<String, Value>) {
        if !self.attributes.is_empty() {
            let wanted: Vec<Selected> = self.attributes.iter().filter_map(|n| resolve(kind, n).ok()).collect();
            resource.retain(|key, value| {
                if always_returned(kind, key) {
                    return true;
                }
                let picks: Vec<&Selected> = wanted.iter().filter(|w| w.top == *key).collect();
                if picks.is_empty() {
                    return false;
                }
                if picks.iter().all(|p| p.sub.is_some()) {
                    keep_only(value, &picks);
                }
                true
            });
        } else if !self.excluded.is_empty() {
            for name in &self.excluded {
                let Ok(sel) = resolve(kind, name) else { continue };
                if always_returned(kind, &sel.top) {
                    continue;
                }
                match (&sel.sub, &sel.sub_sub) {
                    (None, _) => {
                        resource.remove(&sel.top);
                    }
                    (Some(sub), None) => remove_sub(resource.get_mut(&sel.top), sub),
                    (Some(sub), Some(sub_sub)) => {
                        if let Some(Value::Object(ext)) = resource.get_mut(&sel.top) {
                            remove_sub(ext.get_mut(sub), sub_sub);
                        }
                    }
                }
            }
        }
    }
}

fn always_returned(kind: ScimKind, key: &str) -> bool {
    key == "schemas"
        || key == "id"
        || schema::find(core_schema(kind).attributes, key).is_some_and(|a| a.returned == Returned::Always)
}

/// Keeps, in a complex (or extension) value, only the sub-attributes `picks` name.
fn keep_only(value: &mut Value, picks: &[&Selected]) {
    let keep =
        |obj: &mut Map<String, Value>| obj.retain(|k, _| picks.iter().any(|p| p.sub.as_deref() == Some(k.as_str())));
    match value {
        Value::Object(obj) => {
            let whole: Vec<&str> =
                picks.iter().filter(|p| p.sub_sub.is_none()).filter_map(|p| p.sub.as_deref()).collect();
            obj.retain(|k, _| picks.iter().any(|p| p.sub.as_deref() == Some(k.as_str())));
            for (k, v) in obj.iter_mut() {
                if whole.contains(&k.as_str()) {
                    continue;
                }
                let inner: Vec<&str> = picks
                    .iter()
                    .filter(|p| p.sub.as_deref() == Some(k.as_str()))
                    .filter_map(|p| p.sub_sub.as_deref())
                    .collect();
                if let Value::Object(o) = v {
                    o.retain(|kk, _| inner.contains(&kk.as_str()));
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                if let Value::Object(obj) = item {
                    keep(obj);
                }
            }
        }
        _ => {}
    }
}

fn remove_sub(value: Option<&mut Value>, sub: &str) {
    match value {
        Some(Value::Object(obj)) => {
            obj.remove(sub);
        }
        Some(Value::Array(items)) => {
            for item in items {
                if let Value::Object(obj) = item {
                    obj.remove(sub);
                }
            }
        }
        _ => {}
    }
}

/// Resolves an attribute-notation name to canonical keys; an unknown attribute is `invalidPath`.
fn resolve(kind: ScimKind, name: &str) -> Result<Selected, ScimError> {
    let unknown = || ScimError::bad_request(ScimType::InvalidPath, format!("The attribute '{name}' is not defined."));
    let prefixed = |urn: &str| name.get(..urn.len()).is_some_and(|p| p.eq_ignore_ascii_case(urn));
    if let Some(ext) = extensions(kind).iter().find(|e| prefixed(e.id)) {
        let rest = name.get(ext.id.len()..).unwrap_or_default();
        if rest.is_empty() {
            return Ok(Selected { top: ext.id.into(), sub: None, sub_sub: None });
        }
        let rest = rest.strip_prefix(':').ok_or_else(unknown)?;
        let (attr, sub) = split_dot(rest);
        let def = schema::find(ext.attributes, attr).ok_or_else(unknown)?;
        let sub = sub.map(|s| def.sub_attr(s).map(|d| d.name.to_owned()).ok_or_else(unknown)).transpose()?;
        return Ok(Selected { top: ext.id.into(), sub: Some(def.name.into()), sub_sub: sub });
    }
    let core = core_schema(kind);
    let rest = if prefixed(core.id) {
        name.get(core.id.len()..).unwrap_or_default().strip_prefix(':').ok_or_else(unknown)?
    } else {
        name
    };
    let (attr, sub) = split_dot(rest);
    let def = [&schema::ID, &schema::EXTERNAL_ID, &schema::META]
        .into_iter()
        .find(|d| d.name.eq_ignore_ascii_case(attr))
        .or_else(|| schema::find(core.attributes, attr))
        .ok_or_else(unknown)?;
    let sub = sub.map(|s| def.sub_attr(s).map(|d| d.name.to_owned()).ok_or_else(unknown)).transpose()?;
    Ok(Selected { top: def.name.into(), sub, sub_sub: None })
}

fn split_dot(s: &str) -> (&str, Option<&str>) {
    match s.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn selections_keep_what_is_asked_and_what_is_always_returned() {
        let rendered = obj(
            json!({"schemas": [], "id": "1", "userName": "a", "name": {"givenName": "A", "familyName": "B"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "D", "division": "V"}, "meta": {}}),
        );
        let pick = |attributes: &[&str], excluded: &[&str]| {
            let sel = Selection {
                attributes: attributes.iter().map(|s| s.to_string()).collect(),
                excluded: excluded.iter().map(|s| s.to_string()).collect(),
            };
            sel.check(ScimKind::User).unwrap();
            let mut r = rendered.clone();
            sel.apply(ScimKind::User, &mut r);
            Value::Object(r)
        };
        assert_eq!(pick(&["name.givenName"], &[]), json!({"schemas": [], "id": "1", "name": {"givenName": "A"}}));
        assert_eq!(
            pick(&["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"], &[]),
            json!({"schemas": [], "id": "1", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "D"}})
        );
        let r = pick(&[], &["name", "id", "meta"]);
        assert!(r.get("name").is_none() && r.get("meta").is_none() && r["id"] == "1");
        let sel = Selection { attributes: vec!["bogus".into()], excluded: vec![] };
        assert_eq!(sel.check(ScimKind::User).unwrap_err().scim_type, Some(ScimType::InvalidPath));
    }
}
