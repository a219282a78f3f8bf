//! `GET /graphql/ws`: subscriptions over WebSocket (graphql-transport-ws, or the older
//! graphql-ws), held to what HTTP requests are held to.
//!
//! - **Who asks is proved for every operation**, as over HTTP: `connection_init` may carry
//!   `{"Authorization": "Bearer …"}` (a token that proves no live session refuses the
//!   connection); the socket keeps the token, not the viewer, and the schema's `SocketGuard` reads the
//!   session row and the user's role again when each operation starts. Every
//!   `HUAKAI_WS_RECHECK` the connection looks again, and closes with 4401 once the session has
//!   ended (logout, a password change, expiry, a disabled account) or the role or producer has
//!   changed, which ends its running subscriptions with it. This does not depend on how a
//!   subscription is fed.
//! - **Mutations are refused** (`METHOD_NOT_ALLOWED`): they go through `POST /graphql`, with
//!   its body cap, idempotency and access log. Queries and subscriptions are served.
//! - **Caps**: the upgrade is inside the body cap, the time limit and the in-flight cap like any
//!   request; then `HUAKAI_WS_MAX_CONNECTIONS` sockets at once (more answer 503
//!   `TOO_MANY_SOCKETS` with `Retry-After`),
//!   `HUAKAI_WS_MAX_OPERATIONS` operations at once per socket, `HUAKAI_WS_MAX_MESSAGE` bytes per
//!   message (a larger one closes the socket); a query over the socket takes a place of the
//!   in-flight cap and is cut off after `HUAKAI_REQUEST_TIMEOUT`.
//! - **Rate limits** count the socket's client address, as over HTTP.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_graphql::Data;
use async_graphql::futures_util::{self, SinkExt, StreamExt, future};
use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, WebSocketProtocols, WsMessage};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use tokio::sync::Semaphore;

use super::AppState;
use super::guard_settings::SocketLimits;
use crate::accounts::service;
use crate::accounts::{SignedIn, Viewer};
use crate::graphql::socket_guard::SocketCaller;
use crate::infra::error::AppError;
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::{Language, Message as Words};

/// The process's sockets: a place for each, and the in-flight cap queries share with HTTP.
pub struct Sockets {
    pub limits: SocketLimits,
    connections: Arc<Semaphore>,
    in_flight: Arc<Semaphore>,
    request_timeout: Duration,
}

impl Sockets {
    pub fn new(limits: SocketLimits, in_flight: Arc<Semaphore>, request_timeout: Duration) -> Sockets {
        Sockets {
            connections: Arc::new(Semaphore::new(limits.max_connections)),
            limits,
            in_flight,
            request_timeout,
        }
    }
}

/// The GraphQL protocol the client asks for (`Sec-WebSocket-Protocol`).
fn protocol_of(headers: &HeaderMap) -> Option<WebSocketProtocols> {
    use std::str::FromStr;
    headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|value| value.to_str().ok())
        .and_then(|protocols| {
            protocols
                .split(',')
                .find_map(|protocol| WebSocketProtocols::from_str(protocol.trim()).ok())
        })
}

/// `GET /graphql/ws`.
pub async fn upgrade(
    state: Arc<AppState>,
    client: IpAddr,
    headers: &HeaderMap,
    upgrade: WebSocketUpgrade,
) -> HttpResponse {
    let asked_language = Language::from_headers(headers);
    let Some(protocol) = protocol_of(headers) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let Ok(place) = state.sockets.connections.clone().try_acquire_owned() else {
        return sockets_full(state.sockets.limits.max_connections, asked_language);
    };
    let limits = state.sockets.limits.clone();
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(limits.max_message_bytes)
        .max_frame_size(limits.max_message_bytes)
        .read_buffer_size(SOCKET_READ_BUFFER)
        // Each message is sent and flushed on its own: nothing is gathered to write later.
        .write_buffer_size(0)
        .on_upgrade(move |socket| async move {
            serve(socket, &state, protocol, client, asked_language).await;
            drop(place);
        })
        .into_response()
}

/// What a socket reads into at a time. Clients send little (an init, a subscription or two),
/// and a live room holds ten thousand sockets: the default 128 KiB each would be 1.2 GiB.
const SOCKET_READ_BUFFER: usize = 4 * 1024;

/// Seconds a client refused for want of a place is told to wait: sockets free more slowly than
/// requests do.
const RETRY_AFTER_SOCKETS_FULL: &str = "5";

