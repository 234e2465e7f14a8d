//! The provisioning engine end to end: upload → drain → directory and provisioning-log entries (docs/fidelity.md A.2).

use serde_json::{Value, json};

use crate::support::*;

fn by_source<'a>(entries: &'a [Value], external_id: &str) -> Vec<&'a Value> {
    entries.iter().filter(|e| e["sourceIdentity"]["id"] == external_id).collect()
}

fn s3(v: &[&str]) -> Vec<(String, String, String)> {
    v.chunks(3).map(|c| (c[0].to_owned(), c[1].to_owned(), c[2].to_owned())).collect()
}

#[tokio::test]
async fn example_1_creates_both_users_with_every_default_mapping_and_the_manager() {
    let s = TestServer::start().await;
    assert_eq!(s.upload(fixture("example1.json")).await.status(), 202);
    let drained = s.drain(JOB).await;
    assert_eq!(drained["pending"], 0);
    assert_eq!(drained["processed"], 2);

    let barbara = s.user("701984").await;
    let kathy = s.user("701985").await;
    let d = &s.user_doc("701984").await;
    let expected = json!({
        "employeeId": "701984", "userPrincipalName": "bjensen@example.com", "mailNickname": "bjensen",
        "accountEnabled": true, "displayName": "Babs Jensen", "givenName": "Barbara", "surname": "Jensen",
        "jobTitle": "Tour Guide", "department": "Tour Operations", "companyName": "Universal Studios",
        "employeeOrgData": {"division": "Theme Park", "costCenter": "4130"}, "employeeType": "Employee",
        "mail": "bjensen@example.com", "businessPhones": ["555-555-5555"], "streetAddress": "234300 Universal City Plaza",
        "city": "Hollywood", "state": "CA", "postalCode": "91608", "country": "USA", "preferredLanguage": "en-US",
    });
    for (k, v) in expected.as_object().unwrap() {
        assert_eq!(&d[k], v, "{k}");
    }
    assert!(d["mobilePhone"].is_null());
    assert_eq!(s.user_doc("701985").await["mailNickname"], "Kjensen");
    assert_eq!(kathy.manager_id.as_deref(), Some(barbara.id.as_str()), "Kathy's manager is Barbara");
    assert_eq!(barbara.manager_id, None, "Barbara's manager 89607 does not exist");

    let entries = s.log_entries().await;
    assert_eq!(entries.len(), 2);
    let b = by_source(&entries, "701984")[0];
    assert_eq!(b["provisioningAction"], "create");
    assert_eq!(b["provisioningStatusInfo"]["status"], "success");
    assert_eq!(b["jobId"], JOB);
    assert_eq!(b["targetIdentity"]["id"], barbara.id.as_str());
    assert_eq!(b["sourceSystem"]["displayName"], "API");
    assert_eq!(b["targetSystem"]["displayName"], "Microsoft Entra ID");
    assert_eq!(b["initiatedBy"]["displayName"], "Azure AD Provisioning Service");
    assert_eq!(b["cycleId"], entries[1]["cycleId"], "one cycle per upload");
    assert_ne!(b["changeId"], entries[1]["changeId"]);
    assert_eq!(
        steps(b),
        s3(&[
            "EntryImport",
            "import",
            "success",
            "EntrySynchronizationScoping",
            "scoping",
            "success",
            "EntrySynchronizationAdd",
            "matching",
            "success",
            "EntryExportAdd",
            "export",
            "success",
            "EntryReferenceResolution",
            "referenceResolution",
            "warning",
        ])
    );
    let warning = &b["provisioningSteps"][4]["description"];
    assert!(warning.as_str().unwrap().contains("'89607'"), "{warning}");
    let m = modified(b);
    assert_eq!(m["accountEnabled"], (Value::Null, json!("True")));
    assert_eq!(m["employeeId"], (Value::Null, json!("701984")));
    assert_eq!(m["objectId"], (Value::Null, json!(barbara.id)));
    let export = &b["provisioningSteps"][3]["details"];
    assert_eq!(export["ReportableIdentifier"], "bjensen@example.com");
    assert_eq!(
        export["mailNickname"],
        "Replace([userName], , \"(?<Suffix>@(.)*)\", \"Suffix\", \"\", , ) = \"bjensen\""
    );

    let k = by_source(&entries, "701985")[0];
    assert_eq!(steps(k)[4], ("EntryReferenceResolution".into(), "referenceResolution".into(), "success".into()));
    assert_eq!(modified(k)["manager"], (Value::Null, json!(barbara.id)));
}

