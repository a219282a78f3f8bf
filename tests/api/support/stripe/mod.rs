//! A Stripe stand-in for the integration tests: a small HTTP server that the app's real
//! `async-stripe` client talks to (`STRIPE_API_BASE` set to `stand_in.base_url`).
//!
//! Like Stripe's own mock server it answers with Stripe's fixture objects
//! (`tests/api/fixtures/stripe-fixtures3-2023-10.json`, API version 2023-10-16) overlaid with the
//! request's parameters and a fresh id. The client speaks a newer version (async-stripe 1.0:
//! 2026-09-30), whose types read these objects: every test that pays, refunds or transfers
//! through the app checks that they do.
//! Unlike the mock server it keeps state (PaymentIntents, charges, refunds, transfers, events),
//! honours `Idempotency-Key` as Stripe does, and signs and POSTs webhook events the way Stripe
//! does (`Stripe-Signature: t=…,v1=…`).
//!
//! Served (all with `Authorization: Bearer {secret_key}`):
//! - `POST /v1/payment_intents`, `GET /v1/payment_intents[/{id}]`,
//!   `POST /v1/payment_intents/{id}` (update), `POST /v1/payment_intents/{id}/cancel`
//! - `POST /v1/refunds`, `GET /v1/refunds[/{id}]`
//! - `POST /v1/transfers`, `GET /v1/transfers[/{id}]`
//! - `GET /v1/charges[/{id}]`, `GET /v1/events[/{id}]`
//!
//! The test side drives what Stripe would do on its own: [`StripeStandIn::succeed`] and
//! [`StripeStandIn::decline`] play the buyer, [`StripeStandIn::event`] and
//! [`StripeStandIn::deliver`] send hand-made (or tampered) events.

// The stand-in offers more than any one test uses.
#![allow(dead_code)]

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;

mod http;
mod objects;
mod params;
#[cfg(test)]
mod tests;

use http::*;
use objects::*;
pub use params::*;

/// Stripe's fixture objects by resource name (`"payment_intent"`, `"charge"`, …).
static FIXTURES: LazyLock<Value> = LazyLock::new(|| {
    let text = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/api/fixtures/stripe-fixtures3-2023-10.json"
    ));
    let mut all: Value = serde_json::from_str(text).expect("the Stripe fixtures are JSON");
    let resources = all.get_mut("resources").map(Value::take);
    resources.expect("the Stripe fixtures have a `resources` object")
});

/// The API version the events say they were rendered with: the fixtures' own.
pub const API_VERSION: &str = "2023-10-16";

pub struct StripeStandIn {
    /// `http://127.0.0.1:{port}`, the app's `STRIPE_API_BASE`.
    pub base_url: String,
    /// The only API key the stand-in accepts (`sk_test_…`).
    pub secret_key: String,
    /// The webhook signing secret (`whsec_…`) the app must verify events with.
    pub webhook_secret: String,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

/// What goes wrong with one request, as it does with Stripe now and then.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The work is done, but the answer comes only after this long (longer than the app waits).
    SlowAnswer(Duration),
    /// 409 `idempotency_error`: another request with this key is still running. Nothing done.
    KeyInUse,
    /// The work is done, then 500 `api_error`, which Stripe also replays for the same key.
    ServerErrorAfterWork,
    /// 400 `invalid_request_error`: a definite no. Nothing done.
    Refuse,
}

/// One webhook delivery attempt: which event, and what the app answered (0: no answer at all).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub event_id: String,
    pub event_type: String,
    pub status: u16,
}

impl StripeStandIn {
    /// Binds 127.0.0.1:0 and serves.
    pub async fn start() -> StripeStandIn {
        LazyLock::force(&FIXTURES);
        let shared = Arc::new(Shared {
            secret_key: format!("sk_test_{}", random_alnum(24)),
            webhook_secret: format!("whsec_{}", random_alnum(32)),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("a reqwest client for webhook deliveries"),
            ledger: Mutex::default(),
            in_flight: Mutex::default(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the Stripe stand-in binds a local port");
        let address = listener.local_addr().expect("the Stripe stand-in's address");
        let router = Router::new().fallback(serve_request).with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                eprintln!("the Stripe stand-in stopped serving: {error}");
            }
        });
        StripeStandIn {
            base_url: format!("http://{address}"),
            secret_key: shared.secret_key.clone(),
            webhook_secret: shared.webhook_secret.clone(),
            shared,
            server,
        }
    }

