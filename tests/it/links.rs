//! Links in responses follow the listener the request came in on (docs/fidelity.md#emulator-surfaces, row E.14):
//! the bulkUpload `Location`, `@odata.nextLink`, `@odata.context`, the 401 challenge, the discovery documents, and
//! the SCIM service provider's `Location`, `meta.location` and discovery URLs start with the listener's configured
//! public base URL, else its scheme and the host the client used, else the listener's own address. Every test
//! reaches both listeners by address and by a host name (`entra`, as a compose service is reached), and follows
//! the links it gets with the client that got them.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;

use entra_inbound::clock::ManualClock;
use entra_inbound::config::Config;
use reqwest::{Client, Version};
use serde_json::{Value, json};
use time::macros::datetime;

use crate::identity::{CLIENT, GRAPH_DEFAULT, SECRET, cert_client, client_assertion, token_url};
use crate::scim_support::{GROUP as SCIM_GROUP, USER as SCIM_USER};
use crate::support::*;

/// One way to reach the emulator: a client and the base URL it uses.
struct Reach {
    name: &'static str,
    client: Client,
    base: String,
}

/// Both listeners, each reached by address and as `entra`, and a token of the default client.
struct Fixture {
    server: TlsTestServer,
    reaches: Vec<Reach>,
    token: String,
}

impl Fixture {
    async fn start() -> Self {
        Self::with_config(|_| {}).await
    }

    async fn with_config(change: impl FnOnce(&mut Config)) -> Self {
        let clock = Arc::new(ManualClock::new(datetime!(2025-01-15 10:00 UTC)));
        let server = TlsTestServer::start(clock, |c| {
            c.tls.extra_names = vec!["entra".into()];
            change(c);
        })
        .await;
        // `resolve` ignores the port: the URL's port is used.
        let as_entra = |b: reqwest::ClientBuilder| b.resolve("entra", SocketAddr::from(([127, 0, 0, 1], 0)));
        let reaches = vec![
            Reach {
                name: "https as entra (HTTP/2: the authority is in the request target, there is no Host)",
                client: as_entra(Client::builder().tls_certs_only([ca(&server)])).build().unwrap(),
                base: format!("https://entra:{}", server.https_addr.port()),
            },
            Reach {
                name: "https by address (HTTP/1.1: the authority is the Host header)",
                client: Client::builder().tls_certs_only([ca(&server)]).http1_only().build().unwrap(),
                base: format!("https://{}", server.https_addr),
            },
            Reach { name: "http by address", client: Client::new(), base: format!("http://{}", server.http_addr) },
            Reach {
                name: "http as entra",
                client: as_entra(Client::builder()).build().unwrap(),
                base: format!("http://entra:{}", server.http_addr.port()),
            },
        ];
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("client_secret", SECRET),
            ("scope", GRAPH_DEFAULT),
        ];
        let r = Client::new().post(token_url(&format!("http://{}", server.http_addr), TENANT)).form(&form).send().await;
        let body: Value = r.unwrap().json().await.unwrap();
        let token = body["access_token"].as_str().unwrap().to_owned();
        Self { server, reaches, token }
    }

    /// With two users processed: E1, and E2 whose manager is E1 (two log entries).
    async fn with_two_users() -> Self {
        let f = Self::start().await;
        let users = [scim_user("E1", "e1@contoso.com", None), scim_user("E2", "e2@contoso.com", Some("E1"))];
        let reach = &f.reaches[2];
        assert_eq!(f.upload(reach, "v1.0", bulk_of(&users)).await.status(), 202);
        f.drain(reach).await;
        f
    }

    async fn upload(&self, reach: &Reach, version: &str, body: String) -> reqwest::Response {
        let url = format!("{}/{version}/servicePrincipals/{SP}/synchronization/jobs/{JOB}/bulkUpload", reach.base);
        let request = reach.client.post(url).bearer_auth(&self.token).header("content-type", SCIM).body(body);
        request.send().await.unwrap()
    }

    async fn drain(&self, reach: &Reach) {
        let url = format!("{}/_emulator/jobs/{JOB}/drain?timeout=10", reach.base);
        assert_eq!(reach.client.post(url).send().await.unwrap().status(), 200, "drain");
    }

    /// GET `url` with the token: 200 and its JSON body.
    async fn get(&self, reach: &Reach, url: &str) -> Value {
        let r = reach.client.get(url).bearer_auth(&self.token).send().await.unwrap();
        assert_eq!(r.status(), 200, "{}: {url}", reach.name);
        r.json().await.unwrap()
    }
}

