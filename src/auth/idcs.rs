//! Oracle Identity Cloud Service style access tokens, for the SCIM service provider's `/admin/v1` dialect
//! (docs/fidelity.md#s6-authentication): minted by `POST /oauth2/v1/token` for a configured client
//! (client credentials, `scope=urn:opc:idm:__myscopes__`) and accepted by the SCIM endpoints beside the
//! emulator's Graph tokens.
//!
//! Shape: RS256 with the emulator's signing key, `iss` and `aud` IDCS's public identity URL, `sub` and
//! `client_id` the client, `scope` the requested scope, `tok_type` `AT`, and `roles` the client's configured
//! permissions — so a client lacking `Directory.ReadWrite.All` gets 403 on writes, as with Graph tokens.
//! Lifetimes are checked against the injected clock, not by jsonwebtoken (which reads the system clock).

use jsonwebtoken::{Algorithm, Header, Validation, decode, encode};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use super::{Principal, SigningKeys};

/// The scope IDCS clients ask for: every scope granted to the client.
pub const MY_SCOPES: &str = "urn:opc:idm:__myscopes__";
/// `iss` and `aud` of the tokens.
pub const IDCS_ISSUER: &str = "https://identity.oraclecloud.com/";

/// Signs an IDCS-style access token for `client_id` holding `roles`.
pub fn issue_idcs_token(
    keys: &SigningKeys,
    client_id: &str,
    roles: &[String],
    now: OffsetDateTime,
    lifetime_secs: i64,
) -> Result<String, jsonwebtoken::errors::Error> {
    let iat = now.unix_timestamp();
    let claims = json!({
        "iss": IDCS_ISSUER,
        "aud": IDCS_ISSUER,
        "sub": client_id,
        "sub_type": "client",
        "client_id": client_id,
        "scope": MY_SCOPES,
        "tok_type": "AT",
        "roles": roles,
        "iat": iat,
        "nbf": iat,
        "exp": iat + lifetime_secs,
        "jti": uuid::Uuid::new_v4().simple().to_string(),
    });
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(keys.kid.clone());
    encode(&header, &claims, &keys.encoding)
}

#[derive(Debug, Deserialize)]
struct Claims {
    exp: i64,
    #[serde(default)]
    nbf: Option<i64>,
    client_id: String,
    #[serde(default)]
    roles: Vec<String>,
}

/// The caller of an IDCS-style token, or None when `token` is not one (or expired, or forged).
pub fn validate_idcs_token(
    keys: &SigningKeys,
    token: &str,
    tenant_id: &str,
    now_unix: i64,
    leeway_secs: i64,
) -> Option<Principal> {
    let mut v = Validation::new(Algorithm::RS256);
    v.validate_exp = false;
    v.validate_nbf = false;
    v.required_spec_claims.clear();
    v.set_audience(&[IDCS_ISSUER]);
    v.set_issuer(&[IDCS_ISSUER]);
    let claims = decode::<Claims>(token, &keys.decoding, &v).ok()?.claims;
    let live = now_unix <= claims.exp.saturating_add(leeway_secs)
        && claims.nbf.is_none_or(|nbf| now_unix >= nbf.saturating_sub(leeway_secs));
    live.then(|| Principal {
        app_id: claims.client_id,
        tenant_id: tenant_id.to_owned(),
        roles: claims.roles,
        scopes: vec![MY_SCOPES.to_owned()],
        all_permissions: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn tokens_round_trip_until_they_expire() {
        let keys = SigningKeys::development().unwrap();
        let now = datetime!(2025-01-15 10:00 UTC);
        let token = issue_idcs_token(&keys, "c1", &["Directory.ReadWrite.All".into()], now, 3600).unwrap();
        let p = validate_idcs_token(&keys, &token, "t", now.unix_timestamp(), 30).unwrap();
        assert_eq!((p.app_id.as_str(), p.roles.as_slice()), ("c1", ["Directory.ReadWrite.All".to_owned()].as_slice()));
        assert!(validate_idcs_token(&keys, &token, "t", now.unix_timestamp() + 3700, 30).is_none());
        let mut tampered = token.clone();
        tampered.insert(tampered.len() - 3, 'x');
        assert!(validate_idcs_token(&keys, &tampered, "t", now.unix_timestamp(), 30).is_none());
    }
}
