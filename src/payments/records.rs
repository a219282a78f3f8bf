//! Reading payments, flagging one for an operator, and writing one paid as its order is placed.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::entity::refund::{self, RefundStatus};
use super::entity::{payment, refund_line};
use super::{PaymentStatus, ProviderKind};
use crate::infra::error::AppResult;
use crate::infra::ids::OrderId;
use crate::infra::ids::ProducerId;
use crate::infra::money::Fen;
use crate::orders::entity::{order, order_line};

pub async fn payment_of(db: &impl ConnectionTrait, order_id: OrderId) -> AppResult<Option<payment::Model>> {
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
    tracing::warn!(payment = payment.id.0, order = payment.order_id.0, %reason, "payment flagged for an operator");
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

/// The payment Stripe's intent `intent_id` belongs to (by our record, or the intent's
/// `metadata.order_id`).
pub async fn payment_for_intent(
    db: &impl ConnectionTrait,
    intent_id: &str,
    metadata: &HashMap<String, String>,
) -> AppResult<Option<payment::Model>> {
    if let Some(payment) = payment_by_intent(db, intent_id).await? {
        return Ok(Some(payment));
    }
    let Some(order_id) = metadata.get("order_id").and_then(|id| id.parse().ok()).map(OrderId) else {
        return Ok(None);
    };
    payment_of(db, order_id).await
}

/// A payment's money, or one producer's share of it: what was paid, what of that went back and
/// what is still being refunded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Share {
    pub amount: Fen,
    pub refunded: Fen,
    pub refund_pending: Fen,
}

/// The whole payment's [`Share`], its refunds read in one statement: read apart, a refund that
/// settles between the reads would count in neither.
pub async fn whole_share(db: &impl ConnectionTrait, payment: &payment::Model) -> AppResult<Share> {
    let refunds = refund::Entity::find()
        .filter(refund::Column::PaymentId.eq(payment.id))
        .all(db)
        .await?;
    let mut share = Share {
        amount: payment.amount_fen,
        ..Share::default()
    };
    for refund in refunds {
        match refund.status {
            RefundStatus::Succeeded => share.refunded += refund.amount_fen,
            RefundStatus::Pending => share.refund_pending += refund.amount_fen,
            RefundStatus::Failed => {}
        }
    }
    Ok(share)
}

/// One producer's share of a payment: what its lines cost, what of that went back and what is
/// still being refunded (by the refunds' split over the lines, read in one statement).
pub async fn producer_share(
    db: &impl ConnectionTrait,
    payment: &payment::Model,
    producer_id: ProducerId,
) -> AppResult<Share> {
    let lines = order_line::Entity::find()
        .filter(order_line::Column::OrderId.eq(payment.order_id))
        .filter(order_line::Column::ProducerId.eq(producer_id))
        .all(db)
        .await?;
    let mut share = Share {
        amount: lines.iter().map(|l| l.line_total_fen).sum(),
        ..Share::default()
    };
    let parts = refund_line::Entity::find()
        .find_also_related(refund::Entity)
        .filter(refund_line::Column::OrderLineId.is_in(lines.iter().map(|l| l.id)))
        .all(db)
        .await?;
    for (part, refund) in parts {
        match refund.map(|r| r.status) {
            Some(RefundStatus::Succeeded) => share.refunded += part.amount_fen,
            Some(RefundStatus::Pending) => share.refund_pending += part.amount_fen,
            _ => {}
        }
    }
    Ok(share)
}

/// The payment of an order paid as it is placed (by allowance, an organisation's fund, or at a
/// store's counter), written SUCCEEDED for the whole total in the caller's transaction.
pub async fn paid_at_once(
    txn: &impl ConnectionTrait,
    order: &order::Model,
    provider: ProviderKind,
    now: DateTime<Utc>,
) -> AppResult<payment::Model> {
    Ok(payment::ActiveModel {
        order_id: Set(order.id),
        provider: Set(provider),
        status: Set(PaymentStatus::Succeeded),
        amount_fen: Set(order.total_fen),
        refunded_fen: Set(Fen::ZERO),
        currency: Set("cny".to_owned()),
        stripe_payment_intent_id: Set(None),
        client_secret: Set(None),
        bank_reference: Set(None),
        last_error: Set(None),
        needs_review: Set(false),
        review_reason: Set(None),
        next_action_kind: Set(None),
        next_action: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?)
}
