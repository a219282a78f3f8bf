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

impl Shared {
    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn in_flight(&self) -> MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.in_flight.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn signature(&self, payload: &str, timestamp: i64) -> String {
        sign(&self.webhook_secret, payload, timestamp)
    }

    async fn post_event(&self, url: &str, event: &Value) -> Result<u16, reqwest::Error> {
        let payload = event.to_string();
        let response = self
            .http
            .post(url)
            .header("Stripe-Signature", self.signature(&payload, now()))
            .header(header::CONTENT_TYPE, "application/json")
            .body(payload)
            .send()
            .await?;
        Ok(response.status().as_u16())
    }

    fn record_delivery(&self, event: &Value, status: u16) {
        self.ledger().deliveries.push(Delivery {
            event_id: event["id"].as_str().unwrap_or_default().to_owned(),
            event_type: event["type"].as_str().unwrap_or_default().to_owned(),
            status,
        });
    }
}

/// Sends `event` in the background, as Stripe does after answering the request that caused it.
fn spawn_delivery(shared: &Arc<Shared>, event: Value) {
    let url = shared.ledger().webhook_url.clone();
    let Some(url) = url else { return };
    let task_shared = Arc::clone(shared);
    let handle = tokio::spawn(async move {
        let status = match task_shared.post_event(&url, &event).await {
            Ok(status) => status,
            Err(error) => {
                eprintln!(
                    "the Stripe stand-in could not deliver {} to {url}: {error}",
                    event["id"]
                );
                0
            }
        };
        task_shared.record_delivery(&event, status);
    });
    shared.in_flight().push(handle);
}

// ---------------------------------------------------------------------------------------------
// HTTP

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

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body)).into_response();
        if let Ok(value) = HeaderValue::from_str(&new_id("req", 14)) {
            response.headers_mut().insert("request-id", value);
        }
        response
    }
}

async fn serve_request(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let authorised = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .is_some_and(|key| key.trim() == shared.secret_key);
    if !authorised {
        return Reply::invalid(StatusCode::UNAUTHORIZED, "Invalid API Key provided", None, None).into_response();
    }
    let path = uri.path().to_owned();
    let segments: Vec<&str> = path.split('/').filter(|segment| !segment.is_empty()).collect();
    match method {
        Method::GET => {
            let query = Params::decode(uri.query().unwrap_or_default());
            let ledger = shared.ledger();
            route_get(&ledger, &segments, &query)
                .unwrap_or_else(|| Reply::unrecognised(&method, &path))
                .into_response()
        }
        Method::POST => {
            let params = Params::decode(&String::from_utf8_lossy(&body));
            let key = headers
                .get("idempotency-key")
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned);
            let (reply, replayed, events, delay) = {
                let mut guard = shared.ledger();
                let ledger = &mut *guard;
                *ledger.create_calls.entry(path.clone()).or_default() += 1;
                let fault = ledger
                    .faults
                    .get_mut(&path)
                    .filter(|waiting| !waiting.is_empty())
                    .map(|waiting| waiting.remove(0));
                let earlier = key.as_ref().and_then(|key| ledger.idempotency.get(key));
                match (fault, earlier) {
                    (Some(Fault::KeyInUse), _) => {
                        let reply = Reply::error(
                            StatusCode::CONFLICT,
                            "idempotency_error",
                            "There is currently another in-progress request using this Stripe-Idempotency-Key. \
                             Please try again later.",
                            None,
                            None,
                        );
                        (reply, false, Vec::new(), None)
                    }
                    (_, Some(earlier)) => (earlier.replay(&path, &params), true, Vec::new(), None),
                    (fault, None) => {
                        let request = json!({
                            "id": new_id("req", 14),
                            "idempotency_key": key,
                        });
                        let mut events = Vec::new();
                        let reply = if fault == Some(Fault::Refuse) {
                            Reply::bad(
                                "This request was refused (a test fault).",
                                Some("charge_disputed"),
                                None,
                            )
                        } else {
                            route_post(ledger, &segments, &params, &request, &mut events)
                                .unwrap_or_else(|| Reply::unrecognised(&method, &path))
                        };
                        let reply = if fault == Some(Fault::ServerErrorAfterWork) {
                            Reply::error(
                                StatusCode::INTERNAL_SERVER_ERROR,
                                "api_error",
                                "An unknown error occurred (a test fault).",
                                None,
                                None,
                            )
                        } else {
                            reply
                        };
                        if let Some(key) = key {
                            let params = params.sorted();
                            let remembered = Remembered {
                                path: path.clone(),
                                params,
                                reply: reply.clone(),
                            };
                            ledger.idempotency.insert(key, remembered);
                        }
                        ledger.events.extend(events.iter().cloned());
                        let delay = match fault {
                            Some(Fault::SlowAnswer(delay)) => Some(delay),
                            _ => None,
                        };
                        (reply, false, events, delay)
                    }
                }
            };
            for event in events {
                spawn_delivery(&shared, event);
            }
            if let Some(delay) = delay {
                tokio::time::sleep(delay).await;
            }
            let mut response = reply.into_response();
            if replayed {
                response
                    .headers_mut()
                    .insert("idempotent-replayed", HeaderValue::from_static("true"));
            }
            response
        }
        _ => Reply::unrecognised(&method, &path).into_response(),
    }
}

impl Remembered {
    /// The first answer again, if the key is reused for the same request, as Stripe does.
    fn replay(&self, path: &str, params: &Params) -> Reply {
        if self.path != path {
            return Reply::error(
                StatusCode::BAD_REQUEST,
                "idempotency_error",
                &format!(
                    "Keys for idempotent requests can only be used for the same endpoint they \
                     were first used for ('{}' vs '{path}'). Try using a key other than the \
                     one used for the original request.",
                    self.path
                ),
                None,
                None,
            );
        }
        if self.params != params.sorted() {
            return Reply::error(
                StatusCode::BAD_REQUEST,
                "idempotency_error",
                "Keys for idempotent requests can only be used with the same parameters they \
                 were first used with. Try using a key other than the one used for the original \
                 request.",
                None,
                None,
            );
        }
        self.reply.clone()
    }
}

