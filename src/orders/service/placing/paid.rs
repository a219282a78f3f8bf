//! An order paid as it is placed, by the welfare allowance or an organisation's fund.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

use crate::infra::error::{AppError, AppResult};
use crate::orders::entity::order;
use crate::orders::service::lifecycle::mark_paid;
use crate::payments::entity::payment;
use crate::payments::{PaymentStatus, ProviderKind};
use crate::shop::Effect;

/// Inside the placing transaction, once the allowance or the organisation's fund has paid: the
/// payment SUCCEEDED and the order PAID, so such an order is never left waiting with the money
/// taken.
pub(in crate::orders::service) async fn pay_at_once(
    txn: &impl ConnectionTrait,
    order: &order::Model,
    provider: ProviderKind,
    now: DateTime<Utc>,
) -> AppResult<Effect> {
    payment::ActiveModel {
        order_id: Set(order.id),
        provider: Set(provider),
        status: Set(PaymentStatus::Succeeded),
        amount_fen: Set(order.total_fen),
        refunded_fen: Set(0),
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
    .await?;
    mark_paid(txn, order.id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("order {} left its placing state", order.id)))
}
