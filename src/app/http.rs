//! HTTP routes: GraphQL (POST, and GET for cacheable queries and GraphiQL), webhooks, the
//! domains' own routes (from their doors), probes, metrics.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;

use super::graphql_route::{graphql_get, graphql_post};
use super::{AppState, limits};
use crate::accounts::service;

pub fn router(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/webhooks/stripe", post(stripe_webhook))
        .merge(super::direct_webhooks::routes())
        .route("/l/{code}", get(promo_redirect))
        // The upgrade is a request like any other; the socket then has caps of its own.
        .route("/graphql/ws", get(graphql_ws))
        .merge(crate::infra::storage::http::media_routes(state.images.blobs().clone()));
    // Each domain's routes carry their own state.
    let api = crate::graphql::DOORS.iter().fold(api, |api, door| {
        api.merge(door.routes(&state.shop, &state.accounts).with_state(()))
    });
    let routes = limits::guarded(
        api,
        &state.config.limits,
        state.config.media.max_upload_bytes,
        state.in_flight.clone(),
    )
    .route("/healthz", get(healthz))
    .route("/readyz", get(readyz))
    .route("/metrics", get(metrics))
    .merge(super::graphiql::routes());
    let routes = super::cors::around(routes, &state.config.cors_origins)
        // A bug must not take the connection down or leak a backtrace: the client gets a
        // bare 500 and the log gets the panic.
        .layer(CatchPanicLayer::custom(|_panic| {
            metrics::counter!("huakai_panics_total").increment(1);
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({"errors": [{"message": "internal error"}]})),
            )
                .into_response()
        }));
    super::access_log::around(routes).with_state(state)
}

/// `GET /graphql/ws`: subscriptions over WebSocket, each operation held to what a request over
/// HTTP is held to (see [`super::socket`]).
async fn graphql_ws(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let client = limits::client_address(peer.ip(), &headers, &state.config.trusted_proxies);
    super::socket::upgrade(state, client, &headers, upgrade).await
}

/// `GET /l/{code}`: a promo link sends the buyer to the product's storefront page with the
/// code (302), counting the click; an unknown or retired code gets a page saying so (404).
async fn promo_redirect(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Response {
    let client = limits::client_address(peer.ip(), &headers, &state.config.trusted_proxies);
    match state
        .promo_links
        .follow(&state.db, &code, service::client_key(Some(client)))
        .await
    {
        Ok(Some(url)) => match HeaderValue::from_str(&url) {
            Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
        Ok(None) => (
            StatusCode::NOT_FOUND,
            Html(
                "<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>链接无效</title>\
                  <h1>链接无效或已失效</h1><p>This promo link does not exist or has been retired.</p></html>",
            ),
        )
            .into_response(),
        Err(error) => {
            tracing::error!(error = ?error, "resolving a promo code failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// Stripe's events: verified over the raw body, stored once per event id, answered at once and
/// applied by the inbox worker. A bad signature, a stale timestamp or a body that is not an
/// event answers 400 and changes nothing; a repeat answers 200 and changes nothing.
async fn stripe_webhook(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(stripe) = &state.stripe else {
        return (StatusCode::NOT_FOUND, "payments are not configured").into_response();
    };
    let Ok(payload) = std::str::from_utf8(&body) else {
        return (StatusCode::BAD_REQUEST, "the body is not UTF-8").into_response();
    };
    let signature = headers.get("stripe-signature").and_then(|value| value.to_str().ok());
    match crate::payments::inbox::receive(&state.db, stripe, payload, signature).await {
        Err(rejected) => {
            metrics::counter!("huakai_webhooks_total", "outcome" => "rejected").increment(1);
            (StatusCode::BAD_REQUEST, rejected.to_string()).into_response()
        }
        Ok(Err(error)) => {
            tracing::error!(error = ?error, "storing a Stripe event failed");
            // Stripe retries on 5xx: nothing is lost.
            (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
        }
        Ok(Ok(())) => {
            metrics::counter!("huakai_webhooks_total", "outcome" => "stored").increment(1);
            state.webhook_arrived.notify_one();
            (StatusCode::OK, "ok").into_response()
        }
    }
}

async fn healthz() -> &'static str {
    "ok"
}

/// Ready while the database answers; the cache's state is reported but never makes the app
/// unready (the shop works without it).
async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let database_ok = state.db.ping().await.is_ok();
    let status = if database_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if database_ok { "ready" } else { "unavailable" },
        "database": if database_ok { "ok" } else { "unreachable" },
        "cache": state.cache.state(),
    });
    (status, Json(body)).into_response()
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    super::business_metrics::record(&state.db).await;
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::infra::telemetry::metrics().render(),
    )
        .into_response()
}
