//! A Graph `user` as the emulated directory holds it: a typed record (object id, creation time, manager
//! reference, `accountEnabled`, one slot per text property, the two string collections), addressed by
//! mapping target name (`department`, `employeeOrgData.division`, `accountEnabled`, `businessPhones`, …).
//! Graph JSON is rendered from it only when a client reads it (`graph_value`).
//!
//! Design constraints: values are compared and logged in the sync engine's string form (`"True"`/`"False"`
//! for booleans), so the same [`TargetValue`] serves change detection and `modifiedProperties`. A mapping
//! target the directory does not know (a custom attribute) is kept as an extension value: it flows and
//! is logged like any other, but no Graph read shows it (Graph would not either).

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::graph_time::graph_datetime;

/// Every user property the emulator serves (beta's full set; `$select` names are checked against it).
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

/// What v1.0 returns without `$select` (docs/fidelity.md, A.3b).
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

/// The directory's single-valued string properties, by mapping target name. The order is the order of
/// [`DirectoryUser::texts`] (and of the store's columns for them).
pub const TEXT_PROPERTIES: &[&str] = &[
    "userPrincipalName",
    "employeeId",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "mailNickname",
    "jobTitle",
    "department",
    "companyName",
    "employeeType",
    "userType",
    "city",
    "country",
    "state",
    "streetAddress",
    "postalCode",
    "officeLocation",
    "mobilePhone",
    "faxNumber",
    "preferredLanguage",
    "usageLocation",
    "employeeHireDate",
    "employeeLeaveDateTime",
    "employeeOrgData.division",
    "employeeOrgData.costCenter",
];

/// Positions in [`TEXT_PROPERTIES`] the engine reads often.
const UPN: usize = 0;
const EMPLOYEE_ID: usize = 1;
const DISPLAY_NAME: usize = 2;
const USER_TYPE: usize = 11;

const ACCOUNT_ENABLED: &str = "accountEnabled";
const BUSINESS_PHONES: &str = "businessPhones";
const OTHER_MAILS: &str = "otherMails";

/// A value for one target attribute.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
        if target == ACCOUNT_ENABLED {
            let first = values.first()?;
            return Some(TargetValue::Bool(first.eq_ignore_ascii_case("true") || first == "1"));
        }
        if target == BUSINESS_PHONES || target == OTHER_MAILS {
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
}

/// Where a target name lives in the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Text(usize),
    AccountEnabled,
    BusinessPhones,
    OtherMails,
    Extension,
}

fn slot(target: &str) -> Slot {
    match target {
        ACCOUNT_ENABLED => Slot::AccountEnabled,
        BUSINESS_PHONES => Slot::BusinessPhones,
        OTHER_MAILS => Slot::OtherMails,
        _ => TEXT_PROPERTIES.iter().position(|p| *p == target).map_or(Slot::Extension, Slot::Text),
    }
}

/// One directory user.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryUser {
    pub id: String,
    pub created: OffsetDateTime,
    pub manager_id: Option<String>,
    pub account_enabled: bool,
    /// One slot per [`TEXT_PROPERTIES`] entry.
    pub texts: Vec<Option<String>>,
    pub business_phones: Vec<String>,
    pub other_mails: Vec<String>,
    /// Values of mapping targets the directory does not know, sorted by name.
    pub extensions: Vec<(String, TargetValue)>,
}

impl DirectoryUser {
    /// A new, disabled member user with this object id.
    pub fn new(id: String, created: OffsetDateTime) -> Self {
        let mut user = Self {
            id,
            created,
            manager_id: None,
            account_enabled: false,
            texts: vec![None; TEXT_PROPERTIES.len()],
            business_phones: Vec::new(),
            other_mails: Vec::new(),
            extensions: Vec::new(),
        };
        user.set("userType", &TargetValue::Text("Member".into()));
        user
    }

    /// Current value of a mapping target.
    pub fn get(&self, target: &str) -> Option<TargetValue> {
        match slot(target) {
            Slot::Text(i) => self.texts[i].clone().map(TargetValue::Text),
            Slot::AccountEnabled => Some(TargetValue::Bool(self.account_enabled)),
            Slot::BusinessPhones => non_empty(&self.business_phones),
            Slot::OtherMails => non_empty(&self.other_mails),
            Slot::Extension => self.extensions.iter().find(|(n, _)| n == target).map(|(_, v)| v.clone()),
        }
    }

