//! `/Users` and `/Groups` of the SCIM service provider (docs/fidelity.md#s1-scim-20-service-provider,
//! docs/fidelity.md#s2-queries): the resource life cycle, uniqueness, ETags, PATCH shapes, memberships,
//! queries, persistence, reset and every error a client can cause.

use reqwest::Method;
use serde_json::{Value, json};

use crate::scim_support::*;
use crate::support::TestServer;

#[tokio::test]
async fn a_user_is_created_read_replaced_patched_and_deleted() {
    let s = TestServer::start().await;
    let mut body = user("bjensen");
    body["schemas"] = json!([USER, ENTERPRISE]);
    body[ENTERPRISE] = json!({"department": "Tours"});
    body["externalId"] = json!("E1");
    body["password"] = json!("secret");
    let r = s.scim(Method::POST, V2, "/Users", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("content-type"), "application/scim+json");
    let id = r.body["id"].as_str().unwrap().to_owned();
    let location = format!("{}/scim/v2/Users/{id}", s.base);
    assert_eq!(r.header("location"), location);
    assert_eq!(r.header("etag"), "W/\"1\"");
    assert_eq!(
        r.body["meta"],
        json!({"resourceType": "User", "created": "2025-01-15T10:00:00Z", "lastModified": "2025-01-15T10:00:00Z",
               "location": location, "version": "W/\"1\""})
    );
    assert_eq!(r.body["schemas"], json!([USER, ENTERPRISE]));
    assert!(r.body.get("password").is_none(), "the password is never returned");

    let got = s.scim(Method::GET, V2, &format!("/Users/{id}"), None).await;
    assert_eq!((got.status, got.body.clone()), (200, r.body.clone()));
    let idcs = s.scim(Method::GET, IDCS, &format!("/Users/{id}"), None).await;
    assert_eq!(idcs.body["meta"]["location"], format!("{}/admin/v1/Users/{id}", s.base), "one store, two dialects");

    s.clock.advance(time::Duration::minutes(5));
    let mut replacement = user("bjensen");
    replacement["title"] = json!("Guide");
    let put = s.scim(Method::PUT, V2, &format!("/Users/{id}"), Some(replacement)).await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.body["title"], "Guide");
    assert!(put.body.get(ENTERPRISE).is_none() && put.body.get("externalId").is_none(), "PUT replaces everything");
    assert_eq!(
        (put.body["meta"]["version"].as_str(), put.body["meta"]["lastModified"].as_str()),
        (Some("W/\"2\""), Some("2025-01-15T10:05:00Z"))
    );
    assert_eq!(put.body["meta"]["created"], "2025-01-15T10:00:00Z");

    let patch = json!({"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
    let p = s.scim(Method::PATCH, V2, &format!("/Users/{id}"), Some(patch.clone())).await;
    assert_eq!((p.status, p.body["active"].clone(), p.header("etag")), (200, json!(false), "W/\"3\""));
    let same = s.scim(Method::PATCH, V2, &format!("/Users/{id}"), Some(patch)).await;
    assert_eq!(same.header("etag"), "W/\"3\"", "a PATCH that changes nothing keeps the version");

    let d = s.scim(Method::DELETE, V2, &format!("/Users/{id}"), None).await;
    assert_eq!((d.status, d.body.clone()), (204, Value::Null));
    let gone = s.scim(Method::GET, V2, &format!("/Users/{id}"), None).await;
    assert_scim_error(&gone, 404, None, &format!("/Users/{id} not found"));
    let again = s.scim(Method::DELETE, V2, &format!("/Users/{id}"), None).await;
    assert_scim_error(&again, 404, None, "not found");
}

#[tokio::test]
async fn user_name_is_unique_case_insensitively() {
    let s = TestServer::start().await;
    let first = s.scim(Method::POST, V2, "/Users", Some(user("Ann"))).await;
    assert_eq!(first.status, 201);
    let r = s.scim(Method::POST, IDCS, "/Users", Some(user("aNN"))).await;
    assert_scim_error(&r, 409, Some("uniqueness"), "'aNN' is already in use");
    let other = s.scim(Method::POST, V2, "/Users", Some(user("bob"))).await;
    let r = s.scim(Method::PUT, V2, &format!("/Users/{}", other.body["id"].as_str().unwrap()), Some(user("ANN"))).await;
    assert_scim_error(&r, 409, Some("uniqueness"), "already in use");
    let patch = json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "userName", "value": "ann"}]});
    let r = s.scim(Method::PATCH, V2, &format!("/Users/{}", other.body["id"].as_str().unwrap()), Some(patch)).await;
    assert_scim_error(&r, 409, Some("uniqueness"), "already in use");
    let own = json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "userName", "value": "ANN"}]});
    let r = s.scim(Method::PATCH, V2, &format!("/Users/{}", first.body["id"].as_str().unwrap()), Some(own)).await;
    assert_eq!(
        (r.status, r.body["userName"].clone()),
        (200, json!("ANN")),
        "a user may change its own userName's case"
    );
}

