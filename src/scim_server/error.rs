//! The SCIM error (RFC 7644 §3.12): an HTTP status, an optional `scimType` and a `detail`, rendered as
//! `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":…,"detail":…}` with
//! `status` as a string. Every failure of the SCIM service — a request's or one Bulk operation's — is one of these
//! (docs/fidelity.md#s1-scim-20-service-provider). HTTP types stay in `crate::api::scim`.

use serde_json::{Value, json};

/// The error message schema.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// RFC 7644 Table 9's `scimType` keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
}

impl ScimType {
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
        }
    }
}

/// A SCIM error response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {detail}")]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<ScimType>,
    pub detail: String,
}

impl ScimError {
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        Self { status, scim_type, detail: detail.into() }
    }

    /// 400 with a `scimType`.
    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self::new(400, Some(scim_type), detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, None, detail)
    }

    pub fn resource_not_found(endpoint: &str, id: &str) -> Self {
        Self::not_found(format!("Resource {endpoint}/{id} not found."))
    }

    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(409, Some(ScimType::Uniqueness), detail)
    }

    /// 412: the `If-Match` (or a Bulk operation's `version`) names another version.
    pub fn version_mismatch(current: &str) -> Self {
        Self::new(412, None, format!("Failed to update. Resource changed on the server; its version is now {current}."))
    }

    pub fn too_large(detail: impl Into<String>) -> Self {
        Self::new(413, None, detail)
    }

    pub fn unauthorized() -> Self {
        Self::new(401, None, "Authorization failure. The authorization header is invalid or missing.")
    }

    pub fn forbidden() -> Self {
        Self::new(403, None, "Operation is not permitted based on the supplied authorization.")
    }

    pub fn method_not_allowed(allow: &str) -> Self {
        Self::new(405, None, format!("The endpoint does not support this method; it allows {allow}."))
    }

    pub fn internal() -> Self {
        Self::new(500, None, "An internal error occurred.")
    }

    /// The error as its JSON body.
    pub fn body(&self) -> Value {
        let mut body = json!({"schemas": [ERROR_SCHEMA], "status": self.status.to_string()});
        if let Some(t) = self.scim_type {
            body["scimType"] = t.as_str().into();
        }
        body["detail"] = self.detail.clone().into();
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_carries_the_status_as_a_string_and_the_scim_type() {
        let e = ScimError::uniqueness("userName 'a' is taken.");
        assert_eq!(
            e.body(),
            json!({"schemas": [ERROR_SCHEMA], "status": "409", "scimType": "uniqueness", "detail": "userName 'a' is taken."})
        );
        assert!(ScimError::not_found("x").body().get("scimType").is_none());
    }
}
