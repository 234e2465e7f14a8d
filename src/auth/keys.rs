//! The token signing key: the well-known development key shipped in `config/` (like Azurite's well-known
//! account key, so `entra-inbound token` works offline and tokens survive restarts), or a configured PEM.
//! Exposes the jsonwebtoken keys, the `kid`/`x5t` thumbprint and the JWKS document.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, jwk::Jwk};

pub const DEV_KEY_PEM: &str = include_str!("../../config/dev-signing-key.pem");
pub const DEV_CERT_PEM: &str = include_str!("../../config/dev-signing-cert.pem");

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("invalid signing key: {0}")]
    Invalid(String),
}

/// The key pair plus its published forms.
#[derive(Clone)]
pub struct SigningKeys {
    pub encoding: EncodingKey,
    pub decoding: DecodingKey,
    /// Key id: the base64url SHA-1 thumbprint of the certificate (Entra uses the same value for kid and x5t).
    pub kid: String,
    cert_der_b64: Option<String>,
    jwk: Jwk,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl SigningKeys {
    /// The well-known development key.
    pub fn development() -> Result<Self, KeyError> {
        Self::from_pem(DEV_KEY_PEM.as_bytes(), Some(DEV_CERT_PEM))
    }

    /// Load from configured files; empty key path = the development key.
    pub fn load(key_file: &str, cert_file: &str) -> Result<Self, KeyError> {
        if key_file.is_empty() {
            return Self::development();
        }
        let read = |p: &str| std::fs::read_to_string(p).map_err(|source| KeyError::Read { path: p.to_owned(), source });
        let key = read(key_file)?;
        let cert = if cert_file.is_empty() { None } else { Some(read(cert_file)?) };
        Self::from_pem(key.as_bytes(), cert.as_deref())
    }

    fn from_pem(key_pem: &[u8], cert_pem: Option<&str>) -> Result<Self, KeyError> {
        let encoding = EncodingKey::from_rsa_pem(key_pem).map_err(|e| KeyError::Invalid(e.to_string()))?;
        let jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256).map_err(|e| KeyError::Invalid(e.to_string()))?;
        let decoding = DecodingKey::from_jwk(&jwk).map_err(|e| KeyError::Invalid(e.to_string()))?;
        let cert_der = cert_pem.map(pem_body).transpose()?;
        let thumb_source = match &cert_der {
            Some(der) => der.clone(),
            // Without a certificate, thumbprint the public key's JWK modulus instead (stable per key).
            None => serde_json::to_vec(&jwk).map_err(|e| KeyError::Invalid(e.to_string()))?,
        };
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &thumb_source);
        let kid = URL_SAFE_NO_PAD.encode(digest.as_ref());
        Ok(Self { encoding, decoding, kid, cert_der_b64: cert_der.map(|d| STANDARD.encode(d)), jwk })
    }

    /// One JWKS entry: `{kty, use, kid, x5t, n, e, x5c?}`.
    pub fn jwk_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(&self.jwk).unwrap_or_default();
        if let Some(obj) = v.as_object_mut() {
            obj.insert("use".into(), "sig".into());
            obj.insert("kid".into(), self.kid.clone().into());
            obj.insert("x5t".into(), self.kid.clone().into());
            obj.remove("alg");
            if let Some(c) = &self.cert_der_b64 {
                obj.insert("x5c".into(), serde_json::json!([c]));
            }
        }
        v
    }
}

/// Decode the first PEM block's base64 body.
fn pem_body(pem: &str) -> Result<Vec<u8>, KeyError> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .skip_while(|l| !l.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    STANDARD.decode(body).map_err(|e| KeyError::Invalid(format!("certificate PEM: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn development_key_publishes_a_jwk_with_thumbprint() {
        let k = SigningKeys::development().unwrap();
        let jwk = k.jwk_json();
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["kid"], k.kid.as_str());
        assert_eq!(jwk["x5t"], k.kid.as_str());
        assert!(jwk["n"].as_str().unwrap().len() > 300);
        assert_eq!(k.kid.len(), 27, "base64url SHA-1 without padding");
    }

    #[test]
    fn a_configured_key_replaces_the_development_key() {
        let dir = env!("CARGO_MANIFEST_DIR");
        let key = format!("{dir}/tests/fixtures/client-key.pem");
        let cert = format!("{dir}/tests/fixtures/client-cert.pem");
        let custom = SigningKeys::load(&key, &cert).unwrap();
        assert_ne!(custom.kid, SigningKeys::development().unwrap().kid);
        assert!(custom.jwk_json()["x5c"].is_array());
        let without_cert = SigningKeys::load(&key, "").unwrap();
        assert!(without_cert.jwk_json().get("x5c").is_none());
        assert!(matches!(SigningKeys::load("/nonexistent.pem", ""), Err(KeyError::Read { .. })));
        assert!(matches!(SigningKeys::load(&cert, ""), Err(KeyError::Invalid(_))));
    }
}