#[tokio::test]
async fn etags_guard_writes_and_reads() {
    let s = TestServer::start().await;
    let id = s.scim(Method::POST, V2, "/Users", Some(user("ann"))).await.body["id"].as_str().unwrap().to_owned();
    let url = format!("{}{V2}/Users/{id}", s.base);
    let send = |method: Method, if_match: &str, body: Option<Value>| {
        let mut r = s.http.request(method, &url).bearer_auth(s.token()).header("if-match", if_match);
        if let Some(b) = body {
            r = r.header("content-type", "application/scim+json").body(b.to_string());
        }
        async move { read(r.send().await.unwrap()).await }
    };
    let patch = json!({"schemas": [PATCH], "Operations": [{"op": "add", "path": "title", "value": "x"}]});
    for (method, body) in
        [(Method::PUT, Some(user("ann"))), (Method::PATCH, Some(patch.clone())), (Method::DELETE, None)]
    {
        let r = send(method.clone(), "W/\"7\"", body).await;
        assert_scim_error(&r, 412, None, "its version is now W/\"1\"");
    }
    // A PUT's body is checked only after the resource and its version, as before the body was read early.
    let bad = json!({"schemas": [USER], "userName": "ann", "active": "maybe"});
    let r = send(Method::PUT, "W/\"7\"", Some(bad.clone())).await;
    assert_scim_error(&r, 412, None, "its version is now W/\"1\"");
    let r = s.scim(Method::PUT, V2, "/Users/missing", Some(bad.clone())).await;
    assert_scim_error(&r, 404, None, "missing");
    let r = send(Method::PUT, "W/\"1\"", Some(bad)).await;
    assert_scim_error(&r, 400, Some("invalidValue"), "'active' must be a boolean");
    let r = send(Method::PATCH, "W/\"1\"", Some(patch)).await;
    assert_eq!((r.status, r.header("etag")), (200, "W/\"2\""));
    let r =
        read(s.http.get(&url).bearer_auth(s.token()).header("if-none-match", "W/\"2\"").send().await.unwrap()).await;
    assert_eq!((r.status, r.header("etag"), r.body.clone()), (304, "W/\"2\"", Value::Null));
    let r =
        read(s.http.get(&url).bearer_auth(s.token()).header("if-none-match", "W/\"1\"").send().await.unwrap()).await;
    assert_eq!(r.status, 200);
    let r = send(Method::DELETE, "*", None).await;
    assert_eq!(r.status, 204);
}