/// The answer to an upgrade beyond `HUAKAI_WS_MAX_CONNECTIONS`: 503 with `Retry-After` and
/// `extensions.code = TOO_MANY_SOCKETS`, before any socket is made (a browser sees only a
/// failed connection, a proxy or a native client the status and the reason).
fn sockets_full(max: usize, language: Language) -> HttpResponse {
    metrics::counter!("huakai_sockets_refused_total").increment(1);
    let message = Words::new("socket-too-many-sockets").with("max", max as i64);
    let body = serde_json::json!({ "errors": [{
        "message": message.in_language(language),
        "extensions": { "code": ErrorCode::TooManySockets.as_str() },
    }] });
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, RETRY_AFTER_SOCKETS_FULL)],
        axum::Json(body),
    )
        .into_response()
}

/// Why a socket is closed by the server: graphql-transport-ws's code for "Unauthorized".
const SESSION_ENDED: u16 = 4401;

async fn serve(
    socket: WebSocket,
    state: &Arc<AppState>,
    protocol: WebSocketProtocols,
    client: IpAddr,
    language: Language,
) {
    let (mut sink, stream) = socket.split();
    let input = stream
        .take_while(|message| future::ready(message.is_ok()))
        .filter_map(|message| {
            future::ready(match message {
                Ok(message @ (Message::Text(_) | Message::Binary(_))) => Some(message.into_data()),
                _ => None,
            })
        });
    // Filled by `connection_init`: whom the socket proved itself as, to notice a change.
    let proved: Arc<OnceLock<(String, SignedIn)>> = Arc::default();
    let init_state = state.clone();
    let init_proved = proved.clone();
    let messages = async_graphql::http::WebSocket::new(state.schema.clone(), input, protocol).on_connection_init(
        move |payload| async move { connection_data(&init_state, &payload, client, language, &init_proved).await },
    );
    futures_util::pin_mut!(messages);
    let mut recheck = tokio::time::interval(state.sockets.limits.recheck);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            message = messages.next() => {
                let Some(message) = message else { break };
                let message = match message {
                    WsMessage::Text(text) => Message::Text(text.into()),
                    WsMessage::Close(code, reason) => Message::Close(Some(CloseFrame { code, reason: reason.into() })),
                };
                if sink.send(message).await.is_err() {
                    break;
                }
            }
            _ = recheck.tick() => {
                let Some((token, signed_in)) = proved.get() else { continue };
                if !still_the_same(state, token, signed_in).await {
                    let reason = Words::new("socket-session-ended").in_language(language);
                    let _ = sink.send(Message::Close(Some(CloseFrame { code: SESSION_ENDED, reason: reason.into() }))).await;
                    break;
                }
            }
        }
    }
}

/// Whether `token` still proves the session and role the socket was opened with. A database
/// that cannot answer keeps the socket (each operation is checked anyway).
async fn still_the_same(state: &AppState, token: &str, signed_in: &SignedIn) -> bool {
    match service::authenticate(&state.db, &state.accounts, token).await {
        Ok(Viewer::User(now)) => {
            now.user_id == signed_in.user_id && now.role == signed_in.role && now.producer_id == signed_in.producer_id
        }
        Ok(Viewer::Anonymous) | Err(AppError::Unauthenticated) => false,
        Err(_) => true,
    }
}

/// `connection_init`: a token must prove a live session (or the connection is refused); the
/// socket keeps the token and its client's address for its operations.
async fn connection_data(
    state: &AppState,
    payload: &serde_json::Value,
    client: IpAddr,
    asked_language: Language,
    proved: &OnceLock<(String, SignedIn)>,
) -> async_graphql::Result<Data> {
    let header = payload
        .get("Authorization")
        .or_else(|| payload.get("authorization"))
        .and_then(serde_json::Value::as_str);
    let token = header.map(|value| value.strip_prefix("Bearer ").unwrap_or(value).trim().to_owned());
    if let Some(token) = &token {
        let viewer = service::authenticate(&state.db, &state.accounts, token).await?;
        if let Viewer::User(signed_in) = viewer {
            let _ = proved.set((token.clone(), signed_in));
        }
    }
    let mut data = Data::default();
    data.insert(SocketCaller {
        token,
        client,
        asked_language,
        operations: Arc::new(Semaphore::new(state.sockets.limits.max_operations)),
        max_operations: state.sockets.limits.max_operations,
        in_flight: state.sockets.in_flight.clone(),
        request_timeout: state.sockets.request_timeout,
    });
    Ok(data)
}