fn ca(server: &TlsTestServer) -> reqwest::Certificate {
    reqwest::Certificate::from_pem(&std::fs::read(&server.ca_file).unwrap()).unwrap()
}

/// An `@odata.context` is `{service root}/$metadata#…`; the emulator does not serve `$metadata`, but the URL must
/// reach the emulator on the same listener: its 404 carries the emulator's request ids.
async fn assert_reaches_the_emulator(reach: &Reach, context: &Value) {
    let context = context.as_str().unwrap();
    let (metadata, _) = context.split_once('#').unwrap();
    let r = reach.client.get(metadata).send().await.unwrap();
    assert_eq!(r.status(), 404, "{}: {context}", reach.name);
    assert!(r.headers().contains_key("request-id"), "{}: {context}", reach.name);
}

#[tokio::test]
async fn an_uploads_location_is_on_the_listener_the_client_used_and_works() {
    let f = Fixture::start().await;
    for (i, reach) in f.reaches.iter().enumerate() {
        for version in ["v1.0", "beta"] {
            let id = format!("L{i}{version}");
            let r = f.upload(reach, version, bulk_of(&[scim_user(&id, &format!("{id}@contoso.com"), None)])).await;
            assert_eq!(r.status(), 202, "{}", reach.name);
            if i == 0 {
                assert_eq!(r.version(), Version::HTTP_2, "the first reach covers HTTP/2");
            }
            let location = r.headers()["location"].to_str().unwrap().to_owned();
            let expected = format!("{}/{version}/auditLogs/provisioning/?$filter=jobid%20eq%20'{JOB}'", reach.base);
            assert_eq!(location, expected, "{}", reach.name);
            f.drain(reach).await;
            let page = f.get(reach, &location).await;
            assert!(page["value"].as_array().unwrap().iter().any(|e| e["sourceIdentity"]["id"] == id.as_str()));
            assert_eq!(page["@odata.context"], format!("{}/{version}/$metadata#auditLogs/provisioning", reach.base));
        }
    }
}

#[tokio::test]
async fn a_log_pages_next_link_and_contexts_are_on_the_listener_the_client_used_and_work() {
    let f = Fixture::with_two_users().await;
    for reach in &f.reaches {
        let first =
            f.get(reach, &format!("{}/v1.0/auditLogs/provisioning?$top=1&$filter=jobid eq '{JOB}'", reach.base)).await;
        let context = format!("{}/v1.0/$metadata#auditLogs/provisioning", reach.base);
        assert_eq!(first["@odata.context"], context, "{}", reach.name);
        assert_reaches_the_emulator(reach, &first["@odata.context"]).await;
        let next = first["@odata.nextLink"].as_str().unwrap();
        let prefix =
            format!("{}/v1.0/auditLogs/provisioning?$filter=jobid%20eq%20%27{JOB}%27&$top=1&$skiptoken=", reach.base);
        assert!(next.starts_with(&prefix), "{}: {next}", reach.name);
        let second = f.get(reach, next).await;
        assert_eq!(second["@odata.context"], context);
        assert_eq!(second["value"].as_array().unwrap().len(), 1);
        assert_ne!(second["value"][0]["id"], first["value"][0]["id"], "the next page, not the first again");

        let id = first["value"][0]["id"].as_str().unwrap();
        let entry = f.get(reach, &format!("{}/beta/auditLogs/provisioning/{id}", reach.base)).await;
        assert_eq!(entry["@odata.context"], format!("{}/beta/$metadata#auditLogs/provisioning/$entity", reach.base));
    }
}