    /// Where signed events are POSTed (the app's `/webhooks/stripe`). Until set, events are only
    /// recorded.
    pub fn send_webhooks_to(&self, url: String) {
        self.shared.ledger().webhook_url = Some(url);
    }

    /// All PaymentIntents created so far (their current JSON), oldest first.
    pub fn payment_intents(&self) -> Vec<Value> {
        self.shared.ledger().payment_intents.clone()
    }

    /// How many POSTs were made to `path` (e.g. `"/v1/payment_intents"`), idempotent replays and
    /// refused requests included.
    pub fn create_calls(&self, path: &str) -> usize {
        self.shared.ledger().create_calls.get(path).copied().unwrap_or(0)
    }

    pub fn payment_intent(&self, id: &str) -> Option<Value> {
        find_by_id(&self.shared.ledger().payment_intents, id).cloned()
    }

    pub fn charge(&self, id: &str) -> Option<Value> {
        find_by_id(&self.shared.ledger().charges, id).cloned()
    }

    /// Every charge made (by [`succeed`](Self::succeed) and [`decline`](Self::decline)), oldest
    /// first.
    pub fn charges(&self) -> Vec<Value> {
        self.shared.ledger().charges.clone()
    }

    /// Every refund created, oldest first.
    pub fn refunds(&self) -> Vec<Value> {
        self.shared.ledger().refunds.clone()
    }

    /// Every transfer created, oldest first.
    pub fn transfers(&self) -> Vec<Value> {
        self.shared.ledger().transfers.clone()
    }

    /// Every event the stand-in emitted or delivered, oldest first.
    pub fn events(&self) -> Vec<Value> {
        self.shared.ledger().events.clone()
    }

