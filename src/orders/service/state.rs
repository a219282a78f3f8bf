//! An order's rows, and the two steps every state change is made of: a conditional move
//! between statuses, and stock moved for every line.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder};

use super::desk::OrderCursor;
use crate::infra::error::{AppError, AppResult};
use crate::infra::ids::{OrderId, ShipmentId};
use crate::infra::ids::{ProducerId, VariantId};
use crate::infra::ids::{StoreId, UserId};
use crate::infra::paging::{PageRequest, keyset_page_by_time};
use crate::inventory::{self, Moved, Movement, shelf};
use crate::orders::OrderStatus;
use crate::orders::entity::{order, order_line, shipment, shipment_item};
use crate::shop::Shop;

pub async fn lines_of(db: &impl ConnectionTrait, order_id: OrderId) -> AppResult<Vec<order_line::Model>> {
    Ok(order_line::Entity::find()
        .filter(order_line::Column::OrderId.eq(order_id))
        .order_by_asc(order_line::Column::Id)
        .all(db)
        .await?)
}

pub async fn shipments_of(db: &impl ConnectionTrait, order_id: OrderId) -> AppResult<Vec<shipment::Model>> {
    Ok(shipment::Entity::find()
        .filter(shipment::Column::OrderId.eq(order_id))
        .order_by_asc(shipment::Column::Id)
        .all(db)
        .await?)
}

pub async fn find(db: &impl ConnectionTrait, order_id: OrderId) -> AppResult<order::Model> {
    order::Entity::find_by_id(order_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("order {order_id} vanished")))
}

/// Moves an order from `from` to `to` if it is still in `from`; false when another request
/// changed it first. On PostgreSQL the update also locks the order's row until the commit, so
/// whatever the caller checks afterwards in the same transaction cannot change under it.
pub async fn transition(
    txn: &impl ConnectionTrait,
    order_id: OrderId,
    from: OrderStatus,
    to: OrderStatus,
    stamp: Option<order::Column>,
) -> AppResult<bool> {
    let mut update = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(to))
        .filter(order::Column::Id.eq(order_id))
        .filter(order::Column::Status.eq(from));
    if let Some(column) = stamp {
        update = update.col_expr(column, Expr::value(Utc::now()));
    }
    if to != OrderStatus::PendingPayment {
        update = update.col_expr(order::Column::ReservedUntil, Expr::value(Option::<DateTime<Utc>>::None));
    }
    Ok(update.exec(txn).await?.rows_affected == 1)
}

/// The units of an order that have not left, as its lines cut down to them: the lines of each
/// producer whose shipment has not shipped, or for a bulk order the items of its parcels not
/// shipped. Empty once everything shipped.
pub async fn unshipped_lines(txn: &impl ConnectionTrait, order_id: OrderId) -> AppResult<Vec<order_line::Model>> {
    let order = find(txn, order_id).await?;
    let waiting: Vec<shipment::Model> = shipments_of(txn, order_id)
        .await?
        .into_iter()
        .filter(|s| s.shipped_at.is_none())
        .collect();
    let lines = lines_of(txn, order_id).await?;
    // A pickup order has no parcels: all of it waits until it is collected.
    if order.pickup_store_id.is_some() {
        return Ok(if order.delivered_at.is_none() {
            lines
        } else {
            Vec::new()
        });
    }
    let mut units: HashMap<VariantId, i32> = HashMap::new();
    if order.bulk {
        let parcels: HashSet<ShipmentId> = waiting.iter().map(|s| s.id).collect();
        for item in shipment_item::Entity::find()
            .filter(shipment_item::Column::OrderId.eq(order_id))
            .all(txn)
            .await?
            .into_iter()
            .filter(|item| parcels.contains(&item.shipment_id))
        {
            *units.entry(item.variant_id).or_default() += item.quantity;
        }
    } else {
        let producers: HashSet<ProducerId> = waiting.iter().map(|s| s.producer_id).collect();
        for line in lines.iter().filter(|line| producers.contains(&line.producer_id)) {
            *units.entry(line.variant_id).or_default() += line.quantity;
        }
    }
    Ok(lines
        .into_iter()
        .filter_map(|line| {
            let quantity = units.get(&line.variant_id).copied().filter(|q| *q > 0)?;
            Some(order_line::Model { quantity, ..line })
        })
        .collect())
}