#[tokio::test]
async fn entra_patch_shapes_and_group_memberships() {
    let s = TestServer::start().await;
    let a = s.scim(Method::POST, V2, "/Users", Some(user("a"))).await.body["id"].as_str().unwrap().to_owned();
    let b = s.scim(Method::POST, V2, "/Users", Some(user("b"))).await.body["id"].as_str().unwrap().to_owned();
    let g = s.scim(Method::POST, V2, "/Groups", Some(group("Team", &[&a]))).await;
    assert_eq!(g.status, 201, "{}", g.body);
    let gid = g.body["id"].as_str().unwrap().to_owned();
    let ops = json!({"schemas": [PATCH], "Operations": [
        {"op": "Add", "path": "members", "value": [{"value": b}]},
        {"op": "Remove", "path": format!("members[value eq \"{a}\"]")},
        {"op": "Replace", "value": {"displayName": "Team B"}},
    ]});
    let r = s.scim(Method::PATCH, V2, &format!("/Groups/{gid}"), Some(ops)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!((r.body["displayName"].clone(), r.body["members"].clone()), (json!("Team B"), json!([{"value": b}])));
    let ub = s.scim(Method::GET, V2, &format!("/Users/{b}"), None).await;
    assert_eq!(
        ub.body["groups"],
        json!([{"value": gid, "$ref": format!("{}/scim/v2/Groups/{gid}", s.base), "display": "Team B", "type": "direct"}])
    );
    let ua = s.scim(Method::GET, V2, &format!("/Users/{a}"), None).await;
    assert!(ua.body.get("groups").is_none());

    let entra = json!({"schemas": [PATCH], "Operations": [
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "b@contoso.com"},
        {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": {"value": a}},
        {"op": "Add", "value": {"name.givenName": "Bea", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "R&D"}},
    ]});
    let r = s.scim(Method::PATCH, V2, &format!("/Users/{b}"), Some(entra)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["active"], false);
    assert_eq!(r.body["emails"], json!([{"type": "work", "value": "b@contoso.com"}]));
    assert_eq!(r.body["name"], json!({"givenName": "Bea"}));
    assert_eq!(r.body[ENTERPRISE], json!({"manager": {"value": a}, "department": "R&D"}));

    // Deleting a member takes it out of its groups (and the group's version moves).
    assert_eq!(s.scim(Method::DELETE, V2, &format!("/Users/{b}"), None).await.status, 204);
    let g = s.scim(Method::GET, V2, &format!("/Groups/{gid}"), None).await;
    assert!(g.body.get("members").is_none(), "{}", g.body);
    assert_eq!(g.body["meta"]["version"], "W/\"3\"");
}

/// A PATCH body reads members sharing a name as every other SCIM body does: case-insensitively, the last
/// repeat counting — at the top (`Operations`/`operations`) and within an operation (`value`/`VALUE`).
#[tokio::test]
async fn a_patch_body_with_repeated_member_names_takes_the_last() {
    let s = TestServer::start().await;
    let id = s.scim(Method::POST, V2, "/Users", Some(user("ann"))).await.body["id"].as_str().unwrap().to_owned();
    let body = format!(
        r#"{{"schemas":["{PATCH}"],
            "Operations":[{{"op":"replace","path":"title","value":"first"}}],
            "operations":[{{"op":"replace","path":"title","value":"second","VALUE":"last"}}]}}"#
    );
    let r = s.scim_raw(Method::PATCH, V2, &format!("/Users/{id}"), body).await;
    assert_eq!((r.status, r.body["title"].clone()), (200, json!("last")), "{}", r.body);
}