    /// Whether the target currently holds `value` (`get(target) == Some(value)`, without copying it out).
    pub fn holds(&self, target: &str, value: &TargetValue) -> bool {
        match (slot(target), value) {
            (Slot::Text(i), TargetValue::Text(v)) => self.texts[i].as_deref() == Some(v.as_str()),
            (Slot::AccountEnabled, TargetValue::Bool(b)) => self.account_enabled == *b,
            (Slot::BusinessPhones, TargetValue::List(l)) => !l.is_empty() && self.business_phones == *l,
            (Slot::OtherMails, TargetValue::List(l)) => !l.is_empty() && self.other_mails == *l,
            (Slot::Extension, _) => self.extensions.iter().any(|(n, v)| n == target && v == value),
            _ => self.get(target).as_ref() == Some(value),
        }
    }

    /// Set a mapping target (a value of another kind than the target's is stored in its string form).
    pub fn set(&mut self, target: &str, value: &TargetValue) {
        match (slot(target), value) {
            (Slot::Text(i), v) => self.texts[i] = Some(v.display()),
            (Slot::AccountEnabled, TargetValue::Bool(b)) => self.account_enabled = *b,
            (Slot::AccountEnabled, v) => self.account_enabled = v.display().eq_ignore_ascii_case("true"),
            (Slot::BusinessPhones, v) => self.business_phones = as_list(v),
            (Slot::OtherMails, v) => self.other_mails = as_list(v),
            (Slot::Extension, v) => match self.extensions.binary_search_by(|(n, _)| n.as_str().cmp(target)) {
                Ok(i) => self.extensions[i].1 = v.clone(),
                Err(i) => self.extensions.insert(i, (target.to_owned(), v.clone())),
            },
        }
    }

    /// A single-valued string property (`userPrincipalName`, `employeeId`, …).
    pub fn text(&self, property: &str) -> Option<&str> {
        match slot(property) {
            Slot::Text(i) => self.texts[i].as_deref(),
            _ => None,
        }
    }

    pub fn user_principal_name(&self) -> &str {
        self.texts[UPN].as_deref().unwrap_or_default()
    }

    pub fn employee_id(&self) -> Option<&str> {
        self.texts[EMPLOYEE_ID].as_deref()
    }

    pub fn display_name(&self) -> &str {
        self.texts[DISPLAY_NAME].as_deref().unwrap_or_default()
    }

    /// A property as Graph renders it, `None` for names Graph's user has not (see [`USER_PROPERTIES`]).
    /// Unset single values are `null`, unset collections `[]`.
    pub fn graph_value(&self, property: &str) -> Option<Value> {
        Some(match property {
            "id" => json!(self.id),
            "createdDateTime" => json!(graph_datetime(self.created)),
            ACCOUNT_ENABLED => json!(self.account_enabled),
            BUSINESS_PHONES => json!(self.business_phones),
            OTHER_MAILS => json!(self.other_mails),
            "employeeOrgData" => {
                let (division, cost_center) =
                    (self.text("employeeOrgData.division"), self.text("employeeOrgData.costCenter"));
                if division.is_none() && cost_center.is_none() {
                    Value::Null
                } else {
                    json!({"division": division, "costCenter": cost_center})
                }
            }
            p if USER_PROPERTIES.contains(&p) => self.text(p).map_or(Value::Null, |v| json!(v)),
            _ => return None,
        })
    }

