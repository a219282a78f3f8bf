//! The Stripe gateway: the real `stripe` client (async-stripe 1.0), pointed at Stripe or, with
//! `STRIPE_API_BASE`, at a stand-in. Every create carries an idempotency key derived from our
//! own row, and the row's id in its metadata (or transfer group), so that a call whose answer
//! was lost can be settled later by looking the object up, also after Stripe has forgotten the
//! key (24 hours).

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use stripe::{ApiErrorsType, Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_connect::transfer::{CreateTransfer, ListTransfer};
use stripe_core::payment_intent::{CreatePaymentIntent, ListPaymentIntent, RetrievePaymentIntent};
use stripe_core::refund::{CreateRefund, ListRefund};
use stripe_types::{Currency, RangeQueryTs, Timestamp};

pub use stripe_connect::Transfer;
use stripe_core::PaymentIntentAllowedPaymentMethodTypes;
pub use stripe_core::{PaymentIntent, PaymentIntentStatus, Refund};

use crate::infra::error::AppError;
use crate::infra::ids::OrderId;
use crate::infra::ids::PayoutId;
use crate::infra::ids::RefundId;
use crate::infra::money::Fen;
use crate::orders::PaymentMethod;

#[derive(Clone)]
pub struct StripeGateway {
    client: Client,
    pub webhook_secret: String,
    /// How long one call may take before its outcome counts as unknown.
    timeout: Duration,
}

/// Why a Stripe call did not give a usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// Stripe answered and said no (a 4xx about the request itself): nothing happened there.
    #[error("Stripe refused: {0}")]
    Refused(String),
    /// No definite answer (time-out, connection lost, 409 "key in use", 429, 5xx, an answer we
    /// cannot read): the object may or may not exist at Stripe.
    #[error("Stripe's answer is unknown: {0}")]
    Unknown(String),
}

impl From<CallError> for AppError {
    fn from(error: CallError) -> Self {
        AppError::Internal(anyhow::anyhow!("{error}"))
    }
}

/// Only a 4xx that describes the request itself is a refusal. A 409 is another request with the
/// same key still running; 429 and 5xx may have done the work (Stripe even replays a 500 for
/// the same key); a 401/403 is our configuration, not the payee's fault.
fn is_refusal(status: u16, kind: &ApiErrorsType) -> bool {
    matches!(status, 400 | 402 | 404) && *kind != ApiErrorsType::IdempotencyError
}

fn classify(error: StripeError) -> CallError {
    match &error {
        StripeError::Stripe(request, status) if is_refusal(*status, &request.type_) => CallError::Refused(
            request
                .message
                .clone()
                .unwrap_or_else(|| format!("{status} {}", request.type_.as_str())),
        ),
        // The library's Display of a Stripe error is a multi-line dump of the whole error object.
        StripeError::Stripe(request, status) => CallError::Unknown(format!(
            "{status} {}: {}",
            request.type_.as_str(),
            request.message.as_deref().unwrap_or("no message")
        )),
        _ => CallError::Unknown(error.to_string()),
    }
}

/// Stripe's ids go into request paths: anything but `{prefix}_` and letters and digits is not
/// one of its ids.
fn stripe_id<'a>(id: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = id.strip_prefix(prefix)?.strip_prefix('_')?;
    (!rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')).then_some(id)
}

impl StripeGateway {
    /// Fails on a secret key that cannot be sent in a header, or a base that is not a URL.
    pub fn new(
        secret_key: &str,
        webhook_secret: &str,
        api_base: Option<&str>,
        timeout: Duration,
    ) -> Result<StripeGateway, String> {
        let mut builder = ClientBuilder::new(secret_key);
        if let Some(base) = api_base {
            // The client appends `v1/…` to the base as it is: it must end with a slash.
            let base = if base.ends_with('/') {
                base.to_owned()
            } else {
                format!("{base}/")
            };
            builder = builder.url(base);
        }
        let client = builder.build().map_err(|error| error.to_string())?;
        Ok(StripeGateway {
            client,
            webhook_secret: webhook_secret.to_owned(),
            timeout,
        })
    }