#[tokio::test]
async fn queries_filter_sort_page_select_and_search() {
    let s = TestServer::with_config(|c| c.scim.max_results = 3).await;
    for (name, title, email) in
        [("carol", "Eng", "c@x.org"), ("Alice", "Ops", "a@y.org"), ("bob", "Eng", "b@x.org"), ("dan", "", "d@x.org")]
    {
        let mut u = user(name);
        if !title.is_empty() {
            u["title"] = json!(title);
        }
        u["emails"] = json!([{"type": "work", "value": email}]);
        assert_eq!(s.scim(Method::POST, V2, "/Users", Some(u)).await.status, 201);
    }
    let names = |r: &Reply| -> Vec<String> {
        r.body["Resources"].as_array().unwrap().iter().map(|u| u["userName"].as_str().unwrap().to_owned()).collect()
    };
    let q = |query: &str| {
        let path = format!("/Users?{query}");
        let s = &s;
        async move { s.scim(Method::GET, V2, &path, None).await }
    };
    let r = q("filter=emails%5Btype%20eq%20%22work%22%20and%20value%20co%20%22%40x%22%5D&sortBy=userName").await;
    assert_eq!(r.body["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"]));
    assert_eq!(
        (names(&r), r.body["totalResults"].clone()),
        (vec!["bob".to_owned(), "carol".into(), "dan".into()], json!(3))
    );
    let r = q("filter=not%20(title%20eq%20%22eng%22)%20and%20(userName%20sw%20%22a%22%20or%20title%20pr)").await;
    assert_eq!(names(&r), vec!["Alice"]);
    let r = q("filter=userName%20eq%20%22BOB%22").await;
    assert_eq!(names(&r), vec!["bob"]);
    let r = q("sortBy=title&sortOrder=descending&count=10").await;
    assert_eq!(
        (names(&r), r.body["itemsPerPage"].clone()),
        (vec!["Alice".to_owned(), "carol".into(), "bob".into()], json!(3)),
        "count is capped by maxResults, missing titles last"
    );
    let r = q("sortBy=userName&startIndex=3&count=2").await;
    assert_eq!(
        (names(&r), r.body["startIndex"].clone(), r.body["totalResults"].clone()),
        (vec!["carol".to_owned(), "dan".into()], json!(3), json!(4))
    );
    let r = q("attributes=userName&filter=userName%20eq%20%22dan%22").await;
    let only = r.body["Resources"][0].as_object().unwrap();
    assert_eq!(only.keys().collect::<Vec<_>>(), vec!["schemas", "id", "userName"]);
    let r = q("excludedAttributes=emails,meta&filter=userName%20eq%20%22dan%22").await;
    assert!(r.body["Resources"][0].get("emails").is_none() && r.body["Resources"][0].get("meta").is_none());

    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "title eq \"Eng\"",
        "sortBy": "userName", "attributes": ["userName", "title"], "count": 1});
    let r = s.scim(Method::POST, IDCS, "/Users/.search", Some(search)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!((names(&r), r.body["totalResults"].clone()), (vec!["bob".to_owned()], json!(2)));

    for (query, scim_type, detail) in [
        ("filter=userName%20eq", "invalidFilter", "is invalid"),
        ("filter=shoeSize%20gt%205", "invalidFilter", "'shoeSize'"),
        ("filter=active%20gt%20true", "invalidFilter", "boolean"),
        ("sortBy=shoeSize", "invalidPath", "sortBy"),
        ("sortOrder=sideways", "invalidValue", "sortOrder"),
        ("count=ten", "invalidValue", "'count'"),
        ("attributes=userName&excludedAttributes=title", "invalidSyntax", "together"),
        ("attributes=shoeSize", "invalidPath", "'shoeSize'"),
    ] {
        assert_scim_error(&q(query).await, 400, Some(scim_type), detail);
    }
    let r = s.scim(Method::POST, V2, "/Users/.search", Some(json!({"filter": "userName pr"}))).await;
    assert_scim_error(&r, 400, Some("invalidSyntax"), "SearchRequest");

    // At the root, one search spans Users and Groups; a name one type lacks just does not match it.
    assert_eq!(s.scim(Method::POST, V2, "/Groups", Some(group("Eng", &[]))).await.status, 201);
    let root = |body: Value| {
        let s = &s;
        async move { s.scim(Method::POST, V2, "/.search", Some(body)).await }
    };
    let search = |extra: Value| {
        let mut b = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]});
        b.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        b
    };
    let r = root(search(json!({"attributes": ["userName", "displayName"], "startIndex": 4}))).await;
    assert_eq!(r.body["totalResults"], 5, "{}", r.body);
    let types: Vec<&str> = r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| if x.get("userName").is_some() { "U" } else { "G" })
        .collect();
    assert_eq!(types, vec!["U", "G"]);
    assert_eq!(
        r.body["Resources"][1].as_object().unwrap().keys().collect::<Vec<_>>(),
        vec!["schemas", "id", "displayName"]
    );
    let r = root(search(json!({"filter": "displayName eq \"Eng\""}))).await;
    assert_eq!(r.body["totalResults"], 1);
    assert_scim_error(&root(search(json!({"filter": "shoeSize pr"}))).await, 400, Some("invalidFilter"), "shoeSize");
    assert_scim_error(&root(search(json!({"attributes": ["shoeSize"]}))).await, 400, Some("invalidPath"), "shoeSize");
}

