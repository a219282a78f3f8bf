//! One log line per request at `info`, and a request id on every request and answer.
//!
//! The id is the request's own `x-request-id` when it has one (an ingress or a client set
//! it), else a new UUID; the answer carries it back, and every log line written while the
//! request is served sits in its span, so a complaint quoting the id finds all of them. The
//! line names the method and the path, never the query string (a GET's variables can carry
//! personal data), with the status and the time taken. All of it is tower-http's.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderName, Request};
use tower_http::LatencyUnit;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnRequest, DefaultOnResponse, TraceLayer};
use tracing::Level;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// `router` with the request id and the access log around every route.
pub fn around<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        // Innermost: sends the id back with the answer.
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<Body>| {
                    let id = request
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|id| id.to_str().ok())
                        .unwrap_or_default();
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = request.uri().path(),
                        request_id = id,
                    )
                })
                .on_request(DefaultOnRequest::new().level(Level::DEBUG))
                .on_response(
                    DefaultOnResponse::new()
                        .level(Level::INFO)
                        .latency_unit(LatencyUnit::Micros),
                ),
        )
        // Outermost: the id exists before the span above is made.
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}
