//! What moves an order along after it is placed: payment (inside the payment's transaction),
//! shipment, delivery (with the producers' earnings), the end of a full refund, and the
//! background work: expiring unpaid reservations and delivering long-shipped orders.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::notices;
use super::state::{find, give_back_lines, lines_of, move_lines, transition, unshipped_lines};
use crate::catalogue::entity::product;
use crate::infra::db::{begin_write, end_write};
use crate::infra::error::{AppError, AppResult, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;
use crate::infra::ids::OrderId;
use crate::infra::ids::{ProducerId, ShipmentId};
use crate::infra::money::Fen;
use crate::inventory::Movement;
use crate::orders::OrderStatus;
use crate::orders::carriers::Carrier;
use crate::orders::entity::{order, shipment};
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
    let pickup_store = find(txn, order_id).await?.pickup_store_id;
    let Some(flipped) = move_lines(txn, (&lines, pickup_store), Movement::Sell, None, &[]).await? else {
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
    notices::paid(txn, order_id).await?;
    Ok(Some(Effect::stock_moved(
        lines.iter().map(|line| line.variant_id),
        flipped,
    )))
}

/// Inside the refund's transaction, once all that was paid is being given back: a paid,
/// shipped or delivered order becomes REFUNDED, and the units of a paid order that have not
/// shipped (all of them, or the parts not shipped yet) go back on the shelf: nothing of it will
/// ship now. A cancelled order stays CANCELLED.
pub async fn close_fully_refunded(shop: &Shop, txn: &DatabaseTransaction, order_id: OrderId) -> AppResult<Effect> {
    let order = find(txn, order_id).await?;
    let from @ (OrderStatus::Paid
    | OrderStatus::PartiallyShipped
    | OrderStatus::Shipped
    | OrderStatus::Delivered
    | OrderStatus::Completed) = order.status
    else {
        return Ok(Effect::default());
    };
    if !transition(txn, order_id, from, OrderStatus::Refunded, None).await? {
        return Ok(Effect::default());
    }
    // A shipped (or delivered) order has every part on its way.
    if !from.awaits_shipment() {
        return Ok(Effect::default());
    }
    let waiting = unshipped_lines(txn, order_id).await?;
    match give_back_lines(shop, txn, (&waiting, order.pickup_store_id), Movement::Return, None).await? {
        Some(flipped) => Ok(Effect::stock_moved(waiting.iter().map(|line| line.variant_id), flipped)),
        None => Err(AppError::Internal(anyhow::anyhow!(
            "order {order_id} refunded without its stock"
        ))),
    }
}

/// What a `markShipped` ships, and under which number.
pub struct Dispatch<'a> {
    /// A grower's producer: only its parcels (`None`: an operator, any parcel).
    pub producer: Option<ProducerId>,
    /// One parcel; needed for a bulk order with several parcels waiting, since each goes to
    /// its own recipient under its own number.
    pub shipment: Option<ShipmentId>,
    pub tracking_number: &'a str,
    /// A carrier's code (`Carrier`), any case.
    pub carrier: Option<&'a str>,
}

