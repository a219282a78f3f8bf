//! `/graphql/ws` held to what HTTP is held to: each operation proves its session and role
//! again, mutations are refused, a socket whose session ended is closed, and caps on sockets,
//! operations per socket and message size.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use huakai::accounts::Role;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::on_each_backend;
use crate::support::scenario::variants;
use crate::support::{Actor, Backend, TestApp};

on_each_backend!(
    every_operation_on_a_socket_is_checked_like_a_request,
    a_socket_whose_session_ends_is_closed,
    sockets_and_their_operations_are_capped
);

type Stream = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A graphql-transport-ws client.
pub struct Socket {
    stream: Stream,
    next_id: u32,
}

impl Socket {
    /// Opens a socket as `actor` (anonymous without a token); `Err` with the HTTP status when
    /// the upgrade is refused.
    pub async fn open(app: &TestApp, actor: &Actor) -> Result<Socket, u16> {
        let url = app.url("/graphql/ws").replace("http://", "ws://");
        let mut request = url.into_client_request().expect("a request");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().expect("header"),
        );
        let mut stream = match tokio_tungstenite::connect_async(request).await {
            Ok((stream, _)) => stream,
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => return Err(response.status().as_u16()),
            Err(error) => panic!("connecting failed: {error}"),
        };
        let payload = match &actor.token {
            Some(token) => json!({ "Authorization": format!("Bearer {token}") }),
            None => json!({}),
        };
        stream
            .send(Message::text(
                json!({ "type": "connection_init", "payload": payload }).to_string(),
            ))
            .await
            .expect("init");
        let mut socket = Socket { stream, next_id: 0 };
        let ack = socket.next().await.expect("an answer to connection_init");
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        Ok(socket)
    }

    /// The refusal of an upgrade that should be refused: its status, `Retry-After` and body.
    pub async fn refusal(app: &TestApp) -> (u16, Option<String>, Value) {
        let url = app.url("/graphql/ws").replace("http://", "ws://");
        let mut request = url.into_client_request().expect("a request");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().expect("header"),
        );
        match tokio_tungstenite::connect_async(request).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => (
                response.status().as_u16(),
                response
                    .headers()
                    .get("retry-after")
                    .map(|value| value.to_str().expect("text").to_owned()),
                serde_json::from_slice(response.body().as_deref().unwrap_or_default()).expect("a JSON body"),
            ),
            Ok(_) => panic!("the upgrade was accepted"),
            Err(error) => panic!("connecting failed: {error}"),
        }
    }

    /// Starts an operation; its id.
    pub async fn subscribe(&mut self, query: &str, variables: Value) -> String {
        self.next_id += 1;
        let id = self.next_id.to_string();
        self.stream
            .send(Message::text(
                json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } })
                    .to_string(),
            ))
            .await
            .expect("subscribe");
        id
    }

    /// The next message; `None` once the server has closed the socket (with its close code).
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(15), self.stream.next())
                .await
                .expect("a message within 15 s")?;
            match message {
                Ok(Message::Text(text)) => return Some(serde_json::from_str(&text).expect("JSON")),
                Ok(Message::Close(frame)) => {
                    return Some(json!({ "type": "closed", "code": frame.map(|f| u16::from(f.code)) }));
                }
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }

    /// The first message of a one-shot operation: its `payload` (`data` and `errors`).
    pub async fn ask(&mut self, query: &str, variables: Value) -> Value {
        let id = self.subscribe(query, variables).await;
        loop {
            let message = self.next().await.expect("an answer");
            if message["id"] == json!(id) {
                return match message["type"].as_str() {
                    Some("error") => json!({ "errors": message["payload"] }),
                    _ => message["payload"].clone(),
                };
            }
        }
    }
}