    /// Every webhook delivery attempt so far, in the order they were answered.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.ledger().deliveries.clone()
    }

    /// Waits until the webhooks sent in the background (those caused by API calls, such as
    /// `charge.refunded` after a refund) have been answered.
    pub async fn settle(&self) {
        loop {
            let handles = std::mem::take(&mut *self.shared.in_flight());
            if handles.is_empty() {
                return;
            }
            for handle in handles {
                let _ = handle.await;
            }
        }
    }

    /// Makes the next create of a transfer fail with a Stripe error (400, invalid_request_error,
    /// code `balance_insufficient`), for testing failed payouts.
    pub fn fail_next_transfer(&self) {
        self.shared.ledger().fail_next_transfer = true;
    }

    /// Removes a connected account, as its owner (or Stripe) does: transfers to it are refused
    /// from then on as Stripe refuses them (400 `invalid_request_error`, "No such destination").
    pub fn remove_account(&self, account: &str) {
        self.shared.ledger().removed_accounts.push(account.to_owned());
    }

    /// Makes the next POST to `path` (e.g. `"/v1/refunds"`) go wrong the way `fault` says.
    pub fn fault_next(&self, path: &str, fault: Fault) {
        self.shared
            .ledger()
            .faults
            .entry(path.to_owned())
            .or_default()
            .push(fault);
    }

    /// Forgets every idempotency key, as Stripe does 24 hours after a key's first use.
    pub fn forget_idempotency_keys(&self) {
        self.shared.ledger().idempotency.clear();
    }

    /// Someone refunds `amount` of a PaymentIntent in Stripe's dashboard: a refund without our
    /// metadata, and its `charge.refunded` event sent to the app (answered before this returns).
    pub async fn dashboard_refund(&self, payment_intent_id: &str, amount: i64) -> Value {
        let params = Params::decode(&format!("payment_intent={payment_intent_id}&amount={amount}"));
        let mut events = Vec::new();
        let refund = {
            let mut ledger = self.shared.ledger();
            let refund = create_refund(&mut ledger, &params, &no_request(), &mut events)
                .unwrap_or_else(|reply| panic!("the dashboard refund was refused: {}", reply.body));
            ledger.events.extend(events.iter().cloned());
            refund
        };
        for event in &events {
            self.send_now(event).await;
        }
        refund
    }

    /// The buyer pays: the PaymentIntent's status becomes "succeeded", `amount_received` its
    /// amount, and a succeeded charge is made; then a signed `payment_intent.succeeded` event is
    /// POSTed (and answered) before this returns. Returns the event.
    pub async fn succeed(&self, payment_intent_id: &str) -> Value {
        let event = {
            let mut guard = self.shared.ledger();
            let ledger = &mut *guard;
            let intent = ledger
                .payment_intents
                .iter_mut()
                .find(|intent| intent["id"] == payment_intent_id)
                .unwrap_or_else(|| panic!("the Stripe stand-in has no {payment_intent_id}"));
            let status = intent["status"].as_str().unwrap_or_default();
            assert!(
                !matches!(status, "succeeded" | "canceled"),
                "{payment_intent_id} cannot succeed: it is {status}"
            );
            let payment_method = new_id("pm", 24);
            let charge = new_charge(intent, true, &payment_method);
            let amount = intent["amount"].clone();
            overlay(
                intent,
                [
                    ("status", json!("succeeded")),
                    ("amount_received", amount),
                    ("amount_capturable", json!(0)),
                    ("latest_charge", charge["id"].clone()),
                    ("last_payment_error", Value::Null),
                    ("payment_method", json!(payment_method)),
                ],
            );
            let event = build_event("payment_intent.succeeded", intent.clone(), no_request());
            ledger.charges.push(charge);
            ledger.events.push(event.clone());
            event
        };
        self.send_now(&event).await;
        event
    }

    /// The buyer's card is declined: a failed charge is made, the PaymentIntent goes back to
    /// "requires_payment_method" with `last_payment_error` {code "card_declined", decline_code
    /// "generic_decline", message "Your card was declined.", type "card_error", charge}; then a
    /// signed `payment_intent.payment_failed` event is POSTed. Returns the event.
    pub async fn decline(&self, payment_intent_id: &str) -> Value {
        let event = {
            let mut guard = self.shared.ledger();
            let ledger = &mut *guard;
            let intent = ledger
                .payment_intents
                .iter_mut()
                .find(|intent| intent["id"] == payment_intent_id)
                .unwrap_or_else(|| panic!("the Stripe stand-in has no {payment_intent_id}"));
            let status = intent["status"].as_str().unwrap_or_default();
            assert!(
                !matches!(status, "succeeded" | "canceled"),
                "{payment_intent_id} cannot be declined: it is {status}"
            );
            let charge = new_charge(intent, false, &new_id("pm", 24));
            let error = json!({
                "charge": charge["id"],
                "code": "card_declined",
                "decline_code": "generic_decline",
                "doc_url": "https://stripe.com/docs/error-codes/card-declined",
                "message": "Your card was declined.",
                "type": "card_error",
            });
            overlay(
                intent,
                [
                    ("status", json!("requires_payment_method")),
                    ("latest_charge", charge["id"].clone()),
                    ("last_payment_error", error),
                    ("payment_method", Value::Null),
                ],
            );
            let event = build_event("payment_intent.payment_failed", intent.clone(), no_request());
            ledger.charges.push(charge);
            ledger.events.push(event.clone());
            event
        };
        self.send_now(&event).await;
        event
    }

    /// An event of `event_type` about `object`, made from the "event" fixture (fresh `evt_` id,
    /// created now, api_version 2023-10-16, livemode false, pending_webhooks 1), not sent.
    pub fn event(&self, event_type: &str, object: Value) -> Value {
        build_event(event_type, object, no_request())
    }

    /// The `Stripe-Signature` header value for `payload` signed at unix time `timestamp`.
    pub fn signature(&self, payload: &str, timestamp: i64) -> String {
        self.shared.signature(payload, timestamp)
    }

    /// POSTs `event` (compact JSON) signed now to the webhook URL; returns the app's status.
    ///
    /// Panics when no webhook URL is set or the app does not answer.
    pub async fn deliver(&self, event: &Value) -> u16 {
        let url = self.shared.ledger().webhook_url.clone();
        let url = url.expect("call send_webhooks_to before delivering an event");
        {
            let mut ledger = self.shared.ledger();
            if find_by_id(&ledger.events, event["id"].as_str().unwrap_or_default()).is_none() {
                ledger.events.push(event.clone());
            }
        }
        let status = self
            .shared
            .post_event(&url, event)
            .await
            .unwrap_or_else(|error| panic!("the app did not take the webhook at {url}: {error}"));
        self.shared.record_delivery(event, status);
        status
    }

    /// Sends an event the stand-in emitted itself, if a webhook URL is set.
    async fn send_now(&self, event: &Value) {
        let url = self.shared.ledger().webhook_url.clone();
        if let Some(url) = url {
            let status = self
                .shared
                .post_event(&url, event)
                .await
                .unwrap_or_else(|error| panic!("the app did not take the webhook at {url}: {error}"));
            self.shared.record_delivery(event, status);
        }
    }
}

