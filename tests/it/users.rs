//! Users read API (docs/fidelity.md A.3b): property sets per version, `$select`, `$filter`, `$orderby`, `$top` paging,
//! `$count`, `$expand=manager`, `/users/{id | upn}`, `/users/{id}/manager`, and every error path. Users are
//! seeded through the store boundary (`Store::import`), so results are deterministic.

use entra_inbound::auth::roles;
use entra_inbound::directory::{DirectoryUser, TargetValue, USER_PROPERTIES, V1_DEFAULT_PROPERTIES};
use serde_json::{Value, json};

use crate::support::*;

const MIA: &str = "11111111-0000-4000-8000-000000000001";
const ADELE: &str = "11111111-0000-4000-8000-000000000002";
const ALEX: &str = "11111111-0000-4000-8000-000000000003";
const BOB: &str = "11111111-0000-4000-8000-000000000004";
const NOT_FOUND: &str = "does not exist or one of its queried reference-property objects are not present.";

fn user(
    id: &str,
    upn: &str,
    name: &str,
    dept: &str,
    employee_id: &str,
    manager: Option<&str>,
    extra: Value,
) -> DirectoryUser {
    let created = time::macros::datetime!(2025-01-15 10:00 UTC);
    let mut u = DirectoryUser::new(id.to_owned(), created);
    for (k, v) in [("userPrincipalName", upn), ("displayName", name), ("department", dept), ("employeeId", employee_id)]
    {
        u.set(k, &TargetValue::Text(v.into()));
    }
    for (k, v) in extra.as_object().into_iter().flatten() {
        let value = match v {
            Value::Bool(b) => TargetValue::Bool(*b),
            Value::Array(a) => TargetValue::List(a.iter().map(|x| x.as_str().unwrap().to_owned()).collect()),
            other => TargetValue::Text(other.as_str().unwrap().to_owned()),
        };
        u.set(k, &value);
    }
    u.manager_id = manager.map(str::to_owned);
    u
}

async fn seed(s: &TestServer) {
    let users = [
        user(MIA, "mia@contoso.com", "Mia Manager", "Exec", "E0", None, json!({"accountEnabled": true})),
        user(
            ADELE,
            "adele@contoso.com",
            "Adele Vance",
            "Eng",
            "E1",
            Some(MIA),
            json!({"jobTitle": "Engineer", "businessPhones": ["+1 555 0100"]}),
        ),
        user(ALEX, "alex@contoso.com", "Alex Wilber", "Eng", "E2", Some(MIA), json!({"accountEnabled": true})),
        user(BOB, "bob@fabrikam.com", "Bob Brown", "Sales", "E3", None, json!({})),
    ];
    s.state.store.import(users.to_vec(), Vec::new()).await.unwrap();
}

fn url(s: &TestServer, version: &str, rest: &str) -> String {
    format!("{}/{version}/users{rest}", s.base)
}

async fn get(s: &TestServer, url: &str) -> reqwest::Response {
    s.http.get(url).bearer_auth(s.token()).send().await.unwrap()
}

async fn get_ok(s: &TestServer, url: &str) -> Value {
    let r = get(s, url).await;
    assert_eq!(r.status(), 200, "{url}");
    r.json().await.unwrap()
}

fn upns(body: &Value) -> Vec<&str> {
    body["value"].as_array().unwrap().iter().map(|u| u["userPrincipalName"].as_str().unwrap()).collect()
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).collect()
}

#[tokio::test]
async fn v1_returns_the_default_property_set_and_beta_the_full_set() {
    let s = TestServer::start().await;
    seed(&s).await;
    let v1 = get_ok(&s, &url(&s, "v1.0", "")).await;
    assert_eq!(v1["@odata.context"], format!("{}/v1.0/$metadata#users", s.base));
    assert_eq!(upns(&v1), ["adele@contoso.com", "alex@contoso.com", "bob@fabrikam.com", "mia@contoso.com"]);
    let adele = &v1["value"][0];
    let mut got = keys(adele);
    got.sort_unstable();
    let mut want = V1_DEFAULT_PROPERTIES.to_vec();
    want.sort_unstable();
    assert_eq!(got, want);
    assert_eq!(adele["businessPhones"], json!(["+1 555 0100"]));
    assert_eq!(adele["jobTitle"], "Engineer");
    assert_eq!(adele["mail"], Value::Null);
    assert_eq!(v1["value"][1]["businessPhones"], json!([]));
    assert!(adele.get("department").is_none() && adele.get("accountEnabled").is_none());

    let beta = get_ok(&s, &url(&s, "beta", "")).await;
    assert_eq!(beta["@odata.context"], format!("{}/beta/$metadata#users", s.base));
    let adele = &beta["value"][0];
    assert_eq!(keys(adele), USER_PROPERTIES);
    assert_eq!(adele["department"], "Eng");
    assert_eq!(adele["employeeId"], "E1");
    assert_eq!(adele["accountEnabled"], false);
    assert_eq!(adele["otherMails"], json!([]));
    assert_eq!(adele["city"], Value::Null);
}

