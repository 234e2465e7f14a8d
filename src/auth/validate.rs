//! Bearer-token validation (spec A.1 row 2): RS256 only (`none` and HS* refused), signature against the
//! configured key, `exp`/`nbf` against the injected clock with a small leeway, Graph audiences, and the
//! tenant's v1 or v2 issuer. Lenient mode accepts any non-empty bearer.
//!
//! Design constraint: lifetimes are checked here rather than by jsonwebtoken, because jsonwebtoken reads the
//! system clock and tests drive time through `crate::clock`.

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

/// Validates bearer tokens for one tenant.
#[derive(Debug, Clone)]
pub struct TokenValidator {
    keys: SigningKeys,
    tenant_id: String,
    mode: AuthMode,
    leeway_secs: i64,
}

impl TokenValidator {
    pub fn new(keys: SigningKeys, tenant_id: &str, mode: AuthMode, leeway_secs: u64) -> Self {
        Self {
            keys,
            tenant_id: tenant_id.to_owned(),
            mode,
            leeway_secs: i64::try_from(leeway_secs).unwrap_or(i64::MAX),
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
        v.required_spec_claims.clear();
        v.set_audience(&graph_audiences());
        let issuers = [
            format!("https://sts.windows.net/{}/", self.tenant_id),
            format!("https://login.microsoftonline.com/{}/v2.0", self.tenant_id),
        ];
        v.set_issuer(&issuers);
        let data = decode::<Claims>(token, &self.keys.decoding, &v).map_err(|e| match e.kind() {
            ErrorKind::InvalidAudience | ErrorKind::MissingRequiredClaim(_) => TokenProblem::InvalidAudience,
            ErrorKind::InvalidIssuer => TokenProblem::InvalidIssuer,
            ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm => TokenProblem::InvalidSignature,
            _ => TokenProblem::Malformed,
        })?;
        let c = data.claims;
        let exp = c.exp.ok_or(TokenProblem::Expired)?;
        if now_unix > exp.saturating_add(self.leeway_secs) {
            return Err(TokenProblem::Expired);
        }
        if c.nbf.is_some_and(|nbf| now_unix < nbf.saturating_sub(self.leeway_secs)) {
            return Err(TokenProblem::Expired);
        }
        if c.tid.as_deref().is_some_and(|t| t != self.tenant_id) {
            return Err(TokenProblem::InvalidIssuer);
        }
        Ok(Principal {
            app_id: c.appid.or(c.azp).unwrap_or_default(),
            tenant_id: self.tenant_id.clone(),
            roles: c.roles,
            scopes: c.scp.map(|s| s.split_whitespace().map(str::to_owned).collect()).unwrap_or_default(),
            all_permissions: false,
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
