//! The Stripe gateway: the real `stripe` client (async-stripe), pointed at Stripe or, with
//! `STRIPE_API_BASE`, at a stand-in. Every create carries an idempotency key derived from our
//! own row, and the row's id in its metadata (or transfer group), so that a call whose answer
//! was lost can be settled later by looking the object up, also after Stripe has forgotten the
//! key (24 hours).

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use stripe::{
    Client, CreatePaymentIntent, CreateRefund, CreateTransfer, Currency, ListPaymentIntents, ListRefunds,
    ListTransfers, PaymentIntent, PaymentIntentId, RangeBounds, RangeQuery, Refund, RequestStrategy, StripeError,
    Timestamp, Transfer,
};

use crate::error::AppError;
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
fn classify(error: StripeError) -> CallError {
    match &error {
        StripeError::Stripe(request)
            if matches!(request.http_status, 400 | 402 | 404)
                && request.error_type != stripe::ErrorType::IdempotencyError =>
        {
            CallError::Refused(request.message.clone().unwrap_or_else(|| error.to_string()))
        }
        _ => CallError::Unknown(error.to_string()),
    }
}

impl StripeGateway {
    pub fn new(secret_key: &str, webhook_secret: &str, api_base: Option<&str>, timeout: Duration) -> StripeGateway {
        let client = match api_base {
            Some(base) => Client::from_url(base, secret_key),
            None => Client::new(secret_key),
        };
        StripeGateway {
            client,
            webhook_secret: webhook_secret.to_owned(),
            timeout,
        }
    }

