//! The batch decisions against in-memory directory views: no store involved, because the decisions are pure.

use std::sync::Arc;

use serde_json::json;
use time::OffsetDateTime;

use super::*;
use crate::directory::DirectoryUser;
use crate::provisioning::log::{ProvisioningResult, to_graph_json};
use crate::provisioning::schema::default_schema;
use crate::store::{StagedOperation, holder_key};

const JOB: &str = "J";

fn settings(deletion_threshold: usize) -> JobSettings<'static> {
    JobSettings {
        default_domain: "contoso.onmicrosoft.com",
        verified_domains: &[],
        job_id: JOB,
        context: Arc::new(EntryContext::for_job("t", JOB, "sp", "n")),
        omitted_active_disables: true,
        deletion_threshold,
    }
}

/// A SCIM user with this externalId and, optionally, a manager (by externalId).
fn scim_user(id: &str, manager: Option<&str>) -> serde_json::Value {
    let mut u = json!({"externalId": id, "userName": format!("u{id}@contoso.com"), "active": true,
        "name": {"givenName": "G", "familyName": "F"}, "displayName": format!("User {id}")});
    if let Some(m) = manager {
        u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] = json!({"manager": {"value": m}});
    }
    u
}

fn batch_of(records: &[serde_json::Value], threshold: usize) -> PreparedBatch {
    let operations = records
        .iter()
        .map(|r| StagedOperation {
            bulk_id: "b".into(),
            external_id: r["externalId"].as_str().unwrap_or_default().into(),
            data: r.to_string(),
        })
        .collect();
    let request = StagedRequest {
        seq: 1,
        job_id: JOB.into(),
        request_id: "r".into(),
        received: OffsetDateTime::UNIX_EPOCH,
        operations,
    };
    let schema = Arc::new(JobSchema::compile(default_schema("API2AAD")).unwrap());
    prepare_batch(&settings(threshold), schema, &[request], 0, OffsetDateTime::UNIX_EPOCH)
}

/// A view holding `users` under every key the batch asks for (what the store would answer).
fn view_for(batch: &PreparedBatch, users: &[DirectoryUser], pending: Vec<PendingReference>) -> DirectoryView {
    let keys = batch.keys(&settings(0));
    let mut view = DirectoryView { pending, ..DirectoryView::default() };
    for u in users {
        view.users.insert(u.id.clone(), u.clone());
    }
    for (property, values) in &keys.by_property {
        for v in values {
            let holders = users.iter().filter(|u| {
                u.get(property).map(|x| holder_key(property, &x.display())) == Some(holder_key(property, v))
            });
            view.holders.insert((property.clone(), holder_key(property, v)), holders.map(|u| u.id.clone()).collect());
        }
    }
    for upn in &keys.upns {
        let holders = users.iter().filter(|u| u.user_principal_name().eq_ignore_ascii_case(upn));
        view.upn_holders.insert(upn.to_ascii_lowercase(), holders.map(|u| u.id.clone()).collect());
    }
    view
}

fn apply(
    records: &[serde_json::Value],
    users: &[DirectoryUser],
    pending: Vec<PendingReference>,
) -> (BatchWrites, BatchResult) {
    let batch = batch_of(records, 0);
    let view = view_for(&batch, users, pending);
    apply_batch(&settings(0), batch, &view, OffsetDateTime::UNIX_EPOCH, "c")
}

fn written<'a>(w: &'a BatchWrites, employee_id: &str) -> &'a DirectoryUser {
    w.users.iter().find(|u| u.employee_id() == Some(employee_id)).unwrap()
}

#[test]
fn the_batch_names_the_keys_it_will_look_up() {
    let batch = batch_of(&[scim_user("E", Some("M")), scim_user("M", None)], 0);
    let keys = batch.keys(&settings(0));
    assert_eq!(keys.by_property, [("employeeId".to_owned(), vec!["E".to_owned(), "M".to_owned()])]);
    assert_eq!(keys.upns, ["uE@contoso.com", "uM@contoso.com"]);
    assert_eq!(keys.employee_ids, ["E", "M"]);
}