/// Takes the order's row for the rest of the transaction (a write that changes nothing), so
/// that money decided about the order (a refund) and what the order does (delivery, shipment)
/// happen one after the other, each seeing the other's rows.
pub async fn lock_order(txn: &impl ConnectionTrait, order_id: OrderId) -> AppResult<()> {
    order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::col(order::Column::Status))
        .filter(order::Column::Id.eq(order_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Releases or returns the stock of every line (cancelled, expired, refunded before it
/// shipped). **Lock order**, on every path that moves stock (placing, cancelling, expiry, a
/// late payment, a refund that returns units): the buyer's or the order's row first, then
/// live-session items (in item order), then stock rows in variant order. So the order's
/// session units go back to their items first (`SessionQuota`), and are set aside again from
/// their variant's stock in the same pass over the variants (`move_lines`); placing claims
/// session items before it reserves stock. A pickup order never holds a session's quota (its
/// units are the shelf's).
pub async fn give_back_lines(
    shop: &Shop,
    txn: &DatabaseTransaction,
    (lines, pickup_store): (&[order_line::Model], Option<StoreId>),
    movement: Movement,
    actor: Option<UserId>,
) -> AppResult<Option<bool>> {
    let back_to_sessions = match lines.first() {
        Some(line) if pickup_store.is_none() => {
            let variants: Vec<_> = lines.iter().map(|line| line.variant_id).collect();
            shop.session_quota().give_back(txn, line.order_id, &variants).await?
        }
        _ => Vec::new(),
    };
    move_lines(txn, (lines, pickup_store), movement, actor, &back_to_sessions).await
}

/// Moves the stock of every line, and sets `back_to_sessions` (units given back to a
/// session's items: `give_back_lines`) aside again from their variants' stock, in variant
/// order. `None` when a line's stock cannot move (nothing is left half-done: the caller rolls
/// back). A pickup order's units move on its store's shelf instead (`pickup_store`).
pub async fn move_lines(
    txn: &impl ConnectionTrait,
    (lines, pickup_store): (&[order_line::Model], Option<StoreId>),
    movement: Movement,
    actor: Option<UserId>,
    back_to_sessions: &[(VariantId, i64)],
) -> AppResult<Option<bool>> {
    let mut sorted: Vec<&order_line::Model> = lines.iter().collect();
    sorted.sort_by_key(|line| line.variant_id);
    let mut flipped = false;
    for line in sorted {
        let units = (line.variant_id, i64::from(line.quantity));
        match move_units(txn, pickup_store, movement, units, line.order_id, actor).await? {
            Moved::Done {
                availability_flipped, ..
            } => flipped |= availability_flipped,
            Moved::Refused => return Ok(None),
        }
        for (_, units) in back_to_sessions
            .iter()
            .filter(|(variant, _)| *variant == line.variant_id)
        {
            if inventory::apply_for_session(txn, Movement::SetAside, line.variant_id, *units, None).await?
                == Moved::Refused
            {
                return Err(AppError::Internal(anyhow::anyhow!(
                    "units released from order {} could not go back to their session",
                    line.order_id
                )));
            }
        }
    }
    Ok(Some(flipped))
}

/// One line's units, online or, for a pickup order, on its store's shelf
/// (`inventory::shelf::for_pickup`).
pub async fn move_units(
    txn: &impl ConnectionTrait,
    pickup_store: Option<StoreId>,
    movement: Movement,
    (variant_id, units): (VariantId, i64),
    order_id: OrderId,
    actor: Option<UserId>,
) -> AppResult<Moved> {
    match pickup_store {
        None => inventory::apply(txn, movement, variant_id, units, order_id, actor).await,
        Some(store_id) => shelf::for_pickup(txn, store_id, movement, (variant_id, units), order_id, actor).await,
    }
}

/// A page of the buyer's orders, newest first, as every list of orders runs (`desk`).
pub async fn buyer_orders(
    db: &impl ConnectionTrait,
    buyer_id: UserId,
    page: &PageRequest<OrderCursor>,
    count_total: bool,
) -> AppResult<(Vec<order::Model>, u64)> {
    let select = order::Entity::find().filter(order::Column::BuyerId.eq(buyer_id));
    keyset_page_by_time(
        db,
        select,
        order::Column::CreatedAt,
        order::Column::Id,
        page,
        count_total,
    )
    .await
}

/// The producers with lines in an order.
pub async fn producers_of(db: &impl ConnectionTrait, order_id: OrderId) -> AppResult<Vec<ProducerId>> {
    Ok(shipments_of(db, order_id)
        .await?
        .into_iter()
        .map(|s| s.producer_id)
        .collect())
}
