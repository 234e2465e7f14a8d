//! Client authentication at the token endpoint (docs/fidelity.md A.5): the configured clients, `client_secret`
//! (form or HTTP Basic, decided by the caller) and `client_assertion` JWTs (`private_key_jwt`) signed by the key of a
//! certificate registered for the client.
//!
//! Design constraints: a wrong secret never yields a token (constant-time comparison; a client without a secret
//! accepts none); assertion lifetimes are checked against the injected clock, like bearer tokens; the assertion's
//! `aud` must be one of the emulator's own token endpoints, as Entra requires its own.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
use serde::Deserialize;

use super::aadsts::OAuthError;
use crate::config::ClientConfig;

/// The assertion type `private_key_jwt` clients send.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

#[derive(Debug, thiserror::Error)]
pub enum ClientCertError {
    #[error("client {client}: cannot read certificate {path}: {source}")]
    Read { client: String, path: String, source: std::io::Error },
    #[error("client {client}: invalid certificate: {reason}")]
    Invalid { client: String, reason: String },
}

/// What the client presented to prove its identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Secret(String),
    Assertion(String),
    None,
}

/// How the client authenticated; becomes the token's `appidacr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Secret,
    Certificate,
}

impl AuthMethod {
    pub fn appidacr(self) -> &'static str {
        match self {
            AuthMethod::Secret => "1",
            AuthMethod::Certificate => "2",
        }
    }
}

/// What an assertion is checked against.
#[derive(Debug, Clone)]
pub struct AssertionCheck<'a> {
    /// The token endpoint URLs the assertion's `aud` may name.
    pub audiences: &'a [String],
    pub now_unix: i64,
    pub leeway_secs: i64,
}

/// A registered certificate: its thumbprints (base64url SHA-1 `x5t`, SHA-256 `x5t#S256`) and public key.
struct ClientCertificate {
    sha1: String,
    sha256: String,
    key: DecodingKey,
}

/// One configured client application.
pub struct RegisteredClient {
    config: ClientConfig,
    certificates: Vec<ClientCertificate>,
}

impl std::fmt::Debug for RegisteredClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisteredClient")
            .field("client_id", &self.config.client_id)
            .field("certificates", &self.certificates.len())
            .finish()
    }
}

/// Every client that may obtain tokens.
#[derive(Debug)]
pub struct ClientRegistry {
    clients: Vec<RegisteredClient>,
}

impl ClientRegistry {
    pub fn from_config(clients: &[ClientConfig]) -> Result<Self, ClientCertError> {
        let clients = clients
            .iter()
            .map(|c| {
                let certificates = c
                    .certificates
                    .iter()
                    .map(|entry| load_certificate(&c.client_id, entry))
                    .collect::<Result<_, _>>()?;
                Ok(RegisteredClient { config: c.clone(), certificates })
            })
            .collect::<Result<_, ClientCertError>>()?;
        Ok(Self { clients })
    }

    /// The client with this id (GUIDs compare case-insensitively).
    pub fn find(&self, client_id: &str) -> Option<&RegisteredClient> {
        self.clients.iter().find(|c| c.config.client_id.eq_ignore_ascii_case(client_id))
    }
}

impl RegisteredClient {
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Check the presented credential; Ok names the method for `appidacr`.
    pub fn authenticate(&self, credential: &Credential, check: &AssertionCheck<'_>) -> Result<AuthMethod, OAuthError> {
        match credential {
            Credential::None => Err(OAuthError::missing_credentials()),
            Credential::Secret(given) => {
                let expected = self.config.client_secret.as_bytes();
                let equal = aws_lc_rs::constant_time::verify_slices_are_equal(given.as_bytes(), expected).is_ok();
                if equal && !expected.is_empty() {
                    Ok(AuthMethod::Secret)
                } else {
                    Err(OAuthError::bad_secret(&self.config.client_id))
                }
            }
            Credential::Assertion(jwt) => self.verify_assertion(jwt, check).map(|()| AuthMethod::Certificate),
        }
    }

