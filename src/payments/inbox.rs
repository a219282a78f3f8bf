//! The webhook inbox: a verified event is stored (once per Stripe event id, or per WeChat Pay
//! or Alipay notification id: `direct_notifications`) before the sender gets its answer, and
//! applied by a worker afterwards. A crash between the two loses nothing: the
//! worker finds the event on the next start. Any replica may work the inbox; an event is claimed
//! for a while with a conditional update, so two replicas never apply it at once.

use std::sync::Arc;
use std::time::Duration;

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;
use serde_json::Value;
use stripe_webhook::{Webhook, WebhookError};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::entity::webhook_event;
use super::stripe::StripeGateway;
use super::{direct_notifications, direct_sweep, records, refunds, service, settling};
use crate::infra::error::{AppError, AppResult};
use crate::infra::money::Fen;
use crate::shop::Shop;

/// How long a worker holds an event it is applying before another may try.
const CLAIM: Duration = Duration::from_secs(60);
/// Events that failed this often wait for an operator (they stay in the inbox).
const MAX_ATTEMPTS: i32 = 10;

#[derive(Debug, thiserror::Error)]
pub enum Rejected {
    #[error("missing Stripe-Signature header")]
    Unsigned,
    #[error("the signature does not verify, or is too old")]
    BadSignature,
    #[error("the payload is not a Stripe event")]
    Malformed,
}

/// Verifies and stores an event; `Ok` means it is safe to answer 200.
pub async fn receive(
    db: &DatabaseConnection,
    gateway: &StripeGateway,
    payload: &str,
    signature: Option<&str>,
) -> Result<AppResult<()>, Rejected> {
    let signature = signature.ok_or(Rejected::Unsigned)?;
    let event = Webhook::construct_event(payload, signature, &gateway.webhook_secret).map_err(|error| match error {
        WebhookError::BadParse(_) => Rejected::Malformed,
        _ => Rejected::BadSignature,
    })?;
    Ok(webhook_event::keep(db, event.id.as_str(), event.type_.as_str(), payload).await)
}

async fn claim(db: &DatabaseConnection, id: &str) -> AppResult<bool> {
    let now = Utc::now();
    let until = now + chrono::Duration::from_std(CLAIM).map_err(|e| AppError::Internal(e.into()))?;
    let claimed = webhook_event::Entity::update_many()
        .col_expr(webhook_event::Column::ClaimedUntil, Expr::value(until))
        .col_expr(
            webhook_event::Column::Attempts,
            Expr::col(webhook_event::Column::Attempts).add(1),
        )
        .filter(webhook_event::Column::Id.eq(id))
        .filter(webhook_event::Column::ProcessedAt.is_null())
        .filter(
            Condition::any()
                .add(webhook_event::Column::ClaimedUntil.is_null())
                .add(webhook_event::Column::ClaimedUntil.lt(now)),
        )
        .exec(db)
        .await?;
    Ok(claimed.rows_affected == 1)
}

/// What the worker reads of a stored event: its type and its object, the rest of which is
/// read only for the types acted on (the event was checked, and parsed whole by the Stripe
/// crate, when it arrived).
#[derive(Deserialize)]
struct StoredEvent {
    #[serde(rename = "type")]
    kind: String,
    data: StoredData,
}

#[derive(Deserialize)]
struct StoredData {
    object: Value,
}

/// The fields of a PaymentIntent that move our records.
#[derive(Deserialize)]
struct IntentFields {
    id: String,
    amount_received: i64,
    currency: String,
    #[serde(default)]
    metadata: HashMap<String, String>,
    last_payment_error: Option<PaymentError>,
}

#[derive(Deserialize)]
struct PaymentError {
    message: Option<String>,
}

/// The PaymentIntent of a charge: its id, or the intent itself when expanded.
#[derive(Deserialize)]
struct ChargeFields {
    payment_intent: Option<Value>,
}

fn fields<T: serde::de::DeserializeOwned>(object: Value, kind: &str) -> AppResult<T> {
    serde_json::from_value(object).map_err(|e| {
        AppError::Internal(anyhow::anyhow!(
            "the object of a stored {kind} event does not parse: {e}"
        ))
    })
}

