//! Bearer-token validation (docs/fidelity.md A.1 row 2): RS256 only (`none` and HS* refused), signature against the
//! configured key, `exp`/`nbf` against the injected clock with a small leeway, Graph audiences, and the
//! tenant's v1 or v2 issuer. Lenient mode accepts any non-empty bearer.
//!
//! `iss`, `aud`, `exp` and `tid` are required: a token without one answers exactly as a wrong value of that
//! claim does (Graph never accepts such a token, and jsonwebtoken only checks the claims that are there).
//! Claims are checked in one fixed order — signature, `iss`, `aud`, `exp`/`nbf`, `tid` — so a token with
//! several problems always gets the same answer.
//!
//! Design constraint: lifetimes are checked here rather than by jsonwebtoken, because jsonwebtoken reads the
//! system clock and tests drive time through `crate::clock`.
//!
//! Performance: the RSA signature check costs about 50 µs, more than everything else a SCIM read does. What
//! does not depend on time — signature, `iss`, `aud` — is therefore verified once per token and remembered in a
//! bounded cache keyed by the whole token; lifetime and tenant are checked on every request, so a cached token
//! still expires on time and every answer is the one an uncached validation gives.

use std::sync::Arc;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation, decode};
use serde::Deserialize;

use super::{Principal, SigningKeys};
use crate::config::AuthMode;
use crate::error::TokenProblem;

/// Audiences Graph accepts.
pub fn graph_audiences() -> [&'static str; 2] {
    ["https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000"]
}

#[derive(Debug, Deserialize)]
struct Claims {
    /// Only its presence and shape are checked here (jsonwebtoken checks a value it can read).
    #[serde(default)]
    aud: Option<serde_json::Value>,
    exp: Option<i64>,
    nbf: Option<i64>,
    #[serde(default)]
    appid: Option<String>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    tid: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    scp: Option<String>,
}

/// Tokens whose signature, issuer and audience were verified (a client keeps using its token for an hour; a test
/// suite has a handful of clients).
const VERIFIED_TOKENS: usize = 1024;

/// What a token's signature vouches for, checked once: the time-independent part of a validation.
#[derive(Debug)]
struct Verified {
    exp: Option<i64>,
    nbf: Option<i64>,
    tenant_matches: bool,
    principal: Principal,
}

/// Validates bearer tokens for one tenant.
#[derive(Debug)]
pub struct TokenValidator {
    keys: SigningKeys,
    tenant_id: String,
    mode: AuthMode,
    leeway_secs: i64,
    verified: quick_cache::sync::Cache<Box<str>, Arc<Verified>>,
}

impl TokenValidator {
    pub fn new(keys: SigningKeys, tenant_id: &str, mode: AuthMode, leeway_secs: u64) -> Self {
        Self {
            keys,
            tenant_id: tenant_id.to_owned(),
            mode,
            leeway_secs: i64::try_from(leeway_secs).unwrap_or(i64::MAX),
            verified: quick_cache::sync::Cache::new(VERIFIED_TOKENS),
        }
    }

    pub fn keys(&self) -> &SigningKeys {
        &self.keys
    }

    /// Validate an `Authorization` header value (None when the header is absent).
    pub fn validate(&self, authorization: Option<&str>, now_unix: i64) -> Result<Principal, TokenProblem> {
        let token = bearer_token(authorization).ok_or(TokenProblem::Empty)?;
        if self.mode == AuthMode::Lenient {
            return Ok(Principal {
                app_id: String::new(),
                tenant_id: self.tenant_id.clone(),
                roles: Vec::new(),
                scopes: Vec::new(),
                all_permissions: true,
            });
        }
        let verified = match self.verified.get(token) {
            Some(v) => v,
            None => {
                let v = Arc::new(self.verify(token)?);
                self.verified.insert(token.into(), Arc::clone(&v));
                v
            }
        };
        let exp = verified.exp.ok_or(TokenProblem::Expired)?;
        if now_unix > exp.saturating_add(self.leeway_secs) {
            return Err(TokenProblem::Expired);
        }
        if verified.nbf.is_some_and(|nbf| now_unix < nbf.saturating_sub(self.leeway_secs)) {
            return Err(TokenProblem::Expired);
        }
        if !verified.tenant_matches {
            return Err(TokenProblem::InvalidIssuer);
        }
        Ok(verified.principal.clone())
    }