#[tokio::test]
async fn select_picks_properties_and_shapes_the_context() {
    let s = TestServer::start().await;
    seed(&s).await;
    let body = get_ok(&s, &url(&s, "v1.0", "?$select=id,displayName,EmployeeId,accountEnabled")).await;
    assert_eq!(
        body["@odata.context"],
        format!("{}/v1.0/$metadata#users(id,displayName,employeeId,accountEnabled)", s.base)
    );
    assert_eq!(
        body["value"][0],
        json!({"id": ADELE, "displayName": "Adele Vance", "employeeId": "E1", "accountEnabled": false})
    );
    let one = get_ok(&s, &url(&s, "beta", &format!("/{ALEX}?$select=department"))).await;
    assert_eq!(
        one,
        json!({"@odata.context": format!("{}/beta/$metadata#users(department)/$entity", s.base), "department": "Eng"})
    );
}

#[tokio::test]
async fn filter_forms_select_the_right_users() {
    let s = TestServer::start().await;
    seed(&s).await;
    let cases: &[(&str, &[&str])] = &[
        ("startswith(displayName,'a')", &["adele@contoso.com", "alex@contoso.com"]),
        ("department eq 'eng'", &["adele@contoso.com", "alex@contoso.com"]),
        ("employeeId in ('E1','E3')", &["adele@contoso.com", "bob@fabrikam.com"]),
        ("endswith(userPrincipalName,'@fabrikam.com')", &["bob@fabrikam.com"]),
        ("not(department eq 'Eng')", &["bob@fabrikam.com", "mia@contoso.com"]),
        ("department eq 'Sales' or department eq 'Exec'", &["bob@fabrikam.com", "mia@contoso.com"]),
        ("accountEnabled eq true and department ne 'Exec'", &["alex@contoso.com"]),
        (&format!("id eq '{BOB}'"), &["bob@fabrikam.com"]),
        ("userPrincipalName eq 'ADELE@contoso.com'", &["adele@contoso.com"]),
    ];
    for (filter, expected) in cases {
        let body = get_ok(&s, &url(&s, "v1.0", &format!("?$filter={}", enc(filter)))).await;
        assert_eq!(upns(&body), *expected, "{filter}");
    }
    let body = get_ok(&s, &url(&s, "v1.0", "?$orderby=displayName+desc&$select=displayName,userPrincipalName")).await;
    assert_eq!(upns(&body), ["mia@contoso.com", "bob@fabrikam.com", "alex@contoso.com", "adele@contoso.com"]);
}

#[tokio::test]
async fn top_pages_through_next_links_that_repeat_the_options() {
    let s = TestServer::start().await;
    seed(&s).await;
    let mut next = url(
        &s,
        "beta",
        "?$top=1&$select=userPrincipalName&$filter=accountEnabled%20eq%20false%20or%20department%20eq%20'Exec'",
    );
    let mut seen = Vec::new();
    while !next.is_empty() {
        let body = get_ok(&s, &next).await;
        assert_eq!(keys(&body["value"][0]), ["userPrincipalName"]);
        seen.extend(upns(&body).into_iter().map(str::to_owned));
        next = body["@odata.nextLink"].as_str().unwrap_or_default().to_owned();
        if !next.is_empty() {
            assert!(next.starts_with(&format!("{}/beta/users?$filter=accountEnabled%20eq%20false", s.base)), "{next}");
            assert!(next.contains("&$select=userPrincipalName&$top=1&$skiptoken="), "{next}");
        }
    }
    assert_eq!(seen, ["adele@contoso.com", "bob@fabrikam.com", "mia@contoso.com"]);
}

#[tokio::test]
async fn count_needs_consistency_level_eventual() {
    let s = TestServer::start().await;
    seed(&s).await;
    let u = url(&s, "v1.0", "?$count=true&$filter=department%20eq%20'Eng'&$top=1");
    let r = s.http.get(&u).bearer_auth(s.token()).header("ConsistencyLevel", "eventual").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["@odata.count"], 2);
    assert_eq!(body["value"].as_array().unwrap().len(), 1);
    assert!(body["@odata.nextLink"].as_str().unwrap().contains("$count=true"));
    let body = get_ok(&s, &url(&s, "v1.0", "?$count=false")).await;
    assert!(body.get("@odata.count").is_none());

    let message = "Count (?$count=true) is not supported because the 'ConsistencyLevel:eventual' header is missing. \
                   Refer to https://aka.ms/graph-docs/advanced-queries for more information";
    let body = assert_graph_error(get(&s, &url(&s, "v1.0", "?$count=true")).await, 400, "BadRequest", message).await;
    assert_eq!(body["error"]["details"][0]["target"], "ConsistencyLevel");
}

