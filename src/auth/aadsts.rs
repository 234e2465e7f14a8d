//! The token endpoint's error model (docs/fidelity.md A.5): the AADSTS envelope
//! `{error, error_description, error_codes, timestamp, trace_id, correlation_id, error_uri}` with the `error`,
//! code and HTTP status Entra answers for each case.
//!
//! Sources (issue 5 research record): 70011 `invalid_scope` 400 and the envelope shape — Microsoft's
//! "reference-error-codes" page; 900144 `invalid_request` 400 (also what a JSON body gets, since the endpoint only
//! reads form bodies) — MicrosoftDocs/azure-docs#43780 and a captured response; 90002 `invalid_tenant` 400 —
//! Azure/azure-cli#22145 and james-gould/azure-keyvault-emulator#324 (older responses said `invalid_request`);
//! 7000215 `invalid_client` 401 — OfficeDev/microsoft-365-agents-toolkit#8621, Azure/sap-automation#418;
//! 70003 `unsupported_grant_type` — AzureAD/azure-activedirectory-library-for-android#132; 700016
//! `unauthorized_client` 400, 7000216, 900023, 9001023, 500011, 700027, 700024, 700021, 50027 — message texts
//! from public issue threads, statuses inferred from the `error` value (RFC 6749 §5.2: `invalid_client` is 401).
//! What Entra answers for a body it will not read is not published: the emulator answers 413 (or 400 for a body
//! that could not be read) with 90013 `InvalidUserInput`, keeping the envelope every client parses.

use serde_json::{Value, json};
use time::OffsetDateTime;

/// One token-endpoint failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub status: u16,
    pub error: &'static str,
    pub code: u32,
    pub message: String,
}

impl OAuthError {
    fn new(status: u16, error: &'static str, code: u32, message: String) -> Self {
        Self { status, error, code, message }
    }

