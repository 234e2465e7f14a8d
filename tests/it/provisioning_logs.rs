//! Provisioning logs (docs/fidelity.md A.3, B.2): every error path, every filter form seen in Microsoft
//! material, the bulkUpload `Location` URL as-is, keyset paging under concurrent inserts, beta's
//! deprecated properties. Entries are seeded through the store boundary (`Store::import`), so results are
//! deterministic.

use entra_inbound::auth::roles;
use entra_inbound::graph_time::datetime_key;
use entra_inbound::provisioning::log::from_graph_json;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::support::*;

const J: &str = "API2AAD.aaaa.job-j";
const K: &str = "API2AAD.aaaa.job-k";
const NOT_FOUND: &str = "does not exist or one of its queried reference-property objects are not present.";

/// A realistic entry (the shape of Microsoft's published examples); positional so the seed table below reads as a table.
#[allow(clippy::too_many_arguments)]
fn entry(id: &str, job: &str, cycle: &str, source: &str, status: &str, action: &str, at: &str, sp: &str) -> Value {
    let error = (status == "failure").then(|| {
        json!({"errorCode": "AzureActiveDirectoryInvalidUserPrincipalName", "errorCategory": "nonServiceFailure",
               "reason": "The domain does not exist.", "additionalDetails": null, "recommendedAction": null})
    });
    json!({
        "id": id, "activityDateTime": at, "tenantId": TENANT, "jobId": job, "cycleId": cycle,
        "changeId": format!("change-{id}"), "durationInMilliseconds": 12,
        "initiatedBy": {"id": "", "displayName": "Azure AD Provisioning Service", "initiatorType": "system"},
        "provisioningAction": action,
        "provisioningStatusInfo": {"status": status, "errorInformation": error},
        "servicePrincipal": {"id": sp, "displayName": "API-driven provisioning"},
        "sourceIdentity": {"id": source, "displayName": "Babs Jensen", "identityType": "User", "details": {}},
        "targetIdentity": {"id": "", "displayName": "", "identityType": "User", "details": {}},
        "sourceSystem": {"id": "s", "displayName": "API", "details": {}},
        "targetSystem": {"id": "t", "displayName": "Microsoft Entra ID", "details": {}},
        "provisioningSteps": [], "modifiedProperties": []
    })
}

async fn insert(s: &TestServer, docs: &[Value]) {
    let entries = docs.iter().map(|d| from_graph_json(d, OffsetDateTime::UNIX_EPOCH).unwrap()).collect();
    s.state.store.import(Vec::new(), entries).await.unwrap();
}

/// e1…e5 over two jobs, two service principals, three cycles (see each filter's expectation).
async fn seed(s: &TestServer) {
    let docs = [
        entry("e1", J, "C1", "701984", "success", "create", "2022-10-10T09:00:00Z", SP),
        entry("e2", J, "C1", "701985", "failure", "create", "2022-10-10T10:00:00Z", SP),
        entry("e3", J, "C2", "701984", "failure", "update", "2022-10-11T08:00:00Z", SP),
        entry("e4", K, "C3", "701984", "failure", "create", "2022-10-12T08:00:00Z", "other-sp"),
        entry("e5", J, "C2", "701986", "skipped", "other", "2022-10-12T09:00:00Z", SP),
    ];
    insert(s, &docs).await;
}

/// A server that keeps the seeded entries: they date from 2022 and 2025, and retention (30 days by the
/// server's clock) would delete them.
async fn start() -> TestServer {
    TestServer::with_config(|c| c.logs.retention_days = 36_500).await
}

fn logs_url(s: &TestServer, version: &str) -> String {
    format!("{}/{version}/auditLogs/provisioning", s.base)
}

async fn get(s: &TestServer, url: &str) -> reqwest::Response {
    s.http.get(url).bearer_auth(s.token()).send().await.unwrap()
}

async fn get_ok(s: &TestServer, url: &str) -> Value {
    let r = get(s, url).await;
    assert_eq!(r.status(), 200, "{url}");
    r.json().await.unwrap()
}