#[test]
fn a_manager_created_later_in_the_batch_is_set_by_the_reference_pass() {
    let (w, result) = apply(&[scim_user("E", Some("M")), scim_user("M", None)], &[], vec![]);
    assert_eq!((result.processed, result.entries, result.exported, result.references), (2, 2, 2, 1));
    assert_eq!(written(&w, "E").manager_id.as_deref(), Some(written(&w, "M").id.as_str()));
    assert!(w.references_added.is_empty());
    let e = to_graph_json(&w.entries[0]);
    assert_eq!(e["provisioningSteps"][4]["provisioningStepType"], "referenceResolution");
    assert_eq!(e["provisioningSteps"][4]["status"], "success");
    // Ids, change ids and 100 ns steps are set when the batch is decided.
    assert_ne!(w.entries[0].id, w.entries[1].id);
    assert_eq!(w.entries[1].activity_date_time - w.entries[0].activity_date_time, time::Duration::nanoseconds(100));
    assert_eq!((w.from, w.through), (0, 1));
}

#[test]
fn a_missing_manager_waits_and_is_set_when_it_arrives() {
    let (w, _) = apply(&[scim_user("E", Some("M"))], &[], vec![]);
    assert_eq!(w.references_added.len(), 1);
    assert_eq!(w.entries[0].steps.last().unwrap().status, ProvisioningResult::Warning);
    let employee = written(&w, "E").clone();
    // The manager arrives later: the waiting reference is set, in an `update` entry of its own.
    let (w, result) = apply(&[scim_user("M", None)], std::slice::from_ref(&employee), w.references_added.clone());
    assert_eq!((result.entries, result.references), (2, 1));
    assert_eq!(w.references_removed, std::slice::from_ref(&employee.id));
    let update = to_graph_json(&w.entries[1]);
    assert_eq!(update["provisioningAction"], "update");
    assert_eq!(update["sourceIdentity"]["id"], "E");
    assert!(update["provisioningSteps"][2]["description"].as_str().unwrap().contains("had been waiting"));
    assert_eq!(written(&w, "E").manager_id.as_deref(), Some(written(&w, "M").id.as_str()));
}

#[test]
fn a_waiting_reference_is_cleared_when_its_user_is_processed_again_with_the_manager_present() {
    let (w, _) = apply(&[scim_user("E", Some("M"))], &[], vec![]);
    let employee = written(&w, "E").clone();
    // M arrives with E again in one batch: E's own entry sets the reference, so no third entry resolves it.
    let (w, result) = apply(
        &[scim_user("M", None), scim_user("E", Some("M"))],
        std::slice::from_ref(&employee),
        w.references_added.clone(),
    );
    assert_eq!((result.entries, result.references), (2, 1));
    assert_eq!(w.references_removed, std::slice::from_ref(&employee.id));
    assert!(w.references_added.is_empty());
    assert_eq!(written(&w, "E").manager_id.as_deref(), Some(written(&w, "M").id.as_str()));
}

#[test]
fn an_unreadable_staged_record_fails_its_own_entry_and_the_batch_goes_on() {
    let mut batch = batch_of(&[scim_user("0", None), scim_user("1", None)], 0);
    let broken = StagedOperation { bulk_id: "b".into(), external_id: "0".into(), data: "{\"externalId\": ".into() };
    batch.operations[0] = prepare::prepare(&settings(0), &batch.schema.compiled, &broken, OffsetDateTime::UNIX_EPOCH);
    let view = view_for(&batch, &[], vec![]);
    let (w, result) = apply_batch(&settings(0), batch, &view, OffsetDateTime::UNIX_EPOCH, "c");
    assert_eq!((result.processed, result.failed, result.exported), (2, 1, 1));
    let failed = to_graph_json(&w.entries[0]);
    assert_eq!(failed["provisioningStatusInfo"]["errorInformation"]["errorCode"], "StagedOperationUnreadable");
    assert_eq!(failed["provisioningSteps"][0]["status"], "failure");
    assert_eq!(to_graph_json(&w.entries[1])["provisioningAction"], "create");
}

#[test]
fn a_upn_freed_earlier_in_the_batch_can_be_taken_later_in_it() {
    let mut a = DirectoryUser::new("a".into(), OffsetDateTime::UNIX_EPOCH);
    for (k, v) in
        [("employeeId", "A"), ("userPrincipalName", "uB@contoso.com"), ("displayName", "A"), ("mailNickname", "a")]
    {
        a.set(k, &crate::directory::TargetValue::Text(v.into()));
    }
    // A gives up uB@… for uA@…; B is then created with uB@….
    let (w, result) = apply(&[scim_user("A", None), scim_user("B", None)], &[a], vec![]);
    assert_eq!(
        (result.failed, result.exported),
        (0, 2),
        "{:?}",
        w.entries.iter().map(to_graph_json).collect::<Vec<_>>()
    );
    assert_eq!(written(&w, "A").user_principal_name(), "uA@contoso.com");
    assert_eq!(written(&w, "B").user_principal_name(), "uB@contoso.com");
}

