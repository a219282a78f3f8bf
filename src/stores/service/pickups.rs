//! Pickup orders at the counter (到店自提). A pickup order is placed, paid and cancelled like
//! any order (`orders`), its units set aside on its store's shelf when it is placed; here a
//! clerk hands it over against the code its buyer shows (the order is delivered, and its
//! producers earn as on any delivered order), and the worker cancels and pays back in full
//! what nobody collected within `HUAKAI_PICKUP_WINDOW` of its payment (the units go back on
//! the shelf).

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::checkout::cancel;
use crate::infra::error::{AppError, AppResult, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::ids::{OrderId, StoreId};
use crate::orders::OrderStatus;
use crate::orders::entity::order;
use crate::orders::service::lifecycle;
use crate::shop::Shop;

/// `confirmPickup`: the store's pickup order with `code`, handed over.
pub async fn confirm(shop: &Shop, store_id: StoreId, code: &str) -> Outcome<order::Model> {
    let found = order::Entity::find()
        .filter(order::Column::PickupStoreId.eq(store_id))
        .filter(order::Column::PickupCode.eq(code.trim()))
        .one(&shop.db)
        .await?;
    let Some(order) = found else {
        return Ok(Err(
            UserError::new(ErrorCode::InvalidCode, "pickup-code-unknown").on_field(&["code"])
        ));
    };
    lifecycle::hand_over(shop, &order).await
}

/// Cancels and pays back the paid pickup orders not collected within the window, oldest
/// first; returns how many. One collected or cancelled meanwhile is left as it is (the
/// cancellation's conditional move decides), so replicas may run it at once.
pub async fn expire_uncollected(shop: &Shop, now: DateTime<Utc>) -> AppResult<usize> {
    let window =
        chrono::Duration::from_std(shop.store_settings().pickup_window).map_err(|e| AppError::Internal(e.into()))?;
    let due: Vec<OrderId> = order::Entity::find()
        .select_only()
        .column(order::Column::Id)
        .filter(order::Column::PickupStoreId.is_not_null())
        .filter(order::Column::Status.eq(OrderStatus::Paid))
        .filter(order::Column::PaidAt.lt(now - window))
        .order_by_asc(order::Column::PaidAt)
        .limit(100)
        .into_tuple()
        .all(&shop.db)
        .await?;
    let mut cancelled = 0;
    for order_id in due {
        if cancel::cancel_uncollected(shop, order_id).await?.is_ok() {
            cancelled += 1;
        }
    }
    Ok(cancelled)
}