fn ids(body: &Value) -> Vec<&str> {
    body["value"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect()
}

/// `$filter` sent `%20`-encoded, as the Graph SDKs do.
fn filtered(s: &TestServer, version: &str, filter: &str, extra: &str) -> String {
    let f: String = percent_encoding::utf8_percent_encode(filter, percent_encoding::NON_ALPHANUMERIC).collect();
    format!("{}?$filter={f}{extra}", logs_url(s, version))
}

#[tokio::test]
async fn every_filter_form_from_microsoft_material_selects_the_right_entries() {
    let s = start().await;
    seed(&s).await;
    let cases: &[(&str, &str, &str, &[&str])] = &[
        ("v1.0", &format!("jobid eq '{J}'"), "", &["e5", "e3", "e2", "e1"]),
        (
            "beta",
            &format!("jobid eq '{J}' and statusInfo/status eq 'failure' and activityDateTime ge 2022-10-10T09:47:34Z"),
            "",
            &["e3", "e2"],
        ),
        // The same instant with an offset (the '+' arrives as %2B).
        (
            "v1.0",
            &format!(
                "jobId eq '{J}' and provisioningStatusInfo/status eq 'failure' and activityDateTime ge 2022-10-10T11:47:34+02:00"
            ),
            "",
            &["e3", "e2"],
        ),
        ("v1.0", &format!("jobid eq '{J}' and sourceIdentity/id eq '701984'"), "", &["e3", "e1"]),
        ("v1.0", "cycleId eq 'C1'", "", &["e2", "e1"]),
        ("v1.0", &format!("jobid eq '{J}' and cycleId ne 'C2'"), "&$top=1", &["e2"]),
        (
            "v1.0",
            &format!("activityDateTime ge 2022-10-11T00:00:00Z and servicePrincipal/id eq '{SP}'"),
            "&$top=100&$orderby=activityDateTime%20desc",
            &["e5", "e3"],
        ),
        ("v1.0", "contains(provisioningAction,'dat') or (action eq 'other' and not (jobId eq 'x'))", "", &["e5", "e3"]),
        ("v1.0", "activityDateTime lt 2022-10-10T10:00:00Z or durationInMilliseconds gt 100", "", &["e1"]),
    ];
    for (version, filter, extra, expected) in cases {
        let body = get_ok(&s, &filtered(&s, version, filter, extra)).await;
        assert_eq!(ids(&body), *expected, "{filter}");
        assert_eq!(body["@odata.context"], format!("{}/{version}/$metadata#auditLogs/provisioning", s.base));
    }
    // Form-encoded (`+` for spaces, `%2B` for plus), as Python requests sends it.
    let url = format!(
        "{}?$filter=activityDateTime+ge+2022-10-12T10:00:00%2B02:00&$orderby=activityDateTime+asc",
        logs_url(&s, "v1.0")
    );
    let r = get(&s, &url).await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(ids(&body), ["e4", "e5"]);
    // `$top=1` leaves a next page.
    let body = get_ok(&s, &filtered(&s, "v1.0", &format!("jobid eq '{J}' and cycleId ne 'C2'"), "&$top=1")).await;
    let next = body["@odata.nextLink"].as_str().unwrap();
    assert_eq!(ids(&get_ok(&s, next).await), ["e1"]);
}

#[tokio::test]
async fn the_bulk_upload_location_url_works_as_is() {
    let s = start().await;
    insert(
        &s,
        &[
            entry("other", K, "C", "1", "success", "create", "2025-01-15T09:00:00Z", SP),
            entry("mine", JOB, "C", "1", "success", "create", "2025-01-15T09:00:00Z", SP),
        ],
    )
    .await;
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [{
        "method": "POST", "bulkId": "1", "path": "/Users",
        "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "externalId": "701984",
                 "userName": "bjensen@contoso.com", "active": true}}]});
    for version in ["v1.0", "beta"] {
        let r = s
            .http
            .post(s.upload_url(version, SP, JOB))
            .bearer_auth(s.token())
            .header("content-type", SCIM)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.contains("/auditLogs/provisioning/?$filter=jobid%20eq%20'"), "{location}");
        let page = get_ok(&s, &location).await;
        assert_eq!(page["@odata.context"], format!("{}/{version}/$metadata#auditLogs/provisioning", s.base));
        let entries = page["value"].as_array().unwrap();
        assert!(entries.iter().all(|e| e["jobId"] == JOB), "{page}");
        assert!(entries.iter().any(|e| e["id"] == "mine"), "{page}");
    }
}

