//! An order paid as it is placed, by the welfare allowance or an organisation's fund.

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;

use crate::infra::error::{AppError, AppResult};
use crate::orders::entity::order;
use crate::orders::service::lifecycle::mark_paid;
use crate::payments::ProviderKind;
use crate::payments::records::paid_at_once;
use crate::shop::Effect;

/// Inside the placing transaction, once the allowance or the organisation's fund has paid: the
/// payment SUCCEEDED and the order PAID, so such an order is never left waiting with the money
/// taken.
pub(in crate::checkout) async fn pay_at_once(
    txn: &impl ConnectionTrait,
    order: &order::Model,
    provider: ProviderKind,
    now: DateTime<Utc>,
) -> AppResult<Effect> {
    paid_at_once(txn, order, provider, now).await?;
    mark_paid(txn, order.id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("order {} left its placing state", order.id)))
}
