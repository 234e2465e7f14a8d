//! `/Bulk` of the SCIM service provider (docs/fidelity.md#s4-bulk): bulkId references (forward, in paths and
//! nested values), cycles, failOnErrors, per-operation results, the limits, and the two dialects' statuses.

use reqwest::Method;
use serde_json::{Value, json};

use crate::scim_support::*;
use crate::support::TestServer;

fn post_user(bulk_id: &str, name: &str) -> Value {
    json!({"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": user(name)})
}

fn post_group(bulk_id: &str, name: &str, members: &[&str]) -> Value {
    json!({"method": "POST", "path": "/Groups", "bulkId": bulk_id, "data": group(name, members)})
}

fn statuses(r: &Reply) -> Vec<String> {
    r.body["Operations"].as_array().unwrap().iter().map(|o| o["status"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn three_users_and_a_group_referencing_them_by_bulk_id_in_one_call_in_either_order() {
    let s = TestServer::start().await;
    for group_first in [false, true] {
        s.reset().await;
        let users = [post_user("u1", "ann"), post_user("u2", "bob"), post_user("u3", "cid")];
        let g = post_group("g", "Team", &["bulkId:u1", "bulkId:u2", "bulkId:u3"]);
        let ops: Vec<Value> = if group_first {
            std::iter::once(g).chain(users).collect()
        } else {
            users.into_iter().chain(std::iter::once(g)).collect()
        };
        let r = s.scim(Method::POST, V2, "/Bulk", Some(bulk(json!(ops)))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.header("content-type"), "application/scim+json");
        assert_eq!(r.body["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:BulkResponse"]));
        assert_eq!(statuses(&r), vec!["201"; 4], "{}", r.body);
        let ops = r.body["Operations"].as_array().unwrap();
        let location = |bulk_id: &str| {
            ops.iter().find(|o| o["bulkId"] == bulk_id).unwrap()["location"].as_str().unwrap().to_owned()
        };
        for o in ops {
            assert_eq!(o["method"], "POST");
            assert_eq!(o["version"], "W/\"1\"");
        }
        let group_location = location("g");
        assert!(group_location.starts_with(&format!("{}/scim/v2/Groups/", s.base)), "{group_location}");
        let g = s.scim(Method::GET, V2, &format!("/Groups/{}", id_of(&group_location)), None).await;
        let mut members: Vec<String> =
            g.body["members"].as_array().unwrap().iter().map(|m| m["value"].as_str().unwrap().to_owned()).collect();
        members.sort();
        let mut expected: Vec<String> = ["u1", "u2", "u3"].iter().map(|b| id_of(&location(b))).collect();
        expected.sort();
        assert_eq!(members, expected, "group first: {group_first}");
        let u = s.scim(Method::GET, V2, &format!("/Users/{}", id_of(&location("u1"))), None).await;
        assert_eq!(u.body["groups"][0]["value"], id_of(&group_location));
        assert_eq!(u.body["groups"][0]["display"], "Team");
    }
}

#[tokio::test]
async fn references_in_paths_and_manager_values_resolve_forward() {
    let s = TestServer::start().await;
    let mut emp = user("emp");
    emp[ENTERPRISE] = json!({"manager": {"value": "bulkId:boss"}});
    emp["schemas"] = json!([USER, ENTERPRISE]);
    let ops = json!([
        {"method": "PATCH", "path": "/Groups/bulkId:g", "data": {"schemas": [PATCH], "Operations": [
            {"op": "add", "path": "members", "value": [{"value": "bulkId:boss"}]}]}},
        {"method": "POST", "path": "/Users", "bulkId": "emp", "data": emp},
        post_group("g", "Managers", &[]),
        post_user("boss", "boss"),
    ]);
    let r = s.scim(Method::POST, V2, "/Bulk", Some(bulk(ops))).await;
    assert_eq!(statuses(&r), vec!["200", "201", "201", "201"], "{}", r.body);
    let ops = r.body["Operations"].as_array().unwrap();
    let boss = id_of(ops[3]["location"].as_str().unwrap());
    assert_eq!(ops[0]["version"], "W/\"2\"", "the PATCH ran after the group's POST");
    let emp = s.scim(Method::GET, V2, &format!("/Users/{}", id_of(ops[1]["location"].as_str().unwrap())), None).await;
    assert_eq!(emp.body[ENTERPRISE]["manager"]["value"], boss.as_str());
    let g = s.scim(Method::GET, V2, &format!("/Groups/{}", id_of(ops[2]["location"].as_str().unwrap())), None).await;
    assert_eq!(g.body["members"], json!([{"value": boss}]));
}

#[tokio::test]
async fn a_circular_reference_yields_409_for_those_operations_only() {
    let s = TestServer::start().await;
    let ops = json!([
        post_user("u1", "ann"),
        post_group("g1", "One", &["bulkId:g2"]),
        post_group("g2", "Two", &["bulkId:g1"]),
        post_group("self", "Self", &["bulkId:self"]),
        post_user("u2", "bob"),
    ]);
    let r = s.scim(Method::POST, V2, "/Bulk", Some(bulk(ops))).await;
    assert_eq!(r.status, 200);
    assert_eq!(statuses(&r), vec!["201", "409", "409", "409", "201"], "{}", r.body);
    let ops = r.body["Operations"].as_array().unwrap();
    for o in &ops[1..4] {
        assert!(o.get("location").is_none());
        assert_eq!(o["response"]["schemas"], json!([ERROR]));
        assert_eq!(o["response"]["status"], "409");
        assert!(o["response"]["detail"].as_str().unwrap().contains("Circular"), "{o}");
    }
    let groups = s.scim(Method::GET, V2, "/Groups", None).await;
    assert_eq!(groups.body["totalResults"], 0);
    let users = s.scim(Method::GET, V2, "/Users", None).await;
    assert_eq!(users.body["totalResults"], 2);
}

#[tokio::test]
async fn fail_on_errors_1_stops_at_the_first_error() {
    let s = TestServer::start().await;
    let ops = json!([post_user("a", "ann"), post_user("b", "ANN"), post_user("c", "cid"), post_user("d", "dan")]);
    let mut request = bulk(ops.clone());
    request["failOnErrors"] = json!(1);
    let r = s.scim(Method::POST, V2, "/Bulk", Some(request)).await;
    assert_eq!(r.status, 200);
    assert_eq!(statuses(&r), vec!["201", "409"], "{}", r.body);
    let failed = &r.body["Operations"][1];
    assert_eq!(failed["bulkId"], "b");
    assert_eq!(failed["response"]["scimType"], "uniqueness");
    let users = s.scim(Method::GET, V2, "/Users?filter=userName%20eq%20%22cid%22", None).await;
    assert_eq!(users.body["totalResults"], 0, "operations after the stop are not executed");
    // Without failOnErrors every operation runs.
    s.reset().await;
    let r = s.scim(Method::POST, V2, "/Bulk", Some(bulk(ops))).await;
    assert_eq!(statuses(&r), vec!["201", "409", "201", "201"]);
}

#[tokio::test]
async fn idcs_bulk_answers_201_and_rfc_bulk_200_with_the_same_body_otherwise() {
    let s = TestServer::start().await;
    let ops = json!([
        post_user("u1", "ann"),
        post_group("g", "Team", &["bulkId:u1"]),
        post_user("dup", "Ann"),
        {"method": "DELETE", "path": "/Users/bulkId:u1"},
    ]);
    let mut bodies = Vec::new();
    for (prefix, status) in [(V2, 200), (IDCS, 201)] {
        s.reset().await;
        let r = s.scim(Method::POST, prefix, "/Bulk", Some(bulk(ops.clone()))).await;
        assert_eq!(r.status, status, "{prefix}: {}", r.body);
        assert_eq!(r.header("content-type"), "application/scim+json");
        // Locations differ by prefix and id only.
        let text = r.body.to_string().replace(&format!("{}{prefix}", s.base), "BASE");
        let mut normalised: Value = serde_json::from_str(&text).unwrap();
        for o in normalised["Operations"].as_array_mut().unwrap() {
            if let Some(l) = o["location"].as_str() {
                o["location"] = json!(l.rsplit_once('/').unwrap().0);
            }
        }
        bodies.push(normalised);
    }
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(
        bodies[0]["Operations"].as_array().unwrap().iter().map(|o| o["status"].clone()).collect::<Vec<_>>(),
        vec![json!("201"), json!("201"), json!("409"), json!("204")]
    );
    assert_eq!(bodies[0]["Operations"][3]["location"], "BASE/Users");
}

#[tokio::test]
async fn each_operation_reports_its_own_error() {
    let s = TestServer::start().await;
    let created = s.scim(Method::POST, V2, "/Users", Some(user("kept"))).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let other = s.scim(Method::POST, V2, "/Users", Some(user("other"))).await;
    let other = other.body["id"].as_str().unwrap().to_owned();
    let bad_user = json!({"schemas": [USER], "userName": "x", "active": "maybe"});
    let bad_referrer = json!({"schemas": [USER], "userName": "bulkId:nowhere2", "active": "maybe"});
    let ops = json!([
        {"method": "POST", "path": "/Users", "data": user("nobulkid")},
        {"method": "GET", "path": "/Users"},
        {"method": "PUT", "path": "/Users/missing", "data": user("x")},
        {"method": "PATCH", "path": format!("/Users/{id}"), "version": "W/\"9\"",
         "data": {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title", "value": "x"}]}},
        {"method": "POST", "path": "/Groups", "bulkId": "g", "data": group("G", &["bulkId:nowhere"])},
        {"method": "POST", "path": "/Things", "bulkId": "t", "data": {}},
        {"method": "PUT", "path": format!("/Users/{id}")},
        {"method": "POST", "path": "/Users", "bulkId": "bad", "data": {"schemas": [USER], "userName": 7}},
        {"method": "PATCH", "path": format!("/Users/{id}"), "version": "W/\"1\"",
         "data": {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title", "value": "Boss"}]}},
        {"method": "DELETE", "path": format!("/Users/{id}")},
        {"method": "DELETE", "path": format!("/Users/{id}")},
        // A bad resource is answered only after what a single request checks first: the bulkId it names, the
        // resource's existence, its version.
        {"method": "POST", "path": "/Users", "bulkId": "both", "data": bad_referrer},
        {"method": "PUT", "path": "/Users/missing", "data": bad_user},
        {"method": "PUT", "path": format!("/Users/{other}"), "version": "W/\"5\"", "data": bad_user},
        {"method": "PUT", "path": format!("/Users/{other}"), "data": bad_user},
    ]);
    let r = s.scim(Method::POST, V2, "/Bulk", Some(bulk(ops))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let expected: [(&str, Option<&str>, &str); 15] = [
        ("400", Some("invalidSyntax"), "needs a bulkId"),
        ("400", Some("invalidSyntax"), "method must be"),
        ("404", None, "not found"),
        ("412", None, "W/\"1\""),
        ("400", Some("invalidValue"), "'nowhere' is not defined"),
        ("400", Some("invalidPath"), "names no resource"),
        ("400", Some("invalidSyntax"), "needs 'data'"),
        ("400", Some("invalidValue"), "userName"),
        ("200", None, ""),
        ("204", None, ""),
        ("404", None, "not found"),
        ("400", Some("invalidValue"), "'nowhere2' is not defined"),
        ("404", None, "not found"),
        ("412", None, "W/\"1\""),
        ("400", Some("invalidValue"), "'active' must be a boolean"),
    ];
    let ops = r.body["Operations"].as_array().unwrap();
    assert_eq!(ops.len(), expected.len());
    for (i, (o, (status, scim_type, detail))) in ops.iter().zip(expected).enumerate() {
        assert_eq!(o["status"], status, "operation {i}: {o}");
        if status.starts_with('2') {
            assert!(o.get("response").is_none(), "{o}");
            assert_eq!(o["location"], format!("{}/scim/v2/Users/{id}", s.base), "{o}");
            continue;
        }
        let e = &o["response"];
        assert_eq!((e["schemas"].clone(), e["status"].clone()), (json!([ERROR]), json!(status)), "{o}");
        assert_eq!(e.get("scimType").and_then(Value::as_str), scim_type, "operation {i}: {o}");
        assert!(e["detail"].as_str().unwrap().contains(detail), "operation {i}: {o}");
    }
    assert_eq!(ops[8]["version"], "W/\"2\"");
}

#[tokio::test]
async fn limits_and_malformed_requests_are_refused_as_a_whole() {
    let s = TestServer::with_config(|c| {
        c.scim.max_operations = 2;
        c.scim.max_payload_bytes = 2_000;
    })
    .await;
    let three = bulk(json!([post_user("a", "a"), post_user("b", "b"), post_user("c", "c")]));
    let r = s.scim(Method::POST, V2, "/Bulk", Some(three)).await;
    assert_scim_error(&r, 413, None, "maxOperations is 2");
    let spc = s.scim(Method::GET, V2, "/ServiceProviderConfig", None).await;
    assert_eq!(spc.body["bulk"], json!({"supported": true, "maxOperations": 2, "maxPayloadSize": 2000}));

    let mut big = user("big");
    big["title"] = json!("x".repeat(3_000));
    let r = s
        .scim(
            Method::POST,
            V2,
            "/Bulk",
            Some(bulk(json!([{"method": "POST", "path": "/Users", "bulkId": "b", "data": big}]))),
        )
        .await;
    assert_scim_error(&r, 413, None, "maxPayloadSize (2000 bytes)");
    // Without a Content-Length, the limit holds while the body streams in.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..10).map(|_| Ok(vec![b' '; 500])).collect();
    let streamed = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let r = s.scim_raw(Method::POST, V2, "/Bulk", streamed).await;
    assert_scim_error(&r, 413, None, "maxPayloadSize");

    for (body, scim_type, detail) in [
        (json!({"Operations": []}), "invalidSyntax", "BulkRequest"),
        (json!({"schemas": [BULK]}), "invalidSyntax", "'Operations' must be an array"),
        (json!({"schemas": [BULK], "failOnErrors": 0, "Operations": []}), "invalidValue", "failOnErrors"),
        (json!([1]), "invalidSyntax", "BulkRequest object"),
    ] {
        let r = s.scim(Method::POST, IDCS, "/Bulk", Some(body)).await;
        assert_scim_error(&r, 400, Some(scim_type), detail);
    }
    let r = s.http.post(format!("{}{V2}/Bulk", s.base)).bearer_auth(s.token()).body("{nope").send().await.unwrap();
    assert_scim_error(&read(r).await, 400, Some("invalidSyntax"), "not valid JSON");
    let r = s.scim(Method::GET, V2, "/Bulk", None).await;
    assert_scim_error(&r, 405, None, "allows POST");
    assert_eq!(r.header("allow"), "POST");
}
