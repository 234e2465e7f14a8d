//! Discovery documents, JWKS and the HTTPS listener (docs/fidelity.md A.5): every URL points back at the emulator (the
//! https base when asked over TLS), the generated CA is what clients trust, and the binary's banner says where.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use entra_inbound::clock::ManualClock;
use serde_json::Value;
use time::macros::datetime;

use crate::identity::{CLIENT, GRAPH_DEFAULT, SECRET, jwt_part, token_url};
use crate::support::*;

async fn get_json(http: &reqwest::Client, url: &str) -> Value {
    let r = http.get(url).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    r.json().await.unwrap()
}

/// Every string value that looks like a URL, with its key.
fn urls(doc: &Value) -> Vec<(String, String)> {
    doc.as_object()
        .unwrap()
        .iter()
        .filter_map(|(k, v)| v.as_str().filter(|s| s.contains("://")).map(|s| (k.clone(), s.to_owned())))
        .collect()
}

#[tokio::test]
async fn discovery_documents_point_back_at_the_emulator() {
    let s = TestServer::start().await;
    for tenant in [TENANT, "contoso.onmicrosoft.com"] {
        let v2 = get_json(&s.http, &format!("{}/{tenant}/v2.0/.well-known/openid-configuration", s.base)).await;
        assert_eq!(v2["issuer"], format!("{}/{TENANT}/v2.0", s.base));
        assert_eq!(v2["token_endpoint"], token_url(&s.base, TENANT));
        assert_eq!(v2["jwks_uri"], format!("{}/{TENANT}/discovery/v2.0/keys", s.base));
        assert_eq!(
            v2["token_endpoint_auth_methods_supported"],
            serde_json::json!(["client_secret_post", "private_key_jwt", "client_secret_basic"])
        );
        for (key, url) in urls(&v2) {
            if !["userinfo_endpoint", "rbac_url"].contains(&key.as_str()) {
                assert!(url.starts_with(&s.base), "{key}: {url}");
            }
        }
        let v1 = get_json(&s.http, &format!("{}/{tenant}/.well-known/openid-configuration", s.base)).await;
        assert_eq!(v1["issuer"], format!("https://sts.windows.net/{TENANT}/"));
        assert_eq!(v1["token_endpoint"], format!("{}/{TENANT}/oauth2/token", s.base));
        assert_eq!(v1["jwks_uri"], format!("{}/common/discovery/keys", s.base));
        for (key, url) in urls(&v1) {
            if !["issuer", "rbac_url"].contains(&key.as_str()) {
                assert!(url.starts_with(&s.base), "{key}: {url}");
            }
        }
    }
    let common = get_json(&s.http, &format!("{}/common/v2.0/.well-known/openid-configuration", s.base)).await;
    assert_eq!(common["issuer"], format!("{}/{{tenantid}}/v2.0", s.base));
    assert_eq!(common["token_endpoint"], token_url(&s.base, "common"));

    let r = s.http.get(format!("{}/fabrikam.com/v2.0/.well-known/openid-configuration", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!((body["error"].as_str(), body["error_codes"][0].as_u64()), (Some("invalid_tenant"), Some(90002)));
}

#[tokio::test]
async fn the_public_base_url_is_configurable() {
    let s = TestServer::with_config(|c| c.server.public_base_url = "http://entra:8080/".into()).await;
    let real = format!("http://{}", s.state.config.server.listen);
    let v2 = get_json(&s.http, &format!("{real}/{TENANT}/v2.0/.well-known/openid-configuration")).await;
    assert_eq!(v2["token_endpoint"], format!("http://entra:8080/{TENANT}/oauth2/v2.0/token"));
    assert_eq!(v2["jwks_uri"], format!("http://entra:8080/{TENANT}/discovery/v2.0/keys"));
}

#[tokio::test]
async fn jwks_publish_the_key_tokens_are_signed_with() {
    let s = TestServer::start().await;
    let token = s.token();
    let kid = jwt_part(&token, 0)["kid"].as_str().unwrap().to_owned();
    for path in
        [format!("{TENANT}/discovery/v2.0/keys"), format!("{TENANT}/discovery/keys"), "common/discovery/keys".into()]
    {
        let jwks = get_json(&s.http, &format!("{}/{path}", s.base)).await;
        let key = &jwks["keys"][0];
        assert_eq!(key["kid"], kid.as_str(), "{path}");
        assert_eq!(key["x5t"], kid.as_str());
        assert_eq!((key["kty"].as_str(), key["use"].as_str()), (Some("RSA"), Some("sig")));
        assert!(key["n"].is_string() && key["e"].is_string() && key["x5c"][0].is_string());
    }
    let v2 = get_json(&s.http, &format!("{}/{TENANT}/discovery/v2.0/keys", s.base)).await;
    assert_eq!(v2["keys"][0]["issuer"], format!("{}/{TENANT}/v2.0", s.base));
    let r = s.http.get(format!("{}/bad_tenant/discovery/keys", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn https_serves_the_same_app_with_https_links() {
    let clock = Arc::new(ManualClock::new(datetime!(2025-01-15 10:00 UTC)));
    let s = TlsTestServer::start(clock, |_| {}).await;
    assert!(s.https_base.starts_with("https://127.0.0.1:"));
    let ca = std::fs::read_to_string(&s.ca_file).unwrap();
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"), "{ca}");
    let https = s.https_client();

    let v2 = get_json(&https, &format!("{}/{TENANT}/v2.0/.well-known/openid-configuration", s.https_base)).await;
    assert_eq!(v2["token_endpoint"], token_url(&s.https_base, TENANT));
    assert_eq!(v2["issuer"], format!("{}/{TENANT}/v2.0", s.https_base));
    // The same document over plain HTTP keeps the HTTP links.
    let plain = reqwest::Client::new();
    let v2_http = get_json(&plain, &format!("{}/{TENANT}/v2.0/.well-known/openid-configuration", s.http_base)).await;
    assert_eq!(v2_http["token_endpoint"], token_url(&s.http_base, TENANT));
    // A 401's challenge names the authority the client reached.
    let graph = format!("v1.0/servicePrincipals/{SP}/synchronization/jobs/{JOB}/bulkUpload");
    for (client, base) in [(&https, &s.https_base), (&plain, &s.http_base)] {
        let r = client.post(format!("{base}/{graph}")).send().await.unwrap();
        assert_eq!(r.status(), 401);
        let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
        assert!(challenge.contains(&format!("authorization_uri=\"{base}/{TENANT}/oauth2/authorize\"")), "{challenge}");
    }

    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT),
        ("client_secret", SECRET),
        ("scope", GRAPH_DEFAULT),
    ];
    let r = https.post(token_url(&s.https_base, TENANT)).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let token = r.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    let upload = |client: &reqwest::Client, base: &str| {
        client
            .post(format!("{base}/v1.0/servicePrincipals/{SP}/synchronization/jobs/{JOB}/bulkUpload"))
            .bearer_auth(&token)
            .header("content-type", SCIM)
            .body(fixture("example1.json"))
            .send()
    };
    assert_eq!(upload(&https, &s.https_base).await.unwrap().status(), 202);
    assert_eq!(upload(&plain, &s.http_base).await.unwrap().status(), 202);
    // Also over "localhost", a name the certificate holds.
    let localhost = s.https_base.replace("127.0.0.1", "localhost");
    assert_eq!(https.get(format!("{localhost}/health")).send().await.unwrap().status(), 200);

    // Without trusting the CA, the connection fails: the certificate is not from a public CA.
    let untrusting = reqwest::Client::builder().tls_certs_only([]).build().unwrap();
    assert!(untrusting.get(format!("{}/health", s.https_base)).send().await.is_err());

    let (http_base, https_base) = (s.http_base.clone(), s.https_base.clone());
    s.stop().await.unwrap();
    assert!(plain.get(format!("{http_base}/health")).send().await.is_err(), "HTTP stopped");
    assert!(https.get(format!("{https_base}/health")).send().await.is_err(), "HTTPS stopped");
}

#[tokio::test]
async fn the_banner_says_where_the_ca_is_and_how_to_trust_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_entra-inbound"));
    for (k, _) in std::env::vars() {
        if k.starts_with("ENTRA_INBOUND") {
            command.env_remove(k);
        }
    }
    let mut child = command
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ca = dir.path().join("tls").join("ca.pem");
    let mut banner = String::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        banner += &line;
        banner.push('\n');
        if line.contains("trust it with") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let ca = ca.display().to_string();
    assert!(banner.contains(&format!("CA certificate     {ca}")), "{banner}");
    for var in ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS"] {
        assert!(banner.contains(&format!("{var}={ca}")), "{banner}");
    }
    assert!(banner.contains("  https              https://127.0.0.1:"), "{banner}");
    assert!(std::fs::read_to_string(&ca).unwrap().starts_with("-----BEGIN CERTIFICATE-----"));
}