#[tokio::test]
async fn a_users_querys_links_are_on_the_listener_the_client_used_and_work() {
    let f = Fixture::with_two_users().await;
    for reach in &f.reaches {
        let first = f.get(reach, &format!("{}/v1.0/users?$top=1&$select=id,displayName", reach.base)).await;
        let context = format!("{}/v1.0/$metadata#users(id,displayName)", reach.base);
        assert_eq!(first["@odata.context"], context, "{}", reach.name);
        assert_reaches_the_emulator(reach, &first["@odata.context"]).await;
        let next = first["@odata.nextLink"].as_str().unwrap();
        assert!(next.starts_with(&format!("{}/v1.0/users?$select=id%2CdisplayName&$top=1&", reach.base)), "{next}");
        let second = f.get(reach, next).await;
        assert_eq!(second["@odata.context"], context);
        assert_ne!(second["value"][0]["id"], first["value"][0]["id"], "the next page, not the first again");

        let e2 = f.get(reach, &format!("{}/v1.0/users?$filter=employeeId eq 'E2'&$select=id", reach.base)).await;
        let id = e2["value"][0]["id"].as_str().unwrap();
        let user = f.get(reach, &format!("{}/v1.0/users/{id}", reach.base)).await;
        assert_eq!(user["@odata.context"], format!("{}/v1.0/$metadata#users/$entity", reach.base));
        let manager = f.get(reach, &format!("{}/beta/users/{id}/manager", reach.base)).await;
        assert_eq!(manager["@odata.context"], format!("{}/beta/$metadata#directoryObjects/$entity", reach.base));
    }
}

#[tokio::test]
async fn job_and_schema_contexts_are_on_the_listener_the_client_used() {
    let f = Fixture::start().await;
    let jobs = format!("servicePrincipals/{SP}/synchronization/jobs");
    let cases = [
        (jobs.clone(), format!("servicePrincipals('{SP}')/synchronization/jobs")),
        (format!("{jobs}/{JOB}"), format!("servicePrincipals('{SP}')/synchronization/jobs/$entity")),
        (
            format!("{jobs}/{JOB}/schema"),
            format!("servicePrincipals('{SP}')/synchronization/jobs('{JOB}')/schema/$entity"),
        ),
        (format!("{jobs}/{JOB}/schema/functions"), "Collection(microsoft.graph.attributeMappingFunctionSchema)".into()),
        (format!("{jobs}/{JOB}/schema/filterOperators"), "Collection(microsoft.graph.filterOperatorSchema)".into()),
    ];
    for reach in &f.reaches {
        for (path, fragment) in &cases {
            let body = f.get(reach, &format!("{}/beta/{path}", reach.base)).await;
            assert_eq!(body["@odata.context"], format!("{}/beta/$metadata#{fragment}", reach.base), "{}", reach.name);
        }
    }
}

#[tokio::test]
async fn the_challenge_and_discovery_are_on_the_listener_the_client_used_and_work() {
    let f = Fixture::start().await;
    for reach in &f.reaches {
        let upload = format!("{}/v1.0/servicePrincipals/{SP}/synchronization/jobs/{JOB}/bulkUpload", reach.base);
        let r = reach.client.post(upload).send().await.unwrap();
        assert_eq!(r.status(), 401);
        let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
        let authority = format!("authorization_uri=\"{}/{TENANT}/oauth2/authorize\"", reach.base);
        assert!(challenge.contains(&authority), "{}: {challenge}", reach.name);

        let v2 = f
            .get(reach, &format!("{}/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration", reach.base))
            .await;
        assert_eq!(v2["issuer"], format!("{}/{TENANT}/v2.0", reach.base), "{}", reach.name);
        for (key, url) in v2.as_object().unwrap().iter().filter_map(|(k, v)| Some((k, v.as_str()?))) {
            if url.contains("://") && !["userinfo_endpoint", "rbac_url"].contains(&key.as_str()) {
                assert!(url.starts_with(&format!("{}/", reach.base)), "{}: {key} {url}", reach.name);
            }
        }
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("client_secret", SECRET),
            ("scope", GRAPH_DEFAULT),
        ];
        let r = reach.client.post(v2["token_endpoint"].as_str().unwrap()).form(&form).send().await.unwrap();
        assert_eq!(r.status(), 200, "{}: the token endpoint works", reach.name);
        let jwks = f.get(reach, v2["jwks_uri"].as_str().unwrap()).await;
        assert_eq!(jwks["keys"][0]["issuer"], v2["issuer"]);

        let v1 = f.get(reach, &format!("{}/{TENANT}/.well-known/openid-configuration", reach.base)).await;
        assert_eq!(v1["token_endpoint"], format!("{}/{TENANT}/oauth2/token", reach.base));
        f.get(reach, v1["jwks_uri"].as_str().unwrap()).await;
    }
}

