//! The SCIM service provider's `filter` and PATCH: the first byte picks a filter (Users or Groups, evaluated
//! against a fixed resource of that kind), a PATCH path (applied with `add`, `replace` or `remove` and one of a
//! few values), or a whole PatchOp body (parsed as JSON, then applied); the rest is the text. Errors are
//! expected, panics are bugs. A PATCH that succeeds must leave attributes that still render as a JSON object.
#![no_main]

use entra_inbound::scim_server::filter::Filter;
use entra_inbound::scim_server::patch::{PATCH_SCHEMA, PatchRequest};
use entra_inbound::store::ScimKind;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn user() -> Map<String, Value> {
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE], "id": "u1", "externalId": "E1",
        "userName": "Bjensen", "name": {"givenName": "Barbara", "familyName": "Jensen"}, "active": true,
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}, {"value": "b@j.org", "type": "home"}],
        "phoneNumbers": [{"value": "555-555-5555", "type": "work"}],
        ENTERPRISE: {"department": "Tours", "employeeNumber": "7", "manager": {"value": "m1"}},
        "meta": {"resourceType": "User", "created": "2025-01-15T10:00:00Z", "lastModified": "2025-01-16T10:00:00Z"},
    });
    user.as_object().cloned().unwrap_or_default()
}

fn group() -> Map<String, Value> {
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g1", "displayName": "Tour Guides",
        "members": [{"value": "u1", "type": "User"}, {"value": "u2", "type": "User"}, {"value": "g2", "type": "Group"}],
        "meta": {"resourceType": "Group", "created": "2025-01-15T10:00:00Z", "lastModified": "2025-01-16T10:00:00Z"},
    });
    group.as_object().cloned().unwrap_or_default()
}

fn apply(kind: ScimKind, body: &Value) {
    let Ok(patch) = PatchRequest::parse(body) else { return };
    let mut attrs = if kind == ScimKind::User { user() } else { group() };
    if patch.apply(kind, &mut attrs).is_ok() {
        assert!(serde_json::to_value(&attrs).is_ok_and(|v| v.is_object()));
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let kind = if which & 1 == 0 { ScimKind::User } else { ScimKind::Group };
    match (which >> 1) % 3 {
        0 => {
            if let Ok(filter) = Filter::parse(kind, text) {
                let resource = if kind == ScimKind::User { user() } else { group() };
                let _ = filter.matches(kind, &resource);
                let _ = filter.required_eq("userName");
            }
        }
        1 => {
            let op = ["add", "Replace", "remove"][usize::from(which >> 3) % 3];
            let value = match (which >> 5) % 4 {
                0 => json!("True"),
                1 => json!({"value": "u9", "type": "work"}),
                2 => json!([{"value": "u1"}, {"value": "x@y", "type": "home"}]),
                _ => json!(7),
            };
            apply(kind, &json!({"schemas": [PATCH_SCHEMA], "Operations": [{"op": op, "path": text, "value": value}]}));
        }
        _ => {
            if let Ok(body) = serde_json::from_str::<Value>(text) {
                apply(kind, &body);
            }
        }
    }
});