    /// The checks that do not depend on time: shape, algorithm, signature, `iss`, `aud`.
    fn verify(&self, token: &str) -> Result<Verified, TokenProblem> {
        if token.split('.').count() != 3 {
            return Err(TokenProblem::Malformed);
        }
        // `alg` pinned: anything but RS256 (including `none`, which jsonwebtoken cannot even name) is refused
        // as a signature failure, like Graph does.
        match jsonwebtoken::decode_header(token) {
            Ok(h) if h.alg == Algorithm::RS256 => {}
            Ok(_) => return Err(TokenProblem::InvalidSignature),
            Err(e) => {
                return Err(match e.kind() {
                    ErrorKind::Json(_) | ErrorKind::InvalidAlgorithmName => TokenProblem::InvalidSignature,
                    _ => TokenProblem::Malformed,
                });
            }
        }
        let mut v = Validation::new(Algorithm::RS256);
        v.validate_exp = false;
        v.validate_nbf = false;
        // A missing (or non-string) `iss` fails inside jsonwebtoken, before `aud` is looked at.
        v.set_required_spec_claims(&["iss"]);
        v.set_audience(&graph_audiences());
        let issuers = [
            format!("https://sts.windows.net/{}/", self.tenant_id),
            format!("https://login.microsoftonline.com/{}/v2.0", self.tenant_id),
        ];
        v.set_issuer(&issuers);
        let data = decode::<Claims>(token, &self.keys.decoding, &v).map_err(|e| match e.kind() {
            ErrorKind::InvalidAudience => TokenProblem::InvalidAudience,
            ErrorKind::InvalidIssuer | ErrorKind::MissingRequiredClaim(_) => TokenProblem::InvalidIssuer,
            ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm => TokenProblem::InvalidSignature,
            _ => TokenProblem::Malformed,
        })?;
        let c = data.claims;
        // jsonwebtoken skips `aud` when it is absent or not strings; such a token is refused as a wrong value
        // would be (after `iss`, as jsonwebtoken orders its checks).
        let audience_shaped = |aud: &serde_json::Value| match aud {
            serde_json::Value::String(_) => true,
            serde_json::Value::Array(all) => all.iter().all(serde_json::Value::is_string),
            _ => false,
        };
        if !c.aud.as_ref().is_some_and(audience_shaped) {
            return Err(TokenProblem::InvalidAudience);
        }
        Ok(Verified {
            exp: c.exp,
            nbf: c.nbf,
            tenant_matches: c.tid.as_deref() == Some(self.tenant_id.as_str()),
            principal: Principal {
                app_id: c.appid.or(c.azp).unwrap_or_default(),
                tenant_id: self.tenant_id.clone(),
                roles: c.roles,
                scopes: c.scp.map(|s| s.split_whitespace().map(str::to_owned).collect()).unwrap_or_default(),
                all_permissions: false,
            },
        })
    }
}