    /// How long one call may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sent once under `key` (never retried by the client: a second try is ours to decide,
    /// after looking the object up). Reads without a key use the client's default, once.
    fn strategy(key: String) -> Result<RequestStrategy, CallError> {
        let key = IdempotencyKey::new(key).map_err(|error| CallError::Refused(error.to_string()))?;
        Ok(RequestStrategy::Idempotent(key))
    }

    async fn call<T>(&self, request: impl Future<Output = Result<T, StripeError>>) -> Result<T, CallError> {
        match tokio::time::timeout(self.timeout, request).await {
            Ok(answer) => answer.map_err(classify),
            Err(_) => Err(CallError::Unknown(format!(
                "no answer within {}",
                humantime::format_duration(self.timeout)
            ))),
        }
    }

    /// One PaymentIntent per order: the key is the order's, so asking twice is one intent.
    pub async fn create_payment_intent(
        &self,
        order_id: OrderId,
        amount: Fen,
        method: PaymentMethod,
    ) -> Result<PaymentIntent, CallError> {
        // Any name parses (an unknown one is sent as it is).
        let Ok(kind) = method.stripe_type().parse::<PaymentIntentAllowedPaymentMethodTypes>();
        let params = CreatePaymentIntent::new(amount.get(), Currency::CNY)
            .metadata(HashMap::from([("order_id".to_owned(), order_id.to_string())]))
            .allowed_payment_method_types(vec![kind]);
        let strategy = Self::strategy(format!("huakai-order-{order_id}-payment"))?;
        self.call(params.customize().request_strategy(strategy).send(&self.client))
            .await
    }

    pub async fn payment_intent(&self, id: &str) -> Result<PaymentIntent, AppError> {
        let id =
            stripe_id(id, "pi").ok_or_else(|| AppError::Internal(anyhow::anyhow!("not a PaymentIntent id: {id}")))?;
        Ok(self.call(RetrievePaymentIntent::new(id).send(&self.client)).await?)
    }

    /// Refunds `amount` of an intent; `refund_id` is our refund row, whose id is the key
    /// and the metadata that [`find_refund`](Self::find_refund) looks for.
    pub async fn refund(&self, refund_id: RefundId, payment_intent: &str, amount: Fen) -> Result<Refund, CallError> {
        let intent = stripe_id(payment_intent, "pi")
            .ok_or_else(|| CallError::Refused(format!("not a PaymentIntent id: {payment_intent}")))?;
        let params = CreateRefund::new()
            .payment_intent(intent)
            .amount(amount.get())
            .metadata(HashMap::from([("refund_id".to_owned(), refund_id.to_string())]));
        let strategy = Self::strategy(format!("huakai-refund-{refund_id}"))?;
        self.call(params.customize().request_strategy(strategy).send(&self.client))
            .await
    }

    /// Every refund of a PaymentIntent, ours and those made in Stripe's dashboard.
    pub async fn refunds_of(&self, payment_intent: &str) -> Result<Vec<Refund>, CallError> {
        let intent = stripe_id(payment_intent, "pi")
            .ok_or_else(|| CallError::Refused(format!("not a PaymentIntent id: {payment_intent}")))?;
        let mut found = Vec::new();
        let mut starting_after: Option<String> = None;
        loop {
            let mut params = ListRefund::new().payment_intent(intent).limit(100);
            if let Some(after) = &starting_after {
                params = params.starting_after(after.as_str());
            }
            let page = self.call(params.send(&self.client)).await?;
            starting_after = page.data.last().map(|refund| refund.id.to_string());
            let more = page.has_more;
            found.extend(page.data);
            if !more || starting_after.is_none() {
                return Ok(found);
            }
        }
    }

