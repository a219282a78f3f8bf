//! What a crowd of strangers (some of them bots) cannot do to the shop: oversized or slow
//! requests, more requests than it can serve, password hashing by the thousand, guessing
//! passwords or locking owners out, mutations through GET, control characters in inputs,
//! unbounded metrics labels and nested lists.

use std::time::{Duration, Instant};

use huakai::accounts::Role;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::on_each_backend;
use crate::support::{Actor, Backend, TestApp, error_code};

mod inputs;
mod rate_limits;

const LOGIN: &str = "mutation($email: String!, $password: String!) {
    login(email: $email, password: $password) { token userErrors { code message retryAfterSeconds } }
}";
const PASSWORD: &str = "a long enough test password";

async fn app_with(settings: &[(&str, &str)]) -> TestApp {
    TestApp::on(Backend::Sqlite)
        .settings(settings)
        .start()
        .await
        .expect("SQLite needs no service")
}

/// Sends the head of a POST that announces `length` bytes and only `sent` of them, and
/// returns the connection (the server waits for the rest).
async fn stalled_post(app: &TestApp, length: usize, sent: usize) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(app.server.addr).await.expect("connects");
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("head sent");
    stream
        .write_all(&vec![b' '; sent])
        .await
        .expect("part of the body sent");
    stream
}

/// The status line's code of what the server wrote on `stream`.
async fn status_of(stream: &mut tokio::net::TcpStream) -> u16 {
    let mut buffer = vec![0; 1024];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
        .await
        .expect("the server answers in time")
        .expect("reads");
    let text = String::from_utf8_lossy(&buffer[..read]);
    text.split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_cap_is_refused_with_413_unread() {
    let app = app_with(&[("HUAKAI_MAX_BODY", "64KiB")]).await;
    let padding = "x".repeat(100 * 1024);
    let big = json!({ "query": "{ categories { slug } }", "variables": { "padding": padding } });
    let refused = app
        .http()
        .post(app.url("/graphql"))
        .json(&big)
        .send()
        .await
        .expect("request");
    assert_eq!(refused.status(), 413);
    // The unread body ends the connection, and the answer says so: the client's next request
    // (below) opens a new one instead of failing on this one as it closes.
    assert_eq!(refused.headers()["connection"], "close");

    // Without a Content-Length (chunked), the body is cut off at the cap all the same.
    let mut stream = tokio::net::TcpStream::connect(app.server.addr).await.expect("connects");
    let head = "POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    stream.write_all(head.as_bytes()).await.expect("head sent");
    for _ in 0..40 {
        let chunk = format!("1000\r\n{}\r\n", " ".repeat(4096));
        // The server may answer and stop reading before the last chunks.
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    assert_eq!(status_of(&mut stream).await, 413);

    // Under the cap all is as before.
    let data = app.query("{ categories { slug } }", json!({})).await;
    assert!(data["categories"].as_array().is_some_and(|c| !c.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_runs_too_long_answers_504() {
    let app = app_with(&[("HUAKAI_REQUEST_TIMEOUT", "300ms")]).await;
    let started = Instant::now();
    let mut stream = stalled_post(&app, 100, 10).await;
    assert_eq!(status_of(&mut stream).await, 504);
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saturated_server_sheds_load_with_503_and_recovers() {
    let app = app_with(&[("HUAKAI_MAX_IN_FLIGHT", "2"), ("HUAKAI_REQUEST_TIMEOUT", "30s")]).await;
    // Two requests in flight, waiting for bodies that do not come.
    let mut held = vec![stalled_post(&app, 100, 1).await, stalled_post(&app, 100, 1).await];
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let shed = app
        .http()
        .post(app.url("/graphql"))
        .json(&json!({ "query": "{ categories { slug } }" }))
        .send()
        .await
        .expect("request");
    assert_eq!(shed.status(), 503);
    assert!(started.elapsed() < Duration::from_secs(2), "shed at once, not queued");
    assert_eq!(shed.headers()["retry-after"], "1");
    let body: Value = shed.json().await.expect("json");
    assert_eq!(error_code(&body), "OVERLOADED");
    // Probes still answer while the API is saturated.
    let health = app.http().get(app.url("/healthz")).send().await.expect("healthz");
    assert_eq!(health.status(), 200);

    // The held requests finish (their bodies arrive, malformed): the server serves again.
    for stream in &mut held {
        stream.write_all(&[b' '; 99]).await.expect("rest of the body");
        assert_eq!(status_of(stream).await, 400);
    }
    drop(held);
    let data = app.query("{ categories { slug } }", json!({})).await;
    assert!(data["categories"].as_array().is_some_and(|c| !c.is_empty()));
}
