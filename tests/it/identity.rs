//! The token endpoints (docs/fidelity.md A.5): client-credentials tokens by secret (form, Basic) and by certificate
//! assertion, their claims, every AADSTS error case, and per-endpoint permissions of the tokens they mint.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entra_inbound::auth::{SigningKeys, TokenRequest, issue_token, roles};
use entra_inbound::config::ClientConfig;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::support::*;

pub const CLIENT: &str = "c0ffee00-0000-4000-8000-0000000000c1";
pub const SECRET: &str = "emulator-secret";
pub const GRAPH_DEFAULT: &str = "https://graph.microsoft.com/.default";

pub fn token_url(base: &str, tenant: &str) -> String {
    format!("{base}/{tenant}/oauth2/v2.0/token")
}

fn secret_form(scope: &str) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", CLIENT.into()),
        ("client_secret", SECRET.into()),
        ("scope", scope.into()),
    ]
}

fn now_unix(s: &TestServer) -> i64 {
    entra_inbound::clock::Clock::now(s.clock.as_ref()).unix_timestamp()
}

pub fn jwt_part(token: &str, index: usize) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(index).unwrap()).unwrap()).unwrap()
}

/// Assert an AADSTS envelope; returns the body.
async fn assert_aadsts(r: reqwest::Response, status: u16, error: &str, code: u64) -> Value {
    assert_eq!(r.status().as_u16(), status, "status for AADSTS{code}");
    assert_eq!(r.headers()["cache-control"], "no-store, no-cache");
    let request_id = r.headers()["request-id"].to_str().unwrap().to_owned();
    let client_request_id = r.headers()["client-request-id"].to_str().unwrap().to_owned();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_codes"], json!([code]), "{body}");
    let description = body["error_description"].as_str().unwrap();
    assert!(description.starts_with(&format!("AADSTS{code}: ")), "{description}");
    assert!(description.ends_with("\r\nTimestamp: 2025-01-15 10:00:00Z"), "{description}");
    assert_eq!(body["timestamp"], "2025-01-15 10:00:00Z");
    assert_eq!(body["trace_id"], request_id.as_str());
    assert_eq!(body["correlation_id"], client_request_id.as_str());
    assert!(body.get("access_token").is_none());
    body
}

