//! Reading payments, and flagging one for an operator.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::entity::payment;
use crate::error::AppResult;

pub async fn payment_of(db: &impl ConnectionTrait, order_id: i64) -> AppResult<Option<payment::Model>> {
    Ok(payment::Entity::find()
        .filter(payment::Column::OrderId.eq(order_id))
        .one(db)
        .await?)
}

pub async fn payment_by_intent(db: &impl ConnectionTrait, intent_id: &str) -> AppResult<Option<payment::Model>> {
    Ok(payment::Entity::find()
        .filter(payment::Column::StripePaymentIntentId.eq(intent_id))
        .one(db)
        .await?)
}

/// Marks a payment for an operator to look at (`Payment.reviewReason`).
pub async fn flag(db: &impl ConnectionTrait, payment: &payment::Model, reason: String) -> AppResult<()> {
    tracing::warn!(payment = payment.id, order = payment.order_id, %reason, "payment flagged for an operator");
    metrics::counter!("huakai_payments_flagged_total").increment(1);
    payment::Entity::update_many()
        .col_expr(payment::Column::NeedsReview, Expr::value(true))
        .col_expr(payment::Column::ReviewReason, Expr::value(reason))
        .col_expr(payment::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(payment::Column::Id.eq(payment.id))
        .exec(db)
        .await?;
    Ok(())
}

/// The payment Stripe's intent belongs to (by our record, or the intent's `metadata.order_id`).
pub async fn payment_for_intent(
    db: &impl ConnectionTrait,
    intent: &::stripe::PaymentIntent,
) -> AppResult<Option<payment::Model>> {
    if let Some(payment) = payment_by_intent(db, intent.id.as_str()).await? {
        return Ok(Some(payment));
    }
    let Some(order_id) = intent.metadata.get("order_id").and_then(|id| id.parse::<i64>().ok()) else {
        return Ok(None);
    };
    payment_of(db, order_id).await
}