#[tokio::test]
async fn writes_that_break_the_schema_are_refused_naming_the_problem() {
    let s = TestServer::start().await;
    let cases = [
        (json!({"userName": "x"}), Some("invalidSyntax"), "'schemas' is required"),
        (json!({"schemas": [GROUP], "userName": "x"}), Some("invalidValue"), "is not served for User resources"),
        (json!({"schemas": [ENTERPRISE], "userName": "x"}), Some("invalidValue"), "must contain"),
        (json!({"schemas": [USER, "urn:example:other"], "userName": "x"}), Some("invalidValue"), "'urn:example:other'"),
        (json!({"schemas": [USER], "displayName": "x"}), Some("invalidValue"), "'userName' is required"),
        (json!({"schemas": [USER], "userName": "x", "shoeSize": 9}), Some("invalidSyntax"), "'shoeSize'"),
        (json!({"schemas": [USER], "userName": "x", "active": "perhaps"}), Some("invalidValue"), "boolean"),
        (json!({"schemas": [USER], "userName": "x", "name": "Ann"}), Some("invalidValue"), "an object"),
        (
            json!({"schemas": [USER], "userName": "x", "emails": [{"value": "a", "primary": true}, {"value": "b", "primary": true}]}),
            Some("invalidValue"),
            "primary",
        ),
        (json!(["not", "an", "object"]), Some("invalidSyntax"), "JSON object"),
    ];
    for (body, scim_type, detail) in cases {
        let r = s.scim(Method::POST, V2, "/Users", Some(body.clone())).await;
        assert_scim_error(&r, 400, scim_type, detail);
    }
    let r = s.scim(Method::POST, V2, "/Groups", Some(group("G", &["no-such-user"]))).await;
    assert_scim_error(&r, 400, Some("invalidValue"), "'no-such-user'");
    let r = s.scim(Method::POST, V2, "/Groups", Some(json!({"schemas": [GROUP]}))).await;
    assert_scim_error(&r, 400, Some("invalidValue"), "'displayName' is required");

    let id = s.scim(Method::POST, V2, "/Users", Some(user("ann"))).await.body["id"].as_str().unwrap().to_owned();
    for (ops, scim_type, detail) in [
        (json!([{"op": "remove"}]), "noTarget", "needs a 'path'"),
        (
            json!([{"op": "replace", "path": "emails[type eq \"home\"].value", "value": "x"}]),
            "noTarget",
            "No value matches",
        ),
        (json!([{"op": "add", "path": "shoeSize", "value": 1}]), "invalidPath", "shoeSize"),
        (json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}]), "mutability", "read-only"),
        (json!([{"op": "frobnicate", "path": "title", "value": "x"}]), "invalidSyntax", "op must be"),
        (json!([{"op": "remove", "path": "userName"}]), "invalidValue", "'userName' is required"),
        (json!([]), "invalidSyntax", "non-empty"),
    ] {
        let r = s
            .scim(Method::PATCH, V2, &format!("/Users/{id}"), Some(json!({"schemas": [PATCH], "Operations": ops})))
            .await;
        assert_scim_error(&r, 400, Some(scim_type), detail);
    }
    let r = s
        .scim(Method::PATCH, V2, &format!("/Users/{id}"), Some(json!({"Operations": [{"op": "add", "value": {}}]})))
        .await;
    assert_scim_error(&r, 400, Some("invalidSyntax"), "PatchOp");
}