#[tokio::test]
async fn the_count_segment_answers_plain_text_with_consistency_level_eventual() {
    let s = TestServer::start().await;
    seed(&s).await;
    let count = |rest: &str| {
        s.http.get(url(&s, "v1.0", rest)).bearer_auth(s.token()).header("ConsistencyLevel", "eventual").send()
    };
    for (rest, n) in [("/$count", "4"), ("/$count?$filter=department%20eq%20'Eng'", "2"), ("/$count?$filter=", "4")] {
        let r = count(rest).await.unwrap();
        assert_eq!(r.status(), 200, "{rest}");
        assert_eq!(r.headers()["content-type"], "text/plain", "{rest}");
        assert_eq!(r.text().await.unwrap(), n, "{rest}");
    }
    let r = s.http.get(url(&s, "beta", "/$count")).bearer_auth(s.token()).header("consistencylevel", "Eventual");
    assert_eq!(r.send().await.unwrap().text().await.unwrap(), "4");
    // Without the header Graph refuses the segment (the $count query option is a different story).
    let r = get(&s, &url(&s, "v1.0", "/$count")).await;
    assert_graph_error(r, 400, "Request_BadRequest", "$count is not currently supported.").await;
    let r = count("/$count?$top=1").await.unwrap();
    assert_graph_error(r, 400, "BadRequest", "The query parameter '$top' is not supported.").await;
    let r = count("/$count?$filter=nope%20eq%201").await.unwrap();
    assert_eq!(r.status(), 400);
    let r = s.http.get(url(&s, "v1.0", "/$count")).bearer_auth(s.token_with(
        &[roles::AUDIT_LOG_READ],
        "https://graph.microsoft.com",
        600,
    ));
    assert_graph_error(
        r.send().await.unwrap(),
        403,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )
    .await;
    let r = s.http.post(url(&s, "v1.0", "/$count")).bearer_auth(s.token()).send().await.unwrap();
    assert_eq!(r.status(), 405);
}

#[tokio::test]
async fn expand_manager_in_both_forms() {
    let s = TestServer::start().await;
    seed(&s).await;
    let body = get_ok(&s, &url(&s, "v1.0", "?$expand=manager")).await;
    let adele = &body["value"][0];
    assert_eq!(adele["manager"]["@odata.type"], "#microsoft.graph.user");
    assert_eq!(adele["manager"]["id"], MIA);
    assert_eq!(adele["manager"]["displayName"], "Mia Manager");
    assert!(adele["manager"].get("department").is_none());
    // Users without a manager carry no manager property.
    assert!(body["value"][2].get("manager").is_none());

    let body = get_ok(&s, &url(&s, "beta", "?$expand=manager($select=id,displayName)&$select=displayName")).await;
    assert_eq!(
        body["value"][1],
        json!({"displayName": "Alex Wilber", "manager": {"@odata.type": "#microsoft.graph.user", "id": MIA, "displayName": "Mia Manager"}})
    );
    let one = get_ok(&s, &url(&s, "v1.0", &format!("/{ADELE}?$expand=manager($select=displayName)"))).await;
    assert_eq!(one["manager"], json!({"@odata.type": "#microsoft.graph.user", "displayName": "Mia Manager"}));
}