#[tokio::test]
async fn a_client_assertion_may_name_the_token_endpoint_the_client_reached() {
    let f = Fixture::with_config(cert_client).await;
    let key = fixture("client-key.pem");
    let now = datetime!(2025-01-15 10:00 UTC).unix_timestamp();
    let post = |reach: &Reach, aud: &str| {
        let form = [
            ("grant_type", "client_credentials".to_owned()),
            ("client_id", "c0ffee00-0000-4000-8000-0000000000c2".to_owned()),
            ("scope", GRAPH_DEFAULT.to_owned()),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned()),
            ("client_assertion", client_assertion(aud, now, &key, None)),
        ];
        reach.client.post(token_url(&reach.base, TENANT)).form(&form).send()
    };
    for reach in &f.reaches {
        let r = post(reach, &token_url(&reach.base, TENANT)).await.unwrap();
        assert_eq!(r.status(), 200, "{}", reach.name);
    }
    // Reached by address, an assertion for the endpoint as `entra` names an authority this request did not use.
    let (entra, by_address) = (&f.reaches[0], &f.reaches[1]);
    let r = post(by_address, &token_url(&entra.base, TENANT)).await.unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!((body["error"].as_str(), body["error_codes"][0].as_u64()), (Some("invalid_request"), Some(50027)));
}

#[tokio::test]
async fn configured_public_base_urls_win_over_the_host() {
    let f = Fixture::with_config(|c| {
        c.server.public_base_url = "http://entra.example:8080/".into();
        c.server.public_tls_base_url = "https://entra.example:8443".into();
    })
    .await;
    for reach in &f.reaches {
        let public =
            if reach.base.starts_with("https") { "https://entra.example:8443" } else { "http://entra.example:8080" };
        let r = f.upload(reach, "v1.0", bulk_of(&[scim_user("C1", "c1@contoso.com", None)])).await;
        assert_eq!(r.status(), 202);
        let location = r.headers()["location"].to_str().unwrap();
        assert_eq!(
            location,
            format!("{public}/v1.0/auditLogs/provisioning/?$filter=jobid%20eq%20'{JOB}'"),
            "{}",
            reach.name
        );
        let page = f.get(reach, &format!("{}/v1.0/users", reach.base)).await;
        assert_eq!(page["@odata.context"], format!("{public}/v1.0/$metadata#users"), "{}", reach.name);
        let r = reach.client.get(format!("{}/v1.0/users", reach.base)).send().await.unwrap();
        let challenge = r.headers()["www-authenticate"].to_str().unwrap();
        assert!(challenge.contains(&format!("\"{public}/{TENANT}/oauth2/authorize\"")), "{challenge}");
    }
}

#[tokio::test]
async fn scim_locations_and_discovery_are_on_the_listener_the_client_used_and_work() {
    let f = Fixture::start().await;
    for (i, reach) in f.reaches.iter().enumerate() {
        for prefix in ["/scim/v2", "/admin/v1"] {
            let base = format!("{}{prefix}", reach.base);
            let user = json!({"schemas": [SCIM_USER], "userName": format!("links{i}{}", &prefix[1..5])});
            let r = reach.client.post(format!("{base}/Users")).bearer_auth(&f.token).json(&user).send().await.unwrap();
            assert_eq!(r.status(), 201, "{}", reach.name);
            let location = r.headers()["location"].to_str().unwrap().to_owned();
            let created: Value = r.json().await.unwrap();
            let id = created["id"].as_str().unwrap();
            assert_eq!(location, format!("{base}/Users/{id}"), "{}", reach.name);
            assert_eq!(created["meta"]["location"], location.as_str());
            assert_eq!(f.get(reach, &location).await["id"], id, "{}: the Location works", reach.name);

            let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
                {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"schemas": [SCIM_GROUP], "displayName": "G"}}]});
            let r = reach.client.post(format!("{base}/Bulk")).bearer_auth(&f.token).json(&bulk).send().await.unwrap();
            assert!(r.status().is_success(), "{}", reach.name);
            let answer: Value = r.json().await.unwrap();
            let group = answer["Operations"][0]["location"].as_str().unwrap();
            assert!(group.starts_with(&format!("{base}/Groups/")), "{}: {group}", reach.name);
            assert_eq!(f.get(reach, group).await["displayName"], "G");

            let config = f.get(reach, &format!("{base}/ServiceProviderConfig")).await;
            assert_eq!(config["meta"]["location"], format!("{base}/ServiceProviderConfig"), "{}", reach.name);
            let types = f.get(reach, &format!("{base}/ResourceTypes")).await;
            for t in types["Resources"].as_array().unwrap() {
                f.get(reach, t["meta"]["location"].as_str().unwrap()).await;
            }
            let schemas = f.get(reach, &format!("{base}/Schemas")).await;
            for s in schemas["Resources"].as_array().unwrap() {
                f.get(reach, s["meta"]["location"].as_str().unwrap()).await;
            }
        }
    }
}