impl Drop for StripeStandIn {
    fn drop(&mut self) {
        self.server.abort();
        for handle in self.shared.in_flight().drain(..) {
            handle.abort();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// State

struct Shared {
    secret_key: String,
    webhook_secret: String,
    http: reqwest::Client,
    ledger: Mutex<Ledger>,
    /// Webhook deliveries running in the background.
    in_flight: Mutex<Vec<JoinHandle<()>>>,
}

#[derive(Default)]
struct Ledger {
    payment_intents: Vec<Value>,
    charges: Vec<Value>,
    refunds: Vec<Value>,
    transfers: Vec<Value>,
    events: Vec<Value>,
    deliveries: Vec<Delivery>,
    /// First answers by `Idempotency-Key`.
    idempotency: HashMap<String, Remembered>,
    /// POSTs by path.
    create_calls: HashMap<String, usize>,
    fail_next_transfer: bool,
    /// Connected accounts removed (`remove_account`).
    removed_accounts: Vec<String>,
    /// Faults still to happen, by path, first first.
    faults: HashMap<String, Vec<Fault>>,
    webhook_url: Option<String>,
}

/// A request made with an `Idempotency-Key`, and its answer.
struct Remembered {
    path: String,
    params: Vec<(String, String)>,
    reply: Reply,
}

/// An answer: status and JSON body.
#[derive(Clone, Debug)]
struct Reply {
    status: StatusCode,
    body: Value,
}

type Outcome = Result<Value, Reply>;

impl Reply {
    fn ok(body: Value) -> Reply {
        Reply {
            status: StatusCode::OK,
            body,
        }
    }

    /// A Stripe error of type `invalid_request_error`.
    fn invalid(status: StatusCode, message: &str, code: Option<&str>, param: Option<&str>) -> Reply {
        Reply::error(status, "invalid_request_error", message, code, param)
    }

    fn error(status: StatusCode, kind: &str, message: &str, code: Option<&str>, param: Option<&str>) -> Reply {
        let mut error = json!({ "type": kind, "message": message });
        if let Some(code) = code {
            error["code"] = json!(code);
            error["doc_url"] = json!(format!(
                "https://stripe.com/docs/error-codes/{}",
                code.replace('_', "-")
            ));
        }
        if let Some(param) = param {
            error["param"] = json!(param);
        }
        Reply {
            status,
            body: json!({ "error": error }),
        }
    }

    fn bad(message: &str, code: Option<&str>, param: Option<&str>) -> Reply {
        Reply::invalid(StatusCode::BAD_REQUEST, message, code, param)
    }

    /// 404 `resource_missing` for an unknown id.
    fn missing(kind: &str, id: &str, param: Option<&str>) -> Reply {
        Reply::invalid(
            StatusCode::NOT_FOUND,
            &format!("No such {kind}: '{id}'"),
            Some("resource_missing"),
            param,
        )
    }

    fn unrecognised(method: &Method, path: &str) -> Reply {
        Reply::invalid(
            StatusCode::NOT_FOUND,
            &format!(
                "Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs \
                 or we can help at https://support.stripe.com/."
            ),
            None,
            None,
        )
    }

    fn from_outcome(outcome: Outcome) -> Reply {
        outcome.map_or_else(|reply| reply, Reply::ok)
    }
}
