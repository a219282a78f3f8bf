//! What moves an order along after it is placed: payment (inside the payment's transaction),
//! shipment, delivery (with the producers' earnings), the end of a full refund, and the
//! background work: expiring unpaid reservations and delivering long-shipped orders.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};

use super::state::{find, lines_of, move_lines, shipments_of, transition};
use crate::catalogue::entity::product;
use crate::infra::db::begin_write;
use crate::infra::error::{AppError, AppResult, Outcome, UserError};
use crate::infra::ids::OrderId;
use crate::infra::ids::ProducerId;
use crate::inventory::Movement;
use crate::orders::OrderStatus;
use crate::orders::entity::{order, shipment};
use crate::payouts::ledger::{self, PayoutSettings};
use crate::shop::{Effect, Shop};

/// Inside the payment's transaction: an unpaid order is paid and its reserved units are sold.
/// `None` when the order is not awaiting payment.
pub async fn mark_paid(txn: &impl ConnectionTrait, order_id: OrderId) -> AppResult<Option<Effect>> {
    if !transition(
        txn,
        order_id,
        OrderStatus::PendingPayment,
        OrderStatus::Paid,
        Some(order::Column::PaidAt),
    )
    .await?
    {
        return Ok(None);
    }
    let lines = lines_of(txn, order_id).await?;
    let Some(flipped) = move_lines(txn, &lines, Movement::Sell, None).await? else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "order {order_id} was paid without its stock reserved"
        )));
    };
    for line in &lines {
        product::Entity::update_many()
            .col_expr(
                product::Column::UnitsSold,
                Expr::col(product::Column::UnitsSold).add(i64::from(line.quantity)),
            )
            .filter(product::Column::Id.eq(line.product_id))
            .exec(txn)
            .await?;
    }
    Ok(Some(Effect::stock_moved(
        lines.iter().map(|line| line.variant_id),
        flipped,
    )))
}

/// Inside the payment's transaction: a payment that arrived after the order's reservation
/// ended pays the order if its stock can still be had (all lines or none, in a savepoint), else
/// `None` and the caller refunds in the same transaction. Lines bought from a live session's
/// quota come from that quota again or not at all (see `sessions::take_again`).
pub async fn revive_paid(txn: &DatabaseTransaction, order_id: OrderId) -> AppResult<Option<Effect>> {
    let attempt = txn.begin().await?;
    let revived = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(OrderStatus::Paid))
        .col_expr(order::Column::PaidAt, Expr::value(Utc::now()))
        .col_expr(order::Column::CancelledAt, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(order::Column::Id.eq(order_id))
        .filter(order::Column::Status.eq(OrderStatus::Cancelled))
        .filter(order::Column::PaidAt.is_null())
        .exec(&attempt)
        .await?;
    if revived.rows_affected != 1 {
        attempt.rollback().await?;
        return Ok(None);
    }
    let lines = lines_of(&attempt, order_id).await?;
    let Some(from_quota) = crate::livestream::sessions::take_again(&attempt, order_id, Utc::now()).await? else {
        attempt.rollback().await?;
        return Ok(None);
    };
    let from_stock: Vec<_> = lines
        .iter()
        .filter(|line| !from_quota.contains(&line.variant_id))
        .cloned()
        .collect();
    let mut flipped = false;
    for (movement, moved) in [(Movement::Reserve, &from_stock), (Movement::Sell, &lines)] {
        match move_lines(&attempt, moved, movement, None).await? {
            Some(changed) => flipped |= changed,
            None => {
                attempt.rollback().await?;
                return Ok(None);
            }
        }
    }
    attempt.commit().await?;
    Ok(Some(Effect::stock_moved(
        lines.iter().map(|line| line.variant_id),
        flipped,
    )))
}

/// Inside the refund's transaction, once all that was paid is being given back: a paid,
/// shipped or delivered order becomes REFUNDED, and a paid order none of whose parts shipped
/// puts its units back on the shelf. A cancelled order stays CANCELLED.
pub async fn close_fully_refunded(txn: &impl ConnectionTrait, order_id: OrderId) -> AppResult<Effect> {
    let order = find(txn, order_id).await?;
    let from @ (OrderStatus::Paid | OrderStatus::Shipped | OrderStatus::Delivered | OrderStatus::Completed) =
        order.status
    else {
        return Ok(Effect::default());
    };
    if !transition(txn, order_id, from, OrderStatus::Refunded, None).await? {
        return Ok(Effect::default());
    }
    let unshipped = from == OrderStatus::Paid
        && shipments_of(txn, order_id)
            .await?
            .iter()
            .all(|s| s.shipped_at.is_none());
    if !unshipped {
        return Ok(Effect::default());
    }
    let lines = lines_of(txn, order_id).await?;
    match move_lines(txn, &lines, Movement::Return, None).await? {
        Some(flipped) => Ok(Effect::stock_moved(lines.iter().map(|line| line.variant_id), flipped)),
        None => Err(AppError::Internal(anyhow::anyhow!(
            "order {order_id} refunded without its stock"
        ))),
    }
}

