//! The values the directory refuses (docs/fidelity.md A.2 "Values Graph refuses"), end to end: the records of the
//! hardening probe (issue 15) fail their own operation with the real service's error, nothing of them is
//! written, and the rest of the batch goes on — on create and on update.

use serde_json::{Value, json};

use crate::support::*;

const INVALID_UPN: &str = "AzureActiveDirectoryInvalidUserPrincipalName";
const INVALID_VALUE: &str = "AzureActiveDirectoryInvalidPropertyValue";

fn error_of(entry: &Value) -> (&str, &str) {
    let info = &entry["provisioningStatusInfo"];
    assert_eq!(info["status"], "failure", "{entry}");
    let error = &info["errorInformation"];
    (error["errorCode"].as_str().unwrap(), error["reason"].as_str().unwrap())
}

#[tokio::test]
async fn records_with_values_the_directory_refuses_fail_alone_with_the_services_error() {
    let s = TestServer::start().await;
    let mut long_name = scim_user("D1", "d1@contoso.com", None);
    long_name["displayName"] = json!("d".repeat(10_000));
    let mut long_title = scim_user("T1", "t1@contoso.com", None);
    long_title["title"] = json!("t".repeat(129));
    let records = [
        scim_user("C1", "c\u{1}1@contoso.com", None),
        scim_user("Z1", "z\u{0}1@contoso.com", None),
        scim_user("S1", "s 1@contoso.com", None),
        scim_user("A1", "no-at-sign.contoso.com", None),
        scim_user("L1", &format!("{}@contoso.com", "l".repeat(65)), None),
        long_name,
        scim_user("E1234567890123456", "e1@contoso.com", None),
        long_title,
        scim_user("OK", "ok@contoso.com", None),
    ];
    assert_eq!(s.upload(bulk_of(&records)).await.status(), 202);
    s.drain(JOB).await;
    let entries = s.log_entries().await;
    assert_eq!(entries.len(), records.len());
    let expected: [(&str, &str); 8] = [
        (
            INVALID_UPN,
            "Property userPrincipalName is invalid. The value contains the control character U+0001 at position 2.",
        ),
        (
            INVALID_UPN,
            "Property userPrincipalName is invalid. The value contains the control character U+0000 at position 2.",
        ),
        (INVALID_UPN, "Property userPrincipalName is invalid. The value contains a space at position 2."),
        (
            INVALID_UPN,
            "Property userPrincipalName is invalid. It must contain exactly one '@', separating the user name from the domain.",
        ),
        (
            INVALID_UPN,
            "Property userPrincipalName is invalid. The user name before the '@' has 65 characters; at most 64 are allowed.",
        ),
        (
            INVALID_VALUE,
            "Invalid value specified for property 'displayName' of resource 'User'. The value has 10000 characters; at most 256 are allowed.",
        ),
        (
            INVALID_VALUE,
            "Invalid value specified for property 'employeeId' of resource 'User'. The value has 17 characters; at most 16 are allowed.",
        ),
        (
            INVALID_VALUE,
            "Invalid value specified for property 'jobTitle' of resource 'User'. The value has 129 characters; at most 128 are allowed.",
        ),
    ];
    for (entry, (code, reason)) in entries.iter().zip(expected) {
        let (got_code, got_reason) = error_of(entry);
        assert_eq!(got_code, code, "{entry}");
        assert!(got_reason.starts_with(reason), "{got_reason}");
        assert_eq!(entry["provisioningAction"], "create");
        assert_eq!(entry["provisioningStatusInfo"]["errorInformation"]["errorCategory"], "nonServiceFailure");
        assert_eq!(entry["targetIdentity"]["id"], "");
        assert_eq!(steps(entry).last().unwrap(), &("EntryExportAdd".into(), "export".into(), "failure".into()));
        assert!(entry["modifiedProperties"].as_array().unwrap().is_empty());
    }
    // An invalid UPN is never echoed: the export step names the record by its externalId.
    let export = entries[1]["provisioningSteps"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(export["description"], "Failed to create User 'Z1' in Microsoft Entra ID");
    assert_eq!(entries[8]["provisioningStatusInfo"]["status"], "success");
    let users = s.http.get(format!("{}/v1.0/users/$count", s.base)).bearer_auth(s.token());
    let count = users.header("ConsistencyLevel", "eventual").send().await.unwrap().text().await.unwrap();
    assert_eq!(count, "1", "only the valid record became a user");
    s.user("OK").await;
}

#[tokio::test]
async fn an_update_with_a_value_the_directory_refuses_fails_and_changes_nothing() {
    let s = TestServer::start().await;
    s.upload(bulk_of(&[scim_user("U1", "u1@contoso.com", None)])).await;
    let mut changed = scim_user("U1", "u1@contoso.com", None);
    changed["title"] = json!("Engineer");
    changed["displayName"] = json!("x".repeat(257));
    s.upload(bulk_of(&[changed])).await;
    let mut renamed = scim_user("U1", "u 1@contoso.com", None);
    renamed["title"] = json!("Engineer");
    s.upload(bulk_of(&[renamed])).await;
    s.drain(JOB).await;
    let entries = s.log_entries().await;
    assert_eq!(entries[1]["provisioningAction"], "update");
    let (code, reason) = error_of(&entries[1]);
    assert_eq!(code, INVALID_VALUE);
    assert_eq!(
        reason,
        "Invalid value specified for property 'displayName' of resource 'User'. The value has 257 characters; at most 256 are allowed."
    );
    assert_eq!(error_of(&entries[2]).0, INVALID_UPN);
    let user = s.user_doc("U1").await;
    assert_eq!(user["displayName"], "User U1");
    assert_eq!(user["userPrincipalName"], "u1@contoso.com");
    assert!(user["jobTitle"].is_null(), "a failed update writes nothing");
}