/// `None`: no such route.
fn route_get(ledger: &Ledger, segments: &[&str], query: &Params) -> Option<Reply> {
    let outcome = match segments {
        ["v1", "payment_intents"] => list(ledger, &ledger.payment_intents, query, "/v1/payment_intents"),
        ["v1", "payment_intents", id] => retrieve(ledger, &ledger.payment_intents, "payment_intent", id, query),
        ["v1", "charges"] => list(ledger, &ledger.charges, query, "/v1/charges"),
        ["v1", "charges", id] => retrieve(ledger, &ledger.charges, "charge", id, query),
        ["v1", "refunds"] => list(ledger, &ledger.refunds, query, "/v1/refunds"),
        ["v1", "refunds", id] => retrieve(ledger, &ledger.refunds, "refund", id, query),
        ["v1", "transfers"] => list(ledger, &ledger.transfers, query, "/v1/transfers"),
        ["v1", "transfers", id] => retrieve(ledger, &ledger.transfers, "transfer", id, query),
        ["v1", "events"] => list(ledger, &ledger.events, query, "/v1/events"),
        ["v1", "events", id] => retrieve(ledger, &ledger.events, "event", id, query),
        _ => return None,
    };
    Some(Reply::from_outcome(outcome))
}

/// `None`: no such route. Events the request causes are added to `events`.
fn route_post(
    ledger: &mut Ledger,
    segments: &[&str],
    params: &Params,
    request: &Value,
    events: &mut Vec<Value>,
) -> Option<Reply> {
    let outcome = match segments {
        ["v1", "payment_intents"] => create_payment_intent(ledger, params),
        ["v1", "payment_intents", id] => update_payment_intent(ledger, id, params),
        ["v1", "payment_intents", id, "cancel"] => cancel_payment_intent(ledger, id, params, request, events),
        ["v1", "refunds"] => create_refund(ledger, params, request, events),
        ["v1", "transfers"] => create_transfer(ledger, params),
        _ => return None,
    };
    Some(Reply::from_outcome(outcome))
}

// ---------------------------------------------------------------------------------------------
// Resources

fn retrieve(ledger: &Ledger, items: &[Value], kind: &str, id: &str, query: &Params) -> Outcome {
    let mut object = find_by_id(items, id)
        .cloned()
        .ok_or_else(|| Reply::missing(kind, id, Some("id")))?;
    expand(ledger, &mut object, &query.array("expand"));
    Ok(object)
}

/// A page of `items` (kept oldest first), newest first as Stripe lists them.
fn list(ledger: &Ledger, items: &[Value], query: &Params, url: &str) -> Outcome {
    let limit = query.integer("limit")?.unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return Err(Reply::bad(
            &format!("Invalid limit: must be between 1 and 100 (got {limit})"),
            None,
            Some("limit"),
        ));
    }
    let limit = usize::try_from(limit).unwrap_or(10);
    let mut selected: Vec<&Value> = items.iter().rev().collect();
    // `created` filters: which orderings of an item's `created` against the bound are kept.
    let bounds: [(&str, &[Ordering]); 5] = [
        ("created", &[Ordering::Equal]),
        ("created[gt]", &[Ordering::Greater]),
        ("created[gte]", &[Ordering::Greater, Ordering::Equal]),
        ("created[lt]", &[Ordering::Less]),
        ("created[lte]", &[Ordering::Less, Ordering::Equal]),
    ];
    for (key, kept) in bounds {
        if let Some(bound) = query.integer(key)? {
            selected.retain(|item| {
                item["created"]
                    .as_i64()
                    .is_some_and(|created| kept.contains(&created.cmp(&bound)))
            });
        }
    }
    for field in [
        "payment_intent",
        "charge",
        "customer",
        "destination",
        "transfer_group",
        "type",
    ] {
        if let Some(wanted) = query.get(field) {
            selected.retain(|item| item[field].as_str() == Some(wanted));
        }
    }
    let cursor = |param: &str| -> Result<Option<usize>, Reply> {
        match query.get(param) {
            None => Ok(None),
            Some(id) => selected
                .iter()
                .position(|item| item["id"] == id)
                .map(Some)
                .ok_or_else(|| Reply::missing("object", id, Some(param))),
        }
    };
    let (page, has_more): (Vec<&Value>, bool) = match (cursor("starting_after")?, cursor("ending_before")?) {
        (Some(after), _) => {
            let rest = &selected[after + 1..];
            (rest.iter().take(limit).copied().collect(), rest.len() > limit)
        }
        (None, Some(before)) => {
            let start = before.saturating_sub(limit);
            (selected[start..before].to_vec(), start > 0)
        }
        (None, None) => (selected.iter().take(limit).copied().collect(), selected.len() > limit),
    };
    let expansions: Vec<String> = query
        .array("expand")
        .into_iter()
        .filter_map(|path| path.strip_prefix("data.").map(str::to_owned))
        .collect();
    let data: Vec<Value> = page
        .into_iter()
        .map(|item| {
            let mut item = item.clone();
            expand(ledger, &mut item, &expansions);
            item
        })
        .collect();
    Ok(json!({ "object": "list", "data": data, "has_more": has_more, "url": url }))
}

/// Replaces the ids at the (top-level) fields `paths` by the objects they name.
fn expand(ledger: &Ledger, object: &mut Value, paths: &[String]) {
    for path in paths {
        let Some(field) = object.get_mut(path.as_str()) else {
            continue;
        };
        let found = field.as_str().and_then(|id| ledger.find(id)).cloned();
        if let Some(found) = found {
            *field = found;
        }
    }
}

impl Ledger {
    fn find(&self, id: &str) -> Option<&Value> {
        [
            &self.payment_intents,
            &self.charges,
            &self.refunds,
            &self.transfers,
            &self.events,
        ]
        .into_iter()
        .find_map(|items| find_by_id(items, id))
    }
}

fn find_by_id<'a>(items: &'a [Value], id: &str) -> Option<&'a Value> {
    items.iter().find(|item| item["id"] == id)
}