    fn verify_assertion(&self, jwt: &str, check: &AssertionCheck<'_>) -> Result<(), OAuthError> {
        let header = jsonwebtoken::decode_header(jwt).map_err(|_| OAuthError::malformed_assertion("header"))?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::PS256) {
            return Err(OAuthError::malformed_assertion("alg must be RS256 or PS256"));
        }
        let by_sha256 = header.x5t_s256.as_deref();
        let by_sha1 = header.x5t.as_deref();
        let candidates: Vec<&ClientCertificate> = match (by_sha256, by_sha1) {
            (Some(t), _) => self.certificates.iter().filter(|c| c.sha256 == t).collect(),
            (None, Some(t)) => self.certificates.iter().filter(|c| c.sha1 == t).collect(),
            (None, None) => self.certificates.iter().collect(),
        };
        let thumbprint = by_sha256.or(by_sha1).map(hex_thumbprint).unwrap_or_default();
        if candidates.is_empty() {
            return Err(OAuthError::assertion_signature("The key was not found.", &thumbprint));
        }
        let mut validation = Validation::new(header.alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.required_spec_claims.clear();
        validation.set_audience(check.audiences);
        let mut failure = OAuthError::assertion_signature("The key was not found.", &thumbprint);
        for cert in candidates {
            match decode::<AssertionClaims>(jwt, &cert.key, &validation) {
                Ok(data) => return self.check_claims(&data.claims, check),
                Err(e) => {
                    failure = match e.kind() {
                        ErrorKind::InvalidSignature => OAuthError::assertion_signature(
                            "The provided signature value did not match the expected signature value.",
                            &thumbprint,
                        ),
                        ErrorKind::InvalidAudience | ErrorKind::MissingRequiredClaim(_) => {
                            return Err(OAuthError::malformed_assertion("aud must be the token endpoint"));
                        }
                        _ => return Err(OAuthError::malformed_assertion("payload")),
                    }
                }
            }
        }
        Err(failure)
    }

    fn check_claims(&self, claims: &AssertionClaims, check: &AssertionCheck<'_>) -> Result<(), OAuthError> {
        let id = &self.config.client_id;
        let is_client = |v: &Option<String>| v.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(id));
        if !is_client(&claims.iss) || !is_client(&claims.sub) {
            return Err(OAuthError::assertion_subject());
        }
        let exp = claims.exp.ok_or_else(OAuthError::assertion_time_range)?;
        let expired = check.now_unix > exp.saturating_add(check.leeway_secs);
        let early = claims.nbf.is_some_and(|nbf| check.now_unix < nbf.saturating_sub(check.leeway_secs));
        if expired || early { Err(OAuthError::assertion_time_range()) } else { Ok(()) }
    }
}

#[derive(Debug, Deserialize)]
struct AssertionClaims {
    iss: Option<String>,
    sub: Option<String>,
    exp: Option<i64>,
    nbf: Option<i64>,
}

/// Entra shows thumbprints as upper-case hex; headers carry them base64url.
fn hex_thumbprint(b64: &str) -> String {
    URL_SAFE_NO_PAD
        .decode(b64.trim_end_matches('='))
        .map(|bytes| bytes.iter().map(|b| format!("{b:02X}")).collect())
        .unwrap_or_else(|_| b64.to_owned())
}

