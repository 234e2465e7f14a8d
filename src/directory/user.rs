//! A Graph `user` object as the emulator stores it: the JSON document plus typed access by mapping target
//! name (`department`, `employeeOrgData.division`, `accountEnabled`, `businessPhones`, …).
//!
//! Design constraint: values are compared and logged in the sync engine's string form (`"True"`/`"False"`
//! for booleans), so the same [`TargetValue`] serves change detection and `modifiedProperties`.

use serde_json::{Map, Value};

/// Every user property the emulator knows (beta's full set; `$select` names are checked against it).
pub const USER_PROPERTIES: &[&str] = &[
    "id",
    "accountEnabled",
    "businessPhones",
    "city",
    "companyName",
    "country",
    "createdDateTime",
    "department",
    "displayName",
    "employeeHireDate",
    "employeeId",
    "employeeLeaveDateTime",
    "employeeOrgData",
    "employeeType",
    "faxNumber",
    "givenName",
    "jobTitle",
    "mail",
    "mailNickname",
    "mobilePhone",
    "officeLocation",
    "otherMails",
    "postalCode",
    "preferredLanguage",
    "state",
    "streetAddress",
    "surname",
    "usageLocation",
    "userPrincipalName",
    "userType",
];

/// What v1.0 returns without `$select` (spec A.3b).
pub const V1_DEFAULT_PROPERTIES: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "id",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
];

const BOOLEAN_TARGETS: &[&str] = &["accountEnabled"];
const COLLECTION_TARGETS: &[&str] = &["businessPhones", "otherMails"];

/// A value for one target attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetValue {
    Text(String),
    Bool(bool),
    List(Vec<String>),
}

impl TargetValue {
    /// Convert an evaluated mapping value for `target`; None when the value is null (null never flows).
    pub fn for_target(target: &str, value: &crate::expr::Value) -> Option<TargetValue> {
        use crate::expr::Value as V;
        let values: Vec<String> = match value {
            V::Null => return None,
            V::Str(s) => vec![s.clone()],
            V::Multi(v) if v.is_empty() => return None,
            V::Multi(v) => v.clone(),
        };
        if BOOLEAN_TARGETS.contains(&target) {
            let first = values.first()?;
            return Some(TargetValue::Bool(first.eq_ignore_ascii_case("true") || first == "1"));
        }
        if COLLECTION_TARGETS.contains(&target) {
            return Some(TargetValue::List(values));
        }
        Some(TargetValue::Text(values.join(",")))
    }

    /// The sync engine's string form (`modifiedProperties`).
    pub fn display(&self) -> String {
        match self {
            TargetValue::Text(s) => s.clone(),
            TargetValue::Bool(true) => "True".into(),
            TargetValue::Bool(false) => "False".into(),
            TargetValue::List(v) => v.join(","),
        }
    }

    fn to_json(&self) -> Value {
        match self {
            TargetValue::Text(s) => Value::String(s.clone()),
            TargetValue::Bool(b) => Value::Bool(*b),
            TargetValue::List(v) => Value::Array(v.iter().cloned().map(Value::String).collect()),
        }
    }

    /// Whether a stored JSON value reads back as this value (`from_json(target, v) == Some(self)`), without
    /// building the value in the common shapes: change detection runs once per mapping per operation.
    fn is_stored_as(&self, target: &str, v: &Value) -> bool {
        match (self, v) {
            (TargetValue::Text(s), Value::String(t)) => s == t,
            (TargetValue::Bool(b), Value::Bool(c)) => b == c,
            (TargetValue::List(l), Value::Array(a)) if !a.is_empty() && a.iter().all(Value::is_string) => {
                l.len() == a.len() && l.iter().zip(a).all(|(x, y)| y.as_str() == Some(x.as_str()))
            }
            _ => TargetValue::from_json(target, v).as_ref() == Some(self),
        }
    }

    fn from_json(target: &str, v: &Value) -> Option<TargetValue> {
        match v {
            Value::Null => None,
            Value::Bool(b) => Some(TargetValue::Bool(*b)),
            Value::String(s) => Some(TargetValue::Text(s.clone())),
            Value::Array(a) if a.is_empty() => None,
            Value::Array(a) => Some(TargetValue::List(
                a.iter().map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned)).collect(),
            )),
            other if COLLECTION_TARGETS.contains(&target) => Some(TargetValue::List(vec![other.to_string()])),
            other => Some(TargetValue::Text(other.to_string())),
        }
    }
}

/// One directory user.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryUser {
    pub id: String,
    pub manager_id: Option<String>,
    /// The Graph user document (without the `manager` navigation property).
    pub doc: Map<String, Value>,
}

