//! Authentication and authorisation: the signing key and its JWKS form, minting tokens, validating bearer
//! tokens into a [`Principal`], the Graph permissions each surface requires (docs/fidelity.md A.1 rows 2–3, A.5), client
//! authentication at the token endpoint with its AADSTS errors, the HTTPS listener's certificate, and the
//! IDCS-style tokens of the SCIM service provider (`idcs`).

mod aadsts;
mod client_auth;
pub mod idcs;
mod issue;
mod keys;
mod principal;
pub mod roles;
pub mod tls;
mod validate;

pub use aadsts::OAuthError;
pub use client_auth::{
    AssertionCheck, AuthMethod, ClientCertError, ClientRegistry, Credential, JWT_BEARER, RegisteredClient,
};
pub use issue::{TokenRequest, issue_token};
pub use keys::{KeyError, SigningKeys};
pub use principal::Principal;
pub use validate::{TokenValidator, graph_audiences};