    /// AADSTS90002: a well-formed tenant that is not this emulator's.
    pub fn unknown_tenant(tenant: &str) -> Self {
        Self::new(
            400,
            "invalid_tenant",
            90002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
            ),
        )
    }

    /// AADSTS900023: a tenant segment that is neither a GUID nor a domain name.
    pub fn malformed_tenant(tenant: &str) -> Self {
        Self::new(
            400,
            "invalid_request",
            900023,
            format!("Specified tenant identifier '{tenant}' is neither a valid DNS name, nor a valid external domain."),
        )
    }

    /// AADSTS9001023: client credentials need a tenant, not `common`/`organizations`/`consumers`.
    pub fn tenantless_endpoint() -> Self {
        Self::new(
            400,
            "invalid_request",
            9001023,
            "The grant type is not supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.".into(),
        )
    }

    /// AADSTS900144: a required form parameter is missing.
    pub fn missing_parameter(name: &str) -> Self {
        Self::new(
            400,
            "invalid_request",
            900144,
            format!("The request body must contain the following parameter: '{name}'."),
        )
    }

    /// AADSTS70003: only `client_credentials` is emulated.
    pub fn unsupported_grant_type(grant: &str) -> Self {
        Self::new(
            400,
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{grant}'."),
        )
    }

    /// AADSTS700016: no such client application in the tenant.
    pub fn unknown_client(client_id: &str, tenant: &str) -> Self {
        Self::new(
            400,
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
        )
    }

    /// AADSTS90013: a body too large to read (413), or one that could not be read (400).
    pub fn unreadable_body(too_large: bool) -> Self {
        if too_large {
            Self::new(413, "invalid_request", 90013, "The request body is too large for the token endpoint.".into())
        } else {
            Self::new(400, "invalid_request", 90013, "The request body could not be read.".into())
        }
    }

    /// AADSTS7000216: neither a secret nor an assertion was presented.
    pub fn missing_credentials() -> Self {
        Self::new(
            401,
            "invalid_client",
            7000216,
            "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type."
                .into(),
        )
    }

    /// AADSTS7000215: wrong client secret.
    pub fn bad_secret(client_id: &str) -> Self {
        Self::new(
            401,
            "invalid_client",
            7000215,
            format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
            ),
        )
    }

    /// AADSTS70011: a scope the client-credentials flow cannot grant.
    pub fn invalid_scope(detail: &str) -> Self {
        Self::new(
            400,
            "invalid_scope",
            70011,
            format!("The provided value for the input parameter 'scope' is not valid. {detail}"),
        )
    }

    /// AADSTS500011: a `.default` scope or `resource` of an API other than Microsoft Graph.
    pub fn unknown_resource(resource: &str, tenant: &str) -> Self {
        Self::new(
            400,
            "invalid_resource",
            500011,
            format!(
                "The resource principal named {resource} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
            ),
        )
    }

    /// AADSTS50027: the client assertion is not a usable JWT (bad form, algorithm or audience).
    pub fn malformed_assertion(reason: &str) -> Self {
        Self::new(400, "invalid_request", 50027, format!("JWT token is invalid or malformed. [Reason - {reason}]"))
    }

    /// AADSTS700027: the assertion's key is not registered for the client, or the signature does not verify.
    pub fn assertion_signature(reason: &str, thumbprint: &str) -> Self {
        Self::new(
            401,
            "invalid_client",
            700027,
            format!(
                "Client assertion contains an invalid signature. [Reason - {reason}, Thumbprint of key used by client: '{thumbprint}']"
            ),
        )
    }

    /// AADSTS700024: the assertion is expired or not yet valid.
    pub fn assertion_time_range() -> Self {
        Self::new(401, "invalid_client", 700024, "Client assertion is not within its valid time range.".into())
    }

    /// AADSTS700021: the assertion's `iss`/`sub` is not the `client_id`.
    pub fn assertion_subject() -> Self {
        Self::new(
            401,
            "invalid_client",
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter.".into(),
        )
    }

    /// AADSTS50000: the emulator could not sign the token (a broken signing key).
    pub fn server_error() -> Self {
        Self::new(
            500,
            "server_error",
            50000,
            "There was an error issuing a token or an issue with our sign-in service.".into(),
        )
    }

    /// The JSON body; `trace_id` is the request id, `correlation_id` the client's `client-request-id`.
    pub fn body(&self, now: OffsetDateTime, trace_id: &str, correlation_id: &str) -> Value {
        let t = now.to_offset(time::UtcOffset::UTC);
        let timestamp = format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
        json!({
            "error": self.error,
            "error_description": format!(
                "AADSTS{}: {}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}",
                self.code, self.message
            ),
            "error_codes": [self.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("https://login.microsoftonline.com/error?code={}", self.code),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn body_has_the_aadsts_envelope() {
        let b = OAuthError::invalid_scope("x").body(datetime!(2016-01-09 02:02:12.5 UTC), "t", "c");
        assert_eq!(b["error"], "invalid_scope");
        assert_eq!(b["error_codes"], json!([70011]));
        assert_eq!(b["timestamp"], "2016-01-09 02:02:12Z");
        assert_eq!(
            b["error_description"],
            "AADSTS70011: The provided value for the input parameter 'scope' is not valid. x\r\nTrace ID: t\r\nCorrelation ID: c\r\nTimestamp: 2016-01-09 02:02:12Z"
        );
        assert_eq!(b["error_uri"], "https://login.microsoftonline.com/error?code=70011");
    }

    #[test]
    fn credential_failures_are_401_invalid_client() {
        for e in [OAuthError::bad_secret("a"), OAuthError::missing_credentials(), OAuthError::assertion_time_range()] {
            assert_eq!((e.status, e.error), (401, "invalid_client"));
        }
        assert_eq!(OAuthError::unknown_client("a", "t").status, 400);
    }

    #[test]
    fn an_unreadable_body_is_413_when_too_large_else_400() {
        let (large, broken) = (OAuthError::unreadable_body(true), OAuthError::unreadable_body(false));
        assert_eq!((large.status, large.error, large.code), (413, "invalid_request", 90013));
        assert_eq!((broken.status, broken.error, broken.code), (400, "invalid_request", 90013));
    }
}
