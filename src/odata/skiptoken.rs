//! The opaque `$skiptoken` of `@odata.nextLink`: keyset paging, stable under concurrent writes
//! (docs/fidelity.md, "A3 Provisioning logs query"). Graph's own token format is not documented, so ours
//! is our own.
//!
//! A token is the URL-safe, unpadded base64 of a JSON array holding the sort-key values of the last
//! row of the page (e.g. `["2025-01-15T10:02:13.0000000Z","e0f6…"]`); [`super::PageQuery::new`] turns
//! the decoded values into typed keys for the same `$orderby`. Tokens need no URL escaping.
//!
//! Design constraints: decoding never trusts the token — length is capped, anything that is not a
//! JSON array is refused, and the page query rejects values of the wrong type or count (a token
//! replayed against another `$orderby`).

use super::{MAX_QUERY_OPTION_LEN, ODataError};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// Encodes the last row's sort-key values.
///
/// ```
/// # use entra_inbound::odata::skiptoken;
/// let keys = vec![serde_json::json!("2025-01-15T10:02:13.0000000Z"), serde_json::json!("id-1")];
/// assert_eq!(skiptoken::decode(&skiptoken::encode(&keys)), Ok(keys));
/// ```
pub fn encode(keys: &[Value]) -> String {
    URL_SAFE_NO_PAD.encode(Value::Array(keys.to_vec()).to_string())
}

/// Decodes a token made by [`encode`].
pub fn decode(token: &str) -> Result<Vec<Value>, ODataError> {
    if token.len() > MAX_QUERY_OPTION_LEN {
        return Err(invalid());
    }
    let bytes = URL_SAFE_NO_PAD.decode(token.trim()).map_err(|_| invalid())?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Array(keys)) => Ok(keys),
        _ => Err(invalid()),
    }
}

/// The error for a token that is malformed or was not issued for this query.
pub(super) fn invalid() -> ODataError {
    ODataError::new("The $skiptoken value is not valid for this request.").with_target("$skiptoken")
}
