//! Minting access tokens shaped like Entra's v1 Graph app-only tokens (docs/fidelity.md A.5): RS256 with
//! `kid`/`x5t` headers, `iss https://sts.windows.net/{tid}/`, `aud`, `roles`, `appid`, `tid`, `oid`, `idtyp`.
//! Used by the `token` command and (later) the token endpoint, so both produce identical tokens.

use jsonwebtoken::{Algorithm, Header, encode};
use serde_json::json;
use time::OffsetDateTime;

use super::SigningKeys;

/// What to put in a token.
#[derive(Debug, Clone)]
pub struct TokenRequest<'a> {
    pub tenant_id: &'a str,
    pub client_id: &'a str,
    pub client_display_name: &'a str,
    pub roles: &'a [String],
    pub audience: &'a str,
    pub now: OffsetDateTime,
    /// Lifetime in seconds; negative values mint already-expired tokens (tests).
    pub lifetime_secs: i64,
    /// `appidacr`: "1" for a client secret, "2" for a certificate.
    pub auth_method: &'a str,
}

/// Sign a v1 Graph access token.
pub fn issue_token(keys: &SigningKeys, req: &TokenRequest<'_>) -> Result<String, jsonwebtoken::errors::Error> {
    let iat = req.now.unix_timestamp();
    let issuer = format!("https://sts.windows.net/{}/", req.tenant_id);
    let claims = json!({
        "aud": req.audience,
        "iss": issuer,
        "iat": iat,
        "nbf": iat,
        "exp": iat + req.lifetime_secs,
        "aio": "entra-inbound",
        "app_displayname": req.client_display_name,
        "appid": req.client_id,
        "appidacr": req.auth_method,
        "idp": issuer,
        "idtyp": "app",
        "oid": req.client_id,
        "rh": "0.entra-inbound.",
        "roles": req.roles,
        "sub": req.client_id,
        "tid": req.tenant_id,
        "uti": uuid::Uuid::new_v4().simple().to_string(),
        "ver": "1.0",
    });
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some("JWT".into());
    header.kid = Some(keys.kid.clone());
    header.x5t = Some(keys.kid.clone());
    encode(&header, &claims, &keys.encoding)
}