fn create_payment_intent(ledger: &mut Ledger, params: &Params) -> Outcome {
    let amount = params.required_integer("amount")?;
    if amount < 1 {
        return Err(Reply::bad(
            "This value must be greater than or equal to 1.",
            Some("amount_too_small"),
            Some("amount"),
        ));
    }
    let currency = params.currency("currency")?.ok_or_else(|| missing_param("currency"))?;
    let id = new_id("pi", 24);
    let automatic = params.get("automatic_payment_methods[enabled]") == Some("true");
    // Newer API versions (the client's, 2026-09-30) name the types asked for
    // `allowed_payment_method_types`; older ones `payment_method_types`. Either way the answer
    // lists them in `payment_method_types`.
    let allowed = params.array("allowed_payment_method_types");
    let mut types = match allowed.is_empty() {
        true => params.array("payment_method_types"),
        false => allowed.clone(),
    };
    if types.is_empty() {
        types.push("card".to_owned());
    }
    let mut intent = fixture("payment_intent");
    overlay(
        &mut intent,
        [
            ("id", json!(id)),
            ("object", json!("payment_intent")),
            ("amount", json!(amount)),
            ("amount_capturable", json!(0)),
            ("amount_received", json!(0)),
            (
                "automatic_payment_methods",
                match automatic {
                    true => json!({ "allow_redirects": "always", "enabled": true }),
                    false => Value::Null,
                },
            ),
            ("canceled_at", Value::Null),
            ("cancellation_reason", Value::Null),
            ("client_secret", json!(format!("{id}_secret_{}", random_alnum(25)))),
            ("created", json!(now())),
            ("currency", json!(currency)),
            ("customer", params.optional_string("customer")),
            ("description", params.optional_string("description")),
            ("last_payment_error", Value::Null),
            ("latest_charge", Value::Null),
            ("livemode", json!(false)),
            ("metadata", Value::Object(params.metadata())),
            ("payment_method_types", json!(types)),
            (
                "allowed_payment_method_types",
                match allowed.is_empty() {
                    true => Value::Null,
                    false => json!(allowed),
                },
            ),
            ("status", json!("requires_payment_method")),
        ],
    );
    overlay_optional_fields(&mut intent, params)?;
    ledger.payment_intents.push(intent.clone());
    Ok(intent)
}

/// Optional scalar parameters of a PaymentIntent that are stored as sent.
fn overlay_optional_fields(intent: &mut Value, params: &Params) -> Result<(), Reply> {
    for field in [
        "capture_method",
        "on_behalf_of",
        "payment_method",
        "receipt_email",
        "setup_future_usage",
        "statement_descriptor",
        "statement_descriptor_suffix",
        "transfer_group",
    ] {
        if let Some(value) = params.get(field) {
            intent[field] = if value.is_empty() { Value::Null } else { json!(value) };
        }
    }
    if let Some(fee) = params.integer("application_fee_amount")? {
        intent["application_fee_amount"] = json!(fee);
    }
    Ok(())
}

fn update_payment_intent(ledger: &mut Ledger, id: &str, params: &Params) -> Outcome {
    let intent = ledger
        .payment_intents
        .iter_mut()
        .find(|intent| intent["id"] == id)
        .ok_or_else(|| Reply::missing("payment_intent", id, Some("intent")))?;
    let status = intent["status"].as_str().unwrap_or_default().to_owned();
    let amount = params.integer("amount")?;
    let currency = params.currency("currency")?;
    if (amount.is_some() || currency.is_some()) && matches!(status.as_str(), "succeeded" | "canceled") {
        return Err(Reply::bad(
            &format!("This PaymentIntent's amount could not be updated because it has a status of {status}."),
            Some("payment_intent_unexpected_state"),
            None,
        ));
    }
    if let Some(amount) = amount {
        if amount < 1 {
            return Err(Reply::bad(
                "This value must be greater than or equal to 1.",
                Some("amount_too_small"),
                Some("amount"),
            ));
        }
        intent["amount"] = json!(amount);
    }
    if let Some(currency) = currency {
        intent["currency"] = json!(currency);
    }
    if let Some(description) = params.get("description") {
        intent["description"] = if description.is_empty() {
            Value::Null
        } else {
            json!(description)
        };
    }
    overlay_optional_fields(intent, params)?;
    let types = params.array("payment_method_types");
    if !types.is_empty() {
        intent["payment_method_types"] = json!(types);
    }
    params.merge_metadata(&mut intent["metadata"]);
    Ok(intent.clone())
}

fn cancel_payment_intent(
    ledger: &mut Ledger,
    id: &str,
    params: &Params,
    request: &Value,
    events: &mut Vec<Value>,
) -> Outcome {
    let intent = ledger
        .payment_intents
        .iter_mut()
        .find(|intent| intent["id"] == id)
        .ok_or_else(|| Reply::missing("payment_intent", id, Some("intent")))?;
    let status = intent["status"].as_str().unwrap_or_default().to_owned();
    if matches!(status.as_str(), "succeeded" | "canceled") {
        return Err(Reply::bad(
            &format!(
                "You cannot cancel this PaymentIntent because it has a status of {status}. Only a \
                 PaymentIntent with one of the following statuses may be canceled: \
                 requires_payment_method, requires_capture, requires_confirmation, \
                 requires_action, processing."
            ),
            Some("payment_intent_unexpected_state"),
            None,
        ));
    }
    let reason = match params.get("cancellation_reason") {
        None | Some("") => Value::Null,
        Some(reason @ ("duplicate" | "fraudulent" | "requested_by_customer" | "abandoned")) => json!(reason),
        Some(other) => {
            return Err(Reply::bad(
                &format!("Invalid cancellation_reason: {other}"),
                None,
                Some("cancellation_reason"),
            ));
        }
    };
    overlay(
        intent,
        [
            ("status", json!("canceled")),
            ("canceled_at", json!(now())),
            ("cancellation_reason", reason),
        ],
    );
    events.push(build_event("payment_intent.canceled", intent.clone(), request.clone()));
    Ok(intent.clone())
}