#[tokio::test]
async fn example_3_updates_only_the_department_and_disables_the_user() {
    let s = TestServer::start().await;
    s.upload(fixture("example1.json")).await;
    s.drain(JOB).await;
    // Example 3's shape applied to the user example 1 created.
    let example3 = fixture("example3.json").replace("7172023", "701984");
    assert_eq!(s.upload(example3).await.status(), 202);
    s.drain(JOB).await;
    let entries = s.log_entries().await;
    let b = by_source(&entries, "701984");
    assert_eq!(b.len(), 2);
    let update = b[1];
    assert_eq!(update["provisioningAction"], "disable");
    assert_eq!(update["provisioningStatusInfo"]["status"], "success");
    let m = modified(update);
    assert_eq!(m.len(), 2, "{m:?}");
    assert_eq!(m["department"], (json!("Tour Operations"), json!("Tour Ops")));
    assert_eq!(m["accountEnabled"], (json!("True"), json!("False")));
    assert_eq!(
        steps(update).iter().map(|s| s.0.as_str()).collect::<Vec<_>>(),
        vec!["EntryImport", "EntrySynchronizationScoping", "EntrySynchronizationUpdate", "EntryExportUpdate"]
    );
    let user = s.user_doc("701984").await;
    assert_eq!(user["department"], "Tour Ops");
    assert_eq!(user["accountEnabled"], false);
    assert_eq!(user["jobTitle"], "Tour Guide", "attributes not sent are untouched");
}

#[tokio::test]
async fn example_3_for_an_unknown_user_fails_with_the_missing_property() {
    let s = TestServer::start().await;
    s.upload(fixture("example3.json")).await;
    s.drain(JOB).await;
    let e = &s.log_entries().await[0];
    assert_eq!(e["provisioningAction"], "create");
    assert_eq!(e["provisioningStatusInfo"]["status"], "failure");
    let err = &e["provisioningStatusInfo"]["errorInformation"];
    assert_eq!(err["errorCode"], "AzureActiveDirectoryRequiredPropertyMissing");
    assert!(err["reason"].as_str().unwrap().contains("userPrincipalName"));
    assert_eq!(e["targetIdentity"]["id"], "");
}

#[tokio::test]
async fn a_manager_arriving_later_is_set_and_logged_as_an_update() {
    let s = TestServer::start().await;
    s.upload(bulk_of(&[scim_user("E1", "e1@contoso.com", Some("M1"))])).await;
    s.drain(JOB).await;
    let first = &s.log_entries().await[0];
    assert_eq!(first["provisioningStatusInfo"]["status"], "success");
    let wait = first["provisioningSteps"].as_array().unwrap().last().unwrap();
    assert_eq!(wait["status"], "warning");
    assert!(wait["description"].as_str().unwrap().contains("not in Microsoft Entra ID yet"), "{wait}");
    assert_eq!(s.user("E1").await.manager_id, None);

    s.upload(bulk_of(&[scim_user("M1", "m1@contoso.com", None)])).await;
    s.drain(JOB).await;
    let manager = s.user("M1").await;
    assert_eq!(s.user("E1").await.manager_id.as_deref(), Some(manager.id.as_str()));
    let entries = s.log_entries().await;
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[1]["sourceIdentity"]["id"], "M1");
    let later = &entries[2];
    assert_eq!(later["sourceIdentity"]["id"], "E1");
    assert_eq!(later["provisioningAction"], "update");
    assert_eq!(later["provisioningStatusInfo"]["status"], "success");
    assert_eq!(modified(later)["manager"], (Value::Null, json!(manager.id)));
    let why = later["provisioningSteps"].as_array().unwrap().last().unwrap();
    assert_eq!(why["provisioningStepType"], "referenceResolution");
    assert!(why["description"].as_str().unwrap().contains("had been waiting"), "{why}");
}