/// `markShipped`: ships `producer`'s part of the order (every unshipped part when `None`, as an
/// operator does); the order is SHIPPED once every part is. The order's row is taken first
/// (PAID stays PAID), so a cancellation or full refund either happened before (and this is
/// refused) or waits until this has committed (and sees the shipment).
pub async fn mark_shipped(
    shop: &Shop,
    order_id: OrderId,
    producer: Option<ProducerId>,
    tracking_number: &str,
) -> Outcome<order::Model> {
    let tracking_number = tracking_number.trim();
    if tracking_number.is_empty() || tracking_number.chars().count() > 64 {
        return Ok(Err(
            UserError::new("INVALID_INPUT", "tracking-number-length").on_field(&["trackingNumber"])
        ));
    }
    let not_shippable =
        |message: &'static str| Ok(Err(UserError::new("NOT_SHIPPABLE", message).on_field(&["orderId"])));
    let txn = begin_write(&shop.db).await?;
    if !transition(&txn, order_id, OrderStatus::Paid, OrderStatus::Paid, None).await? {
        txn.rollback().await?;
        return not_shippable("ship-only-paid");
    }
    let mut update = shipment::Entity::update_many()
        .col_expr(shipment::Column::TrackingNumber, Expr::value(tracking_number))
        .col_expr(shipment::Column::ShippedAt, Expr::value(Utc::now()))
        .filter(shipment::Column::OrderId.eq(order_id))
        .filter(shipment::Column::ShippedAt.is_null());
    if let Some(producer_id) = producer {
        update = update.filter(shipment::Column::ProducerId.eq(producer_id));
    }
    if update.exec(&txn).await?.rows_affected == 0 {
        txn.rollback().await?;
        return not_shippable("part-shipped-already");
    }
    let unshipped = shipment::Entity::find()
        .filter(shipment::Column::OrderId.eq(order_id))
        .filter(shipment::Column::ShippedAt.is_null())
        .count(&txn)
        .await?;
    if unshipped == 0 {
        transition(
            &txn,
            order_id,
            OrderStatus::Paid,
            OrderStatus::Shipped,
            Some(order::Column::ShippedAt),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(Ok(find(&shop.db, order_id).await?))
}

/// A shipped order arrived: DELIVERED, and in the same transaction each line's earning goes
/// into its producer's ledger, less what was refunded before delivery (`false` when the order
/// was not SHIPPED).
async fn deliver(db: &DatabaseConnection, order_id: OrderId, payouts: PayoutSettings) -> AppResult<bool> {
    let txn = begin_write(db).await?;
    if !transition(
        &txn,
        order_id,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        Some(order::Column::DeliveredAt),
    )
    .await?
    {
        txn.rollback().await?;
        return Ok(false);
    }
    ledger::record_delivery(&txn, order_id, Utc::now(), payouts).await?;
    txn.commit().await?;
    Ok(true)
}

/// `confirmDelivery`: a shipped order arrived.
pub async fn confirm_delivery(shop: &Shop, order_id: OrderId) -> Outcome<order::Model> {
    if !deliver(&shop.db, order_id, shop.settings.payouts).await? {
        return Ok(Err(
            UserError::new("NOT_DELIVERABLE", "deliver-only-shipped").on_field(&["orderId"])
        ));
    }
    Ok(Ok(find(&shop.db, order_id).await?))
}

/// Cancels unpaid orders whose reservation ended and frees their stock, a batch at a time.
/// Several replicas may run this at once: each takes the rows no other holds (`SKIP LOCKED`).
/// Returns how many orders expired.
pub async fn expire_reservations(shop: &Shop, now: DateTime<Utc>) -> AppResult<usize> {
    let mut expired = 0;
    loop {
        let txn = begin_write(&shop.db).await?;
        let due = order::Entity::find()
            .filter(order::Column::Status.eq(OrderStatus::PendingPayment))
            .filter(order::Column::ReservedUntil.lt(now))
            .order_by_asc(order::Column::ReservedUntil)
            .limit(50)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .all(&txn)
            .await?;
        if due.is_empty() {
            txn.rollback().await?;
            return Ok(expired);
        }
        let mut effect = Effect::default();
        for order in &due {
            if transition(
                &txn,
                order.id,
                OrderStatus::PendingPayment,
                OrderStatus::Cancelled,
                Some(order::Column::CancelledAt),
            )
            .await?
            {
                let lines = lines_of(&txn, order.id).await?;
                let Some(flipped) = move_lines(&txn, &lines, Movement::Release, None).await? else {
                    txn.rollback().await?;
                    return Err(AppError::Internal(anyhow::anyhow!(
                        "order {} expired without its stock",
                        order.id
                    )));
                };
                if order.allowance_fen > 0 {
                    crate::unions::funds::release(&txn, order.id, now).await?;
                }
                effect = effect.and(Effect::stock_moved(lines.iter().map(|line| line.variant_id), flipped));
                expired += 1;
            }
        }
        txn.commit().await?;
        shop.announce(effect).await;
    }
}

/// Marks orders delivered `HUAKAI_AUTO_DELIVERY` after their last shipment left, for buyers
/// who never confirm.
pub async fn auto_deliver(shop: &Shop, now: DateTime<Utc>) -> AppResult<u64> {
    let after = chrono::Duration::from_std(shop.settings.auto_delivery).map_err(|e| AppError::Internal(e.into()))?;
    let due: Vec<OrderId> = order::Entity::find()
        .select_only()
        .column(order::Column::Id)
        .filter(order::Column::Status.eq(OrderStatus::Shipped))
        .filter(order::Column::ShippedAt.lt(now - after))
        .into_tuple()
        .all(&shop.db)
        .await?;
    let mut delivered = 0;
    for order_id in due {
        if deliver(&shop.db, order_id, shop.settings.payouts).await? {
            delivered += 1;
        }
    }
    Ok(delivered)
}
