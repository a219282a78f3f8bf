//! `cancelOrder`: an unpaid order frees its stock; a paid one not yet shipped puts its units
//! back on the shelf and is refunded in full, all decided in one transaction.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::infra::db::{begin_write, end_write};
use crate::infra::error::{AppError, AppResult, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::ids::OrderId;
use crate::infra::ids::UserId;
use crate::infra::money::Fen;
use crate::inventory::Movement;
use crate::orders::OrderStatus;
use crate::orders::entity::order;
use crate::orders::service::state::{find, give_back_lines, lines_of, shipments_of, transition};
use crate::payments::records::payment_of;
use crate::payments::{refunds, settling};
use crate::shop::{Effect, Shop};

fn not_cancellable(message: &'static str) -> UserError {
    UserError::new(ErrorCode::NotCancellable, message).on_field(&["orderId"])
}

/// Cancels the order for `actor`. The status change comes first and takes the order's row, so
/// a shipment racing this one either shipped before (and the cancellation is refused) or waits
/// and finds the order cancelled. A paid order's refund is recorded in the same transaction
/// (with its earnings reversed), then sent; if Stripe cannot be reached it is retried, and if
/// it is refused an operator is told: the cancellation stands either way.
pub async fn cancel(shop: &Shop, order_id: OrderId, actor: UserId) -> Outcome<order::Model> {
    cancel_for(shop, order_id, Some(actor), "cancelled by the buyer").await
}

/// A paid pickup order nobody collected in time: cancelled, its units back on its store's
/// shelf, and paid back in full, as [`cancel`] does (`reason` is the refund's).
pub async fn cancel_uncollected(shop: &Shop, order_id: OrderId) -> Outcome<order::Model> {
    cancel_for(shop, order_id, None, "not collected in time").await
}

async fn cancel_for(shop: &Shop, order_id: OrderId, actor: Option<UserId>, reason: &str) -> Outcome<order::Model> {
    let txn = begin_write(&shop.db).await?;
    let order = find(&txn, order_id).await?;
    let (from, movement) = match order.status {
        OrderStatus::PendingPayment => (OrderStatus::PendingPayment, Movement::Release),
        OrderStatus::Paid => (OrderStatus::Paid, Movement::Return),
        _ => {
            return end_write(txn, Err(not_cancellable("cancel-only-unshipped"))).await;
        }
    };
    if !transition(
        &txn,
        order_id,
        from,
        OrderStatus::Cancelled,
        Some(order::Column::CancelledAt),
    )
    .await?
    {
        return end_write(txn, Err(not_cancellable("order-changed-meanwhile"))).await;
    }
    if shipments_of(&txn, order_id)
        .await?
        .iter()
        .any(|s| s.shipped_at.is_some())
    {
        return end_write(txn, Err(not_cancellable("cancel-only-unshipped"))).await;
    }
    let lines = lines_of(&txn, order_id).await?;
    let Some(flipped) = give_back_lines(shop, &txn, (&lines, order.pickup_store_id), movement, actor).await? else {
        txn.rollback().await?;
        return Err(AppError::Internal(anyhow::anyhow!(
            "order {order_id} cancelled without its stock"
        )));
    };
    // A split order's allowance, spent when it was placed, goes back with the cancellation.
    if from == OrderStatus::PendingPayment && order.allowance_fen > Fen::ZERO {
        crate::organisations::funds::release(&txn, order_id, chrono::Utc::now()).await?;
    }
    let mut refund = None;
    if from == OrderStatus::Paid
        && let Some(payment) = payment_of(&txn, order_id).await?
    {
        let left = payment.amount_fen - payment.refunded_fen;
        if left > Fen::ZERO {
            match refunds::decide(&txn, &payment, left, reason, None, shop).await? {
                Ok(decided) => refund = Some(decided.refund),
                // An operator refunded it meanwhile: nothing is left to give back.
                Err(problem) => tracing::info!(order = order_id.0, code = %problem.code, "no refund on cancellation"),
            }
        }
    }
    txn.commit().await?;
    shop.announce(Effect::stock_moved(lines.iter().map(|line| line.variant_id), flipped))
        .await;
    if let Some(refund) = refund {
        settling::settle(shop, refund.id).await?;
    }
    Ok(Ok(find(&shop.db, order_id).await?))
}

/// Cancels every unpaid order `buyer_id` placed for itself, each through `cancel` (its stock
/// and allowance given back), for `actor`: when an operator disables the account. An
/// organisation's bulk orders stay: they are the organisation's to pay or cancel. Returns how
/// many were cancelled (one paid or cancelled meanwhile is left as it is).
pub async fn cancel_unpaid_of(shop: &Shop, buyer_id: UserId, actor: UserId) -> AppResult<usize> {
    let unpaid: Vec<OrderId> = order::Entity::find()
        .select_only()
        .column(order::Column::Id)
        .filter(order::Column::BuyerId.eq(buyer_id))
        .filter(order::Column::Status.eq(OrderStatus::PendingPayment))
        .filter(order::Column::Bulk.eq(false))
        .into_tuple()
        .all(&shop.db)
        .await?;
    let mut cancelled = 0;
    for order_id in unpaid {
        if cancel(shop, order_id, actor).await?.is_ok() {
            cancelled += 1;
        }
    }
    Ok(cancelled)
}
