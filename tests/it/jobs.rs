//! Synchronization job and schema APIs (issue 4): state machine, counters, restart, quarantine, schema
//! GET/PUT, parseExpression, catalogues — success and 401/403/404 for every endpoint.

use entra_inbound::auth::roles;
use serde_json::{Value, json};

use crate::support::*;

fn jobs_url(s: &TestServer) -> String {
    format!("{}/v1.0/servicePrincipals/{SP}/synchronization/jobs", s.base)
}

fn job_url(s: &TestServer, tail: &str) -> String {
    format!("{}/{JOB}{tail}", jobs_url(s))
}

async fn get_json(s: &TestServer, url: &str) -> Value {
    let r = s.http.get(url).bearer_auth(s.token()).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    r.json().await.unwrap()
}

async fn post(s: &TestServer, url: &str, body: Option<Value>) -> reqwest::Response {
    let mut req = s.http.post(url).bearer_auth(s.token());
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

async fn job(s: &TestServer) -> Value {
    get_json(s, &job_url(s, "")).await
}

fn paused() -> impl FnOnce(&mut entra_inbound::config::Config) {
    |c| c.service_principals[0].jobs[0].state = entra_inbound::config::JobState::Paused
}

#[tokio::test]
async fn jobs_have_the_graph_shape() {
    let s = TestServer::start().await;
    let list = get_json(&s, &jobs_url(&s)).await;
    assert_eq!(list["value"].as_array().unwrap().len(), 1);
    let j = &list["value"][0];
    assert_eq!(j["id"], JOB);
    assert_eq!(j["templateId"], "API2AAD");
    assert_eq!(j["schedule"]["state"], "Active");
    assert_eq!(j["status"]["code"], "NotRun");
    assert_eq!(j["status"]["lastExecution"], Value::Null);
    assert_eq!(j["status"]["steadyStateFirstAchievedTime"], "0001-01-01T00:00:00Z");
    assert_eq!(j["synchronizationJobSettings"][0]["name"], "QuarantineTooManyDeletesThreshold");
    let one = job(&s).await;
    assert!(one["@odata.context"].as_str().unwrap().ends_with("/synchronization/jobs/$entity"));
    assert_eq!(one["status"]["synchronizedEntryCountByType"][0]["key"], "User");
}

#[tokio::test]
async fn a_paused_job_stages_and_processes_only_after_start() {
    let s = TestServer::with_config(paused()).await;
    for i in 0..3 {
        let r = s.upload(bulk_of(&[scim_user(&format!("P{i}"), &format!("p{i}@contoso.com"), None)])).await;
        assert_eq!(r.status(), 202);
    }
    tokio::task::yield_now().await;
    assert!(s.log_entries().await.is_empty());
    assert_eq!(s.staged_count().await, 3);
    let j = job(&s).await;
    assert_eq!(j["status"]["code"], "Paused");
    assert_eq!(j["schedule"]["state"], "Paused");
    assert_eq!(j["status"]["lastExecution"], Value::Null);

    assert_eq!(post(&s, &job_url(&s, "/start"), None).await.status(), 204);
    s.drain(JOB).await;
    assert_eq!(s.log_entries().await.len(), 3);
    let j = job(&s).await;
    assert_eq!(j["status"]["code"], "Active");
    let last = &j["status"]["lastExecution"];
    assert_eq!(last["countImported"], 3);
    assert_eq!(last["countExported"], 3);
    assert_eq!(last["countEscrowed"], 0);
    assert_eq!(last["state"], "Succeeded");
    assert_eq!(j["status"]["lastSuccessfulExecutionWithExports"]["countExports"], 3);
    assert_ne!(j["status"]["steadyStateLastAchievedTime"], "0001-01-01T00:00:00Z");
    assert_eq!(j["status"]["synchronizedEntryCountByType"][0]["value"], 3);

    assert_eq!(post(&s, &job_url(&s, "/pause"), None).await.status(), 204);
    assert_eq!(job(&s).await["status"]["code"], "Paused");
}

#[tokio::test]
async fn restart_while_paused_purges_what_was_staged() {
    let s = TestServer::with_config(paused()).await;
    s.upload(bulk_of(&[scim_user("R1", "r1@contoso.com", None), scim_user("R2", "r2@contoso.com", None)])).await;
    assert_eq!(s.staged_count().await, 2);
    let r = post(
        &s,
        &job_url(&s, "/restart"),
        Some(json!({"criteria": {"resetScope": "Watermark, Escrows, QuarantineState"}})),
    )
    .await;
    assert_eq!(r.status(), 204);
    assert_eq!(s.staged_count().await, 0);
    assert_eq!(job(&s).await["status"]["code"], "Paused", "restart keeps a paused job paused");
    post(&s, &job_url(&s, "/start"), None).await;
    s.upload(bulk_of(&[scim_user("R3", "r3@contoso.com", None)])).await;
    s.drain(JOB).await;
    let ids: Vec<String> =
        s.log_entries().await.iter().map(|e| e["sourceIdentity"]["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids, vec!["R3"], "nothing staged before the restart was processed");
}

#[tokio::test]
async fn restart_validates_its_criteria() {
    let s = TestServer::start().await;
    let r = post(&s, &job_url(&s, "/restart"), Some(json!({"criteria": {"resetScope": "Everything"}}))).await;
    let e = assert_graph_error(r, 400, "BadRequest", "The value 'Everything' is not a valid synchronizationJobRestartScope (None, ConnectorDataStore, Escrows, Watermark, QuarantineState, Full, ForceDeletes).").await;
    assert!(e["error"].get("details").is_none());
    let r = s.http.post(job_url(&s, "/restart")).bearer_auth(s.token()).body("{").send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(post(&s, &job_url(&s, "/restart"), None).await.status(), 204);
    assert_eq!(
        post(&s, &job_url(&s, "/restart"), Some(json!({"criteria": {"resetScope": "Full"}}))).await.status(),
        204
    );
}

#[tokio::test]
async fn escrow_threshold_quarantines_and_restart_lifts_it() {
    let s = TestServer::with_config(quarantine_early).await;
    // Example 3's partial record for users that do not exist: every create fails.
    s.upload(failing_creates("X", 3)).await;
    s.drain(JOB).await;
    let j = job(&s).await;
    assert_eq!(j["status"]["code"], "Quarantine");
    assert_eq!(j["status"]["quarantine"]["reason"], "EncounteredEscrowProportionThreshold");
    assert_eq!(j["status"]["lastExecution"]["countEscrowed"], 3);
    assert_eq!(j["status"]["lastExecution"]["state"], "EntryLevelErrors");
    // Quarantined: uploads are accepted but wait.
    assert_eq!(s.upload(bulk_of(&[scim_user("Q1", "q1@contoso.com", None)])).await.status(), 202);
    let r = s.http.post(format!("{}/_emulator/jobs/{JOB}/drain", s.base)).send().await.unwrap();
    assert_graph_error(r, 409, "Conflict", &format!("Job '{JOB}' is in quarantine; restart it before draining.")).await;

    assert_eq!(post(&s, &job_url(&s, "/restart"), None).await.status(), 204);
    let j = job(&s).await;
    assert_eq!(j["status"]["quarantine"], Value::Null);
    assert_ne!(j["status"]["code"], "Quarantine");
}

#[tokio::test]
async fn too_many_disables_are_staged_deletes_and_quarantine_the_job() {
    let s = TestServer::with_config(|c| c.service_principals[0].jobs[0].deletion_threshold = 1).await;
    let users: Vec<Value> = (0..3).map(|i| scim_user(&format!("D{i}"), &format!("d{i}@contoso.com"), None)).collect();
    s.upload(bulk_of(&users)).await;
    s.drain(JOB).await;
    let disabled: Vec<Value> = (0..2)
        .map(|i| {
            let mut u = scim_user(&format!("D{i}"), &format!("d{i}@contoso.com"), None);
            u["active"] = json!(false);
            u
        })
        .collect();
    s.upload(bulk_of(&disabled)).await;
    s.drain(JOB).await;
    let entries = s.log_entries().await;
    let staged: Vec<&Value> = entries.iter().filter(|e| e["provisioningAction"] == "stagedDelete").collect();
    assert_eq!(staged.len(), 2);
    assert_eq!(staged[0]["provisioningStatusInfo"]["status"], "skipped");
    let step = staged[0]["provisioningSteps"].as_array().unwrap().last().unwrap();
    assert_eq!(step["details"]["SkipReason"], "TooManyDeletes");
    assert_eq!(s.user_doc("D0").await["accountEnabled"], true, "the disable was not applied");
    let j = job(&s).await;
    assert_eq!(j["status"]["code"], "Quarantine");
    assert_eq!(j["status"]["quarantine"]["reason"], "TooManyDeletes");
    assert_eq!(
        post(&s, &job_url(&s, "/restart"), Some(json!({"criteria": {"resetScope": "QuarantineState"}}))).await.status(),
        204
    );
    assert_eq!(job(&s).await["status"]["quarantine"], Value::Null);
    // One disable per cycle is within the threshold.
    s.upload(bulk_of(&disabled[..1])).await;
    s.drain(JOB).await;
    assert_eq!(s.user_doc("D0").await["accountEnabled"], false);
}

#[tokio::test]
async fn a_schema_put_changes_the_next_operation() {
    let s = TestServer::start().await;
    let mut schema = get_json(&s, &job_url(&s, "/schema")).await;
    assert_eq!(
        schema["synchronizationRules"][0]["objectMappings"][0]["attributeMappings"][0]["targetAttributeName"],
        "employeeId"
    );
    let mappings = schema["synchronizationRules"][0]["objectMappings"][0]["attributeMappings"].as_array_mut().unwrap();
    let dept = mappings.iter_mut().find(|m| m["targetAttributeName"] == "department").unwrap();
    dept["source"] = json!({
        "type": "Function", "name": "ToUpper",
        "expression": "ToUpper([urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department])",
        "parameters": []
    });
    let r = s.http.put(job_url(&s, "/schema")).bearer_auth(s.token()).json(&schema).send().await.unwrap();
    assert_eq!(r.status(), 204);
    s.upload(fixture("example1.json")).await;
    s.drain(JOB).await;
    assert_eq!(s.user_doc("701984").await["department"], "TOUR OPERATIONS");
    let again = get_json(&s, &job_url(&s, "/schema")).await;
    assert!(again.to_string().contains("ToUpper("));
}

#[tokio::test]
async fn an_invalid_schema_is_refused_with_the_position() {
    let s = TestServer::start().await;
    let mut schema = get_json(&s, &job_url(&s, "/schema")).await;
    schema["synchronizationRules"][0]["objectMappings"][0]["attributeMappings"][6]["source"] =
        json!({"type": "Function", "name": "Join", "expression": "Join(\",\", [a]"});
    let r = s.http.put(job_url(&s, "/schema")).bearer_auth(s.token()).json(&schema).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("position 13"), "{message}");
    assert_eq!(body["error"]["details"][0]["code"], "InvalidExpression");

    let mut schema = get_json(&s, &job_url(&s, "/schema")).await;
    let m = &mut schema["synchronizationRules"][0]["objectMappings"][0]["attributeMappings"];
    m.as_array_mut().unwrap().push(json!({"targetAttributeName": "passwordProfile.password", "source": {"type": "Constant", "name": "x", "expression": "\"x\""}}));
    let r = s.http.put(job_url(&s, "/schema")).bearer_auth(s.token()).json(&schema).send().await.unwrap();
    let e = assert_graph_error(r, 400, "BadRequest", "Mapping 'passwordProfile' is not supported: the provisioning service sets a random password and cannot provision passwords.").await;
    assert_eq!(e["error"]["details"][0]["code"], "InvalidSchema");
    let r = s.http.put(job_url(&s, "/schema")).bearer_auth(s.token()).body("not json").send().await.unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn a_custom_attribute_added_the_csv2scim_way_flows() {
    let s = TestServer::start().await;
    let ns = "urn:ietf:params:scim:schemas:extension:csv:1.0:User";
    let mut schema = get_json(&s, &job_url(&s, "/schema")).await;
    schema["directories"][0]["objects"][0]["attributes"].as_array_mut().unwrap().push(json!({
        "anchor": false, "caseExact": false, "flowNullValues": false, "multivalued": false, "mutability": "ReadWrite",
        "name": format!("{ns}:HireDate"), "required": false, "type": "String", "apiExpressions": [], "metadata": [], "referencedObjects": []
    }));
    schema["synchronizationRules"][0]["objectMappings"][0]["attributeMappings"].as_array_mut().unwrap().push(json!({
        "targetAttributeName": "employeeHireDate", "flowType": "Always", "matchingPriority": 0,
        "source": {"type": "Attribute", "name": format!("{ns}:HireDate"), "parameters": []}
    }));
    let r = s.http.put(job_url(&s, "/schema")).bearer_auth(s.token()).json(&schema).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let after = get_json(&s, &job_url(&s, "/schema")).await;
    assert!(after["directories"][0]["objects"][0]["attributes"].to_string().contains("HireDate"));
    let mut u = scim_user("H1", "h1@contoso.com", None);
    u["schemas"].as_array_mut().unwrap().push(json!(ns));
    u[ns] = json!({"HireDate": "2021-05-01T00:00:00Z"});
    s.upload(bulk_of(&[u])).await;
    s.drain(JOB).await;
    assert_eq!(s.user_doc("H1").await["employeeHireDate"], "2021-05-01T00:00:00Z");
}

#[tokio::test]
async fn parse_expression_evaluates_against_test_properties() {
    let s = TestServer::start().await;
    let url = job_url(&s, "/schema/parseExpression");
    let body = json!({
        "expression": "Join(\" \", [givenName], [surname])",
        "testInputObject": {"definition": null, "properties": [{"key": "givenName", "value": "Lisa"}, {"key": "surname", "value": "Taylor"}]},
        "targetAttributeDefinition": null
    });
    let r: Value = post(&s, &url, Some(body)).await.json().await.unwrap();
    assert_eq!(r["parsingSucceeded"], true);
    assert_eq!(r["evaluationSucceeded"], true);
    assert_eq!(r["evaluationResult"], json!(["Lisa Taylor"]));
    assert_eq!(r["parsedExpression"]["type"], "Function");
    assert_eq!(r["parsedExpression"]["name"], "Join");
    assert_eq!(r["error"], Value::Null);

    let r: Value = post(&s, &url, Some(json!({"expression": "Join(\",\", [a]"}))).await.json().await.unwrap();
    assert_eq!(r["parsingSucceeded"], false);
    assert_eq!(r["evaluationSucceeded"], false);
    assert!(r["error"]["message"].as_str().unwrap().contains("position"), "{r}");

    let r: Value =
        post(&s, &url, Some(json!({"expression": "IIF([title]=\"x\", \"a\", \"b\")"}))).await.json().await.unwrap();
    assert_eq!(r["parsingSucceeded"], true);
    assert_eq!(r["evaluationSucceeded"], false);

    let r = post(&s, &url, Some(json!({"testInputObject": {}}))).await;
    assert_graph_error(r, 400, "BadRequest", "The 'expression' property is required.").await;
}

#[tokio::test]
async fn catalogues_list_functions_and_operators() {
    let s = TestServer::start().await;
    let f = get_json(&s, &job_url(&s, "/schema/functions")).await;
    let names: Vec<&str> = f["value"].as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap()).collect();
    for n in ["Join", "Replace", "SelectUniqueValue", "FormatDateTime", "DefaultDomain", "Switch"] {
        assert!(names.contains(&n), "{n}");
    }
    let join = f["value"].as_array().unwrap().iter().find(|v| v["name"] == "Join").unwrap();
    assert!(join["parameters"][0].get("allowMultipleOccurrences").is_some());
    let o = get_json(&s, &job_url(&s, "/schema/filterOperators")).await;
    let ops: Vec<&str> = o["value"].as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert!(ops.contains(&"EQUALS") && ops.contains(&"IS NOT NULL") && ops.contains(&"REGEX MATCH"));
}

#[tokio::test]
async fn provision_on_demand_is_not_supported_for_api_driven_apps() {
    let s = TestServer::start().await;
    let r = post(&s, &job_url(&s, "/provisionOnDemand"), Some(json!({"parameters": []}))).await;
    assert_graph_error(r, 400, "BadRequest", "Provision on demand is not supported for API-driven provisioning apps. Send the user's record to the job's bulkUpload endpoint instead.").await;
}

#[tokio::test]
async fn every_endpoint_answers_401_403_and_404() {
    let s = TestServer::start().await;
    let reader = s.token_with(&[roles::SYNC_READ], "https://graph.microsoft.com", 3600);
    let uploader = s.token_with(&[roles::UPLOAD], "https://graph.microsoft.com", 3600);
    let gets = ["", "/schema", "/schema/functions", "/schema/filterOperators"];
    let posts = ["/start", "/pause", "/restart", "/provisionOnDemand", "/schema/parseExpression"];
    let forbidden = "Insufficient privileges to complete the operation.";
    // 401 everywhere without a token.
    for tail in gets {
        let r = s.http.get(job_url(&s, tail)).send().await.unwrap();
        assert_graph_error(r, 401, "InvalidAuthenticationToken", "Access token is empty.").await;
        let r = s.http.get(job_url(&s, tail)).bearer_auth(&uploader).send().await.unwrap();
        assert_graph_error(r, 403, "Authorization_RequestDenied", forbidden).await;
        let r = s.http.get(job_url(&s, tail)).bearer_auth(&reader).send().await.unwrap();
        assert_eq!(r.status(), 200, "{tail}");
        let r = s.http.get(format!("{}/API2AAD.nope{tail}", jobs_url(&s))).bearer_auth(s.token()).send().await.unwrap();
        assert_graph_error(
            r,
            404,
            "Request_ResourceNotFound",
            "Resource 'API2AAD.nope' does not exist or one of its queried reference-property objects are not present.",
        )
        .await;
    }
    for tail in posts {
        let r = s.http.post(job_url(&s, tail)).send().await.unwrap();
        assert_graph_error(r, 401, "InvalidAuthenticationToken", "Access token is empty.").await;
        let who = if tail == "/schema/parseExpression" { &uploader } else { &reader };
        let r = s.http.post(job_url(&s, tail)).bearer_auth(who).json(&json!({})).send().await.unwrap();
        assert_graph_error(r, 403, "Authorization_RequestDenied", forbidden).await;
        let r = s
            .http
            .post(format!("{}/API2AAD.nope{tail}", jobs_url(&s)))
            .bearer_auth(s.token())
            .json(&json!({"expression": "[a]"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{tail}");
    }
    // PUT schema: 401, 403 for a reader, 404; the list: 401, 403, 404 for an unknown service principal.
    let r = s.http.put(job_url(&s, "/schema")).json(&json!({})).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = s.http.put(job_url(&s, "/schema")).bearer_auth(&reader).json(&json!({})).send().await.unwrap();
    assert_graph_error(r, 403, "Authorization_RequestDenied", forbidden).await;
    let r = s
        .http
        .put(format!("{}/API2AAD.nope/schema", jobs_url(&s)))
        .bearer_auth(s.token())
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = s.http.get(jobs_url(&s)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = s.http.get(jobs_url(&s)).bearer_auth(&uploader).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let r = s
        .http
        .get(format!("{}/v1.0/servicePrincipals/nope/synchronization/jobs", s.base))
        .bearer_auth(s.token())
        .send()
        .await
        .unwrap();
    assert_graph_error(
        r,
        404,
        "Request_ResourceNotFound",
        "Resource 'nope' does not exist or one of its queried reference-property objects are not present.",
    )
    .await;
    // Wrong methods.
    let r = s.http.get(job_url(&s, "/start")).bearer_auth(s.token()).send().await.unwrap();
    assert_eq!(r.headers()["allow"], "POST");
    assert_eq!(r.status(), 405);
}

#[tokio::test]
async fn oversized_schema_bodies_get_413_in_the_graph_envelope() {
    let s = TestServer::start().await;
    let huge = format!("{{\"pad\":\"{}\"}}", "x".repeat(3 * 1024 * 1024));
    let r = s.http.put(job_url(&s, "/schema")).bearer_auth(s.token()).body(huge).send().await.unwrap();
    assert_graph_error(r, 413, "RequestEntityTooLarge", "The request body is too large.").await;
}

#[tokio::test]
async fn job_state_and_counters_survive_a_restart_with_a_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let first = TestServer::with_config(|c| c.storage.data_dir = data.clone()).await;
    first.upload(fixture("example1.json")).await;
    first.drain(JOB).await;
    assert_eq!(post(&first, &job_url(&first, "/pause"), None).await.status(), 204);
    drop(first);

    let second = TestServer::with_config(|c| c.storage.data_dir = data.clone()).await;
    let j = job(&second).await;
    assert_eq!(j["status"]["code"], "Paused");
    assert_eq!(j["status"]["lastExecution"]["countImported"], 2);
    assert_eq!(j["status"]["synchronizedEntryCountByType"][0]["value"], 2);
    assert_eq!(second.log_entries().await.len(), 2);
}