#[tokio::test]
async fn a_client_secret_buys_a_v1_graph_token_the_api_accepts() {
    let s = TestServer::start().await;
    let r = s.http.post(token_url(&s.base, TENANT)).form(&secret_form(GRAPH_DEFAULT)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store, no-cache");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["ext_expires_in"], 3599);
    let token = body["access_token"].as_str().unwrap();

    let header = jwt_part(token, 0);
    let jwks: Value =
        s.http.get(format!("{}/{TENANT}/discovery/v2.0/keys", s.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], jwks["keys"][0]["kid"]);
    assert_eq!(header["x5t"], jwks["keys"][0]["x5t"]);
    let claims = jwt_part(token, 1);
    assert_eq!(claims["aud"], "https://graph.microsoft.com");
    assert_eq!(claims["iss"], format!("https://sts.windows.net/{TENANT}/"));
    assert_eq!(claims["tid"], TENANT);
    assert_eq!(claims["appid"], CLIENT);
    assert_eq!(claims["appidacr"], "1");
    assert_eq!(claims["idtyp"], "app");
    assert_eq!(claims["ver"], "1.0");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 3599);
    let configured: Vec<String> = s.state.config.clients[0].roles.clone();
    assert_eq!(claims["roles"], json!(configured));

    let r = s
        .http
        .post(s.upload_url("v1.0", SP, JOB))
        .bearer_auth(token)
        .header("content-type", SCIM)
        .body(fixture("example1.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
}

#[tokio::test]
async fn basic_auth_the_domain_alias_and_the_guid_scope_work() {
    let s = TestServer::start().await;
    let form = [("grant_type", "client_credentials"), ("scope", "00000003-0000-0000-c000-000000000000/.default")];
    let r = s
        .http
        .post(token_url(&s.base, "Contoso.onmicrosoft.com"))
        .basic_auth(CLIENT, Some(SECRET))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let claims = jwt_part(body["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["aud"], "00000003-0000-0000-c000-000000000000");
    assert_eq!(claims["tid"], TENANT);
    // Graph accepts the GUID audience too.
    let r = s
        .http
        .get(format!("{}/v1.0/auditLogs/provisioning", s.base))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn the_v1_endpoint_takes_resource_and_answers_strings() {
    let s = TestServer::start().await;
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT),
        ("client_secret", SECRET),
        ("resource", "https://graph.microsoft.com/"),
    ];
    let r = s.http.post(format!("{}/{TENANT}/oauth2/token", s.base)).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["expires_in"], "3599");
    assert_eq!(body["resource"], "https://graph.microsoft.com/");
    let now = now_unix(&s);
    assert_eq!(body["not_before"], now.to_string());
    assert_eq!(body["expires_on"], (now + 3599).to_string());
    assert_eq!(jwt_part(body["access_token"].as_str().unwrap(), 1)["aud"], "https://graph.microsoft.com");

    let mut missing = form.to_vec();
    missing.retain(|(k, _)| *k != "resource");
    let r = s.http.post(format!("{}/{TENANT}/oauth2/token", s.base)).form(&missing).send().await.unwrap();
    assert_aadsts(r, 400, "invalid_request", 900144).await;
}

#[tokio::test]
async fn every_error_case_has_its_aadsts_code_and_status() {
    let s = TestServer::start().await;
    let with = |changes: &[(&'static str, Option<&str>)]| {
        let mut form = secret_form(GRAPH_DEFAULT);
        for (k, v) in changes {
            form.retain(|(name, _)| name != k);
            if let Some(v) = v {
                form.push((k, (*v).to_owned()));
            }
        }
        form
    };
    let url = token_url(&s.base, TENANT);
    type Case = (String, Vec<(&'static str, String)>, u16, &'static str, u64);
    let cases: Vec<Case> = vec![
        (token_url(&s.base, "11111111-0000-4000-8000-000000000001"), with(&[]), 400, "invalid_tenant", 90002),
        (token_url(&s.base, "fabrikam.onmicrosoft.com"), with(&[]), 400, "invalid_tenant", 90002),
        (token_url(&s.base, "not_a_tenant"), with(&[]), 400, "invalid_request", 900023),
        (token_url(&s.base, "common"), with(&[]), 400, "invalid_request", 9001023),
        (token_url(&s.base, "organizations"), with(&[]), 400, "invalid_request", 9001023),
        (url.clone(), with(&[("grant_type", None)]), 400, "invalid_request", 900144),
        (url.clone(), with(&[("grant_type", Some("password"))]), 400, "unsupported_grant_type", 70003),
        (url.clone(), with(&[("client_id", None)]), 400, "invalid_request", 900144),
        (url.clone(), with(&[("scope", None)]), 400, "invalid_request", 900144),
        (
            url.clone(),
            with(&[("client_id", Some("99999999-0000-4000-8000-000000000000"))]),
            400,
            "unauthorized_client",
            700016,
        ),
        (url.clone(), with(&[("client_secret", Some("wrong"))]), 401, "invalid_client", 7000215),
        (url.clone(), with(&[("client_secret", None)]), 401, "invalid_client", 7000216),
        (url.clone(), with(&[("client_assertion", Some("x"))]), 400, "invalid_request", 900144),
        (url.clone(), with(&[("scope", Some("https://graph.microsoft.com/User.Read"))]), 400, "invalid_scope", 70011),
        (
            url.clone(),
            with(&[("scope", Some("https://graph.microsoft.com/.default openid"))]),
            400,
            "invalid_scope",
            70011,
        ),
        (url.clone(), with(&[("scope", Some("api://other/.default"))]), 400, "invalid_resource", 500011),
    ];
    for (url, form, status, error, code) in cases {
        let r = s.http.post(&url).header("client-request-id", "corr-1").form(&form).send().await.unwrap();
        let body = assert_aadsts(r, status, error, code).await;
        assert_eq!(body["correlation_id"], "corr-1");
    }
    // A JSON body is not read (the endpoint takes forms only): grant_type is missing, as on Entra.
    let json_body = json!({"grant_type": "client_credentials", "client_id": CLIENT, "client_secret": SECRET});
    let r = s.http.post(token_url(&s.base, TENANT)).json(&json_body).send().await.unwrap();
    let body = assert_aadsts(r, 400, "invalid_request", 900144).await;
    assert!(body["error_description"].as_str().unwrap().contains("'grant_type'"));
}

#[tokio::test]
async fn a_wrong_secret_never_yields_a_token() {
    let s = TestServer::start().await;
    let url = token_url(&s.base, TENANT);
    for secret in ["", "emulator-secre", "emulator-secret ", "EMULATOR-SECRET", "emulator-secretx"] {
        let r = s
            .http
            .post(&url)
            .basic_auth(CLIENT, Some(secret))
            .form(&[("grant_type", "client_credentials"), ("scope", GRAPH_DEFAULT)])
            .send()
            .await
            .unwrap();
        assert_ne!(r.status(), 200, "{secret:?}");
        assert!(r.json::<Value>().await.unwrap().get("access_token").is_none());
    }
    // The form secret wins over a correct Basic one.
    let mut form = secret_form(GRAPH_DEFAULT);
    form.retain(|(k, _)| *k != "client_secret");
    form.push(("client_secret", "wrong".into()));
    let r = s.http.post(&url).basic_auth(CLIENT, Some(SECRET)).form(&form).send().await.unwrap();
    assert_aadsts(r, 401, "invalid_client", 7000215).await;
}

pub fn cert_client(s_config: &mut entra_inbound::config::Config) {
    s_config.clients.push(ClientConfig {
        client_id: "c0ffee00-0000-4000-8000-0000000000c2".into(),
        client_secret: String::new(),
        display_name: "certificate client".into(),
        roles: vec![roles::UPLOAD.into()],
        certificates: vec![format!("{}/tests/fixtures/client-cert.pem", env!("CARGO_MANIFEST_DIR"))],
    });
}

pub fn client_assertion(aud: &str, now: i64, key_pem: &str, x5t: Option<String>) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.x5t = x5t;
    let claims = json!({
        "aud": aud, "iss": "c0ffee00-0000-4000-8000-0000000000c2", "sub": "c0ffee00-0000-4000-8000-0000000000c2",
        "jti": "j1", "nbf": now, "exp": now + 600,
    });
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_rsa_pem(key_pem.as_bytes()).unwrap()).unwrap()
}

#[tokio::test]
async fn a_certificate_assertion_buys_a_token_with_appidacr_2() {
    let s = TestServer::with_config(cert_client).await;
    let url = token_url(&s.base, TENANT);
    let key = fixture("client-key.pem");
    let now = now_unix(&s);
    let post = |assertion: String| {
        let form = [
            ("grant_type", "client_credentials".to_owned()),
            ("client_id", "c0ffee00-0000-4000-8000-0000000000c2".to_owned()),
            ("scope", GRAPH_DEFAULT.to_owned()),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned()),
            ("client_assertion", assertion),
        ];
        s.http.post(&url).form(&form).send()
    };
    let r = post(client_assertion(&url, now, &key, None)).await.unwrap();
    assert_eq!(r.status(), 200);
    let token = r.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    let claims = jwt_part(&token, 1);
    assert_eq!(claims["appidacr"], "2");
    assert_eq!(claims["roles"], json!([roles::UPLOAD]));

    let r =
        post(client_assertion("https://login.microsoftonline.com/x/oauth2/v2.0/token", now, &key, None)).await.unwrap();
    assert_aadsts(r, 400, "invalid_request", 50027).await;
    // Signed by another key (the emulator's own development key) but naming nothing registered.
    let other = std::fs::read_to_string(format!("{}/config/dev-signing-key.pem", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let r = post(client_assertion(&url, now, &other, None)).await.unwrap();
    assert_aadsts(r, 401, "invalid_client", 700027).await;
    let r = post(client_assertion(&url, now, &key, Some(URL_SAFE_NO_PAD.encode([1u8; 20])))).await.unwrap();
    let body = assert_aadsts(r, 401, "invalid_client", 700027).await;
    assert!(body["error_description"].as_str().unwrap().contains("0101010101"));
    let r = post(client_assertion(&url, now - 7200, &key, None)).await.unwrap();
    assert_aadsts(r, 401, "invalid_client", 700024).await;
    // This client has no secret: any secret is wrong.
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "c0ffee00-0000-4000-8000-0000000000c2"),
        ("client_secret", ""),
        ("scope", GRAPH_DEFAULT),
    ];
    let r = s.http.post(&url).form(&form).send().await.unwrap();
    assert_aadsts(r, 401, "invalid_client", 7000216).await;
}

#[tokio::test]
async fn permissions_follow_the_clients_configured_roles() {
    let s = TestServer::with_config(|c| {
        c.clients.push(ClientConfig {
            client_id: "c0ffee00-0000-4000-8000-0000000000c3".into(),
            client_secret: "reader-secret".into(),
            display_name: "log reader".into(),
            roles: vec![roles::AUDIT_LOG_READ.into()],
            certificates: vec![],
        });
    })
    .await;
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "c0ffee00-0000-4000-8000-0000000000c3"),
        ("client_secret", "reader-secret"),
        ("scope", GRAPH_DEFAULT),
    ];
    let r = s.http.post(token_url(&s.base, TENANT)).form(&form).send().await.unwrap();
    let token = r.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(jwt_part(&token, 1)["roles"], json!([roles::AUDIT_LOG_READ]));

    let upload = s.upload_as(&token, fixture("example1.json")).await;
    assert_graph_error(
        upload,
        403,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )
    .await;
    let logs = s.http.get(format!("{}/v1.0/auditLogs/provisioning", s.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(logs.status(), 200);
    let users = s.http.get(format!("{}/v1.0/users", s.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(users.status(), 403);
}

#[tokio::test]
async fn tokens_from_another_key_or_tenant_are_refused() {
    let s = TestServer::start().await;
    let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let foreign_key = SigningKeys::load(&format!("{dir}/client-key.pem"), &format!("{dir}/client-cert.pem")).unwrap();
    let all: Vec<String> = roles::ALL.iter().map(|r| r.to_string()).collect();
    let mint = |keys: &SigningKeys, tenant: &str| {
        issue_token(
            keys,
            &TokenRequest {
                tenant_id: tenant,
                client_id: CLIENT,
                client_display_name: "x",
                roles: &all,
                audience: "https://graph.microsoft.com",
                now: entra_inbound::clock::Clock::now(s.clock.as_ref()),
                lifetime_secs: 3600,
                auth_method: "1",
            },
        )
        .unwrap()
    };
    let get = |token: String| s.http.get(format!("{}/v1.0/auditLogs/provisioning", s.base)).bearer_auth(token).send();
    let r = get(mint(&foreign_key, TENANT)).await.unwrap();
    assert_graph_error(r, 401, "InvalidAuthenticationToken", "Invalid signature.").await;
    let dev = SigningKeys::development().unwrap();
    let r = get(mint(&dev, "22222222-0000-4000-8000-000000000002")).await.unwrap();
    assert_graph_error(r, 401, "InvalidAuthenticationToken", "Access token validation failure. Invalid issuer.").await;
    assert_eq!(get(mint(&dev, TENANT)).await.unwrap().status(), 200);
}