fn create_refund(ledger: &mut Ledger, params: &Params, request: &Value, events: &mut Vec<Value>) -> Outcome {
    let intent_id = match (params.get("payment_intent"), params.get("charge")) {
        (Some(intent), _) => intent.to_owned(),
        (None, Some(charge)) => find_by_id(&ledger.charges, charge)
            .and_then(|charge| charge["payment_intent"].as_str())
            .map(str::to_owned)
            .ok_or_else(|| Reply::missing("charge", charge, Some("charge")))?,
        (None, None) => {
            return Err(Reply::bad(
                "One of the following params should be provided for this request: payment_intent or charge.",
                Some("parameter_missing"),
                Some("payment_intent"),
            ));
        }
    };
    let intent = find_by_id(&ledger.payment_intents, &intent_id)
        .ok_or_else(|| Reply::missing("payment_intent", &intent_id, Some("payment_intent")))?;
    let not_refundable = || {
        Reply::bad(
            &format!("This PaymentIntent ({intent_id}) does not have a successful charge to refund."),
            Some("payment_intent_unexpected_state"),
            Some("payment_intent"),
        )
    };
    if intent["status"] != "succeeded" {
        return Err(not_refundable());
    }
    let received = intent["amount_received"].as_i64().unwrap_or(0);
    let currency = intent["currency"].clone();
    let charge_id = intent["latest_charge"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(not_refundable)?;
    let charge_index = ledger
        .charges
        .iter()
        .position(|charge| charge["id"] == charge_id.as_str())
        .ok_or_else(not_refundable)?;
    let already = ledger.charges[charge_index]["amount_refunded"].as_i64().unwrap_or(0);
    let left = received - already;
    if left <= 0 {
        return Err(Reply::bad(
            &format!("Charge {charge_id} has already been refunded."),
            Some("charge_already_refunded"),
            None,
        ));
    }
    let amount = params.integer("amount")?.unwrap_or(left);
    if amount < 1 {
        return Err(Reply::bad(
            "Refund amount must be a positive integer.",
            Some("amount_too_small"),
            Some("amount"),
        ));
    }
    if amount > left {
        return Err(Reply::bad(
            &format!("Refund amount ({amount}) is greater than unrefunded amount on charge ({left})"),
            Some("amount_too_large"),
            Some("amount"),
        ));
    }
    let reason = match params.get("reason") {
        None | Some("") => Value::Null,
        Some(reason @ ("duplicate" | "fraudulent" | "requested_by_customer")) => json!(reason),
        Some(other) => return Err(Reply::bad(&format!("Invalid reason: {other}"), None, Some("reason"))),
    };
    let mut refund = fixture("refund");
    overlay(
        &mut refund,
        [
            ("id", json!(new_id("re", 24))),
            ("object", json!("refund")),
            ("amount", json!(amount)),
            ("balance_transaction", json!(new_id("txn", 24))),
            ("charge", json!(charge_id)),
            ("created", json!(now())),
            ("currency", currency),
            ("metadata", Value::Object(params.metadata())),
            ("payment_intent", json!(intent_id)),
            ("reason", reason),
            ("status", json!("succeeded")),
        ],
    );
    let charge = &mut ledger.charges[charge_index];
    let refunded = already + amount;
    charge["amount_refunded"] = json!(refunded);
    charge["refunded"] = json!(refunded >= received);
    if let Some(data) = charge["refunds"]["data"].as_array_mut() {
        data.insert(0, refund.clone());
    }
    events.push(build_event("charge.refunded", charge.clone(), request.clone()));
    ledger.refunds.push(refund.clone());
    Ok(refund)
}

fn create_transfer(ledger: &mut Ledger, params: &Params) -> Outcome {
    let amount = params.required_integer("amount")?;
    if amount < 1 {
        return Err(Reply::bad(
            "This value must be greater than or equal to 1.",
            Some("amount_too_small"),
            Some("amount"),
        ));
    }
    let currency = params.currency("currency")?.ok_or_else(|| missing_param("currency"))?;
    let destination = params.required("destination")?;
    if ledger.removed_accounts.iter().any(|removed| removed == destination) {
        return Err(Reply::bad(
            &format!("No such destination: '{destination}'"),
            Some("resource_missing"),
            Some("destination"),
        ));
    }
    if std::mem::take(&mut ledger.fail_next_transfer) {
        return Err(Reply::bad(
            "You have insufficient available funds in your Stripe account. Try adding funds \
             directly to your available balance by creating Charges using the 4000000000000077 \
             test card. See: https://stripe.com/docs/testing#available-balance",
            Some("balance_insufficient"),
            None,
        ));
    }
    let id = new_id("tr", 24);
    let mut transfer = fixture("transfer");
    overlay(
        &mut transfer,
        [
            ("id", json!(id)),
            ("object", json!("transfer")),
            ("amount", json!(amount)),
            ("amount_reversed", json!(0)),
            ("balance_transaction", json!(new_id("txn", 24))),
            ("created", json!(now())),
            ("currency", json!(currency)),
            ("description", params.optional_string("description")),
            ("destination", json!(destination)),
            ("destination_payment", json!(new_id("py", 14))),
            ("livemode", json!(false)),
            ("metadata", Value::Object(params.metadata())),
            (
                "reversals",
                json!({
                    "data": [],
                    "has_more": false,
                    "object": "list",
                    "url": format!("/v1/transfers/{id}/reversals"),
                }),
            ),
            ("reversed", json!(false)),
            ("source_transaction", params.optional_string("source_transaction")),
            ("transfer_group", params.optional_string("transfer_group")),
        ],
    );
    ledger.transfers.push(transfer.clone());
    Ok(transfer)
}

/// A charge for `intent` from the "charge" fixture: succeeded and paid, or failed as declined.
fn new_charge(intent: &Value, succeeded: bool, payment_method: &str) -> Value {
    let id = new_id("ch", 24);
    let amount = intent["amount"].as_i64().unwrap_or(0);
    let mut charge = fixture("charge");
    overlay(
        &mut charge,
        [
            ("id", json!(id)),
            ("object", json!("charge")),
            ("amount", json!(amount)),
            ("amount_captured", json!(if succeeded { amount } else { 0 })),
            ("amount_refunded", json!(0)),
            (
                "balance_transaction",
                if succeeded {
                    json!(new_id("txn", 24))
                } else {
                    Value::Null
                },
            ),
            ("captured", json!(succeeded)),
            ("created", json!(now())),
            ("currency", intent["currency"].clone()),
            ("customer", intent["customer"].clone()),
            ("description", intent["description"].clone()),
            (
                "failure_code",
                if succeeded { Value::Null } else { json!("card_declined") },
            ),
            (
                "failure_message",
                if succeeded {
                    Value::Null
                } else {
                    json!("Your card was declined.")
                },
            ),
            ("livemode", json!(false)),
            ("metadata", intent["metadata"].clone()),
            ("paid", json!(succeeded)),
            ("payment_intent", intent["id"].clone()),
            ("payment_method", json!(payment_method)),
            ("receipt_email", intent["receipt_email"].clone()),
            (
                "receipt_url",
                if succeeded {
                    json!(format!("https://pay.stripe.com/receipts/payment/{}", random_alnum(40)))
                } else {
                    Value::Null
                },
            ),
            ("refunded", json!(false)),
            (
                "refunds",
                json!({
                    "data": [],
                    "has_more": false,
                    "object": "list",
                    "url": format!("/v1/charges/{id}/refunds"),
                }),
            ),
            ("status", json!(if succeeded { "succeeded" } else { "failed" })),
            ("transfer_group", intent["transfer_group"].clone()),
        ],
    );
    charge
}

/// An event from the "event" fixture about `object`.
fn build_event(event_type: &str, object: Value, request: Value) -> Value {
    let mut event = fixture("event");
    overlay(
        &mut event,
        [
            ("id", json!(new_id("evt", 24))),
            ("object", json!("event")),
            ("api_version", json!(API_VERSION)),
            ("created", json!(now())),
            ("data", json!({ "object": object })),
            ("livemode", json!(false)),
            ("pending_webhooks", json!(1)),
            ("request", request),
            ("type", json!(event_type)),
        ],
    );
    event
}

/// The `request` of an event that no API request caused (the buyer paid, say).
fn no_request() -> Value {
    json!({ "id": null, "idempotency_key": null })
}

fn fixture(resource: &str) -> Value {
    FIXTURES
        .get(resource)
        .cloned()
        .unwrap_or_else(|| panic!("the Stripe fixtures have no {resource}"))
}

fn overlay<const N: usize>(object: &mut Value, fields: [(&str, Value); N]) {
    if let Some(object) = object.as_object_mut() {
        for (key, value) in fields {
            object.insert(key.to_owned(), value);
        }
    }
}

fn missing_param(param: &str) -> Reply {
    Reply::bad(
        &format!("Missing required param: {param}."),
        Some("parameter_missing"),
        Some(param),
    )
}

// ---------------------------------------------------------------------------------------------
// Form-encoded parameters

/// Decoded `application/x-www-form-urlencoded` parameters (a body or a query string), in order,
/// keys with Stripe's bracket notation kept as sent (`metadata[order_id]`,
/// `payment_method_types[0]`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn decode(input: &str) -> Params {
        Params(
            input
                .split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    (percent_decode(key), percent_decode(value))
                })
                .collect(),
        )
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// The last value sent for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    }

    /// The entries of the hash `name` (`name[k]=v`), in order, a key sent twice counting once
    /// with its last value.
    pub fn hash(&self, name: &str) -> Vec<(String, String)> {
        let mut entries: Vec<(String, String)> = Vec::new();
        for (key, value) in &self.0 {
            let Some(inner) = key
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('['))
                .and_then(|rest| rest.strip_suffix(']'))
            else {
                continue;
            };
            match entries.iter_mut().find(|(existing, _)| existing == inner) {
                Some(entry) => entry.1 = value.clone(),
                None => entries.push((inner.to_owned(), value.clone())),
            }
        }
        entries
    }

    /// The array `name` (`name[0]=a&name[1]=b`, or `name[]=a&name[]=b`), by index.
    pub fn array(&self, name: &str) -> Vec<String> {
        let mut items: Vec<(usize, usize, String)> = Vec::new();
        for (position, (key, value)) in self.0.iter().enumerate() {
            let Some(index) = key
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('['))
                .and_then(|rest| rest.strip_suffix(']'))
            else {
                continue;
            };
            let index = match index {
                "" => usize::MAX,
                digits => match digits.parse::<usize>() {
                    Ok(index) => index,
                    Err(_) => continue,
                },
            };
            items.push((index, position, value.clone()));
        }
        items.sort_by_key(|(index, position, _)| (*index, *position));
        items.into_iter().map(|(_, _, value)| value).collect()
    }

    /// `metadata[k]=v` as a JSON object of strings (empty values, which unset a key at Stripe,
    /// left out).
    pub fn metadata(&self) -> Map<String, Value> {
        self.hash("metadata")
            .into_iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(key, value)| (key, Value::String(value)))
            .collect()
    }

    /// Applies `metadata[k]=v` to stored metadata as Stripe's updates do: an empty value removes
    /// the key, and `metadata=` (empty) removes them all.
    fn merge_metadata(&self, metadata: &mut Value) {
        if !metadata.is_object() {
            *metadata = json!({});
        }
        let Some(stored) = metadata.as_object_mut() else { return };
        if self.get("metadata") == Some("") {
            stored.clear();
        }
        for (key, value) in self.hash("metadata") {
            if value.is_empty() {
                stored.remove(&key);
            } else {
                stored.insert(key, Value::String(value));
            }
        }
    }

    fn required(&self, key: &str) -> Result<&str, Reply> {
        self.get(key)
            .filter(|value| !value.is_empty())
            .ok_or_else(|| missing_param(key))
    }

    /// The string sent for `key`, or JSON null.
    fn optional_string(&self, key: &str) -> Value {
        match self.get(key) {
            Some(value) if !value.is_empty() => json!(value),
            _ => Value::Null,
        }
    }

    fn integer(&self, key: &str) -> Result<Option<i64>, Reply> {
        match self.get(key) {
            None => Ok(None),
            Some(text) => text.trim().parse::<i64>().map(Some).map_err(|_| {
                Reply::bad(
                    &format!("Invalid integer: {text}"),
                    Some("parameter_invalid_integer"),
                    Some(key),
                )
            }),
        }
    }

    fn required_integer(&self, key: &str) -> Result<i64, Reply> {
        self.integer(key)?.ok_or_else(|| missing_param(key))
    }

    /// A three-letter ISO currency code, lowercased as Stripe answers it.
    fn currency(&self, key: &str) -> Result<Option<String>, Reply> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(code) if code.len() == 3 && code.bytes().all(|byte| byte.is_ascii_alphabetic()) => {
                Ok(Some(code.to_ascii_lowercase()))
            }
            Some(code) => Err(Reply::bad(&format!("Invalid currency: {code}"), None, Some(key))),
        }
    }

    /// The pairs in a canonical order, to compare two requests.
    fn sorted(&self) -> Vec<(String, String)> {
        let mut pairs = self.0.clone();
        pairs.sort();
        pairs
    }
}

