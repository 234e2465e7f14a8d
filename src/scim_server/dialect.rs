//! The two dialects one SCIM engine answers in, and every difference between them (docs/fidelity.md#s5-dialects).
//!
//! - [`Dialect::Rfc7644`] at `/scim/v2`: RFC 7644 as written; `POST /Bulk` answers **200**.
//! - [`Dialect::Idcs`] at `/admin/v1`: Oracle Identity Cloud Service's REST API, whose Bulk reference documents
//!   **201** for a processed BulkRequest; its clients get tokens from `POST /oauth2/v1/token`, which the
//!   ServiceProviderConfig names.
//!
//! Design constraint: nothing else may depend on which prefix a request came through — same resources, same
//! validation, same errors, same limits. A new difference is a new method here, documented in the fidelity row.

/// Which API a request was made to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Rfc7644,
    Idcs,
}

impl Dialect {
    /// The path prefix the dialect is served under.
    pub fn base_path(self) -> &'static str {
        match self {
            Dialect::Rfc7644 => "/scim/v2",
            Dialect::Idcs => "/admin/v1",
        }
    }

    /// The HTTP status of a processed BulkRequest.
    pub fn bulk_status(self) -> u16 {
        match self {
            Dialect::Rfc7644 => 200,
            Dialect::Idcs => 201,
        }
    }

    /// The `documentationUri` of the ServiceProviderConfig and of its authentication scheme.
    pub fn documentation_uri(self) -> &'static str {
        match self {
            Dialect::Rfc7644 => "https://www.rfc-editor.org/rfc/rfc7644",
            Dialect::Idcs => "https://docs.oracle.com/en/cloud/paas/identity-cloud/rest-api/",
        }
    }

    /// How the ServiceProviderConfig describes getting a token: the emulator's Graph token endpoint, or IDCS's
    /// client-credentials endpoint.
    pub fn token_description(self) -> &'static str {
        match self {
            Dialect::Rfc7644 => {
                "OAuth 2.0 bearer token from the emulator's token endpoint (POST /{tenant}/oauth2/v2.0/token) with the role Directory.ReadWrite.All (Directory.Read.All for reads), or one from POST /oauth2/v1/token."
            }
            Dialect::Idcs => {
                "OAuth 2.0 bearer token from POST /oauth2/v1/token (client credentials in HTTP Basic, scope=urn:opc:idm:__myscopes__)."
            }
        }
    }
}