    /// How long one call may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn idempotent(&self, key: String) -> Client {
        self.client.clone().with_strategy(RequestStrategy::Idempotent(key))
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
        order_id: i64,
        amount_fen: i64,
        method: PaymentMethod,
    ) -> Result<PaymentIntent, CallError> {
        let mut params = CreatePaymentIntent::new(amount_fen, Currency::CNY);
        params.metadata = Some(HashMap::from([("order_id".to_owned(), order_id.to_string())]));
        params.payment_method_types = Some(vec![method.stripe_type().to_owned()]);
        let client = self.idempotent(format!("huakai-order-{order_id}-payment"));
        self.call(PaymentIntent::create(&client, params)).await
    }

    pub async fn payment_intent(&self, id: &str) -> Result<PaymentIntent, AppError> {
        let id: PaymentIntentId = id
            .parse()
            .map_err(|_| AppError::Internal(anyhow::anyhow!("not a PaymentIntent id: {id}")))?;
        Ok(self.call(PaymentIntent::retrieve(&self.client, &id, &[])).await?)
    }

    /// Refunds `amount_fen` of an intent; `refund_id` is our refund row, whose id is the key
    /// and the metadata that [`find_refund`](Self::find_refund) looks for.
    pub async fn refund(&self, refund_id: i64, payment_intent: &str, amount_fen: i64) -> Result<Refund, CallError> {
        let mut params = CreateRefund::new();
        params.payment_intent = Some(
            payment_intent
                .parse()
                .map_err(|_| CallError::Refused(format!("not a PaymentIntent id: {payment_intent}")))?,
        );
        params.amount = Some(amount_fen);
        params.metadata = Some(HashMap::from([("refund_id".to_owned(), refund_id.to_string())]));
        let client = self.idempotent(format!("huakai-refund-{refund_id}"));
        self.call(Refund::create(&client, params)).await
    }

    /// Every refund of a PaymentIntent, ours and those made in Stripe's dashboard.
    pub async fn refunds_of(&self, payment_intent: &str) -> Result<Vec<Refund>, CallError> {
        let intent: PaymentIntentId = payment_intent
            .parse()
            .map_err(|_| CallError::Refused(format!("not a PaymentIntent id: {payment_intent}")))?;
        let mut found = Vec::new();
        let mut starting_after = None;
        loop {
            let mut params = ListRefunds::new();
            params.payment_intent = Some(intent.clone());
            params.limit = Some(100);
            params.starting_after = starting_after.clone();
            let page = self.call(Refund::list(&self.client, &params)).await?;
            starting_after = page.data.last().map(|refund| refund.id.clone());
            let more = page.has_more;
            found.extend(page.data);
            if !more || starting_after.is_none() {
                return Ok(found);
            }
        }
    }

    /// Our refund `refund_id` at Stripe, if it was made.
    pub async fn find_refund(&self, refund_id: i64, payment_intent: &str) -> Result<Option<Refund>, CallError> {
        let ours = refund_id.to_string();
        Ok(self
            .refunds_of(payment_intent)
            .await?
            .into_iter()
            .find(|refund| refund.metadata.as_ref().and_then(|m| m.get("refund_id")) == Some(&ours)))
    }

    fn transfer_group(payout_id: i64) -> String {
        format!("huakai-payout-{payout_id}")
    }

    /// Pays a producer's connected account; the payout row's id is the idempotency key and
    /// names the transfer group that [`find_transfer`](Self::find_transfer) looks in.
    pub async fn transfer(&self, payout_id: i64, destination: &str, amount_fen: i64) -> Result<Transfer, CallError> {
        let group = Self::transfer_group(payout_id);
        let mut params = CreateTransfer::new(Currency::CNY, destination.to_owned());
        params.amount = Some(amount_fen);
        params.transfer_group = Some(&group);
        params.metadata = Some(HashMap::from([("payout_id".to_owned(), payout_id.to_string())]));
        let client = self.idempotent(format!("huakai-payout-{payout_id}"));
        self.call(Transfer::create(&client, params)).await
    }

    /// The transfer made for payout `payout_id`, if there is one.
    pub async fn find_transfer(&self, payout_id: i64) -> Result<Option<Transfer>, CallError> {
        let group = Self::transfer_group(payout_id);
        let mut params = ListTransfers::new();
        params.transfer_group = Some(&group);
        params.limit = Some(10);
        let page = self.call(Transfer::list(&self.client, &params)).await?;
        let ours = payout_id.to_string();
        Ok(page
            .data
            .into_iter()
            .find(|transfer| transfer.metadata.get("payout_id") == Some(&ours)))
    }

    /// PaymentIntents created since `since` (newest first), up to `limit` pages of 100.
    pub async fn recent_payment_intents(&self, since: Timestamp, pages: usize) -> Result<Vec<PaymentIntent>, AppError> {
        let mut found = Vec::new();
        let mut starting_after: Option<PaymentIntentId> = None;
        for _ in 0..pages {
            let mut params = ListPaymentIntents::new();
            params.created = Some(RangeQuery::Bounds(RangeBounds {
                gte: Some(since),
                ..RangeBounds::default()
            }));
            params.limit = Some(100);
            params.starting_after = starting_after.clone();
            let page = self.call(PaymentIntent::list(&self.client, &params)).await?;
            starting_after = page.data.last().map(|intent| intent.id.clone());
            let more = page.has_more;
            found.extend(page.data);
            if !more || starting_after.is_none() {
                break;
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stripe_error(status: u16, error_type: stripe::ErrorType) -> StripeError {
        StripeError::Stripe(stripe::RequestError {
            http_status: status,
            error_type,
            message: Some("no".to_owned()),
            code: None,
            decline_code: None,
            charge: None,
        })
    }

    #[test]
    fn only_a_request_error_is_a_refusal() {
        use stripe::ErrorType::*;
        assert!(matches!(
            classify(stripe_error(400, InvalidRequest)),
            CallError::Refused(_)
        ));
        assert!(matches!(classify(stripe_error(402, Card)), CallError::Refused(_)));
        for unknown in [
            stripe_error(409, IdempotencyError),
            stripe_error(400, IdempotencyError),
            stripe_error(429, RateLimit),
            stripe_error(500, Api),
            stripe_error(503, Api),
            stripe_error(401, Authentication),
            StripeError::Timeout,
            StripeError::ClientError("connection reset by peer".to_owned()),
        ] {
            assert!(matches!(classify(unknown), CallError::Unknown(_)));
        }
    }
}
