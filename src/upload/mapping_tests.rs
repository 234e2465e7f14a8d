//! Unit tests of the mapping tree: the TOML form, the default columns, and what a record becomes.

use serde_json::json;

use super::*;

fn record(fields: &[(&str, &str)]) -> Record {
    Record { line: 2, fields: fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
}

const TOML: &str = r#"
externalId = "WorkerID"
userName = "UserID"
active = { column = "WorkerStatus", equals = "Active" }
userType = { value = "Employee" }
name = { givenName = "FirstName", familyName = "LastName" }
emails = [{ value = "Mail", type = { value = "work" }, primary = { value = true } }]
phoneNumbers = [
  { value = "OfficePhone", type = { value = "work" } },
  { value = "Mobile", type = { value = "mobile" } },
]

["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
department = "Department"
manager = { value = "ManagerID" }

["urn:contoso:employee"]
JobCode = "JobCode"
"#;

#[test]
fn the_toml_form_builds_a_scim_user_in_mapping_order() {
    let m = Mapping::from_toml(TOML).unwrap();
    let r = record(&[
        ("WorkerID", "701984"),
        ("UserID", "bjensen@contoso.com"),
        ("WorkerStatus", "active"),
        ("FirstName", "Barbara"),
        ("LastName", "Jensen"),
        ("Mail", "bj@contoso.com"),
        ("OfficePhone", "555-0100"),
        ("Mobile", ""),
        ("Department", "Sales"),
        ("ManagerID", "701985"),
        ("JobCode", "AB-1"),
    ]);
    let user = m.user(&r);
    assert_eq!(
        user,
        json!({
            "schemas": [CORE_SCHEMA, ENTERPRISE_SCHEMA, "urn:contoso:employee"],
            "externalId": "701984",
            "userName": "bjensen@contoso.com",
            "active": true,
            "userType": "Employee",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "bj@contoso.com", "type": "work", "primary": true}],
            "phoneNumbers": [{"value": "555-0100", "type": "work"}],
            ENTERPRISE_SCHEMA: {"department": "Sales", "manager": {"value": "701985"}},
            "urn:contoso:employee": {"JobCode": "AB-1"}
        })
    );
    let keys: Vec<&String> = user.as_object().unwrap().keys().collect();
    assert_eq!(keys[..4], ["schemas", "externalId", "userName", "active"]);
    assert_eq!(
        m.columns(),
        [
            "WorkerID",
            "UserID",
            "WorkerStatus",
            "FirstName",
            "LastName",
            "Mail",
            "OfficePhone",
            "Mobile",
            "Department",
            "ManagerID",
            "JobCode"
        ]
    );
}

#[test]
fn empty_cells_leave_attributes_out_and_equals_is_false_without_a_match() {
    let m = Mapping::from_toml(TOML).unwrap();
    let user = m.user(&record(&[("WorkerID", "7"), ("WorkerStatus", "Inactive"), ("Mail", "")]));
    assert_eq!(
        user,
        json!({"schemas": [CORE_SCHEMA, ENTERPRISE_SCHEMA], "externalId": "7", "active": false, "userType": "Employee"})
    );
}

#[test]
fn the_default_columns_match_case_insensitively_and_type_active() {
    let m = Mapping::default_columns();
    let r = record(&[
        ("EmployeeID", "42"),
        ("username", "a@contoso.com"),
        ("GivenName", "Ann"),
        ("email", "a@contoso.com"),
        ("managerId", "41"),
        ("Active", "TRUE"),
    ]);
    assert_eq!(
        m.user(&r),
        json!({
            "schemas": [CORE_SCHEMA, ENTERPRISE_SCHEMA],
            "externalId": "42",
            "userName": "a@contoso.com",
            "name": {"givenName": "Ann"},
            "emails": [{"value": "a@contoso.com", "type": "work", "primary": true}],
            "active": true,
            ENTERPRISE_SCHEMA: {"manager": {"value": "41"}}
        })
    );
    // externalId wins over employeeId; text that is not a boolean stays text.
    let r = record(&[("externalId", "x1"), ("employeeId", "42"), ("active", "yes")]);
    assert_eq!(m.user(&r)["externalId"], "x1");
    assert_eq!(m.user(&r)["active"], "yes");
}

#[test]
fn bad_toml_mappings_are_refused_naming_the_attribute() {
    let err = |t: &str| Mapping::from_toml(t).unwrap_err().to_string();
    assert!(err("userType = { value = 1.5 }").starts_with("userType: a constant is a string, a boolean or an integer"));
    assert_eq!(
        err("active = true"),
        "active: boolean is neither a column name (a string) nor a table; write a constant as { value = true }"
    );
    assert!(
        err("title = { column = \"A\" }").starts_with("title: this attribute takes a column name"),
        "{}",
        err("title = { column = \"A\" }")
    );
    assert!(err("title = { value = \"a\", other = \"b\" }").ends_with("not a table with value, other"));
    assert_eq!(err("emails = [[\"a\"]]"), "emails[0]: arrays do not nest");
    assert_eq!(
        err("name = { givenName = [\"A\"] }"),
        "name.givenName: an array is allowed only for an attribute, not inside one"
    );
    assert_eq!(err(""), "the mapping is empty: map at least externalId");
    assert!(err("externalId = ").contains("line 1"), "{}", err("externalId = "));
}