/// Hosts a link must not carry: each falls back to the listener's own address.
const BAD_HOSTS: &[&str] = &[
    "evil.example/x",
    "evil.example?x=1",
    "user@evil.example",
    "evil example",
    "<script>evil</script>",
    "evil.example:99999",
    "evil.example:80:80",
    "[::1",
    "10.0.0.999",
    "",
];

#[tokio::test]
async fn a_bad_host_falls_back_to_the_listeners_address_and_is_never_echoed() {
    let f = Fixture::with_two_users().await;
    let https = Client::builder().tls_certs_only([ca(&f.server)]).http1_only().build().unwrap();
    let http = Client::builder().http1_only().build().unwrap();
    let own_https = format!("https://{}", f.server.https_addr);
    let own_http = format!("http://{}", f.server.http_addr);
    for (client, own) in [(&https, &own_https), (&http, &own_http)] {
        for bad in BAD_HOSTS {
            let upload = format!("{own}/v1.0/servicePrincipals/{SP}/synchronization/jobs/{JOB}/bulkUpload");
            let body = bulk_of(&[scim_user("H1", "h1@contoso.com", None)]);
            let request = client.post(&upload).bearer_auth(&f.token).header("content-type", SCIM).header("host", *bad);
            let r = request.body(body).send().await.unwrap();
            assert_eq!(r.status(), 202, "Host {bad:?}");
            let location = r.headers()["location"].to_str().unwrap();
            assert_eq!(location, format!("{own}/v1.0/auditLogs/provisioning/?$filter=jobid%20eq%20'{JOB}'"));

            let logs = format!("{own}/v1.0/auditLogs/provisioning?$top=1");
            let r = client.get(&logs).bearer_auth(&f.token).header("host", *bad).send().await.unwrap();
            assert_eq!(r.status(), 200, "Host {bad:?}");
            let text = r.text().await.unwrap();
            let page: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(page["@odata.context"], format!("{own}/v1.0/$metadata#auditLogs/provisioning"));
            assert!(page["@odata.nextLink"].as_str().unwrap().starts_with(&format!("{own}/v1.0/")));
            assert!(bad.is_empty() || !text.contains(bad), "Host {bad:?} echoed: {text}");

            let r = client.post(&upload).header("host", *bad).send().await.unwrap();
            assert_eq!(r.status(), 401, "Host {bad:?}");
            let challenge = r.headers()["www-authenticate"].to_str().unwrap();
            assert!(challenge.contains(&format!("\"{own}/{TENANT}/oauth2/authorize\"")), "{challenge}");
        }
    }
}

/// Send raw bytes to the HTTP listener (HTTP/1.0, so the server closes the connection) and read the whole answer.
async fn raw_exchange(addr: SocketAddr, request: Vec<u8>) -> String {
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.write_all(&request).unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn no_host_or_a_host_that_is_not_text_falls_back_to_the_listeners_address() {
    let f = Fixture::with_two_users().await;
    let own = format!("http://{}", f.server.http_addr);
    let path = "/v1.0/auditLogs/provisioning?$top=1";
    let no_host = format!("GET {path} HTTP/1.0\r\nAuthorization: Bearer {}\r\n\r\n", f.token).into_bytes();
    let mut not_text = format!("GET {path} HTTP/1.0\r\nAuthorization: Bearer {}\r\nHost: ent", f.token).into_bytes();
    not_text.extend_from_slice(b"\xffra:1\r\n\r\n");
    for request in [no_host, not_text] {
        let answer = raw_exchange(f.server.http_addr, request).await;
        assert!(answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"), "{answer}");
        let (_, body) = answer.split_once("\r\n\r\n").unwrap();
        let page: Value = serde_json::from_str(body).unwrap();
        assert_eq!(page["@odata.context"], format!("{own}/v1.0/$metadata#auditLogs/provisioning"));
        assert!(page["@odata.nextLink"].as_str().unwrap().starts_with(&format!("{own}/v1.0/")));
    }
}
