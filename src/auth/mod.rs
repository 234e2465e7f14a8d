//! Authentication and authorisation: the signing key and its JWKS form, minting tokens, validating bearer
//! tokens into a [`Principal`], and the Graph permissions each surface requires (spec A.1 rows 2–3, A.5).

mod issue;
mod keys;
mod principal;
pub mod roles;
mod validate;

pub use issue::{TokenRequest, issue_token};
pub use keys::{KeyError, SigningKeys};
pub use principal::Principal;
pub use validate::{TokenValidator, graph_audiences};
