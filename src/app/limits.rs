//! What every request is held to: a body size, a time limit and a cap on requests served at
//! once (an overload guard that answers 503 at once instead of queueing without bound), and
//! which address a request comes from.

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;
use serde_json::json;
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use super::config::Limits;
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::{Language, Message};
use crate::infra::storage::http::{BodyCaps, cap_bodies};

/// Seconds a client shed by the overload guard is told to wait.
const RETRY_AFTER_OVERLOADED: &str = "1";

/// `routes` with the body cap (413), the time limit (504) and the overload guard (503).
/// Probes and metrics are left out by the caller: they must answer while the API is saturated.
/// `in_flight` holds the cap's places (shared with queries over sockets).
/// `max_upload`: the cap of a multipart request (the GraphQL multipart request with files).
pub fn guarded<S: Clone + Send + Sync + 'static>(
    routes: Router<S>,
    limits: &Limits,
    max_upload: usize,
    in_flight: Arc<tokio::sync::Semaphore>,
) -> Router<S> {
    let overload_guard = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(
            |headers: HeaderMap, _: tower::BoxError| async move { overloaded(&headers) },
        ))
        .load_shed()
        // One semaphore for every route, so the cap is the process's, not each route's.
        .layer(GlobalConcurrencyLimitLayer::with_semaphore(in_flight));
    let caps = BodyCaps {
        other: limits.max_body_bytes,
        uploads: max_upload,
    };
    // 413 from `Content-Length` unread, or as soon as a chunked body crosses its cap.
    cap_bodies(routes, caps)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(overload_guard)
}

fn overloaded(headers: &HeaderMap) -> Response {
    overloaded_in(Language::from_headers(headers))
}

/// 503 with `Retry-After`, `extensions.code = OVERLOADED`, told in `language`.
pub fn overloaded_in(language: Language) -> Response {
    metrics::counter!("huakai_requests_shed_total").increment(1);
    let body = json!({"errors": [{
        "message": Message::new("overloaded").in_language(language),
        "extensions": {"code": ErrorCode::Overloaded.as_str()},
    }]});
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_OVERLOADED));
    response
}

/// The client's address: the peer's, unless the peer is a trusted proxy; then the nearest
/// address in `X-Forwarded-For` that is not itself a trusted proxy. Anyone can send the
/// header, so it is believed only as far as the chain of trusted proxies reaches.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpNet]) -> IpAddr {
    let trusted = |address: &IpAddr| trusted_proxies.iter().any(|network| network.contains(address));
    if !trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .collect::<Vec<_>>();
    // Each proxy appends the address it got the request from: read from the right.
    for hop in forwarded.iter().rev() {
        let Ok(address) = hop.trim().parse::<IpAddr>() else {
            // A malformed hop was written by someone untrusted: stop at the last good one.
            break;
        };
        client = address;
        if !trusted(&address) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(forwarded: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_str(forwarded).expect("header"));
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        let ingress: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("network")];
        // The ingress forwards: the client is the address it saw.
        assert_eq!(
            client_address(ip("10.1.2.3"), &headers("203.0.113.9"), &ingress),
            ip("203.0.113.9")
        );
        // A client's own forged entries sit to the left of the one the ingress appended.
        assert_eq!(
            client_address(ip("10.1.2.3"), &headers("1.1.1.1, 203.0.113.9"), &ingress),
            ip("203.0.113.9")
        );
        // Through two trusted hops.
        assert_eq!(
            client_address(ip("10.1.2.3"), &headers("203.0.113.9, 10.4.4.4"), &ingress),
            ip("203.0.113.9")
        );
        // Straight from the internet, the header is the client's invention.
        assert_eq!(
            client_address(ip("198.51.100.7"), &headers("1.1.1.1"), &ingress),
            ip("198.51.100.7")
        );
        assert_eq!(client_address(ip("10.1.2.3"), &headers("1.1.1.1"), &[]), ip("10.1.2.3"));
        assert_eq!(
            client_address(ip("10.1.2.3"), &headers("garbage"), &ingress),
            ip("10.1.2.3")
        );
    }
}
