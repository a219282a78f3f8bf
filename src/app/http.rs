//! HTTP routes: GraphQL (POST, and GET for cacheable queries and GraphiQL), probes, metrics.

use std::sync::Arc;
use std::time::Instant;

use async_graphql::ServerError;
use async_graphql::http::GraphiQLSource;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use super::AppState;
use crate::accounts::graphql::ClientAddress;
use crate::accounts::{Viewer, service};
use crate::error::AppError;
use crate::graphql::request_loader;

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(TraceLayer::new_for_http())
        // A bug must not take the connection down or leak a backtrace: the client gets a
        // bare 500 and the log gets the panic.
        .layer(CatchPanicLayer::custom(|_panic| {
            metrics::counter!("huakai_panics_total").increment(1);
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({"errors": [{"message": "internal error"}]})),
            )
                .into_response()
        }))
        .with_state(state)
}

/// Operation names are the client's: only well-formed short names become metric labels.
fn operation_label(name: Option<&str>) -> String {
    match name {
        Some(name)
            if !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
        {
            name.to_owned()
        }
        Some(_) => "invalid".to_owned(),
        None => "anonymous".to_owned(),
    }
}

/// Who the request is from: anonymous without an `Authorization` header; a header that does
/// not prove a live session is refused outright rather than downgraded to anonymous.
async fn viewer_of(state: &AppState, headers: &HeaderMap) -> Result<Viewer, AppError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(Viewer::Anonymous);
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or(AppError::Unauthenticated)?;
    service::authenticate(&state.db, &state.accounts.keys, token).await
}

fn unauthenticated() -> Response {
    let error = async_graphql::Error::from(AppError::Unauthenticated).into_server_error(Default::default());
    let mut response = GraphQLResponse::from(async_graphql::Response::from_errors(vec![error])).into_response();
    *response.status_mut() = StatusCode::UNAUTHORIZED;
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
    response
}

async fn execute(
    state: &AppState,
    headers: &HeaderMap,
    client: SocketAddr,
    request: async_graphql::Request,
) -> Result<async_graphql::Response, Response> {
    let operation = operation_label(request.operation_name.as_deref());
    let started = Instant::now();
    let viewer = match viewer_of(state, headers).await {
        Ok(viewer) => viewer,
        Err(AppError::Unauthenticated) => {
            metrics::counter!("huakai_graphql_requests_total", "operation" => operation, "outcome" => "unauthenticated")
                .increment(1);
            return Err(unauthenticated());
        }
        Err(error) => {
            let error = async_graphql::Error::from(error).into_server_error(Default::default());
            return Ok(async_graphql::Response::from_errors(vec![error]));
        }
    };
    let request = request
        .data(request_loader(&state.db))
        .data(viewer)
        .data(ClientAddress(Some(client.ip())));
    let response = state.schema.execute(request).await;
    let outcome = if response.is_ok() { "ok" } else { "error" };
    metrics::counter!("huakai_graphql_requests_total", "operation" => operation.clone(), "outcome" => outcome)
        .increment(1);
    metrics::histogram!("huakai_graphql_request_duration_seconds", "operation" => operation)
        .record(started.elapsed().as_secs_f64());
    Ok(response)
}

async fn graphql_post(
    State(state): State<Arc<AppState>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> Response {
    match execute(&state, &headers, client, request.into_inner()).await {
        Ok(response) => GraphQLResponse::from(response).into_response(),
        Err(refused) => refused,
    }
}

/// `GET /graphql?query=…` runs a query (never a mutation: GET must be safe to cache and
/// repeat); without a query it serves GraphiQL to a browser.
async fn graphql_get(
    State(state): State<Arc<AppState>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let Some(raw) = raw.filter(|raw| raw.contains("query=") || raw.contains("extensions=")) else {
        return Html(GraphiQLSource::build().endpoint("/graphql").finish()).into_response();
    };
    let request = match async_graphql::http::parse_query_string(&raw) {
        Ok(request) => request,
        Err(error) => return bad_request(&format!("malformed GraphQL GET request: {error}")),
    };
    if is_mutation(&request.query) {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "POST")],
            Json(json!({"errors": [{"message": "mutations must be sent with POST", "extensions": {"code": "METHOD_NOT_ALLOWED"}}]})),
        )
            .into_response();
    }
    match execute(&state, &headers, client, request).await {
        Ok(response) => GraphQLResponse::from(response).into_response(),
        Err(refused) => refused,
    }
}

fn is_mutation(query: &str) -> bool {
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return false;
    };
    let is_write = |ty: OperationType| ty != OperationType::Query;
    match &document.operations {
        DocumentOperations::Single(operation) => is_write(operation.node.ty),
        DocumentOperations::Multiple(operations) => operations.values().any(|operation| is_write(operation.node.ty)),
    }
}

fn bad_request(message: &str) -> Response {
    let response = async_graphql::Response::from_errors(vec![ServerError::new(message, None)]);
    let mut response = GraphQLResponse::from(response).into_response();
    *response.status_mut() = StatusCode::BAD_REQUEST;
    response
}

async fn healthz() -> &'static str {
    "ok"
}

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
    });
    (status, Json(body)).into_response()
}

async fn metrics() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        super::telemetry::metrics().render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tidy_operation_names_become_labels() {
        assert_eq!(operation_label(Some("Storefront_1")), "Storefront_1");
        assert_eq!(operation_label(Some("a b")), "invalid");
        assert_eq!(operation_label(None), "anonymous");
    }

    #[test]
    fn recognises_mutations_sent_by_get() {
        assert!(is_mutation("mutation { x }"));
        assert!(is_mutation("query A { a } mutation B { b }"));
        assert!(!is_mutation("{ products { totalCount } }"));
    }
}