impl DirectoryUser {
    /// A new member user with a fresh object id.
    pub fn new(id: String, created: &str) -> Self {
        let mut doc = Map::new();
        doc.insert("id".into(), Value::String(id.clone()));
        doc.insert("createdDateTime".into(), Value::String(created.to_owned()));
        doc.insert("userType".into(), Value::String("Member".into()));
        doc.insert("accountEnabled".into(), Value::Bool(false));
        Self { id, manager_id: None, doc }
    }

    /// Current value of a mapping target (`employeeOrgData.division` reads the nested object).
    pub fn get(&self, target: &str) -> Option<TargetValue> {
        TargetValue::from_json(target, self.stored(target)?)
    }

    /// Whether the target currently holds `value` (`get(target) == Some(value)`, without copying it out).
    pub fn holds(&self, target: &str, value: &TargetValue) -> bool {
        self.stored(target).is_some_and(|v| value.is_stored_as(target, v))
    }

    fn stored(&self, target: &str) -> Option<&Value> {
        match target.split_once('.') {
            Some((outer, inner)) => self.doc.get(outer)?.get(inner),
            None => self.doc.get(target),
        }
    }

    pub fn set(&mut self, target: &str, value: &TargetValue) {
        let json = value.to_json();
        match target.split_once('.') {
            Some((outer, inner)) => {
                let entry = self.doc.entry(outer.to_owned()).or_insert_with(|| Value::Object(Map::new()));
                if !entry.is_object() {
                    *entry = Value::Object(Map::new());
                }
                if let Value::Object(m) = entry {
                    m.insert(inner.to_owned(), json);
                }
            }
            None => {
                self.doc.insert(target.to_owned(), json);
            }
        }
    }

    /// A string property, for the indexed columns.
    pub fn text(&self, property: &str) -> Option<&str> {
        self.doc.get(property).and_then(Value::as_str)
    }

    pub fn account_enabled(&self) -> bool {
        self.doc.get("accountEnabled").and_then(Value::as_bool).unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::Value as V;

    #[test]
    fn values_convert_per_target_type() {
        assert_eq!(TargetValue::for_target("accountEnabled", &V::Str("True".into())), Some(TargetValue::Bool(true)));
        assert_eq!(TargetValue::for_target("accountEnabled", &V::Str("False".into())), Some(TargetValue::Bool(false)));
        assert_eq!(
            TargetValue::for_target("businessPhones", &V::Str("555".into())),
            Some(TargetValue::List(vec!["555".into()]))
        );
        assert_eq!(TargetValue::for_target("department", &V::Null), None);
        assert_eq!(TargetValue::Bool(true).display(), "True");
    }

    #[test]
    fn nested_targets_read_and_write_the_inner_object() {
        let mut u = DirectoryUser::new("1".into(), "t");
        u.set("employeeOrgData.division", &TargetValue::Text("Theme Park".into()));
        u.set("employeeOrgData.costCenter", &TargetValue::Text("4130".into()));
        assert_eq!(u.get("employeeOrgData.division"), Some(TargetValue::Text("Theme Park".into())));
        assert_eq!(u.doc["employeeOrgData"]["costCenter"], "4130");
        assert_eq!(u.get("accountEnabled"), Some(TargetValue::Bool(false)));
        assert_eq!(u.get("department"), None);
    }

    #[test]
    fn holds_agrees_with_get_for_every_stored_shape() {
        let mut u = DirectoryUser::new("1".into(), "t");
        u.doc.insert("businessPhones".into(), serde_json::json!(["555", "556"]));
        u.doc.insert("otherMails".into(), serde_json::json!([]));
        u.doc.insert("department".into(), serde_json::json!(42));
        u.doc.insert("jobTitle".into(), serde_json::json!("Dev"));
        u.doc.insert("employeeOrgData".into(), serde_json::json!({"division": "Sales"}));
        let candidates = [
            TargetValue::Text("Dev".into()),
            TargetValue::Text("42".into()),
            TargetValue::Text("Sales".into()),
            TargetValue::Text(String::new()),
            TargetValue::Bool(false),
            TargetValue::Bool(true),
            TargetValue::List(vec!["555".into(), "556".into()]),
            TargetValue::List(vec!["555".into()]),
            TargetValue::List(vec![]),
        ];
        let targets = [
            "businessPhones",
            "otherMails",
            "department",
            "jobTitle",
            "employeeOrgData.division",
            "accountEnabled",
            "mail",
        ];
        for target in targets {
            for value in &candidates {
                assert_eq!(u.holds(target, value), u.get(target).as_ref() == Some(value), "{target} {value:?}");
            }
        }
    }
}