/// The token of `Bearer <token>` (scheme case-insensitive), None when absent or empty.
fn bearer_token(header: Option<&str>) -> Option<&str> {
    let header = header?.trim();
    let (scheme, token) = header.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{TokenRequest, issue_token};
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    const TID: &str = "c0ffee00-0000-4000-8000-000000000001";
    const NOW: i64 = 1_800_000_000;

    fn validator() -> TokenValidator {
        TokenValidator::new(SigningKeys::development().unwrap(), TID, AuthMode::Strict, 30)
    }

    fn token(aud: &str, roles: &[&str], lifetime: i64) -> String {
        let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
        issue_token(
            &SigningKeys::development().unwrap(),
            &TokenRequest {
                tenant_id: TID,
                client_id: "c",
                client_display_name: "c",
                roles: &roles,
                audience: aud,
                now: time::OffsetDateTime::from_unix_timestamp(NOW).unwrap(),
                lifetime_secs: lifetime,
                auth_method: "1",
            },
        )
        .unwrap()
    }

    fn check(t: &str) -> Result<Principal, TokenProblem> {
        validator().validate(Some(&format!("Bearer {t}")), NOW + 10)
    }

    #[test]
    fn accepts_a_minted_token_with_its_roles() {
        let p = check(&token("https://graph.microsoft.com", &["AuditLog.Read.All"], 3600)).unwrap();
        assert_eq!(p.roles, vec!["AuditLog.Read.All"]);
        assert!(check(&token("00000003-0000-0000-c000-000000000000", &[], 3600)).is_ok());
    }

    #[test]
    fn refusals_name_the_problem() {
        let good = token("https://graph.microsoft.com", &[], 3600);
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        let mut sig = URL_SAFE_NO_PAD.decode(&parts[2]).unwrap();
        sig[10] ^= 0xff;
        parts[2] = URL_SAFE_NO_PAD.encode(sig);
        assert_eq!(check(&parts.join(".")), Err(TokenProblem::InvalidSignature));

        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = good.split('.').nth(1).unwrap();
        assert_eq!(check(&format!("{none_header}.{body}.")), Err(TokenProblem::InvalidSignature));
        let hs = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        assert_eq!(check(&format!("{hs}.{body}.abc")), Err(TokenProblem::InvalidSignature));

        assert_eq!(check(&token("https://graph.microsoft.com", &[], -100)), Err(TokenProblem::Expired));
        assert_eq!(check(&token("api://other", &[], 3600)), Err(TokenProblem::InvalidAudience));
        assert_eq!(check("not-a-jwt"), Err(TokenProblem::Malformed));
        assert_eq!(validator().validate(None, NOW), Err(TokenProblem::Empty));
        assert_eq!(validator().validate(Some("Bearer "), NOW), Err(TokenProblem::Empty));
        assert_eq!(validator().validate(Some("Basic abc"), NOW), Err(TokenProblem::Empty));
    }

    /// Signs `claims` as the development key does: a token whose only flaws are in its claims.
    fn signed(claims: &serde_json::Value) -> String {
        let keys = SigningKeys::development().unwrap();
        let mut header = jsonwebtoken::Header::new(Algorithm::RS256);
        header.kid = Some(keys.kid.clone());
        jsonwebtoken::encode(&header, claims, &keys.encoding).unwrap()
    }

    fn good_claims() -> serde_json::Value {
        serde_json::json!({
            "iss": format!("https://sts.windows.net/{TID}/"),
            "aud": "https://graph.microsoft.com",
            "exp": NOW + 3600,
            "nbf": NOW,
            "tid": TID,
            "appid": "c",
            "roles": ["AuditLog.Read.All"],
        })
    }

    #[test]
    fn a_remembered_token_is_still_checked_for_lifetime_and_tenant_every_time() {
        let v = validator();
        let header = |t: &str| format!("Bearer {t}");
        let good = header(&signed(&good_claims()));
        assert!(v.validate(Some(&good), NOW + 10).is_ok());
        assert!(v.validate(Some(&good), NOW + 20).is_ok(), "the remembered verification");
        assert_eq!(v.validate(Some(&good), NOW + 3700), Err(TokenProblem::Expired), "it still expires");
        assert_eq!(v.validate(Some(&good), NOW - 100), Err(TokenProblem::Expired), "and is not valid before nbf");
        let mut other_tenant = good_claims();
        other_tenant["tid"] = serde_json::json!("other");
        let other_tenant = header(&signed(&other_tenant));
        for _ in 0..2 {
            assert_eq!(v.validate(Some(&other_tenant), NOW + 10), Err(TokenProblem::InvalidIssuer));
        }
        // A token differing from a remembered one only in its signature is verified afresh.
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        let mut sig = URL_SAFE_NO_PAD.decode(&parts[2]).unwrap();
        sig[3] ^= 0x01;
        parts[2] = URL_SAFE_NO_PAD.encode(sig);
        assert_eq!(v.validate(Some(&parts.join(".")), NOW + 10), Err(TokenProblem::InvalidSignature));
    }

    #[test]
    fn a_missing_claim_is_refused_as_a_wrong_value_of_it_would_be() {
        assert!(check(&signed(&good_claims())).is_ok());
        let rows = [
            ("iss", serde_json::json!("https://sts.windows.net/other/"), TokenProblem::InvalidIssuer),
            ("aud", serde_json::json!("api://other"), TokenProblem::InvalidAudience),
            ("exp", serde_json::json!(NOW - 3600), TokenProblem::Expired),
            ("tid", serde_json::json!("other"), TokenProblem::InvalidIssuer),
        ];
        for (claim, wrong, problem) in rows {
            let mut without = good_claims();
            without.as_object_mut().unwrap().remove(claim);
            assert_eq!(check(&signed(&without)), Err(problem), "without {claim}");
            let mut with_wrong = good_claims();
            with_wrong[claim] = wrong;
            assert_eq!(check(&signed(&with_wrong)), Err(problem), "wrong {claim}");
        }
    }

    #[test]
    fn claims_of_the_wrong_json_type_count_as_missing() {
        for (claim, value, problem) in [
            ("iss", serde_json::json!(7), TokenProblem::InvalidIssuer),
            ("aud", serde_json::json!(7), TokenProblem::InvalidAudience),
            ("aud", serde_json::json!([]), TokenProblem::InvalidAudience),
            ("aud", serde_json::json!(["https://graph.microsoft.com", 7]), TokenProblem::InvalidAudience),
            ("aud", serde_json::json!(null), TokenProblem::InvalidAudience),
        ] {
            let mut claims = good_claims();
            claims[claim] = value.clone();
            assert_eq!(check(&signed(&claims)), Err(problem), "{claim}: {value}");
        }
        let mut both = good_claims();
        both["aud"] = serde_json::json!(["https://graph.microsoft.com"]);
        assert!(check(&signed(&both)).is_ok(), "an array audience naming Graph is accepted");
    }

    #[test]
    fn several_problems_always_get_the_same_answer() {
        // `iss` is checked before `aud`, whether it is wrong or missing.
        let mut claims = good_claims();
        claims.as_object_mut().unwrap().remove("iss");
        claims.as_object_mut().unwrap().remove("aud");
        assert_eq!(check(&signed(&claims)), Err(TokenProblem::InvalidIssuer));
        claims["aud"] = serde_json::json!("api://other");
        assert_eq!(check(&signed(&claims)), Err(TokenProblem::InvalidIssuer));
    }

    #[test]
    fn leeway_tolerates_small_skew() {
        let t = token("https://graph.microsoft.com", &[], 5);
        assert!(validator().validate(Some(&format!("Bearer {t}")), NOW + 30).is_ok());
        assert!(validator().validate(Some(&format!("Bearer {t}")), NOW + 40).is_err());
    }

    #[test]
    fn lenient_mode_accepts_any_bearer() {
        let v = TokenValidator::new(SigningKeys::development().unwrap(), TID, AuthMode::Lenient, 30);
        assert!(v.validate(Some("Bearer anything"), NOW).unwrap().has_any(&["x"]));
        assert_eq!(v.validate(None, NOW), Err(TokenProblem::Empty));
    }
}