/// Applies one stored event to our records.
async fn apply(shop: &Shop, payload: &str) -> AppResult<()> {
    let event: StoredEvent = serde_json::from_str(payload)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored event does not parse: {e}")))?;
    match event.kind.as_str() {
        "payment_intent.succeeded" => {
            let intent: IntentFields = fields(event.data.object, &event.kind)?;
            let Some(payment) = records::payment_for_intent(&shop.db, &intent.id, &intent.metadata).await? else {
                tracing::warn!(intent = %intent.id, "a payment succeeded for no order of ours");
                return Ok(());
            };
            service::apply_success(shop, &payment, Fen::new(intent.amount_received), &intent.currency).await
        }
        "payment_intent.payment_failed" => {
            let intent: IntentFields = fields(event.data.object, &event.kind)?;
            let Some(payment) = records::payment_for_intent(&shop.db, &intent.id, &intent.metadata).await? else {
                return Ok(());
            };
            let message = intent.last_payment_error.and_then(|error| error.message);
            service::apply_failure(shop, &payment, message).await
        }
        // A refund, ours or one made in Stripe's dashboard: Stripe's list of refunds decides.
        "charge.refunded" => {
            let charge: ChargeFields = fields(event.data.object, &event.kind)?;
            let intent_id = match &charge.payment_intent {
                Some(Value::String(id)) => Some(id.as_str()),
                Some(expanded) => expanded.get("id").and_then(Value::as_str),
                None => None,
            };
            let Some(intent_id) = intent_id else {
                return Ok(());
            };
            let Some(payment) = records::payment_by_intent(&shop.db, intent_id).await? else {
                return Ok(());
            };
            refunds::sync_with_stripe(shop, &payment).await
        }
        // Events we do not act on are recorded and done.
        _ => Ok(()),
    }
}

/// Applies every waiting event; returns how many were applied.
pub async fn work(shop: &Shop) -> AppResult<usize> {
    let db = &shop.db;
    let waiting = webhook_event::Entity::find()
        .filter(webhook_event::Column::ProcessedAt.is_null())
        .filter(webhook_event::Column::Attempts.lt(MAX_ATTEMPTS))
        .order_by_asc(webhook_event::Column::ReceivedAt)
        .limit(100)
        .all(db)
        .await?;
    let mut applied = 0;
    for event in waiting {
        if !claim(db, &event.id).await? {
            continue;
        }
        let outcome = match direct_notifications::apply(shop, &event.event_type, &event.payload).await {
            Some(outcome) => outcome,
            None => apply(shop, &event.payload).await,
        };
        match outcome {
            Ok(()) => {
                webhook_event::Entity::update_many()
                    .col_expr(webhook_event::Column::ProcessedAt, Expr::value(Utc::now()))
                    .col_expr(webhook_event::Column::LastError, Expr::value(Option::<String>::None))
                    .filter(webhook_event::Column::Id.eq(event.id.as_str()))
                    .exec(db)
                    .await?;
                applied += 1;
            }
            Err(error) => {
                tracing::error!(event = %event.id, error = ?error, "applying a stored event failed; it will be retried");
                webhook_event::Entity::update_many()
                    .col_expr(
                        webhook_event::Column::ClaimedUntil,
                        Expr::value(Option::<chrono::DateTime<Utc>>::None),
                    )
                    .col_expr(webhook_event::Column::LastError, Expr::value(format!("{error:?}")))
                    .filter(webhook_event::Column::Id.eq(event.id.as_str()))
                    .exec(db)
                    .await?;
            }
        }
    }
    Ok(applied)
}

/// Works the inbox when told an event arrived, and every few seconds in case a notice was
/// missed (another replica received it, or this one restarted); retries refunds whose outcome
/// is unknown, once the call that left them so has had time to end; and asks WeChat Pay and
/// Alipay about direct payments whose notification is late.
pub fn spawn(shop: Shop, arrived: Arc<Notify>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(error) = work(&shop).await {
                tracing::error!(error = ?error, "working the webhook inbox failed");
            }
            let stripe = shop.stripe().map(StripeGateway::timeout);
            let quiet = stripe
                .into_iter()
                .chain(shop.direct().timeout())
                .max()
                .map_or(CLAIM, |timeout| timeout * 2);
            if let Err(error) = settling::retry_unsettled(&shop, quiet).await {
                tracing::error!(error = ?error, "retrying refunds failed");
            }
            if let Err(error) = direct_sweep::look_up_late(&shop).await {
                tracing::error!(error = ?error, "looking up direct payments failed");
            }
            let _ = tokio::time::timeout(Duration::from_secs(2), arrived.notified()).await;
        }
    })
}
