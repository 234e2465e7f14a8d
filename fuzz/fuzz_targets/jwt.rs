//! Bearer-token validation. Any `Authorization` value goes to the validator; an input starting with a zero
//! byte is instead a claims document signed with the development key, so the claim checks behind the
//! signature are reached too. Refusals are expected, panics are bugs.
#![no_main]

use std::sync::LazyLock;

use entra_inbound::auth::{SigningKeys, TokenValidator};
use entra_inbound::config::AuthMode;
use libfuzzer_sys::fuzz_target;

const TENANT: &str = "c0ffee00-0000-4000-8000-000000000001";
const NOW: i64 = 1_800_000_000;

static KEYS: LazyLock<SigningKeys> = LazyLock::new(|| SigningKeys::development().expect("the development key loads"));
static VALIDATOR: LazyLock<TokenValidator> =
    LazyLock::new(|| TokenValidator::new(KEYS.clone(), TENANT, AuthMode::Strict, 30));

fuzz_target!(|data: &[u8]| {
    if let Some((0, claims)) = data.split_first() {
        let Ok(claims) = serde_json::from_slice::<serde_json::Value>(claims) else { return };
        let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        let Ok(token) = jsonwebtoken::encode(&header, &claims, &KEYS.encoding) else { return };
        let _ = VALIDATOR.validate(Some(&format!("Bearer {token}")), NOW);
        return;
    }
    let Ok(header) = std::str::from_utf8(data) else { return };
    let _ = VALIDATOR.validate(Some(header), NOW);
});
