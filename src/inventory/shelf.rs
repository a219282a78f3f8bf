//! A relief supermarket's shelf stock: units moved from the online stock and back
//! ([`transfer`], both sides of the ledger in the caller's transaction), units sold over the
//! counter ([`take`]) and units set aside for a pickup order ([`for_pickup`]). Every change is a conditional update the `on_shelf >= 0` CHECK backs up,
//! with its `shelf_movements` row.

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use super::entity::{shelf_movement, shelf_stock, store};
use super::{Moved, Movement, apply_for_store};
use crate::infra::error::AppResult;
use crate::infra::ids::{OrderId, StoreId, UserId, VariantId};

async fn record(
    txn: &impl ConnectionTrait,
    (store_id, variant_id): (StoreId, VariantId),
    delta: i64,
    reason: &str,
    actor_user_id: Option<UserId>,
    order_id: Option<OrderId>,
) -> AppResult<()> {
    shelf_movement::Entity::insert(shelf_movement::ActiveModel {
        store_id: Set(store_id),
        variant_id: Set(variant_id),
        delta: Set(delta),
        reason: Set(reason.to_owned()),
        actor_user_id: Set(actor_user_id),
        order_id: Set(order_id),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// Takes `quantity` units off the shelf if it holds them: false (nothing changed) otherwise.
async fn take_off(
    txn: &impl ConnectionTrait,
    store_id: StoreId,
    variant_id: VariantId,
    quantity: i64,
) -> AppResult<bool> {
    let taken = shelf_stock::Entity::update_many()
        .col_expr(
            shelf_stock::Column::OnShelf,
            Expr::col(shelf_stock::Column::OnShelf).sub(quantity),
        )
        .filter(shelf_stock::Column::StoreId.eq(store_id))
        .filter(shelf_stock::Column::VariantId.eq(variant_id))
        .filter(shelf_stock::Column::OnShelf.gte(quantity))
        .exec(txn)
        .await?;
    Ok(taken.rows_affected == 1)
}

/// Moves `quantity` units of `variant_id` from the online stock to the store's shelf (negative:
/// from the shelf back online), inside the caller's transaction. Refused when the side they
/// leave does not have them (online: units nobody holds); on [`Moved::Refused`] the caller
/// must roll back.
pub async fn transfer(
    txn: &impl ConnectionTrait,
    store_id: StoreId,
    variant_id: VariantId,
    quantity: i64,
    actor_user_id: UserId,
) -> AppResult<Moved> {
    let actor = Some(actor_user_id);
    if quantity < 0 {
        let units = -quantity;
        if !take_off(txn, store_id, variant_id, units).await? {
            return Ok(Moved::Refused);
        }
        record(txn, (store_id, variant_id), quantity, "moved back online", actor, None).await?;
        return apply_for_store(txn, Movement::FromStore, variant_id, units, actor).await;
    }
    let moved = apply_for_store(txn, Movement::ToStore, variant_id, quantity, actor).await?;
    if moved == Moved::Refused {
        return Ok(moved);
    }
    shelf_stock::Entity::insert(shelf_stock::ActiveModel {
        store_id: Set(store_id),
        variant_id: Set(variant_id),
        on_shelf: Set(quantity),
    })
    .on_conflict(
        OnConflict::columns([shelf_stock::Column::StoreId, shelf_stock::Column::VariantId])
            .value(
                shelf_stock::Column::OnShelf,
                Expr::col((shelf_stock::Entity, shelf_stock::Column::OnShelf)).add(quantity),
            )
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    record(
        txn,
        (store_id, variant_id),
        quantity,
        "moved from online stock",
        actor,
        None,
    )
    .await?;
    Ok(moved)
}

/// Takes `quantity` units sold over the counter for `order_id` off the shelf: false (the caller
/// rolls back) when the shelf does not hold them.
pub async fn take(
    txn: &impl ConnectionTrait,
    store_id: StoreId,
    variant_id: VariantId,
    quantity: i64,
    order_id: OrderId,
    clerk_id: UserId,
) -> AppResult<bool> {
    if !take_off(txn, store_id, variant_id, quantity).await? {
        return Ok(false);
    }
    record(
        txn,
        (store_id, variant_id),
        -quantity,
        "counter sale",
        Some(clerk_id),
        Some(order_id),
    )
    .await?;
    Ok(true)
}

/// A pickup order's stock moves on its store's shelf, not online: placing it takes the units off
/// the shelf (the clerk sets them aside), cancelling or expiring it puts them back, and paying
/// it moves nothing more. `Refused` (the caller rolls back) when the shelf is short.
pub async fn for_pickup(
    txn: &impl ConnectionTrait,
    store_id: StoreId,
    movement: Movement,
    (variant_id, quantity): (VariantId, i64),
    order_id: OrderId,
    actor_user_id: Option<UserId>,
) -> AppResult<Moved> {
    let at = (store_id, variant_id);
    match movement {
        Movement::Reserve => {
            if !take_off(txn, store_id, variant_id, quantity).await? {
                return Ok(Moved::Refused);
            }
            record(
                txn,
                at,
                -quantity,
                "set aside for a pickup",
                actor_user_id,
                Some(order_id),
            )
            .await?;
        }
        Movement::Release | Movement::Return => {
            shelf_stock::Entity::update_many()
                .col_expr(
                    shelf_stock::Column::OnShelf,
                    Expr::col(shelf_stock::Column::OnShelf).add(quantity),
                )
                .filter(shelf_stock::Column::StoreId.eq(store_id))
                .filter(shelf_stock::Column::VariantId.eq(variant_id))
                .exec(txn)
                .await?;
            record(txn, at, quantity, "pickup cancelled", actor_user_id, Some(order_id)).await?;
        }
        _ => {}
    }
    Ok(Moved::Done {
        availability_flipped: false,
        figure: None,
    })
}

/// The store a pickup order names, if there is one.
pub async fn pickup_point(db: &impl ConnectionTrait, store_id: StoreId) -> AppResult<Option<store::Model>> {
    Ok(store::Entity::find_by_id(store_id).one(db).await?)
}

/// What the store's shelf holds, by variant (variants once moved there and sold out included).
pub async fn on_shelf(db: &impl ConnectionTrait, store_id: StoreId) -> AppResult<Vec<shelf_stock::Model>> {
    Ok(shelf_stock::Entity::find()
        .filter(shelf_stock::Column::StoreId.eq(store_id))
        .order_by_asc(shelf_stock::Column::VariantId)
        .all(db)
        .await?)
}