    /// A user from a Graph user object (seed documents, older stores): known properties by their Graph
    /// names, `employeeOrgData` by its members, anything else kept as an extension value. `id` and
    /// `createdDateTime` are taken when present, else `id` and `created` are used.
    pub fn from_graph_json(doc: &serde_json::Map<String, Value>, id: String, created: OffsetDateTime) -> Self {
        let mut user = Self::new(id, created);
        user.texts[USER_TYPE] = None; // only what the document says
        for (name, value) in doc {
            match (name.as_str(), value) {
                (_, Value::Null) | ("manager", _) => {}
                ("id", Value::String(s)) => user.id = s.clone(),
                ("createdDateTime", Value::String(s)) => {
                    if let Ok(t) = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
                        user.created = t;
                    }
                }
                ("employeeOrgData", Value::Object(org)) => {
                    for (member, target) in
                        [("division", "employeeOrgData.division"), ("costCenter", "employeeOrgData.costCenter")]
                    {
                        if let Some(Value::String(v)) = org.get(member) {
                            user.set(target, &TargetValue::Text(v.clone()));
                        }
                    }
                }
                (name, Value::Bool(b)) => user.set(name, &TargetValue::Bool(*b)),
                (name, Value::Array(items)) => {
                    let list = items.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)).collect();
                    user.set(name, &TargetValue::List(list));
                }
                (name, Value::String(s)) => user.set(name, &TargetValue::Text(s.clone())),
                (name, other) => user.set(name, &TargetValue::Text(other.to_string())),
            }
        }
        user
    }
}

fn non_empty(list: &[String]) -> Option<TargetValue> {
    (!list.is_empty()).then(|| TargetValue::List(list.to_vec()))
}

fn as_list(v: &TargetValue) -> Vec<String> {
    match v {
        TargetValue::List(l) => l.clone(),
        other => vec![other.display()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::Value as V;

    fn user() -> DirectoryUser {
        DirectoryUser::new("1".into(), OffsetDateTime::UNIX_EPOCH)
    }

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
    fn nested_and_unknown_targets_round_trip() {
        let mut u = user();
        u.set("employeeOrgData.division", &TargetValue::Text("Theme Park".into()));
        u.set("employeeOrgData.costCenter", &TargetValue::Text("4130".into()));
        u.set("extensionAttribute9", &TargetValue::Text("x".into()));
        u.set("a.custom", &TargetValue::List(vec!["1".into()]));
        assert_eq!(u.get("employeeOrgData.division"), Some(TargetValue::Text("Theme Park".into())));
        assert_eq!(u.graph_value("employeeOrgData"), Some(json!({"division": "Theme Park", "costCenter": "4130"})));
        assert_eq!(u.get("extensionAttribute9"), Some(TargetValue::Text("x".into())));
        assert_eq!(u.extensions[0].0, "a.custom", "sorted by name");
        assert_eq!(u.graph_value("extensionAttribute9"), None, "Graph does not show unknown targets");
        assert_eq!(u.get("accountEnabled"), Some(TargetValue::Bool(false)));
        assert_eq!(u.get("department"), None);
        assert_eq!(u.get("userType"), Some(TargetValue::Text("Member".into())));
    }

    #[test]
    fn holds_agrees_with_get_for_every_slot_and_value_kind() {
        let mut u = user();
        u.set("businessPhones", &TargetValue::List(vec!["555".into(), "556".into()]));
        u.set("jobTitle", &TargetValue::Text("Dev".into()));
        u.set("employeeOrgData.division", &TargetValue::Text("Sales".into()));
        u.set("custom", &TargetValue::Text("42".into()));
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
            "custom",
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

    #[test]
    fn graph_documents_read_back_into_the_same_user() {
        let mut u = user();
        u.set("userPrincipalName", &TargetValue::Text("a@b.c".into()));
        u.set("accountEnabled", &TargetValue::Bool(true));
        u.set("otherMails", &TargetValue::List(vec!["x@y.z".into()]));
        u.set("employeeOrgData.costCenter", &TargetValue::Text("7".into()));
        let doc: serde_json::Map<String, Value> =
            USER_PROPERTIES.iter().filter_map(|p| Some(((*p).to_owned(), u.graph_value(p)?))).collect();
        let back =
            DirectoryUser::from_graph_json(&doc, "other".into(), OffsetDateTime::UNIX_EPOCH + time::Duration::DAY);
        assert_eq!(back, u);
    }

    #[test]
    fn named_positions_match_the_property_list() {
        for (i, name) in [
            (UPN, "userPrincipalName"),
            (EMPLOYEE_ID, "employeeId"),
            (DISPLAY_NAME, "displayName"),
            (USER_TYPE, "userType"),
        ] {
            assert_eq!(TEXT_PROPERTIES[i], name);
        }
    }
}
