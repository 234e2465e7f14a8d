//! Extractors that validate at the edge (STYLE.md rule 3): the authenticated [`Principal`].

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::state::AppState;

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        state.validator.validate(header, state.clock.now().unix_timestamp()).map_err(ApiError::Unauthenticated)
    }
}