#[tokio::test]
async fn transport_errors_are_scim_errors() {
    let s = TestServer::with_config(|c| c.scim.max_payload_bytes = 1_000).await;
    let url = format!("{}{V2}/Users", s.base);
    let r = s
        .http
        .post(&url)
        .bearer_auth(s.token())
        .header("content-type", "text/plain")
        .body(user("a").to_string())
        .send()
        .await
        .unwrap();
    assert_scim_error(&read(r).await, 415, None, "'text/plain'");
    let r = s
        .http
        .post(&url)
        .bearer_auth(s.token())
        .header("content-type", "application/json")
        .body(user("a").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "application/json is accepted too");
    let r = s
        .http
        .post(&url)
        .bearer_auth(s.token())
        .header("content-type", "application/scim+json")
        .body("{\"userName\":")
        .send()
        .await
        .unwrap();
    assert_scim_error(&read(r).await, 400, Some("invalidSyntax"), "not valid JSON");
    let r = s
        .http
        .post(&url)
        .bearer_auth(s.token())
        .header("content-type", "application/scim+json")
        .body(b"{\"userName\":\n\"b\xffd\"}".to_vec())
        .send()
        .await
        .unwrap();
    assert_scim_error(&read(r).await, 400, Some("invalidSyntax"), "not valid UTF-8 (line 2, column 3)");
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    let r = s.http.post(&url).bearer_auth(s.token()).body(deep).send().await.unwrap();
    assert_scim_error(&read(r).await, 400, Some("invalidSyntax"), "recursion limit");
    let mut big = user("b");
    big["title"] = json!("x".repeat(2_000));
    let r = s.scim(Method::POST, V2, "/Users", Some(big)).await;
    assert_scim_error(&r, 413, None, "maxPayloadSize (1000 bytes)");

    for path in ["/Nope", "/Users/x/y", "/Things/1"] {
        assert_scim_error(&s.scim(Method::GET, V2, path, None).await, 404, None, "No SCIM endpoint");
    }
    assert_scim_error(
        &s.scim(Method::GET, IDCS, "/Groups/missing", None).await,
        404,
        None,
        "/Groups/missing not found",
    );
    let r = s.scim(Method::DELETE, V2, "/Users", None).await;
    assert_scim_error(&r, 405, None, "allows GET, POST");
    assert_eq!(r.header("allow"), "GET, POST");
    let r = s.scim(Method::POST, V2, "/Users/some-id", Some(user("z"))).await;
    assert_scim_error(&r, 405, None, "GET, PUT, PATCH, DELETE");
}

#[tokio::test]
async fn resources_persist_with_a_data_dir_and_reset_empties_them() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().display().to_string();
    let id = {
        let s = TestServer::with_config(|c| c.storage.data_dir = data_dir.clone()).await;
        let r = s.scim(Method::POST, V2, "/Users", Some(user("kept"))).await;
        let id = r.body["id"].as_str().unwrap().to_owned();
        let g = s.scim(Method::POST, V2, "/Groups", Some(group("G", &[&id]))).await;
        assert_eq!(g.status, 201);
        id
    };
    let s = TestServer::with_config(|c| c.storage.data_dir = data_dir.clone()).await;
    let r = s.scim(Method::GET, V2, &format!("/Users/{id}"), None).await;
    assert_eq!((r.status, r.body["userName"].clone()), (200, json!("kept")));
    assert_eq!(r.body["groups"][0]["display"], "G");
    s.reset().await;
    assert_eq!(s.scim(Method::GET, V2, "/Users", None).await.body["totalResults"], 0);
    assert_eq!(s.scim(Method::GET, V2, "/Groups", None).await.body["totalResults"], 0);
    assert_eq!(s.scim(Method::POST, V2, "/Users", Some(user("kept"))).await.status, 201, "the userName is free again");
}
