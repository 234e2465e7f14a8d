//! The synthetic workload every benchmark uses: realistic SCIM users shaped like Microsoft's bulkUpload
//! example 1 (about 1 KB each, so a request of 50 is about 52 KB), unique by index.

use serde_json::{Value, json};

/// User `i` with job title `title` (vary it to turn a second upload into updates); its manager is user `i / 10`.
pub fn user(i: usize, title: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": format!("E{i:07}"),
        "userName": format!("user{i}@contoso.com"),
        "name": {"formatted": format!("Given{i} Family{i}"), "familyName": format!("Family{i}"), "givenName": format!("Given{i}"), "middleName": "Jane"},
        "displayName": format!("Given{i} Family{i}"),
        "nickName": format!("G{i}"),
        "emails": [{"value": format!("user{i}@contoso.com"), "type": "work", "primary": true}],
        "addresses": [{"type": "work", "streetAddress": "234300 Universal City Plaza", "locality": "Hollywood", "region": "CA", "postalCode": "91608", "country": "USA", "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA", "primary": true}],
        "phoneNumbers": [{"value": "555-555-5555", "type": "work"}, {"value": "555-555-4444", "type": "mobile"}],
        "userType": "Employee",
        "title": title,
        "preferredLanguage": "en-US",
        "locale": "en-US",
        "timezone": "America/Los_Angeles",
        "active": true,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": format!("{i}"), "costCenter": "4130", "organization": "Universal Studios", "division": "Theme Park", "department": "Tour Operations",
            "manager": {"value": format!("E{:07}", i / 10), "displayName": "Manager"}
        }
    })
}

/// A BulkRequest of `users`, one POST operation each.
#[allow(dead_code)]
pub fn bulk(users: impl IntoIterator<Item = Value>) -> String {
    let ops: Vec<Value> = users
        .into_iter()
        .map(|u| json!({"method": "POST", "bulkId": u["externalId"].clone(), "path": "/Users", "data": u}))
        .collect();
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops, "failOnErrors": null})
        .to_string()
}

/// A SCIM 2.0 BulkRequest (RFC 7644 §3.7) creating `users`: each a POST to `/Users` with its `bulkId`.
#[allow(dead_code)]
pub fn scim_bulk(users: impl IntoIterator<Item = Value>) -> String {
    let ops: Vec<Value> = users
        .into_iter()
        .map(|u| json!({"method": "POST", "bulkId": u["externalId"].clone(), "path": "/Users", "data": u}))
        .collect();
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops}).to_string()
}