/// `markShipped`: ships the parcels `dispatch` names that have not left (of a buyer's order,
/// each producer's part; of a bulk order, one parcel); the order is PARTIALLY_SHIPPED while some
/// parts are, SHIPPED once every part is.
/// A shipped parcel keeps its number: only parcels not yet shipped are written. A delivered
/// order's parcel sent again for a claim (a reship) ships the same way, and the order stays as
/// it was. The order's row is taken first (PAID stays PAID), so a cancellation or full refund
/// either happened before (and this is refused) or waits until this has committed (and sees
/// the shipment).
pub async fn mark_shipped(shop: &Shop, order_id: OrderId, dispatch: Dispatch<'_>) -> Outcome<order::Model> {
    let tracking_number = dispatch.tracking_number.trim();
    if tracking_number.is_empty() || tracking_number.chars().count() > 64 {
        return Ok(Err(
            UserError::new(ErrorCode::InvalidInput, "tracking-number-length").on_field(&["trackingNumber"])
        ));
    }
    let carrier = match dispatch.carrier.map(|code| (code, Carrier::from_code(code))) {
        None => None,
        Some((_, Some(carrier))) => Some(carrier),
        Some((code, None)) => {
            let words = Message::new("carrier-unknown")
                .with("carrier", code.trim())
                .with("codes", Carrier::codes());
            return Ok(Err(
                UserError::new(ErrorCode::InvalidInput, words).on_field(&["carrier"])
            ));
        }
    };
    let not_shippable = |message: &'static str| UserError::new(ErrorCode::NotShippable, message).on_field(&["orderId"]);
    let txn = begin_write(&shop.db).await?;
    // A paid order's parcels; after delivery, only a parcel sent again for an after-sales claim
    // (a reship, the one kind of parcel a delivered order can still have unshipped). Each check
    // takes the order's row for the rest of the transaction.
    let paid = transition(&txn, order_id, OrderStatus::Paid, OrderStatus::Paid, None).await?
        || transition(
            &txn,
            order_id,
            OrderStatus::PartiallyShipped,
            OrderStatus::PartiallyShipped,
            None,
        )
        .await?;
    let after_sales = !paid
        && (transition(&txn, order_id, OrderStatus::Delivered, OrderStatus::Delivered, None).await?
            || transition(&txn, order_id, OrderStatus::Completed, OrderStatus::Completed, None).await?);
    if !paid && !after_sales {
        return end_write(txn, Err(not_shippable("ship-only-paid"))).await;
    }
    let parcels = match parcels_to_ship(&txn, &find(&txn, order_id).await?, &dispatch).await? {
        Ok(parcels) => parcels,
        Err(problem) => return end_write(txn, Err(problem)).await,
    };
    let shipped = shipment::Entity::update_many()
        .col_expr(shipment::Column::TrackingNumber, Expr::value(tracking_number))
        .col_expr(shipment::Column::Carrier, Expr::value(carrier))
        .col_expr(shipment::Column::ShippedAt, Expr::value(Utc::now()))
        .filter(shipment::Column::Id.is_in(parcels))
        .filter(shipment::Column::ShippedAt.is_null())
        .exec(&txn)
        .await?;
    if shipped.rows_affected == 0 {
        return end_write(txn, Err(not_shippable("part-shipped-already"))).await;
    }
    let unshipped = shipment::Entity::find()
        .filter(shipment::Column::OrderId.eq(order_id))
        .filter(shipment::Column::ShippedAt.is_null())
        .count(&txn)
        .await?;
    // Every part on its way: SHIPPED; some: PARTIALLY_SHIPPED (the order's row is held: its
    // status stays what it is now until the commit).
    let status = find(&txn, order_id).await?.status;
    if paid && unshipped == 0 {
        transition(
            &txn,
            order_id,
            status,
            OrderStatus::Shipped,
            Some(order::Column::ShippedAt),
        )
        .await?;
    } else if paid && status == OrderStatus::Paid {
        transition(&txn, order_id, OrderStatus::Paid, OrderStatus::PartiallyShipped, None).await?;
    }
    notices::shipped(&txn, order_id).await?;
    txn.commit().await?;
    Ok(Ok(find(&shop.db, order_id).await?))
}

