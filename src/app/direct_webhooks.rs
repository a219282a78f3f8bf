//! `POST /webhooks/wechatpay` and `POST /webhooks/alipay`: a notification is verified over the
//! raw request and stored in the webhook inbox (`payments::direct_notifications`), answered as
//! its provider expects, and applied by the inbox worker. What does not verify (forged, stale,
//! for another application, not a notification) is refused with 400 or 401 and changes nothing;
//! a repeat is answered as the first was and changes nothing.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::AppState;
use crate::infra::error::AppResult;
use crate::payments::alipay::notification::ACKNOWLEDGED;
use crate::payments::direct_notifications::{self, Refused};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/webhooks/wechatpay", post(wechatpay))
        .route("/webhooks/alipay", post(alipay))
}

/// The answer to a notification: `taken` when stored; otherwise the provider sends it again.
fn answer(state: &AppState, stored: Result<AppResult<()>, Refused>, taken: Response) -> Response {
    match stored {
        Err(refused) => {
            metrics::counter!("huakai_webhooks_total", "outcome" => "rejected").increment(1);
            let status = StatusCode::from_u16(refused.status).unwrap_or(StatusCode::BAD_REQUEST);
            (status, refused.body).into_response()
        }
        Ok(Err(error)) => {
            tracing::error!(error = ?error, "storing a payment notification failed");
            // Both providers send again what was not taken: nothing is lost.
            (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
        }
        Ok(Ok(())) => {
            metrics::counter!("huakai_webhooks_total", "outcome" => "stored").increment(1);
            state.webhook_arrived.notify_one();
            taken
        }
    }
}

/// WeChat Pay waits for a 2xx (204, no body).
async fn wechatpay(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(client) = &state.direct.wechatpay else {
        return (StatusCode::NOT_FOUND, "WeChat Pay is not configured").into_response();
    };
    let stored = direct_notifications::receive_wechatpay(&state.db, client, &headers, &body).await;
    answer(&state, stored, StatusCode::NO_CONTENT.into_response())
}

/// Alipay waits for the text `success`; anything else is sent again.
async fn alipay(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let Some(client) = &state.direct.alipay else {
        return (StatusCode::NOT_FOUND, "Alipay is not configured").into_response();
    };
    let stored = direct_notifications::receive_alipay(&state.db, client, &body).await;
    let taken = ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], ACKNOWLEDGED).into_response();
    answer(&state, stored, taken)
}