/// Decodes `%XX` escapes and `+` (a space); a `%` not followed by two hex digits stays as is.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => {
                decoded.push(b' ');
                index += 1;
            }
            b'%' => {
                let escaped = bytes
                    .get(index + 1..index + 3)
                    .and_then(|hex| Some(hex_digit(hex[0])? << 4 | hex_digit(hex[1])?));
                match escaped {
                    Some(byte) => {
                        decoded.push(byte);
                        index += 3;
                    }
                    None => {
                        decoded.push(b'%');
                        index += 1;
                    }
                }
            }
            byte => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

fn hex_digit(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Small tools

/// HMAC-SHA256 (RFC 2104) of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|byte| byte ^ 0x36));
    inner.update(message);
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(block.map(|byte| byte ^ 0x5c));
    outer.update(inner);
    outer.finalize().into()
}

/// Stripe's webhook signature header: `t={timestamp},v1={hex HMAC-SHA256 of "{timestamp}.{payload}"}`.
pub fn sign(secret: &str, payload: &str, timestamp: i64) -> String {
    let mac = hmac_sha256(secret.as_bytes(), format!("{timestamp}.{payload}").as_bytes());
    format!("t={timestamp},v1={}", hex::encode(mac))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `{prefix}_` and `length` random letters and digits, as Stripe's ids look.
fn new_id(prefix: &str, length: usize) -> String {
    format!("{prefix}_{}", random_alnum(length))
}

fn random_alnum(length: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut text = String::with_capacity(length);
    while text.len() < length {
        let uuid = uuid::Uuid::new_v4();
        // Bytes 6 and 8 carry the UUID's version and variant, not randomness.
        for (index, byte) in uuid.as_bytes().iter().enumerate() {
            if index == 6 || index == 8 || text.len() == length {
                continue;
            }
            text.push(char::from(ALPHABET[usize::from(*byte) % ALPHABET.len()]));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_matches_known_vectors() {
        let mac = hmac_sha256(b"key", b"The quick brown fox jumps over the lazy dog");
        assert_eq!(
            hex::encode(mac),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
        // RFC 4231, test cases 1 and 6 (a key longer than the block is hashed first).
        let mac = hmac_sha256(&[0x0b; 20], b"Hi There");
        assert_eq!(
            hex::encode(mac),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        let mac = hmac_sha256(&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First");
        assert_eq!(
            hex::encode(mac),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn signatures_have_stripes_shape() {
        let signature = sign("key", "payload", 1_700_000_000);
        let expected = hex::encode(hmac_sha256(b"key", b"1700000000.payload"));
        assert_eq!(signature, format!("t=1700000000,v1={expected}"));
    }

    #[test]
    fn decodes_stripe_form_bodies() {
        let params = Params::decode(
            "amount=1200&currency=CNY&metadata[order_id]=12&metadata%5Bbuyer%5D=li+wei\
             &payment_method_types[1]=alipay&payment_method_types[0]=card\
             &description=Two+jars%20of%20honey%2C%20%E8%9C%82%E8%9C%9C&expand[]=latest_charge",
        );
        assert_eq!(params.get("amount"), Some("1200"));
        assert_eq!(params.integer("amount").ok().flatten(), Some(1200));
        assert_eq!(params.currency("currency").ok().flatten().as_deref(), Some("cny"));
        assert_eq!(params.get("description"), Some("Two jars of honey, 蜂蜜"));
        assert_eq!(
            Value::Object(params.metadata()),
            json!({ "order_id": "12", "buyer": "li wei" })
        );
        assert_eq!(params.array("payment_method_types"), ["card", "alipay"]);
        assert_eq!(params.array("expand"), ["latest_charge"]);
        assert!(params.array("metadata").is_empty());
        assert_eq!(params.get("missing"), None);
    }

    #[test]
    fn decoding_survives_odd_input() {
        assert_eq!(Params::decode(""), Params::default());
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("a%2Bb+c"), "a+b c");
        assert_eq!(percent_decode("%e8%9c"), "\u{fffd}");
        let params = Params::decode("flag&&a=1=2&amount=12x&metadata[k]=1&metadata[k]=2");
        assert_eq!(params.get("flag"), Some(""));
        assert_eq!(params.get("a"), Some("1=2"));
        assert!(params.integer("amount").is_err());
        assert_eq!(params.hash("metadata"), [("k".to_owned(), "2".to_owned())]);
    }

    #[test]
    fn events_are_made_from_the_fixture() {
        let event = build_event("payment_intent.succeeded", json!({ "id": "pi_1" }), no_request());
        assert!(
            event["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("evt_") && id.len() == 28)
        );
        assert_eq!(event["object"], "event");
        assert_eq!(event["type"], "payment_intent.succeeded");
        assert_eq!(event["api_version"], API_VERSION);
        assert_eq!(event["livemode"], false);
        assert_eq!(event["pending_webhooks"], 1);
        assert_eq!(event["data"], json!({ "object": { "id": "pi_1" } }));
        assert_eq!(event["request"], no_request());
    }

    async fn post(stand_in: &StripeStandIn, path: &str, key: Option<&str>, body: &str) -> (u16, Value) {
        let mut request = reqwest::Client::new()
            .post(format!("{}{path}", stand_in.base_url))
            .bearer_auth(&stand_in.secret_key)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body.to_owned());
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.expect("the stand-in answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON answer"))
    }

    async fn get(stand_in: &StripeStandIn, path_and_query: &str) -> (u16, Value) {
        let response = reqwest::Client::new()
            .get(format!("{}{path_and_query}", stand_in.base_url))
            .bearer_auth(&stand_in.secret_key)
            .send()
            .await
            .expect("the stand-in answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON answer"))
    }

    #[tokio::test]
    async fn refuses_a_wrong_key() {
        let stand_in = StripeStandIn::start().await;
        let response = reqwest::Client::new()
            .get(format!("{}/v1/payment_intents", stand_in.base_url))
            .bearer_auth("sk_test_wrong")
            .send()
            .await
            .expect("the stand-in answers");
        assert_eq!(response.status().as_u16(), 401);
        let body: Value = response.json().await.expect("a JSON answer");
        assert_eq!(body["error"]["type"], "invalid_request_error");
    }

    #[tokio::test]
    async fn creates_payment_intents_once_per_idempotency_key() {
        let stand_in = StripeStandIn::start().await;
        let body = "amount=1999&currency=cny&metadata[order_id]=12&payment_method_types[0]=card";
        let (status, first) = post(&stand_in, "/v1/payment_intents", Some("order-12"), body).await;
        assert_eq!(status, 200, "{first}");
        let id = first["id"].as_str().expect("an id");
        assert!(id.starts_with("pi_") && id.len() == 27);
        assert_eq!(first["amount"], 1999);
        assert_eq!(first["currency"], "cny");
        assert_eq!(first["metadata"], json!({ "order_id": "12" }));
        assert_eq!(first["payment_method_types"], json!(["card"]));
        assert_eq!(first["status"], "requires_payment_method");
        assert!(
            first["client_secret"]
                .as_str()
                .is_some_and(|secret| secret.starts_with(&format!("{id}_secret_")))
        );
        assert!(first["created"].as_i64().is_some_and(|created| created > 1_700_000_000));
        // Fields the request does not set stay as in the fixture.
        assert_eq!(first["capture_method"], "automatic");

        let (status, again) = post(&stand_in, "/v1/payment_intents", Some("order-12"), body).await;
        assert_eq!((status, &again), (200, &first));
        let (status, reused) = post(
            &stand_in,
            "/v1/payment_intents",
            Some("order-12"),
            "amount=1&currency=cny",
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(reused["error"]["type"], "idempotency_error");
        assert_eq!(stand_in.create_calls("/v1/payment_intents"), 3);
        assert_eq!(stand_in.payment_intents().len(), 1);

        let (status, missing) = post(&stand_in, "/v1/payment_intents", None, "currency=cny").await;
        assert_eq!(status, 400);
        assert_eq!(missing["error"]["code"], "parameter_missing");
        let (status, unknown) = get(&stand_in, "/v1/payment_intents/pi_nope").await;
        assert_eq!(status, 404);
        assert_eq!(unknown["error"]["code"], "resource_missing");
        let (status, fetched) = get(&stand_in, &format!("/v1/payment_intents/{id}")).await;
        assert_eq!((status, &fetched), (200, &first));
    }

    #[tokio::test]
    async fn lists_payment_intents_newest_first() {
        let stand_in = StripeStandIn::start().await;
        let mut ids = Vec::new();
        for amount in 1..=3 {
            let (_, intent) = post(
                &stand_in,
                "/v1/payment_intents",
                None,
                &format!("amount={amount}&currency=usd"),
            )
            .await;
            ids.push(intent["id"].as_str().expect("an id").to_owned());
        }
        let (status, page) = get(&stand_in, "/v1/payment_intents?limit=2&created%5Bgte%5D=0").await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["object"], "list");
        assert_eq!(page["url"], "/v1/payment_intents");
        assert_eq!(page["has_more"], true);
        assert_eq!(page["data"][0]["id"], ids[2].as_str());
        assert_eq!(page["data"][1]["id"], ids[1].as_str());
        let (_, rest) = get(
            &stand_in,
            &format!("/v1/payment_intents?limit=2&starting_after={}", ids[1]),
        )
        .await;
        assert_eq!(rest["has_more"], false);
        assert_eq!(rest["data"].as_array().map(Vec::len), Some(1));
        assert_eq!(rest["data"][0]["id"], ids[0].as_str());
        let (_, none) = get(&stand_in, "/v1/payment_intents?created[gte]=99999999999").await;
        assert_eq!(none["data"], json!([]));
    }

    #[tokio::test]
    async fn refunds_what_was_paid_and_no_more() {
        let stand_in = StripeStandIn::start().await;
        let (_, intent) = post(&stand_in, "/v1/payment_intents", None, "amount=1000&currency=cny").await;
        let id = intent["id"].as_str().expect("an id");
        let (status, early) = post(&stand_in, "/v1/refunds", None, &format!("payment_intent={id}")).await;
        assert_eq!(status, 400, "{early}");

        let event = stand_in.succeed(id).await;
        assert_eq!(event["type"], "payment_intent.succeeded");
        assert_eq!(event["data"]["object"]["status"], "succeeded");
        let paid = stand_in.payment_intent(id).expect("the intent");
        assert_eq!(paid["amount_received"], 1000);
        let charge_id = paid["latest_charge"].as_str().expect("a charge");
        let charge = stand_in.charge(charge_id).expect("the charge");
        assert_eq!(
            (charge["status"].as_str(), charge["paid"].as_bool()),
            (Some("succeeded"), Some(true))
        );
        assert_eq!(charge["payment_intent"], id);

        let (status, refund) = post(
            &stand_in,
            "/v1/refunds",
            Some("refund-1"),
            &format!("payment_intent={id}&amount=300"),
        )
        .await;
        assert_eq!(status, 200, "{refund}");
        assert!(refund["id"].as_str().is_some_and(|id| id.starts_with("re_")));
        assert_eq!(
            (refund["amount"].as_i64(), refund["charge"].as_str()),
            (Some(300), Some(charge_id))
        );
        assert_eq!(refund["currency"], "cny");
        let (status, too_much) = post(
            &stand_in,
            "/v1/refunds",
            None,
            &format!("payment_intent={id}&amount=701"),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(too_much["error"]["code"], "amount_too_large");
        let (status, rest) = post(&stand_in, "/v1/refunds", None, &format!("payment_intent={id}")).await;
        assert_eq!(status, 200);
        assert_eq!(rest["amount"], 700);
        let charge = stand_in.charge(charge_id).expect("the charge");
        assert_eq!(
            (charge["amount_refunded"].as_i64(), charge["refunded"].as_bool()),
            (Some(1000), Some(true))
        );
        assert_eq!(stand_in.refunds().len(), 2);
        let (status, _) = post(&stand_in, "/v1/refunds", None, &format!("payment_intent={id}")).await;
        assert_eq!(status, 400);
        let refunded: Vec<Value> = stand_in
            .events()
            .into_iter()
            .filter(|event| event["type"] == "charge.refunded")
            .collect();
        assert_eq!(refunded.len(), 2);
        assert_eq!(refunded[0]["request"]["idempotency_key"], "refund-1");
        assert_eq!(refunded[1]["data"]["object"]["amount_refunded"], 1000);
    }

    #[tokio::test]
    async fn fails_the_next_transfer_only() {
        let stand_in = StripeStandIn::start().await;
        let body = "amount=500&currency=cny&destination=acct_123&transfer_group=order-7&metadata[payout]=3";
        stand_in.fail_next_transfer();
        let (status, failed) = post(&stand_in, "/v1/transfers", None, body).await;
        assert_eq!(status, 400);
        assert_eq!(failed["error"]["type"], "invalid_request_error");
        let (status, transfer) = post(&stand_in, "/v1/transfers", None, body).await;
        assert_eq!(status, 200, "{transfer}");
        assert_eq!(transfer["destination"], "acct_123");
        assert_eq!(transfer["transfer_group"], "order-7");
        assert_eq!(transfer["metadata"], json!({ "payout": "3" }));
        assert_eq!(transfer["reversed"], false);
        assert_eq!(stand_in.transfers(), [transfer]);
    }

    #[tokio::test]
    async fn faults_happen_once_each_as_stripe_would_answer() {
        let stand_in = StripeStandIn::start().await;
        let body = "amount=500&currency=cny&destination=acct_123&transfer_group=payout-9";
        // 409: nothing done, nothing remembered; the same key then does the work.
        stand_in.fault_next("/v1/transfers", Fault::KeyInUse);
        let (status, conflict) = post(&stand_in, "/v1/transfers", Some("k1"), body).await;
        assert_eq!(status, 409);
        assert_eq!(conflict["error"]["type"], "idempotency_error");
        assert!(stand_in.transfers().is_empty());
        let (status, made) = post(&stand_in, "/v1/transfers", Some("k1"), body).await;
        assert_eq!(status, 200, "{made}");
        // 500 after the work: the transfer exists, and the key replays the 500.
        stand_in.fault_next("/v1/transfers", Fault::ServerErrorAfterWork);
        let (status, _) = post(&stand_in, "/v1/transfers", Some("k2"), body).await;
        assert_eq!(status, 500);
        assert_eq!(stand_in.transfers().len(), 2);
        let (status, _) = post(&stand_in, "/v1/transfers", Some("k2"), body).await;
        assert_eq!(status, 500, "Stripe replays a 500 for the same key");
        // A slow answer: the work is done before the answer comes.
        stand_in.fault_next("/v1/transfers", Fault::SlowAnswer(Duration::from_millis(300)));
        let started = std::time::Instant::now();
        let (status, _) = post(&stand_in, "/v1/transfers", Some("k3"), body).await;
        assert_eq!(status, 200);
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert_eq!(stand_in.transfers().len(), 3);
        // Forgotten keys make new objects, as Stripe does after 24 hours.
        stand_in.forget_idempotency_keys();
        let (status, _) = post(&stand_in, "/v1/transfers", Some("k3"), body).await;
        assert_eq!(status, 200);
        assert_eq!(stand_in.transfers().len(), 4);
        stand_in.fault_next("/v1/transfers", Fault::Refuse);
        let (status, refused) = post(&stand_in, "/v1/transfers", Some("k4"), body).await;
        assert_eq!(status, 400);
        assert_eq!(refused["error"]["type"], "invalid_request_error");
        assert_eq!(stand_in.transfers().len(), 4);
    }

    #[tokio::test]
    async fn delivers_signed_events() {
        use axum::routing::post as route_post;

        let received: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let sink = Arc::clone(&received);
        let app = Router::new().route(
            "/webhooks/stripe",
            route_post(move |headers: HeaderMap, body: String| async move {
                let signature = headers
                    .get("stripe-signature")
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                sink.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push((signature, body));
                StatusCode::OK
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let address = listener.local_addr().expect("an address");
        let receiver = tokio::spawn(async move { axum::serve(listener, app).await });

        let stand_in = StripeStandIn::start().await;
        stand_in.send_webhooks_to(format!("http://{address}/webhooks/stripe"));
        let (_, intent) = post(&stand_in, "/v1/payment_intents", None, "amount=800&currency=cny").await;
        let id = intent["id"].as_str().expect("an id");
        let failed = stand_in.decline(id).await;
        assert_eq!(failed["data"]["object"]["last_payment_error"]["code"], "card_declined");
        assert_eq!(failed["data"]["object"]["status"], "requires_payment_method");
        stand_in.succeed(id).await;
        post(&stand_in, "/v1/refunds", None, &format!("payment_intent={id}")).await;
        stand_in.settle().await;
        let custom = stand_in.event("payment_intent.succeeded", intent.clone());
        assert_eq!(stand_in.deliver(&custom).await, 200);

        let received = received.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let types: Vec<String> = received
            .iter()
            .map(|(_, body)| {
                let event: Value = serde_json::from_str(body).expect("a JSON event");
                event["type"].as_str().unwrap_or_default().to_owned()
            })
            .collect();
        assert_eq!(
            types,
            [
                "payment_intent.payment_failed",
                "payment_intent.succeeded",
                "charge.refunded",
                "payment_intent.succeeded"
            ]
        );
        for (signature, body) in &received {
            let timestamp: i64 = signature
                .strip_prefix("t=")
                .and_then(|rest| rest.split(',').next())
                .and_then(|t| t.parse().ok())
                .expect("a timestamp");
            assert!((now() - timestamp).abs() < 60);
            assert_eq!(signature, &stand_in.signature(body, timestamp));
        }
        assert!(stand_in.deliveries().iter().all(|delivery| delivery.status == 200));
        assert_eq!(stand_in.deliveries().len(), 4);
        receiver.abort();
    }
}
