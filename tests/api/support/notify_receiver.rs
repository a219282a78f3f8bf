//! A merchant's notification endpoint for the payment stand-ins: an HTTP server on port 0 that
//! hands each POST (headers and raw body, as received) to a check the test gives (the shop's
//! real verification), answers what the check says, and keeps what was taken.

use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::task::JoinHandle;

/// What the check made of one POST.
#[derive(Clone, Debug)]
pub struct Answer<T> {
    pub status: u16,
    pub body: String,
    /// What was taken, when it was.
    pub taken: Option<T>,
}

type Check<T> = dyn Fn(&HeaderMap, &Bytes) -> Answer<T> + Send + Sync;

struct Shared<T> {
    check: Box<Check<T>>,
    answers: Mutex<Vec<Answer<T>>>,
}

pub struct NotifyReceiver<T> {
    /// Where notifications go (`http://127.0.0.1:{port}/notify`).
    pub url: String,
    shared: Arc<Shared<T>>,
    server: JoinHandle<()>,
}

impl<T: Clone + Send + 'static> NotifyReceiver<T> {
    pub async fn start(check: impl Fn(&HeaderMap, &Bytes) -> Answer<T> + Send + Sync + 'static) -> NotifyReceiver<T> {
        let shared = Arc::new(Shared {
            check: Box::new(check),
            answers: Mutex::default(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the notification receiver binds a local port");
        let address = listener.local_addr().expect("the receiver's address");
        let router = Router::new().fallback(receive::<T>).with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                eprintln!("the notification receiver stopped: {error}");
            }
        });
        NotifyReceiver {
            url: format!("http://{address}/notify"),
            shared,
            server,
        }
    }

    /// Every answer given so far, in order.
    pub fn answers(&self) -> Vec<Answer<T>> {
        self.shared
            .answers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// What was taken so far, in order.
    pub fn taken(&self) -> Vec<T> {
        self.answers().into_iter().filter_map(|answer| answer.taken).collect()
    }
}

impl<T> Drop for NotifyReceiver<T> {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn receive<T: Clone + Send + 'static>(
    State(shared): State<Arc<Shared<T>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let answer = (shared.check)(&headers, &body);
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let response = (status, answer.body.clone()).into_response();
    shared
        .answers
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(answer);
    response
}
