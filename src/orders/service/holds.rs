//! What an organisation's bulk orders may hold unpaid at once: a few orders and so many units
//! (`HUAKAI_UNPAID_BULK_ORDERS_PER_ORGANISATION`, `HUAKAI_RESERVED_UNITS_PER_ORGANISATION`), so
//! that one admin cannot sit on the shop's stock with bulk orders the organisation never pays.
//! A buyer's own holds have limits of their own (`HUAKAI_UNPAID_ORDERS_PER_BUYER`, …), counted
//! the same way.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::infra::error::{AppResult, UserError};
use crate::infra::i18n::Message;
use crate::infra::ids::{OrganisationId, UserId, VariantId};
use crate::orders::OrderStatus;
use crate::orders::entity::{order, order_line};
use crate::organisations::entity::organisation;
use crate::shop::OrderLimits;

/// Refuses a bulk order of `units` that would have the organisation hold more unpaid bulk orders
/// or units than the limits allow, its first included, with when the oldest hold ends (this
/// order's `reserved_until` when it would be the first). Call it in the placing transaction:
/// the organisation's row is taken first, so its concurrent bulk orders count one at a time.
pub async fn within_organisation_limits(
    txn: &impl ConnectionTrait,
    organisation_id: OrganisationId,
    units: i64,
    limits: OrderLimits,
    (now, reserved_until): (DateTime<Utc>, DateTime<Utc>),
) -> AppResult<Result<(), UserError>> {
    organisation::Entity::update_many()
        .col_expr(organisation::Column::Id, Expr::col(organisation::Column::Id))
        .filter(organisation::Column::Id.eq(organisation_id))
        .exec(txn)
        .await?;
    let holding = order::Entity::find()
        .filter(order::Column::UnionId.eq(organisation_id))
        .filter(order::Column::Bulk.eq(true))
        .filter(order::Column::Status.eq(OrderStatus::PendingPayment))
        .filter(order::Column::ReservedUntil.gt(now))
        .all(txn)
        .await?;
    let first_to_end = holding
        .iter()
        .filter_map(|o| o.reserved_until)
        .min()
        .unwrap_or(reserved_until);
    let retry_after = u64::try_from((first_to_end - now).num_seconds().max(1)).unwrap_or(1);
    if holding.len() >= limits.unpaid_bulk_orders_per_organisation as usize {
        return Ok(Err(UserError::rate_limited(
            Message::new("unpaid-bulk-orders-limit").with("count", holding.len()),
            retry_after,
        )
        .on_field(&["input", "organisationId"])));
    }
    // At most a few orders are held (the count above), so the list of ids stays short.
    let held: i64 = order_line::Entity::find()
        .filter(order_line::Column::OrderId.is_in(holding.iter().map(|o| o.id)))
        .all(txn)
        .await?
        .iter()
        .map(|line| i64::from(line.quantity))
        .sum();
    if held + units > i64::from(limits.reserved_units_per_organisation) {
        return Ok(Err(UserError::rate_limited(
            Message::new("unpaid-bulk-units-limit").with("max", limits.reserved_units_per_organisation),
            retry_after,
        )
        .on_field(&["input", "recipients"])));
    }
    Ok(Ok(()))
}

/// Refuses an order that would have the buyer hold more unpaid orders or units than the limits
/// allow, its first unpaid order included, with when the oldest of its holds ends (this
/// order's own `reserved_until` when it would be the first). Call it after taking the buyer's
/// row (`cart::take_user`). `wanted` is the quantity per variant and the line it came from.
/// An organisation's bulk orders count against the organisation, not their admin.
pub async fn within_buyer_limits(
    txn: &impl ConnectionTrait,
    buyer_id: UserId,
    wanted: &BTreeMap<VariantId, (i32, usize)>,
    limits: OrderLimits,
    (now, reserved_until): (DateTime<Utc>, DateTime<Utc>),
) -> AppResult<Result<(), UserError>> {
    let holding = order::Entity::find()
        .filter(order::Column::BuyerId.eq(buyer_id))
        .filter(order::Column::Bulk.eq(false))
        .filter(order::Column::Status.eq(OrderStatus::PendingPayment))
        .filter(order::Column::ReservedUntil.gt(now))
        .all(txn)
        .await?;
    let first_to_end = holding
        .iter()
        .filter_map(|o| o.reserved_until)
        .min()
        .unwrap_or(reserved_until);
    let retry_after = u64::try_from((first_to_end - now).num_seconds().max(1)).unwrap_or(1);
    if holding.len() >= limits.unpaid_orders_per_buyer as usize {
        return Ok(Err(UserError::rate_limited(
            Message::new("unpaid-orders-limit").with("count", holding.len()),
            retry_after,
        )));
    }
    let lines = order_line::Entity::find()
        .filter(order_line::Column::OrderId.is_in(holding.iter().map(|o| o.id)))
        .all(txn)
        .await?;
    let mut held: HashMap<VariantId, i64> = HashMap::new();
    for line in &lines {
        *held.entry(line.variant_id).or_default() += i64::from(line.quantity);
    }
    let asked: i64 = wanted.values().map(|(quantity, _)| i64::from(*quantity)).sum();
    if held.values().sum::<i64>() + asked > i64::from(limits.reserved_units_per_buyer) {
        return Ok(Err(UserError::rate_limited(
            Message::new("unpaid-units-limit").with("max", limits.reserved_units_per_buyer),
            retry_after,
        )));
    }
    for (variant_id, (quantity, index)) in wanted {
        if held.get(variant_id).copied().unwrap_or(0) + i64::from(*quantity)
            > i64::from(limits.reserved_units_per_variant)
        {
            return Ok(Err(UserError::rate_limited(
                Message::new("unpaid-units-per-variant-limit").with("max", limits.reserved_units_per_variant),
                retry_after,
            )
            .on_field(&["input", "lines", &index.to_string(), "quantity"])));
        }
    }
    Ok(Ok(()))
}