#[tokio::test]
async fn users_by_id_or_upn_and_their_manager() {
    let s = TestServer::start().await;
    seed(&s).await;
    let by_upn = get_ok(&s, &url(&s, "v1.0", "/ADELE@Contoso.com")).await;
    assert_eq!(by_upn["@odata.context"], format!("{}/v1.0/$metadata#users/$entity", s.base));
    assert_eq!(by_upn["id"], ADELE);
    let by_id = get_ok(&s, &url(&s, "beta", &format!("/{ADELE}"))).await;
    assert_eq!(by_id["userPrincipalName"], "adele@contoso.com");
    assert_eq!(by_id["department"], "Eng");

    let manager = get_ok(&s, &url(&s, "v1.0", "/adele@contoso.com/manager")).await;
    assert_eq!(manager["@odata.context"], format!("{}/v1.0/$metadata#directoryObjects/$entity", s.base));
    assert_eq!(manager["@odata.type"], "#microsoft.graph.user");
    assert_eq!(manager["id"], MIA);
    assert!(manager.get("department").is_none());
    let manager = get_ok(&s, &url(&s, "beta", &format!("/{ALEX}/manager?$select=id,department"))).await;
    assert_eq!(manager["department"], "Exec");

    let r = get(&s, &url(&s, "v1.0", &format!("/{BOB}/manager"))).await;
    assert_graph_error(r, 404, "Request_ResourceNotFound", &format!("Resource 'manager' {NOT_FOUND}")).await;
    let r = get(&s, &url(&s, "v1.0", "/nobody@contoso.com")).await;
    assert_graph_error(r, 404, "Request_ResourceNotFound", &format!("Resource 'nobody@contoso.com' {NOT_FOUND}")).await;
    let r = get(&s, &url(&s, "v1.0", "/nobody@contoso.com/manager")).await;
    assert_graph_error(r, 404, "Request_ResourceNotFound", &format!("Resource 'nobody@contoso.com' {NOT_FOUND}")).await;
}

#[tokio::test]
async fn auth_errors() {
    let s = TestServer::start().await;
    seed(&s).await;
    for rest in ["", &format!("/{ADELE}"), &format!("/{ADELE}/manager")] {
        let r = s.http.get(url(&s, "v1.0", rest)).send().await.unwrap();
        assert_graph_error(r, 401, "InvalidAuthenticationToken", "Access token is empty.").await;
        let token = s.token_with(&[roles::UPLOAD, roles::AUDIT_LOG_READ], "https://graph.microsoft.com", 3600);
        let r = s.http.get(url(&s, "v1.0", rest)).bearer_auth(token).send().await.unwrap();
        assert_graph_error(r, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
            .await;
    }
    for role in [roles::USER_READ, roles::DIRECTORY_READ] {
        let token = s.token_with(&[role], "https://graph.microsoft.com", 3600);
        let r = s.http.get(url(&s, "v1.0", "")).bearer_auth(token).send().await.unwrap();
        assert_eq!(r.status(), 200, "{role}");
    }
}

#[tokio::test]
async fn bad_query_options_get_400_naming_the_problem() {
    let s = TestServer::start().await;
    seed(&s).await;
    let cases: Vec<(String, String, &str)> = vec![
        ("?$select=id,foo".into(), "Property 'foo' is not supported in $select.".into(), "foo"),
        ("?$select=manager".into(), "Property 'manager' is not supported in $select.".into(), "manager"),
        (
            format!("?$filter={}", enc("foo eq 'x'")),
            "Could not find a property named 'foo' on type 'microsoft.graph.user'.".into(),
            "foo",
        ),
        (
            format!("?$filter={}", enc("contains(displayName,'a')")),
            "Operator 'contains' is not supported for property 'displayName'.".into(),
            "contains",
        ),
        ("?$orderby=jobTitle".into(), "Ordering by 'jobTitle' is not supported.".into(), "jobTitle"),
        (
            "?$top=1000".into(),
            "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive.".into(),
            "$top",
        ),
        ("?$top=ten".into(), "Invalid page size specified: 'ten'. Must be between 1 and 999 inclusive.".into(), "$top"),
        ("?$skiptoken=%%%".into(), "The $skiptoken value is not valid for this request.".into(), "$skiptoken"),
        ("?$search=%22displayName:a%22".into(), "The query parameter '$search' is not supported.".into(), "$search"),
        (
            "?$select=id&$select=displayName".into(),
            "Query option '$select' was specified more than once, but it must be specified at most once.".into(),
            "$select",
        ),
        ("?$count=maybe".into(), "Invalid value 'maybe' for $count; use true or false.".into(), "$count"),
        (
            "?$expand=memberOf".into(),
            "Expanding 'memberOf' is not supported; only 'manager' can be expanded on users.".into(),
            "memberOf",
        ),
        (
            "?$expand=manager($levels=max)".into(),
            "The option '$levels=max' is not supported inside $expand; use manager($select=…).".into(),
            "$expand",
        ),
        (format!("/{ADELE}?$top=1"), "The query parameter '$top' is not supported.".into(), "$top"),
        (
            format!("/{ADELE}/manager?$expand=manager"),
            "The query parameter '$expand' is not supported.".into(),
            "$expand",
        ),
    ];
    for (rest, message, target) in cases {
        let body = assert_graph_error(get(&s, &url(&s, "v1.0", &rest)).await, 400, "BadRequest", &message).await;
        assert_eq!(body["error"]["details"][0]["target"], target, "{rest}");
    }
}
