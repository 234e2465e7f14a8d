//! Directory users in snapshot and seed documents (README "Snapshots and seeding"): Graph user objects, with
//! properties as Graph names them (`employeeOrgData` by its members), a `manager` naming another user of the
//! same document by `{"id": …}` or `{"employeeId": …}`, and the values of mapping targets Graph does not know
//! (custom attributes) under their target names, as the directory keeps them.
//!
//! Rendering writes every property that has a value, `id` and `createdDateTime` first, so an export read back
//! gives the same users; reading fills in what a seed leaves out (a new id, the current time).

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::directory::{DirectoryUser, TargetValue, USER_PROPERTIES};
use crate::graph_time::parse_rfc3339;

/// A user as a document holds it.
pub fn render(user: &DirectoryUser) -> Value {
    let mut doc = Map::new();
    for property in ["id", "createdDateTime", "accountEnabled"].into_iter().chain(USER_PROPERTIES.iter().copied()) {
        if doc.contains_key(property) {
            continue;
        }
        match user.graph_value(property) {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) if list.is_empty() => {}
            Some(value) => {
                doc.insert(property.to_owned(), value);
            }
        }
    }
    for (name, value) in &user.extensions {
        let value = match value {
            TargetValue::Text(s) => json!(s),
            TargetValue::Bool(b) => json!(b),
            TargetValue::List(l) => json!(l),
        };
        doc.insert(name.clone(), value);
    }
    if let Some(manager) = &user.manager_id {
        doc.insert("manager".into(), json!({"id": manager}));
    }
    Value::Object(doc)
}

/// The users of a document's `users` array, managers resolved; an error names the user (by position) and
/// the problem.
pub fn read(docs: &[Value], now: OffsetDateTime) -> Result<Vec<DirectoryUser>, String> {
    let mut users = Vec::with_capacity(docs.len());
    let mut managers = Vec::with_capacity(docs.len());
    for (i, doc) in docs.iter().enumerate() {
        let at = format!("users[{i}]");
        let obj = doc.as_object().ok_or_else(|| format!("{at}: a user must be a JSON object."))?;
        let id = match obj.get("id") {
            None => uuid::Uuid::new_v4().to_string(),
            Some(Value::String(id)) if !id.is_empty() => id.clone(),
            Some(_) => return Err(format!("{at}.id: an id must be a non-empty string.")),
        };
        if let Some(created) = obj.get("createdDateTime")
            && created.as_str().and_then(parse_rfc3339).is_none()
        {
            return Err(format!("{at}.createdDateTime: not an RFC 3339 date-time."));
        }
        if let Some(enabled) = obj.get("accountEnabled")
            && !enabled.is_boolean()
        {
            return Err(format!("{at}.accountEnabled: must be true or false."));
        }
        managers.push(manager_key(obj.get("manager")).map_err(|e| format!("{at}.manager: {e}"))?);
        users.push(DirectoryUser::from_graph_json(obj, id, now));
    }
    check_unique(&users)?;
    resolve_managers(&mut users, &managers)?;
    Ok(users)
}

/// How a document names a user's manager.
enum ManagerKey {
    Id(String),
    EmployeeId(String),
}

fn manager_key(value: Option<&Value>) -> Result<Option<ManagerKey>, String> {
    let Some(value) = value.filter(|v| !v.is_null()) else { return Ok(None) };
    let obj = value.as_object().filter(|o| o.len() == 1).ok_or_else(|| {
        "a manager must be an object with one member, id or employeeId, e.g. {\"employeeId\": \"1001\"}.".to_owned()
    })?;
    match obj.iter().next() {
        Some((k, Value::String(v))) if k == "id" => Ok(Some(ManagerKey::Id(v.clone()))),
        Some((k, Value::String(v))) if k == "employeeId" => Ok(Some(ManagerKey::EmployeeId(v.clone()))),
        _ => Err("a manager is named by \"id\" or \"employeeId\", with a string value.".to_owned()),
    }
}

/// Ids and userPrincipalNames (case-insensitively) are unique in the directory.
fn check_unique(users: &[DirectoryUser]) -> Result<(), String> {
    let (mut ids, mut upns) = (HashSet::new(), HashSet::new());
    for (i, user) in users.iter().enumerate() {
        if !ids.insert(user.id.as_str()) {
            return Err(format!("users[{i}].id: '{}' is the id of an earlier user.", user.id));
        }
        let upn = user.user_principal_name();
        if !upn.is_empty() && !upns.insert(upn.to_ascii_lowercase()) {
            return Err(format!("users[{i}].userPrincipalName: '{upn}' is the userPrincipalName of an earlier user."));
        }
    }
    Ok(())
}