#[test]
fn disables_beyond_the_deletion_threshold_are_staged_not_applied() {
    let users: Vec<DirectoryUser> = (0..3)
        .map(|i| {
            let mut u = DirectoryUser::new(format!("id{i}"), OffsetDateTime::UNIX_EPOCH);
            for (k, v) in [("employeeId", format!("D{i}")), ("userPrincipalName", format!("uD{i}@contoso.com"))] {
                u.set(k, &crate::directory::TargetValue::Text(v));
            }
            u.account_enabled = true;
            u
        })
        .collect();
    let records: Vec<_> = (0..3)
        .map(|i| {
            let mut r = scim_user(&format!("D{i}"), None);
            r["active"] = json!(false);
            r
        })
        .collect();
    let batch = batch_of(&records, 2);
    let view = view_for(&batch, &users, vec![]);
    let (w, result) = apply_batch(&settings(2), batch, &view, OffsetDateTime::UNIX_EPOCH, "c");
    assert!(result.too_many_deletes);
    assert_eq!(result.disabled, 0);
    assert!(w.entries.iter().all(|e| e.action == ProvisioningAction::StagedDelete), "every disable was held back");
    assert!(w.users.is_empty(), "no user was written, so none was disabled");
}

#[test]
fn values_the_directory_refuses_fail_their_own_create_and_the_batch_goes_on() {
    let mut nul_upn = scim_user("N", None);
    nul_upn["userName"] = json!("n\u{0}@contoso.com");
    let mut long_name = scim_user("L", None);
    long_name["displayName"] = json!("d".repeat(10_000));
    let mut long_id = scim_user(&"E".repeat(17), None);
    long_id["userName"] = json!("long-id@contoso.com");
    let (w, result) = apply(&[nul_upn, long_name, long_id, scim_user("OK", None)], &[], vec![]);
    assert_eq!((result.failed, result.exported), (3, 1));
    assert_eq!(w.users.len(), 1, "only the valid user is written");
    let codes: Vec<_> = w.entries.iter().map(|e| e.error.as_ref().map(|e| e.error_code.as_str())).collect();
    assert_eq!(
        codes,
        [
            Some("AzureActiveDirectoryInvalidUserPrincipalName"),
            Some("AzureActiveDirectoryInvalidPropertyValue"),
            Some("AzureActiveDirectoryInvalidPropertyValue"),
            None
        ]
    );
    let upn = to_graph_json(&w.entries[0]);
    let export = &upn["provisioningSteps"][3];
    assert_eq!(export["status"], "failure");
    assert_eq!(export["details"]["ReportableIdentifier"], "N", "an invalid UPN is not echoed: the externalId names it");
    assert!(upn["modifiedProperties"].as_array().unwrap().is_empty());
    let reason = w.entries[1].error.as_ref().unwrap().reason.as_str();
    assert_eq!(
        reason,
        "Invalid value specified for property 'displayName' of resource 'User'. The value has 10000 characters; at most 256 are allowed."
    );
}

#[test]
fn an_update_with_a_value_the_directory_refuses_fails_and_writes_nothing() {
    let (w, _) = apply(&[scim_user("U", None)], &[], vec![]);
    let user = written(&w, "U").clone();
    let mut retitled = scim_user("U", None);
    retitled["title"] = json!("t".repeat(129));
    retitled["displayName"] = json!("Renamed");
    let (w, result) = apply(&[retitled], std::slice::from_ref(&user), vec![]);
    assert_eq!(result.failed, 1);
    assert!(w.users.is_empty(), "nothing of the update is written");
    let entry = to_graph_json(&w.entries[0]);
    assert_eq!(entry["provisioningAction"], "update");
    assert_eq!(
        entry["provisioningStatusInfo"]["errorInformation"]["errorCode"],
        "AzureActiveDirectoryInvalidPropertyValue"
    );
    assert!(entry["modifiedProperties"].as_array().unwrap().is_empty());
    // A user already holding such a value is left alone by an update that does not touch it.
    let mut odd = user.clone();
    odd.set("jobTitle", &crate::directory::TargetValue::Text("t".repeat(129)));
    let mut renamed = scim_user("U", None);
    renamed["displayName"] = json!("Renamed");
    let (w, result) = apply(&[renamed], &[odd], vec![]);
    assert_eq!((result.failed, result.exported), (0, 1));
    assert_eq!(written(&w, "U").display_name(), "Renamed");
}