    /// Our refund `refund_id` at Stripe, if it was made.
    pub async fn find_refund(&self, refund_id: RefundId, payment_intent: &str) -> Result<Option<Refund>, CallError> {
        let ours = refund_id.to_string();
        Ok(self
            .refunds_of(payment_intent)
            .await?
            .into_iter()
            .find(|refund| refund.metadata.as_ref().and_then(|m| m.get("refund_id")) == Some(&ours)))
    }

    fn transfer_group(payout_id: PayoutId) -> String {
        format!("huakai-payout-{payout_id}")
    }

    /// Pays a producer's connected account; the payout row's id is the idempotency key and
    /// names the transfer group that [`find_transfer`](Self::find_transfer) looks in.
    pub async fn transfer(&self, payout_id: PayoutId, destination: &str, amount: Fen) -> Result<Transfer, CallError> {
        let params = CreateTransfer::new(Currency::CNY, destination)
            .amount(amount.get())
            .transfer_group(Self::transfer_group(payout_id))
            .metadata(HashMap::from([("payout_id".to_owned(), payout_id.to_string())]));
        let strategy = Self::strategy(format!("huakai-payout-{payout_id}"))?;
        self.call(params.customize().request_strategy(strategy).send(&self.client))
            .await
    }

    /// The transfer made for payout `payout_id`, if there is one.
    pub async fn find_transfer(&self, payout_id: PayoutId) -> Result<Option<Transfer>, CallError> {
        let params = ListTransfer::new()
            .transfer_group(Self::transfer_group(payout_id))
            .limit(10);
        let page = self.call(params.send(&self.client)).await?;
        let ours = payout_id.to_string();
        Ok(page
            .data
            .into_iter()
            .find(|transfer| transfer.metadata.get("payout_id") == Some(&ours)))
    }

    /// PaymentIntents created since `since` (newest first), up to `limit` pages of 100.
    pub async fn recent_payment_intents(&self, since: Timestamp, pages: usize) -> Result<Vec<PaymentIntent>, AppError> {
        let mut found = Vec::new();
        let mut starting_after: Option<String> = None;
        for _ in 0..pages {
            let mut params = ListPaymentIntent::new().created(RangeQueryTs::gte(since)).limit(100);
            if let Some(after) = &starting_after {
                params = params.starting_after(after.as_str());
            }
            let page = self.call(params.send(&self.client)).await?;
            starting_after = page.data.last().map(|intent| intent.id.to_string());
            let more = page.has_more;
            found.extend(page.data);
            if !more || starting_after.is_none() {
                break;
            }
        }
        Ok(found)
    }
}

impl crate::shop::Shop {
    /// Stripe, when configured.
    pub fn stripe(&self) -> Option<&StripeGateway> {
        self.part::<Option<StripeGateway>>().as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_request_error_is_a_refusal() {
        use ApiErrorsType::*;
        assert!(is_refusal(400, &InvalidRequestError));
        assert!(is_refusal(402, &CardError));
        assert!(is_refusal(404, &InvalidRequestError));
        for (status, kind) in [
            (409, IdempotencyError),
            (400, IdempotencyError),
            (429, Unknown("rate_limit_error".to_owned())),
            (500, ApiError),
            (503, ApiError),
            (401, Unknown("authentication_error".to_owned())),
            (403, InvalidRequestError),
        ] {
            assert!(!is_refusal(status, &kind), "{status} {kind:?}");
        }
        for unknown in [
            StripeError::Timeout,
            StripeError::ClientError("connection reset by peer".to_owned()),
            StripeError::JSONDeserialize("error deserializing request data".to_owned()),
        ] {
            assert!(matches!(classify(unknown), CallError::Unknown(_)));
        }
    }

    #[test]
    fn only_stripe_shaped_ids_go_into_paths() {
        assert_eq!(stripe_id("pi_3Nx2abcDEF", "pi"), Some("pi_3Nx2abcDEF"));
        for bad in ["", "pi_", "re_3Nx2", "pi_../../v1/charges", "pi_a b", "pi"] {
            assert_eq!(stripe_id(bad, "pi"), None, "{bad}");
        }
    }
}