#[tokio::test]
async fn paging_1000_entries_yields_each_once_in_order_while_entries_are_added() {
    let s = start().await;
    let base = OffsetDateTime::parse("2025-01-01T00:00:00Z", &Rfc3339).unwrap();
    let mut expected: Vec<(String, String)> = Vec::new();
    let mut docs = Vec::new();
    for i in 0..1000 {
        // Three entries per instant: the id tiebreaker decides within an instant.
        let at = base + time::Duration::seconds(i / 3);
        let id = format!("entry-{:04}", (i * 7919) % 1000);
        let mut doc = entry(&id, J, "C", &i.to_string(), "success", "create", "", SP);
        doc["activityDateTime"] = json!(at.format(&Rfc3339).unwrap());
        docs.push(doc);
        expected.push((datetime_key(at), id));
    }
    insert(&s, &docs).await;
    expected.sort();
    expected.reverse();
    let expected: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();

    let mut url = filtered(&s, "v1.0", &format!("jobid eq '{J}'"), "&$top=100");
    let mut seen: Vec<String> = Vec::new();
    for page in 0.. {
        let body = get_ok(&s, &url).await;
        assert!(body["value"].as_array().unwrap().len() <= 100);
        seen.extend(ids(&body).into_iter().map(str::to_owned));
        // New entries of the same job arrive between page fetches (newer, so before the cursor).
        for n in 0..5 {
            let at = OffsetDateTime::parse("2025-06-01T00:00:00Z", &Rfc3339).unwrap() + time::Duration::seconds(page);
            let mut doc = entry(&format!("new-{page}-{n}"), J, "C", "x", "success", "create", "", SP);
            doc["activityDateTime"] = json!(at.format(&Rfc3339).unwrap());
            insert(&s, &[doc]).await;
        }
        match body["@odata.nextLink"].as_str() {
            Some(next) => {
                assert!(next.starts_with(&format!("{}/v1.0/auditLogs/provisioning?$filter=jobid%20eq%20%27", s.base)));
                assert!(next.contains("&$top=100&$skiptoken="), "{next}");
                url = next.to_owned();
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 1000);
    assert_eq!(seen, expected);
    // Ascending order pages the same way and picks up the newer entries at its end.
    let mut url = format!("{}?$orderby=activityDateTime&$top=999", logs_url(&s, "beta"));
    let mut asc = Vec::new();
    while !url.is_empty() {
        let body = get_ok(&s, &url).await;
        asc.extend(ids(&body).into_iter().map(str::to_owned));
        url = body["@odata.nextLink"].as_str().unwrap_or_default().to_owned();
    }
    assert_eq!(asc.len(), 1000 + 5 * 10);
    assert_eq!(asc[..1000].iter().rev().cloned().collect::<Vec<_>>(), expected);
}

#[tokio::test]
async fn beta_adds_action_and_status_info_and_single_entries_carry_entity_context() {
    let s = start().await;
    seed(&s).await;
    let v1 = get_ok(&s, &format!("{}/e2", logs_url(&s, "v1.0"))).await;
    assert_eq!(v1["@odata.context"], format!("{}/v1.0/$metadata#auditLogs/provisioning/$entity", s.base));
    assert_eq!(v1["id"], "e2");
    assert!(v1.get("action").is_none() && v1.get("statusInfo").is_none());

    let beta = get_ok(&s, &format!("{}/e2", logs_url(&s, "beta"))).await;
    assert_eq!(beta["@odata.context"], format!("{}/beta/$metadata#auditLogs/provisioning/$entity", s.base));
    assert_eq!(beta["action"], "create");
    assert_eq!(
        beta["statusInfo"],
        json!({"@odata.type": "#microsoft.graph.statusDetails", "status": "failure",
               "errorCategory": "nonServiceFailure", "errorCode": "AzureActiveDirectoryInvalidUserPrincipalName",
               "reason": "The domain does not exist.", "additionalDetails": null, "recommendedAction": null})
    );
    let list = get_ok(&s, &filtered(&s, "beta", "cycleId eq 'C2'", "")).await;
    assert_eq!(list["value"][0]["action"], "other");
    assert_eq!(
        list["value"][0]["statusInfo"],
        json!({"@odata.type": "#microsoft.graph.statusBase", "status": "skipped"})
    );
    assert_eq!(list["value"][1]["statusInfo"]["@odata.type"], "#microsoft.graph.statusDetails");
}

#[tokio::test]
async fn auth_and_not_found_errors() {
    let s = start().await;
    seed(&s).await;
    let r = s.http.get(logs_url(&s, "v1.0")).send().await.unwrap();
    assert_graph_error(r, 401, "InvalidAuthenticationToken", "Access token is empty.").await;
    let upload_only = s.token_with(&[roles::UPLOAD, roles::USER_READ], "https://graph.microsoft.com", 3600);
    for url in [logs_url(&s, "v1.0"), format!("{}/e1", logs_url(&s, "beta"))] {
        let r = s.http.get(&url).bearer_auth(&upload_only).send().await.unwrap();
        assert_graph_error(r, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
            .await;
    }
    let r = get(&s, &format!("{}/nope", logs_url(&s, "v1.0"))).await;
    assert_graph_error(r, 404, "Request_ResourceNotFound", &format!("Resource 'nope' {NOT_FOUND}")).await;
    let r = s.http.post(logs_url(&s, "v1.0")).bearer_auth(s.token()).send().await.unwrap();
    assert_eq!(r.headers()["allow"], "GET");
    assert_graph_error(r, 405, "MethodNotAllowed", "The requested HTTP method is not supported for this resource.")
        .await;
}

#[tokio::test]
async fn bad_query_options_get_400_naming_the_problem() {
    let s = start().await;
    seed(&s).await;
    let entity = "microsoft.graph.provisioningObjectSummary";
    let valid_token = entra_inbound::odata::skiptoken::encode(&[json!("x")]);
    let cases: Vec<(String, String, &str)> = vec![
        (
            filtered(&s, "v1.0", "foo eq 'x'", ""),
            format!("Could not find a property named 'foo' on type '{entity}'."),
            "foo",
        ),
        (filtered(&s, "v1.0", "jobId gt 'x'", ""), "Operator 'gt' is not supported for property 'jobId'.".into(), "gt"),
        (
            filtered(&s, "v1.0", "startswith(jobId,'x')", ""),
            "Operator 'startswith' is not supported for property 'jobId'.".into(),
            "startswith",
        ),
        (
            format!("{}?$orderby=provisioningAction", logs_url(&s, "v1.0")),
            "Ordering by 'provisioningAction' is not supported.".into(),
            "provisioningAction",
        ),
        (
            format!("{}?$expand=steps", logs_url(&s, "v1.0")),
            "The query parameter '$expand' is not supported.".into(),
            "$expand",
        ),
        (
            format!("{}?$search=x", logs_url(&s, "beta")),
            "The query parameter '$search' is not supported.".into(),
            "$search",
        ),
        (
            format!("{}?$top=1&$top=2", logs_url(&s, "v1.0")),
            "Query option '$top' was specified more than once, but it must be specified at most once.".into(),
            "$top",
        ),
        (
            format!("{}?$top=1001", logs_url(&s, "v1.0")),
            "Invalid page size specified: '1001'. Must be between 1 and 1000 inclusive.".into(),
            "$top",
        ),
        (
            format!("{}?$top=0", logs_url(&s, "v1.0")),
            "Invalid page size specified: '0'. Must be between 1 and 1000 inclusive.".into(),
            "$top",
        ),
        (
            format!("{}?$skiptoken=not-a-token!", logs_url(&s, "v1.0")),
            "The $skiptoken value is not valid for this request.".into(),
            "$skiptoken",
        ),
        // Well-formed, but made for another order (one key instead of two).
        (
            format!("{}?$skiptoken={valid_token}", logs_url(&s, "v1.0")),
            "The $skiptoken value is not valid for this request.".into(),
            "$skiptoken",
        ),
        (
            format!("{}/e1?$select=id", logs_url(&s, "v1.0")),
            "The query parameter '$select' is not supported.".into(),
            "$select",
        ),
    ];
    for (url, message, target) in cases {
        let body = assert_graph_error(get(&s, &url).await, 400, "BadRequest", &message).await;
        assert_eq!(body["error"]["details"][0]["target"], target, "{url}");
    }
    // A raw '+' offset is form-decoded to a space; the message says to send %2B.
    let url = format!("{}?$filter=activityDateTime%20ge%202022-10-10T11:47:34+02:00", logs_url(&s, "v1.0"));
    let r = get(&s, &url).await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "BadRequest");
    assert!(body["error"]["message"].as_str().unwrap().contains("%2B"), "{body}");
}

/// The `sourceIdentity/id` of every entry, in processing order.
async fn sources(s: &TestServer) -> Vec<String> {
    s.log_entries().await.iter().map(|e| e["sourceIdentity"]["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn entries_older_than_the_retention_period_are_deleted() {
    let s = TestServer::with_config(|c| c.logs.retention_days = 30).await;
    s.upload(bulk_of(&[scim_user("OLD", "old@contoso.com", None)])).await;
    s.drain(JOB).await;
    s.clock.advance(time::Duration::days(29));
    s.upload(bulk_of(&[scim_user("MID", "mid@contoso.com", None)])).await;
    s.drain(JOB).await;
    assert_eq!(sources(&s).await, ["OLD", "MID"], "29 days old is within the period");
    s.clock.advance(time::Duration::days(2));
    s.upload(bulk_of(&[scim_user("NEW", "new@contoso.com", None)])).await;
    s.drain(JOB).await;
    assert_eq!(sources(&s).await, ["MID", "NEW"], "31 days old is gone");
}

#[tokio::test]
async fn a_log_cap_keeps_the_newest_entries() {
    let s = TestServer::with_config(|c| c.logs.max_entries = 3).await;
    for i in 0..5 {
        s.upload(bulk_of(&[scim_user(&format!("U{i}"), &format!("u{i}@contoso.com"), None)])).await;
        s.drain(JOB).await;
    }
    assert_eq!(sources(&s).await, ["U2", "U3", "U4"]);
}