/// The parcels of `order` that `dispatch` ships: the one it names (NOT_FOUND when the order
/// has no such parcel for this shipper, NOT_SHIPPABLE when it left already), else every parcel
/// waiting in the shipper's part, but never several parcels of a bulk order under one number.
async fn parcels_to_ship(
    txn: &impl ConnectionTrait,
    order: &order::Model,
    dispatch: &Dispatch<'_>,
) -> Outcome<Vec<ShipmentId>> {
    let mut mine = shipment::Entity::find().filter(shipment::Column::OrderId.eq(order.id));
    if let Some(producer_id) = dispatch.producer {
        mine = mine.filter(shipment::Column::ProducerId.eq(producer_id));
    }
    if let Some(shipment_id) = dispatch.shipment {
        return Ok(
            match mine.filter(shipment::Column::Id.eq(shipment_id)).one(txn).await? {
                None => Err(UserError::new(ErrorCode::NotFound, "shipment-not-found").on_field(&["shipmentId"])),
                Some(parcel) if parcel.shipped_at.is_some() => {
                    Err(UserError::new(ErrorCode::NotShippable, "part-shipped-already").on_field(&["shipmentId"]))
                }
                Some(parcel) => Ok(vec![parcel.id]),
            },
        );
    }
    let waiting: Vec<ShipmentId> = mine
        .filter(shipment::Column::ShippedAt.is_null())
        .select_only()
        .column(shipment::Column::Id)
        .into_tuple()
        .all(txn)
        .await?;
    Ok(if order.bulk && waiting.len() > 1 {
        Err(UserError::new(ErrorCode::InvalidInput, "bulk-parcel-needs-shipment").on_field(&["shipmentId"]))
    } else if waiting.is_empty() {
        Err(UserError::new(ErrorCode::NotShippable, "part-shipped-already").on_field(&["orderId"]))
    } else {
        Ok(waiting)
    })
}

/// A shipped order arrived: DELIVERED, and in the same transaction what follows a delivery
/// elsewhere (each line's earning in its producer's ledger, less what was refunded before
/// delivery) (`false` when the order was not SHIPPED).
async fn deliver(shop: &Shop, (order_id, from): (OrderId, OrderStatus)) -> AppResult<bool> {
    let txn = begin_write(&shop.db).await?;
    if !transition(
        &txn,
        order_id,
        from,
        OrderStatus::Delivered,
        Some(order::Column::DeliveredAt),
    )
    .await?
    {
        txn.rollback().await?;
        return Ok(false);
    }
    shop.delivery_follower()
        .delivered(shop, &txn, order_id, Utc::now())
        .await?;
    txn.commit().await?;
    Ok(true)
}

/// `confirmDelivery`: a shipped order arrived.
pub async fn confirm_delivery(shop: &Shop, order_id: OrderId) -> Outcome<order::Model> {
    if !deliver(shop, (order_id, OrderStatus::Shipped)).await? {
        return Ok(Err(
            UserError::new(ErrorCode::NotDeliverable, "deliver-only-shipped").on_field(&["orderId"])
        ));
    }
    Ok(Ok(find(&shop.db, order_id).await?))
}

/// A paid pickup order handed over at its store's counter: delivered, as a parcel that
/// arrived is (the producers earn on it). NOT_DELIVERABLE when it is not a paid pickup order
/// (unpaid, collected already, cancelled): of two clerks at once, one hands it over.
pub async fn hand_over(shop: &Shop, order: &order::Model) -> Outcome<order::Model> {
    if order.pickup_store_id.is_none() || !deliver(shop, (order.id, OrderStatus::Paid)).await? {
        return Ok(Err(
            UserError::new(ErrorCode::NotDeliverable, "pickup-not-ready").on_field(&["code"])
        ));
    }
    Ok(Ok(find(&shop.db, order.id).await?))
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
                let Some(flipped) =
                    give_back_lines(shop, &txn, (&lines, order.pickup_store_id), Movement::Release, None).await?
                else {
                    txn.rollback().await?;
                    return Err(AppError::Internal(anyhow::anyhow!(
                        "order {} expired without its stock",
                        order.id
                    )));
                };
                if order.allowance_fen > Fen::ZERO {
                    crate::organisations::funds::release(&txn, order.id, now).await?;
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
        if deliver(shop, (order_id, OrderStatus::Shipped)).await? {
            delivered += 1;
        }
    }
    Ok(delivered)
}