/// A certificate given as a PEM file path or inline PEM.
fn load_certificate(client: &str, entry: &str) -> Result<ClientCertificate, ClientCertError> {
    let pem_text = if entry.trim_start().starts_with("-----BEGIN") {
        entry.to_owned()
    } else {
        std::fs::read_to_string(entry).map_err(|source| ClientCertError::Read {
            client: client.to_owned(),
            path: entry.to_owned(),
            source,
        })?
    };
    let invalid = |reason: String| ClientCertError::Invalid { client: client.to_owned(), reason };
    let block = pem::parse_many(&pem_text)
        .map_err(|e| invalid(e.to_string()))?
        .into_iter()
        .find(|p| p.tag() == "CERTIFICATE")
        .ok_or_else(|| invalid("no CERTIFICATE block".into()))?;
    let der = block.contents();
    let thumb = |alg| URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(alg, der).as_ref());
    let single = pem::encode(&block);
    let key = DecodingKey::from_rsa_pem(single.as_bytes()).map_err(|e| invalid(format!("RSA public key: {e}")))?;
    Ok(ClientCertificate {
        sha1: thumb(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY),
        sha256: thumb(&aws_lc_rs::digest::SHA256),
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::json;

    const CERT: &str = include_str!("../../tests/fixtures/client-cert.pem");
    const KEY: &str = include_str!("../../tests/fixtures/client-key.pem");
    const NOW: i64 = 1_800_000_000;
    const AUD: &str = "https://127.0.0.1:8443/t/oauth2/v2.0/token";

    fn registry(secret: &str) -> ClientRegistry {
        let c = ClientConfig {
            client_id: "c1".into(),
            client_secret: secret.into(),
            display_name: String::new(),
            roles: vec![],
            certificates: vec![CERT.into()],
        };
        ClientRegistry::from_config(&[c]).unwrap()
    }

    fn assertion(header: Header, claims: serde_json::Value) -> String {
        encode(&header, &claims, &EncodingKey::from_rsa_pem(KEY.as_bytes()).unwrap()).unwrap()
    }

    fn claims(aud: &str, exp: i64) -> serde_json::Value {
        json!({"aud": aud, "iss": "c1", "sub": "c1", "exp": exp, "nbf": NOW - 10, "jti": "x"})
    }

    fn check(credential: &Credential) -> Result<AuthMethod, OAuthError> {
        let audiences = [AUD.to_owned()];
        let c = AssertionCheck { audiences: &audiences, now_unix: NOW, leeway_secs: 30 };
        registry("s3cret").find("C1").unwrap().authenticate(credential, &c)
    }

    fn code(r: Result<AuthMethod, OAuthError>) -> u32 {
        r.unwrap_err().code
    }

    #[test]
    fn secrets_must_match_exactly() {
        assert_eq!(check(&Credential::Secret("s3cret".into())), Ok(AuthMethod::Secret));
        assert_eq!(code(check(&Credential::Secret("s3cre".into()))), 7000215);
        assert_eq!(code(check(&Credential::Secret(String::new()))), 7000215);
        assert_eq!(code(check(&Credential::None)), 7000216);
        let empty = registry("");
        let c = AssertionCheck { audiences: &[], now_unix: NOW, leeway_secs: 0 };
        let r = empty.find("c1").unwrap().authenticate(&Credential::Secret(String::new()), &c);
        assert_eq!(code(r), 7000215, "a client without a secret accepts none");
    }

    #[test]
    fn assertions_signed_by_a_registered_certificate_authenticate() {
        let reg = registry("s");
        let sha1 = &reg.find("c1").unwrap().certificates[0].sha1;
        let mut h = Header::new(Algorithm::RS256);
        h.x5t = Some(sha1.clone());
        assert_eq!(
            check(&Credential::Assertion(assertion(h.clone(), claims(AUD, NOW + 600)))),
            Ok(AuthMethod::Certificate)
        );
        let mut h256 = Header::new(Algorithm::PS256);
        h256.x5t_s256 = Some(reg.find("c1").unwrap().certificates[0].sha256.clone());
        assert!(check(&Credential::Assertion(assertion(h256, claims(AUD, NOW + 600)))).is_ok());
        let bare = Header::new(Algorithm::RS256);
        assert!(check(&Credential::Assertion(assertion(bare, claims(AUD, NOW + 600)))).is_ok());

        assert_eq!(code(check(&Credential::Assertion(assertion(h.clone(), claims(AUD, NOW - 600))))), 700024);
        assert_eq!(
            code(check(&Credential::Assertion(assertion(h.clone(), claims("https://x/token", NOW + 60))))),
            50027
        );
        let mut other = claims(AUD, NOW + 600);
        other["sub"] = "c2".into();
        assert_eq!(code(check(&Credential::Assertion(assertion(h.clone(), other)))), 700021);
        let mut unknown = h.clone();
        unknown.x5t = Some(URL_SAFE_NO_PAD.encode([7u8; 20]));
        let err = check(&Credential::Assertion(assertion(unknown, claims(AUD, NOW + 600)))).unwrap_err();
        assert_eq!(err.code, 700027);
        assert!(err.message.contains("0707070707"), "{}", err.message);
        assert_eq!(code(check(&Credential::Assertion("nope".into()))), 50027);
    }

    #[test]
    fn a_tampered_assertion_fails_its_signature() {
        let jwt = assertion(Header::new(Algorithm::RS256), claims(AUD, NOW + 600));
        let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
        let mut sig = URL_SAFE_NO_PAD.decode(&parts[2]).unwrap();
        sig[5] ^= 1;
        parts[2] = URL_SAFE_NO_PAD.encode(sig);
        let err = check(&Credential::Assertion(parts.join("."))).unwrap_err();
        assert_eq!((err.code, err.status), (700027, 401));
    }

    #[test]
    fn unreadable_certificates_name_the_client() {
        let c = ClientConfig {
            client_id: "c9".into(),
            client_secret: String::new(),
            display_name: String::new(),
            roles: vec![],
            certificates: vec!["/nonexistent/cert.pem".into()],
        };
        let err = ClientRegistry::from_config(&[c]).unwrap_err().to_string();
        assert!(err.contains("c9") && err.contains("/nonexistent/cert.pem"), "{err}");
    }
}
