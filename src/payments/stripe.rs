//! The Stripe gateway: the real `stripe` client (async-stripe), pointed at Stripe or, with
//! `STRIPE_API_BASE`, at a stand-in. Every create carries an idempotency key derived from our
//! own row, so a retry after a crash is the same request to Stripe.

use std::collections::HashMap;

use stripe::{
    Client, CreatePaymentIntent, CreateRefund, CreateTransfer, Currency, ListPaymentIntents, PaymentIntent,
    PaymentIntentId, RangeBounds, RangeQuery, Refund, RequestStrategy, Timestamp, Transfer,
};

use crate::error::AppError;
use crate::orders::PaymentMethod;

#[derive(Clone)]
pub struct StripeGateway {
    client: Client,
    pub webhook_secret: String,
}

fn failed(what: &str, error: stripe::StripeError) -> AppError {
    AppError::Internal(anyhow::anyhow!("Stripe {what} failed: {error}"))
}

impl StripeGateway {
    pub fn new(secret_key: &str, webhook_secret: &str, api_base: Option<&str>) -> StripeGateway {
        let client = match api_base {
            Some(base) => Client::from_url(base, secret_key),
            None => Client::new(secret_key),
        };
        StripeGateway {
            client,
            webhook_secret: webhook_secret.to_owned(),
        }
    }

    fn idempotent(&self, key: String) -> Client {
        self.client.clone().with_strategy(RequestStrategy::Idempotent(key))
    }

    /// One PaymentIntent per order: the key is the order's, so asking twice is one intent.
    pub async fn create_payment_intent(
        &self,
        order_id: i64,
        amount_fen: i64,
        method: PaymentMethod,
    ) -> Result<PaymentIntent, AppError> {
        let mut params = CreatePaymentIntent::new(amount_fen, Currency::CNY);
        params.metadata = Some(HashMap::from([("order_id".to_owned(), order_id.to_string())]));
        params.payment_method_types = Some(vec![method.stripe_type().to_owned()]);
        PaymentIntent::create(&self.idempotent(format!("huakai-order-{order_id}-payment")), params)
            .await
            .map_err(|e| failed("PaymentIntent creation", e))
    }

    pub async fn payment_intent(&self, id: &str) -> Result<PaymentIntent, AppError> {
        let id: PaymentIntentId = id
            .parse()
            .map_err(|_| AppError::Internal(anyhow::anyhow!("not a PaymentIntent id: {id}")))?;
        PaymentIntent::retrieve(&self.client, &id, &[])
            .await
            .map_err(|e| failed("PaymentIntent lookup", e))
    }

    /// Refunds `amount_fen` of an intent; `refund_id` is our refund row, whose id is the key.
    pub async fn refund(&self, refund_id: i64, payment_intent: &str, amount_fen: i64) -> Result<Refund, AppError> {
        let mut params = CreateRefund::new();
        params.payment_intent = Some(
            payment_intent
                .parse()
                .map_err(|_| AppError::Internal(anyhow::anyhow!("not a PaymentIntent id: {payment_intent}")))?,
        );
        params.amount = Some(amount_fen);
        params.metadata = Some(HashMap::from([("refund_id".to_owned(), refund_id.to_string())]));
        Refund::create(&self.idempotent(format!("huakai-refund-{refund_id}")), params)
            .await
            .map_err(|e| failed("refund", e))
    }

    /// Pays a producer's connected account; the payout row's id is the idempotency key, so a
    /// rerun after a crash pays once.
    pub async fn transfer(&self, payout_id: i64, destination: &str, amount_fen: i64) -> Result<Transfer, AppError> {
        let mut params = CreateTransfer::new(Currency::CNY, destination.to_owned());
        params.amount = Some(amount_fen);
        params.transfer_group = Some("huakai-payouts");
        params.metadata = Some(HashMap::from([("payout_id".to_owned(), payout_id.to_string())]));
        Transfer::create(&self.idempotent(format!("huakai-payout-{payout_id}")), params)
            .await
            .map_err(|e| failed("transfer", e))
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
            let page = PaymentIntent::list(&self.client, &params)
                .await
                .map_err(|e| failed("PaymentIntent listing", e))?;
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
