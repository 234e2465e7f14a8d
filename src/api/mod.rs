//! HTTP only: routing, middleware, extractors and handlers; no business rules (CONTRIBUTING.md "Layout").

mod admin;
mod context;
pub(crate) mod extract;
mod graph;
pub(crate) mod headers;
mod identity;
mod links;
mod scim;

use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::http::Uri;
use axum::response::IntoResponse;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::state::AppState;

pub use context::RequestIds;
pub use links::{BaseUrl, ListenerBase};

/// The whole application router, exactly as production serves it.
pub fn router(state: AppState) -> Router {
    let timeout = Duration::from_secs(state.config.server.request_timeout_secs.max(1));
    Router::new()
        .merge(admin::routes(&state))
        .merge(graph::routes())
        .merge(identity::routes())
        .merge(scim::routes())
        .fallback(unknown_route)
        .layer(
            ServiceBuilder::new()
                .layer(axum::middleware::from_fn_with_state(state.clone(), context::request_context))
                .layer(axum::middleware::from_fn(headers::limit_headers))
                .layer(TraceLayer::new_for_http())
                // Defence in depth: a bug that panics answers 500 (with request ids) instead of dropping the connection.
                .layer(CatchPanicLayer::custom(|_| ApiError::Internal("handler panicked".into()).into_response()))
                .layer(HandleErrorLayer::new(|_: tower::BoxError| async { ApiError::Timeout }))
                .timeout(timeout),
        )
        .with_state(state)
}

/// A storage failure as an answer: logged here, once, with its cause (handlers never log it themselves).
pub(crate) fn storage_failure(e: crate::store::StoreError) -> ApiError {
    tracing::error!(error = %e, "storage failed; answering 500");
    ApiError::Internal(e.to_string())
}

async fn unknown_route(uri: Uri) -> ApiError {
    ApiError::NoRoute(uri.path().to_owned())
}