#[tokio::test]
async fn a_duplicate_upn_fails_only_that_create() {
    let s = TestServer::start().await;
    let users = [
        scim_user("U1", "same@contoso.com", None),
        scim_user("U2", "SAME@contoso.com", None),
        scim_user("U3", "u3@contoso.com", None),
    ];
    s.upload(bulk_of(&users)).await;
    s.drain(JOB).await;
    let entries = s.log_entries().await;
    let status: Vec<&str> = entries.iter().map(|e| e["provisioningStatusInfo"]["status"].as_str().unwrap()).collect();
    assert_eq!(status, vec!["success", "failure", "success"]);
    let err = &entries[1]["provisioningStatusInfo"]["errorInformation"];
    assert_eq!(err["errorCode"], "AzureActiveDirectoryInvalidUserPrincipalName");
    assert_eq!(err["errorCategory"], "nonServiceFailure");
    assert_eq!(steps(&entries[1])[3].2, "failure");
    s.user("U3").await;
}

#[tokio::test]
async fn an_unchanged_record_is_skipped_as_redundant_without_a_write() {
    let s = TestServer::start().await;
    s.upload(fixture("example1.json")).await;
    s.drain(JOB).await;
    let before = s.user("701985").await;
    s.upload(fixture("example1.json")).await;
    s.drain(JOB).await;
    let entries = s.log_entries().await;
    assert_eq!(entries.len(), 4);
    for e in &entries[2..] {
        assert_eq!(e["provisioningAction"], "other");
        assert_eq!(e["provisioningStatusInfo"]["status"], "skipped");
        let skip = e["provisioningSteps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "EntrySynchronizationSkip")
            .unwrap();
        assert_eq!(skip["details"]["SkipReason"], "RedundantExport");
        assert_eq!(skip["provisioningStepType"], "export");
        assert!(e["modifiedProperties"].as_array().unwrap().is_empty());
    }
    assert_eq!(s.user("701985").await, before);
}

#[tokio::test]
async fn an_omitted_active_disables_and_active_true_enables_again() {
    let s = TestServer::start().await;
    s.upload(bulk_of(&[scim_user("A1", "a1@contoso.com", None)])).await;
    s.drain(JOB).await;
    let mut no_active = scim_user("A1", "a1@contoso.com", None);
    no_active.as_object_mut().unwrap().remove("active");
    s.upload(bulk_of(&[no_active])).await;
    s.drain(JOB).await;
    assert_eq!(s.user_doc("A1").await["accountEnabled"], false);
    s.upload(bulk_of(&[scim_user("A1", "a1@contoso.com", None)])).await;
    s.drain(JOB).await;
    let entries = s.log_entries().await;
    assert_eq!(entries[1]["provisioningAction"], "disable");
    let import = &entries[1]["provisioningSteps"][0]["details"];
    assert_eq!(import["active"], "False");
    assert!(import["Note"].as_str().unwrap().contains("imported as False"));
    assert_eq!(entries[2]["provisioningAction"], "update");
    assert_eq!(modified(&entries[2])["accountEnabled"], (json!("False"), json!("True")));
    assert_eq!(s.user_doc("A1").await["accountEnabled"], true);
}

#[tokio::test]
async fn the_omitted_active_quirk_can_be_switched_off() {
    let s = TestServer::with_config(|c| c.service_principals[0].jobs[0].omitted_active_disables = false).await;
    s.upload(bulk_of(&[scim_user("A1", "a1@contoso.com", None)])).await;
    let mut no_active = scim_user("A1", "a1@contoso.com", None);
    no_active.as_object_mut().unwrap().remove("active");
    no_active["title"] = json!("Engineer");
    s.upload(bulk_of(&[no_active])).await;
    s.drain(JOB).await;
    let user = s.user_doc("A1").await;
    assert_eq!(user["accountEnabled"], true);
    assert_eq!(user["jobTitle"], "Engineer");
}

#[tokio::test]
async fn object_add_only_mappings_flow_on_create_only() {
    let s = TestServer::start().await;
    s.upload(bulk_of(&[scim_user("N1", "first@contoso.com", None)])).await;
    s.upload(bulk_of(&[scim_user("N1", "second@contoso.com", None)])).await;
    s.drain(JOB).await;
    let user = s.user_doc("N1").await;
    assert_eq!(user["userPrincipalName"], "second@contoso.com");
    assert_eq!(user["mailNickname"], "first", "mailNickname is ObjectAddOnly");
}

#[tokio::test]
async fn accepted_operations_are_processed_in_order_across_requests() {
    let s = TestServer::start().await;
    for title in ["one", "two", "three"] {
        let mut u = scim_user("O1", "o1@contoso.com", None);
        u["title"] = json!(title);
        s.upload(bulk_of(&[u])).await;
    }
    s.drain(JOB).await;
    assert_eq!(s.user_doc("O1").await["jobTitle"], "three");
    let actions: Vec<String> =
        s.log_entries().await.iter().map(|e| e["provisioningAction"].as_str().unwrap().to_owned()).collect();
    assert_eq!(actions, vec!["create", "update", "update"]);
}

#[tokio::test]
async fn a_failing_expression_fails_only_its_entry() {
    let s = TestServer::start().await;
    let job = s.state.jobs.by_id(JOB).unwrap();
    let mut schema = job.schema().raw.clone();
    schema["synchronizationRules"][0]["objectMappings"][0]["attributeMappings"][7]["source"] =
        json!({"type": "Function", "name": "IIF", "expression": "IIF([title]=\"CEO\", \"Exec\", \"Staff\")"});
    job.set_schema(entra_inbound::provisioning::jobs::JobSchema::compile(schema).unwrap());
    let mut with_title = scim_user("F1", "f1@contoso.com", None);
    with_title["title"] = json!("CEO");
    s.upload(bulk_of(&[scim_user("F0", "f0@contoso.com", None), with_title])).await;
    s.drain(JOB).await;
    let entries = s.log_entries().await;
    assert_eq!(entries[0]["provisioningStatusInfo"]["status"], "failure", "IIF on a null attribute fails (quirk)");
    assert_eq!(
        entries[0]["provisioningStatusInfo"]["errorInformation"]["errorCode"],
        "AttributeMappingEvaluationFailed"
    );
    assert_eq!(entries[1]["provisioningStatusInfo"]["status"], "success");
    assert_eq!(s.user_doc("F1").await["jobTitle"], "Exec");
}

#[tokio::test]
async fn scoping_filters_skip_out_of_scope_records() {
    let s = TestServer::start().await;
    let job = s.state.jobs.by_id(JOB).unwrap();
    let mut schema = job.schema().raw.clone();
    schema["synchronizationRules"][0]["objectMappings"][0]["scope"] = json!({"groups": [{"name": "Employees", "clauses": [
        {"operatorName": "EQUALS", "sourceOperandName": "userType", "targetOperand": {"values": ["Employee"]}}
    ]}]});
    job.set_schema(entra_inbound::provisioning::jobs::JobSchema::compile(schema).unwrap());
    let mut employee = scim_user("S1", "s1@contoso.com", None);
    employee["userType"] = json!("Employee");
    let mut contractor = scim_user("S2", "s2@contoso.com", None);
    contractor["userType"] = json!("Contractor");
    s.upload(bulk_of(&[employee, contractor])).await;
    s.drain(JOB).await;
    let entries = s.log_entries().await;
    assert_eq!(entries[0]["provisioningAction"], "create");
    assert_eq!(entries[1]["provisioningAction"], "other");
    assert_eq!(entries[1]["provisioningStatusInfo"]["status"], "skipped");
    let scoping = &entries[1]["provisioningSteps"][1];
    assert_eq!(scoping["status"], "skipped");
    assert_eq!(scoping["details"]["Scoping filter evaluation passed"], "False");
    assert_eq!(
        scoping["details"]["Employees: userType EQUALS Contractor".replace("Contractor", "Employee").as_str()],
        "False"
    );
}

#[tokio::test]
async fn drain_refuses_a_paused_job_and_unknown_jobs() {
    let s =
        TestServer::with_config(|c| c.service_principals[0].jobs[0].state = entra_inbound::config::JobState::Paused)
            .await;
    let r = s.http.post(format!("{}/_emulator/jobs/{JOB}/drain", s.base)).send().await.unwrap();
    assert_graph_error(r, 409, "Conflict", &format!("Job '{JOB}' is paused; start it before draining.")).await;
    let r = s.http.post(format!("{}/_emulator/jobs/nope/drain", s.base)).send().await.unwrap();
    assert_graph_error(
        r,
        404,
        "Request_ResourceNotFound",
        "Resource 'nope' does not exist or one of its queried reference-property objects are not present.",
    )
    .await;
}

#[tokio::test]
async fn reset_empties_the_directory_and_logs() {
    let s = TestServer::start().await;
    s.upload(fixture("example1.json")).await;
    s.drain(JOB).await;
    let r = s.http.post(format!("{}/_emulator/reset", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert!(s.log_entries().await.is_empty());
    s.upload(fixture("example1.json")).await;
    s.drain(JOB).await;
    assert_eq!(s.log_entries().await[0]["provisioningAction"], "create");
}

#[tokio::test]
async fn the_admin_token_guards_the_control_api() {
    let s = TestServer::with_config(|c| c.admin.token = "sesame".into()).await;
    let url = format!("{}/_emulator/reset", s.base);
    let r = s.http.post(&url).send().await.unwrap();
    assert_graph_error(r, 401, "InvalidAuthenticationToken", "Access token is empty.").await;
    let r = s.http.post(&url).bearer_auth("sesame").send().await.unwrap();
    assert_eq!(r.status(), 204);
}

/// The engine trims a request from staging as it commits, and reports it processed a moment later; a drain
/// arriving in between must still wait for it (a race CI once lost).
#[tokio::test]
async fn every_drain_counts_the_upload_answered_before_it() {
    let s = TestServer::start().await;
    for i in 1..=40u64 {
        let id = format!("D{i}");
        assert_eq!(
            s.upload(bulk_of(&[scim_user(&id, &format!("{}@contoso.com", id.to_lowercase()), None)])).await.status(),
            202
        );
        // Land the drain at different points of the worker's batch.
        tokio::time::sleep(std::time::Duration::from_micros(i * 50)).await;
        let drained = s.drain(JOB).await;
        assert_eq!(drained["processed"], i, "drain {i}");
    }
}

#[tokio::test]
async fn drain_refuses_a_malformed_timeout() {
    let s = TestServer::start().await;
    let r = s.http.post(format!("{}/_emulator/jobs/{JOB}/drain?timeout=soon", s.base)).send().await.unwrap();
    assert_graph_error(r, 400, "BadRequest", "The timeout 'soon' is not a whole number of seconds.").await;
}

#[tokio::test]
async fn drain_times_out_with_408_while_work_is_pending() {
    let s = TestServer::with_config(|c| c.service_principals[0].jobs[0].processing_delay_ms = 60_000).await;
    s.upload(bulk_of(&[scim_user("T1", "t1@contoso.com", None)])).await;
    let r = s.http.post(format!("{}/_emulator/jobs/{JOB}/drain?timeout=0", s.base)).send().await.unwrap();
    assert_graph_error(r, 408, "RequestTimeout", "The request timed out.").await;
}

#[tokio::test]
async fn a_drain_waits_past_the_request_timeout_as_long_as_its_own_timeout_says() {
    let s = TestServer::with_config(|c| {
        c.server.request_timeout_secs = 1;
        c.service_principals[0].jobs[0].processing_delay_ms = 2_500;
    })
    .await;
    s.upload(bulk_of(&[scim_user("W1", "w1@contoso.com", None)])).await;
    let r = s.http.post(format!("{}/_emulator/jobs/{JOB}/drain?timeout=60", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 200, "the request timeout (1 s) does not cut a drain short");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["processed"], 1);
}

#[tokio::test]
async fn an_unverified_upn_domain_fails_the_create_when_domains_are_configured() {
    let s = TestServer::with_config(|c| c.tenant.verified_domains = vec!["contoso.com".into()]).await;
    s.upload(bulk_of(&[scim_user("V1", "v1@contoso.com", None), scim_user("V2", "v2@fabrikam.com", None)])).await;
    s.drain(JOB).await;
    let entries = s.log_entries().await;
    assert_eq!(entries[0]["provisioningStatusInfo"]["status"], "success");
    let err = &entries[1]["provisioningStatusInfo"]["errorInformation"];
    assert_eq!(err["errorCode"], "AzureActiveDirectoryInvalidUserPrincipalName");
    assert!(err["reason"].as_str().unwrap().contains("domain does not exist"), "{err}");
}

#[tokio::test]
async fn an_update_to_a_taken_upn_fails_and_changes_nothing() {
    let s = TestServer::start().await;
    s.upload(bulk_of(&[scim_user("W1", "w1@contoso.com", None), scim_user("W2", "w2@contoso.com", None)])).await;
    let mut renamed = scim_user("W2", "W1@contoso.com", None);
    renamed["title"] = json!("Engineer");
    s.upload(bulk_of(&[renamed])).await;
    s.drain(JOB).await;
    let last = s.log_entries().await.pop().unwrap();
    assert_eq!(last["provisioningAction"], "update");
    assert_eq!(last["provisioningStatusInfo"]["status"], "failure");
    assert_eq!(
        last["provisioningStatusInfo"]["errorInformation"]["errorCode"],
        "AzureActiveDirectoryInvalidUserPrincipalName"
    );
    let user = s.user_doc("W2").await;
    assert_eq!(user["userPrincipalName"], "w2@contoso.com");
    assert!(user["jobTitle"].is_null(), "a failed update writes nothing");
}

#[tokio::test]
async fn batches_prepared_ahead_commit_in_order_and_resolve_managers_across_batches() {
    // Staged while paused, so the worker meets 600 operations at once: a batch of 500 commits while the
    // remaining 100 are prepared; each user's manager is the user staged just before it.
    let s = TestServer::with_config(|c| {
        c.service_principals[0].jobs[0].state = entra_inbound::config::JobState::Paused;
    })
    .await;
    let ids: Vec<String> = (0..600).map(|i| format!("P{i:04}")).collect();
    for chunk in ids.chunks(50) {
        let users: Vec<Value> = chunk
            .iter()
            .map(|id| {
                let n: usize = id[1..].parse().unwrap();
                let manager = (n > 0).then(|| format!("P{:04}", n - 1));
                scim_user(id, &format!("{}@contoso.com", id.to_lowercase()), manager.as_deref())
            })
            .collect();
        assert_eq!(s.upload(bulk_of(&users)).await.status(), 202);
    }
    s.state.jobs.by_id(JOB).unwrap().set_paused(false);
    assert_eq!(s.drain(JOB).await["pending"], 0);

    let entries = s.log_entries().await;
    let sources: Vec<&str> = entries.iter().map(|e| e["sourceIdentity"]["id"].as_str().unwrap()).collect();
    assert_eq!(sources, ids.iter().map(String::as_str).collect::<Vec<_>>(), "one entry each, in staging order");
    let cycles: std::collections::BTreeSet<&str> = entries.iter().map(|e| e["cycleId"].as_str().unwrap()).collect();
    assert_eq!(cycles.len(), 12, "one cycleId per upload (its request-id), across two batches");
    assert!(entries.iter().all(|e| e["provisioningStatusInfo"]["status"] == "success"));
    let warnings = entries.iter().filter(|e| steps(e).iter().any(|(_, _, status)| status == "warning")).count();
    assert_eq!(warnings, 0, "every manager was found, including those in the other batch");
    for pair in ids.windows(2) {
        assert_eq!(s.user(&pair[1]).await.manager_id, Some(s.user(&pair[0]).await.id), "{}", pair[1]);
    }
}
