//! HTTP only: routing, middleware, extractors and handlers; no business rules (CONTRIBUTING.md "Layout").

mod admin;
mod clock;
mod context;
mod dashboard;
pub(crate) mod extract;
mod faults;
mod graph;
pub(crate) mod headers;
mod identity;
pub(crate) mod journal;
mod links;
mod metrics;
pub mod openapi;
mod report;
pub mod route_kind;
mod scim;
mod snapshot;

use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::Uri;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::state::AppState;

pub use context::RequestIds;
pub use links::{BaseUrl, ListenerBase};

/// The whole application router, exactly as production serves it.
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .merge(admin::routes(&state))
        .merge(metrics::routes())
        .merge(graph::routes())
        .merge(identity::routes())
        .merge(scim::routes())
        .merge(dashboard::routes())
        .route("/openapi.json", axum::routing::get(openapi::openapi_json))
        .fallback(unknown_route);
    with_middleware(routes, state)
}

/// Wraps `routes` in the middleware every request passes through: metrics, request ids and error envelopes, the
/// request journal, header limits, tracing, panic recovery, the request timeout and fault rules.
fn with_middleware(routes: Router<AppState>, state: AppState) -> Router {
    let timeout = RequestTimeout(Duration::from_secs(state.config.server.request_timeout_secs.max(1)));
    routes
        .layer(
            ServiceBuilder::new()
                // Outermost, so every answer is counted, the ones of the layers below included.
                .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::observe))
                .layer(axum::middleware::from_fn_with_state(state.clone(), context::request_context))
                // Inside the request context (it sees the request ids and the Graph error before it is rendered).
                .layer(axum::middleware::from_fn_with_state(state.clone(), journal::record))
                .layer(axum::middleware::from_fn(headers::limit_headers))
                .layer(TraceLayer::new_for_http())
                // Defence in depth: a bug that panics answers 500 (with request ids) instead of dropping the connection.
                .layer(CatchPanicLayer::custom(|_| ApiError::Internal("handler panicked".into()).into_response()))
                .layer(axum::middleware::from_fn_with_state(timeout, bound_in_time))
                // Inside the request timeout: a fault's latency is bounded by it like any handler.
                .layer(axum::middleware::from_fn_with_state(state.clone(), faults::inject)),
        )
        .with_state(state)
}

/// `server.request_timeout_secs` as a duration.
#[derive(Clone, Copy)]
struct RequestTimeout(Duration);

/// Answers 408 once a request outlasts the request timeout — except a drain, which waits as long as its own
/// `?timeout=` says (up to an hour) and answers 408 itself: a test suite may well wait minutes for a big upload.
async fn bound_in_time(State(limit): State<RequestTimeout>, req: Request, next: Next) -> Response {
    if admin::is_drain(req.uri().path()) {
        return next.run(req).await;
    }
    tokio::time::timeout(limit.0, next.run(req)).await.unwrap_or_else(|_| ApiError::Timeout.into_response())
}

/// A storage failure as an answer: logged here, once, with its cause (handlers never log it themselves).
pub(crate) fn storage_failure(e: crate::store::StoreError) -> ApiError {
    tracing::error!(error = %e, "storage failed; answering 500");
    ApiError::Internal(e.to_string())
}

async fn unknown_route(uri: Uri) -> ApiError {
    ApiError::NoRoute(uri.path().to_owned())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;
    use crate::clock::SystemClock;
    use crate::config::Config;

    #[tokio::test]
    async fn a_handler_that_panics_answers_500_in_the_graph_envelope_with_its_request_ids() {
        let state = AppState::new(Config::defaults().unwrap(), Arc::new(SystemClock)).await.unwrap();
        async fn bug() -> StatusCode {
            panic!("a bug")
        }
        let app = with_middleware(Router::new().route("/bug", get(bug)), state);
        let request = Request::get("/bug").header("client-request-id", "mine").body(Body::empty()).unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let request_id = response.headers()["request-id"].to_str().unwrap().to_owned();
        assert_eq!(response.headers()["client-request-id"], "mine");
        let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], "InternalServerError", "{body}");
        assert_eq!(body["error"]["innerError"]["request-id"], request_id.as_str());
        assert_eq!(body["error"]["innerError"]["client-request-id"], "mine");
    }
}