fn resolve_managers(users: &mut [DirectoryUser], keys: &[Option<ManagerKey>]) -> Result<(), String> {
    let ids: HashSet<String> = users.iter().map(|u| u.id.clone()).collect();
    let mut by_employee_id: HashMap<String, Vec<String>> = HashMap::new();
    for user in users.iter() {
        if let Some(e) = user.employee_id() {
            by_employee_id.entry(e.to_owned()).or_default().push(user.id.clone());
        }
    }
    for (i, (user, key)) in users.iter_mut().zip(keys).enumerate() {
        user.manager_id = match key {
            None => None,
            Some(ManagerKey::Id(id)) if ids.contains(id) => Some(id.clone()),
            Some(ManagerKey::Id(id)) => {
                return Err(format!("users[{i}].manager: no user of the document has the id '{id}'."));
            }
            Some(ManagerKey::EmployeeId(e)) => match by_employee_id.get(e).map(Vec::as_slice) {
                Some([one]) => Some(one.clone()),
                Some(_) => return Err(format!("users[{i}].manager: several users have the employeeId '{e}'.")),
                None => return Err(format!("users[{i}].manager: no user of the document has the employeeId '{e}'.")),
            },
        };
        if user.manager_id.as_deref() == Some(user.id.as_str()) {
            return Err(format!("users[{i}].manager: a user cannot be their own manager."));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2025-01-15 10:00 UTC);

    #[test]
    fn a_rendered_user_reads_back_the_same() {
        let docs = vec![
            json!({"id": "m", "userPrincipalName": "m@contoso.com", "employeeId": "1", "accountEnabled": true}),
            json!({"id": "e", "createdDateTime": "2024-03-01T08:00:00Z", "userPrincipalName": "e@contoso.com",
                   "employeeOrgData": {"division": "Ops"}, "businessPhones": ["+1 555"], "manager": {"employeeId": "1"},
                   "extension_hr_badge": "B-7"}),
        ];
        let users = read(&docs, NOW).unwrap();
        assert_eq!(users[1].manager_id.as_deref(), Some("m"));
        assert_eq!(users[1].text("employeeOrgData.division"), Some("Ops"));
        let rendered: Vec<Value> = users.iter().map(render).collect();
        assert_eq!(rendered[1]["manager"], json!({"id": "m"}));
        assert_eq!(rendered[1]["extension_hr_badge"], "B-7");
        assert_eq!(rendered[0]["createdDateTime"], "2025-01-15T10:00:00Z", "a seed without a date gets now");
        let again = read(&rendered, NOW).unwrap();
        assert_eq!(again, users);
        assert_eq!(again.iter().map(render).collect::<Vec<_>>(), rendered);
    }

    #[test]
    fn a_seed_without_ids_gets_new_ones() {
        let users = read(&[json!({"displayName": "A"}), json!({"displayName": "B"})], NOW).unwrap();
        assert_ne!(users[0].id, users[1].id);
        assert!(uuid::Uuid::parse_str(&users[0].id).is_ok());
    }

    #[test]
    fn mistakes_name_the_user_and_the_problem() {
        let cases = [
            (json!([1]), "users[0]: a user must be a JSON object."),
            (json!([{"id": 5}]), "users[0].id: an id must be a non-empty string."),
            (json!([{"createdDateTime": "yesterday"}]), "users[0].createdDateTime: not an RFC 3339 date-time."),
            (json!([{"accountEnabled": "yes"}]), "users[0].accountEnabled: must be true or false."),
            (json!([{"id": "a"}, {"id": "a"}]), "users[1].id: 'a' is the id of an earlier user."),
            (
                json!([{"userPrincipalName": "A@x"}, {"userPrincipalName": "a@X"}]),
                "users[1].userPrincipalName: 'a@X' is the userPrincipalName of an earlier user.",
            ),
            (json!([{"manager": {"id": "nobody"}}]), "users[0].manager: no user of the document has the id 'nobody'."),
            (
                json!([{"manager": {"employeeId": "9"}}]),
                "users[0].manager: no user of the document has the employeeId '9'.",
            ),
            (
                json!([{"employeeId": "9"}, {"employeeId": "9"}, {"manager": {"employeeId": "9"}}]),
                "users[2].manager: several users have the employeeId '9'.",
            ),
            (json!([{"id": "a", "manager": {"id": "a"}}]), "users[0].manager: a user cannot be their own manager."),
            (
                json!([{"manager": "boss"}]),
                "users[0].manager: a manager must be an object with one member, id or employeeId, e.g. {\"employeeId\": \"1001\"}.",
            ),
            (
                json!([{"manager": {"upn": "x"}}]),
                "users[0].manager: a manager is named by \"id\" or \"employeeId\", with a string value.",
            ),
        ];
        for (docs, want) in cases {
            assert_eq!(read(docs.as_array().unwrap(), NOW).unwrap_err(), want, "{docs}");
        }
    }
}