fn first_code(payload: &Value) -> &str {
    payload["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("an error code: {payload}"))
}

/// A session a month from now with one unapproved item of `host`: its host may follow it,
/// and its stream stays open.
async fn scheduled_session(app: &TestApp, host: &Actor) -> Value {
    let (variant, _) = variants(app, "sanwang-xian-baihe")
        .await
        .into_values()
        .next()
        .expect("variant");
    let starts = chrono::Utc::now() + chrono::Duration::days(30);
    let scheduled = app
        .query_as(
            host,
            "mutation($input: LiveSessionInput!) { scheduleLiveSession(input: $input) { session { id } userErrors { code } } }",
            json!({ "input": { "title": "百合直播", "startsAt": starts.to_rfc3339(),
                "endsAt": (starts + chrono::Duration::hours(2)).to_rfc3339(),
                "items": [{ "variantId": variant, "price": "9.90", "quota": 5, "perBuyerLimit": 1 }] } }),
        )
        .await;
    assert_eq!(scheduled["scheduleLiveSession"]["userErrors"], json!([]), "{scheduled}");
    scheduled["scheduleLiveSession"]["session"]["id"].clone()
}

const STOCK: &str = "subscription($id: ID!) { sessionStock(sessionId: $id) { remaining } }";

async fn every_operation_on_a_socket_is_checked_like_a_request(backend: Backend) {
    // The periodic look is far away: every check here is the operation's own.
    let Some(app) = TestApp::on(backend)
        .settings(&[("HUAKAI_WS_RECHECK", "1h")])
        .start()
        .await
    else {
        return;
    };
    let operator = app.user("ops@example.com", Role::Admin, None).await;
    let other_operator = app.user("ops2@example.com", Role::Admin, None).await;
    let host = app.user("host@example.com", Role::Host, None).await;
    let session = scheduled_session(&app, &host).await;

    let mut operator_socket = Socket::open(&app, &operator).await.expect("opens");
    let me = operator_socket.ask("{ me { role } }", json!({})).await;
    assert_eq!(me["data"]["me"]["role"], "ADMIN", "{me}");

    // Demoted over HTTP by another operator: the socket asks as a buyer from then on.
    let demoted = app
        .query_as(
            &other_operator,
            "mutation($id: ID!) { setUserRole(userId: $id, role: BUYER) { userErrors { code } } }",
            json!({ "id": operator.user_id }),
        )
        .await;
    assert_eq!(demoted["setUserRole"]["userErrors"], json!([]));
    let me = operator_socket.ask("{ me { role } }", json!({})).await;
    assert_eq!(me["data"]["me"]["role"], "BUYER", "the role is read again: {me}");
    let orders = operator_socket
        .ask("{ pendingBankRefunds(first: 1) { totalCount } }", json!({}))
        .await;
    assert_eq!(first_code(&orders), "FORBIDDEN", "{orders}");

    // A mutation over the socket is refused, so it cannot make itself operator again.
    let promote = operator_socket
        .ask(
            "mutation($id: ID!) { setUserRole(userId: $id, role: ADMIN) { userErrors { code } } }",
            json!({ "id": operator.user_id }),
        )
        .await;
    assert_eq!(first_code(&promote), "METHOD_NOT_ALLOWED", "{promote}");
    let role = app.query_as(&operator, "{ me { role } }", json!({})).await;
    assert_eq!(role["me"]["role"], "BUYER");

    // The host signs out over HTTP: its socket no longer acts for it.
    let mut host_socket = Socket::open(&app, &host).await.expect("opens");
    let id = host_socket.subscribe(STOCK, json!({ "id": session })).await;
    let first = host_socket.next().await.expect("stock");
    assert_eq!(
        (first["type"].as_str(), first["id"].as_str()),
        (Some("next"), Some(id.as_str())),
        "{first}"
    );
    let out = app
        .query_as(&host, "mutation { logout { userErrors { code } } }", json!({}))
        .await;
    assert_eq!(out["logout"]["userErrors"], json!([]));
    let me = host_socket.ask("{ me { email } }", json!({})).await;
    assert_eq!(first_code(&me), "UNAUTHENTICATED", "{me}");
    let follow = host_socket.ask(STOCK, json!({ "id": session })).await;
    assert_eq!(first_code(&follow), "UNAUTHENTICATED", "{follow}");
}

async fn a_socket_whose_session_ends_is_closed(backend: Backend) {
    let Some(app) = TestApp::on(backend)
        .settings(&[("HUAKAI_WS_RECHECK", "200ms")])
        .start()
        .await
    else {
        return;
    };
    let host = app.user("host@example.com", Role::Host, None).await;
    let session = scheduled_session(&app, &host).await;
    let mut socket = Socket::open(&app, &host).await.expect("opens");
    socket.subscribe(STOCK, json!({ "id": session })).await;
    assert_eq!(socket.next().await.expect("stock")["type"], "next");
    // A password change ends every session, this socket's too.
    let changed = app
        .query_as(
            &host,
            "mutation { changePassword(currentPassword: \"a long enough test password\",
                newPassword: \"another long test password\") { userErrors { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(changed["changePassword"]["userErrors"], json!([]), "{changed}");
    let closed = socket.next().await;
    assert_eq!(
        closed,
        Some(json!({ "type": "closed", "code": 4401 })),
        "closed, not left following as a signed-out user"
    );

    // An anonymous socket has no session to end: it stays open.
    let mut anonymous = Socket::open(&app, &Actor::anonymous()).await.expect("opens");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let answer = anonymous.ask("{ categories { slug } }", json!({})).await;
    assert!(answer["data"]["categories"].is_array(), "{answer}");
}

async fn sockets_and_their_operations_are_capped(backend: Backend) {
    let settings = [
        ("HUAKAI_WS_MAX_CONNECTIONS", "2"),
        ("HUAKAI_WS_MAX_OPERATIONS", "1"),
        ("HUAKAI_WS_MAX_MESSAGE", "4KiB"),
    ];
    let Some(app) = TestApp::on(backend).settings(&settings).start().await else {
        return;
    };
    let host = app.user("host@example.com", Role::Host, None).await;
    let session = scheduled_session(&app, &host).await;
    let mut first = Socket::open(&app, &host).await.expect("opens");
    first.subscribe(STOCK, json!({ "id": session })).await;
    assert_eq!(first.next().await.expect("stock")["type"], "next");
    let second_operation = first.ask(STOCK, json!({ "id": session })).await;
    assert_eq!(
        first_code(&second_operation),
        "TOO_MANY_OPERATIONS",
        "{second_operation}"
    );

    let mut second = Socket::open(&app, &Actor::anonymous()).await.expect("a second socket");
    // A third is refused before any socket is made, saying why and when to come back.
    let (status, retry_after, body) = Socket::refusal(&app).await;
    assert_eq!((status, retry_after.as_deref()), (503, Some("5")), "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "TOO_MANY_SOCKETS", "{body}");
    assert_eq!(
        body["errors"][0]["message"], "本服务器的实时连接已满（2 个），请过几秒再连接",
        "in the shop's language, with the cap"
    );
    // A message over the cap closes its socket, which frees its place.
    let padding = "x".repeat(8 * 1024);
    second
        .subscribe("{ categories { slug } }", json!({ "padding": padding }))
        .await;
    let after = second.next().await;
    assert!(
        after.is_none() || after.as_ref().is_some_and(|m| m["type"] == "closed"),
        "{after:?}"
    );
    drop(second);
    let mut reopened = None;
    for _ in 0..50 {
        if let Ok(socket) = Socket::open(&app, &Actor::anonymous()).await {
            reopened = Some(socket);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut reopened = reopened.expect("a place frees when a socket closes");
    let answer = reopened.ask("{ categories { slug } }", json!({})).await;
    assert!(answer["data"]["categories"].is_array(), "{answer}");
}
