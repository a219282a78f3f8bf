//! What an organisation's bulk orders may hold unpaid at once: a few orders and so many units
//! (`HUAKAI_UNPAID_BULK_ORDERS_PER_ORGANISATION`, `HUAKAI_RESERVED_UNITS_PER_ORGANISATION`), so
//! that one admin cannot sit on the shop's stock with bulk orders the organisation never pays.
//! A buyer's own holds have limits of their own (`HUAKAI_UNPAID_ORDERS_PER_BUYER`, …), counted
//! the same way.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::sea_query::{ExprTrait, Func, FunctionCall, Query, SelectStatement};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::infra::db::sum_or_zero;
use crate::infra::error::{AppError, AppResult, UserError};
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
    let retry_after = u64::try_from(Ord::max((first_to_end - now).num_seconds(), 1)).unwrap_or(1);
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
    let held = buyer_holds(txn, buyer_id, wanted.keys(), now).await?;
    let retry_after = || first_hold_ends(txn, buyer_id, now, reserved_until);
    if held.orders >= i64::from(limits.unpaid_orders_per_buyer) {
        return Ok(Err(UserError::rate_limited(
            Message::new("unpaid-orders-limit").with("count", held.orders),
            retry_after().await?,
        )));
    }
    let asked: i64 = wanted.values().map(|(quantity, _)| i64::from(*quantity)).sum();
    if held.units + asked > i64::from(limits.reserved_units_per_buyer) {
        return Ok(Err(UserError::rate_limited(
            Message::new("unpaid-units-limit").with("max", limits.reserved_units_per_buyer),
            retry_after().await?,
        )));
    }
    for ((quantity, index), held_of_variant) in wanted.values().zip(held.of_wanted) {
        if held_of_variant + i64::from(*quantity) > i64::from(limits.reserved_units_per_variant) {
            return Ok(Err(UserError::rate_limited(
                Message::new("unpaid-units-per-variant-limit").with("max", limits.reserved_units_per_variant),
                retry_after().await?,
            )
            .on_field(&["input", "lines", &index.to_string(), "quantity"])));
        }
    }
    Ok(Ok(()))
}

/// What a buyer holds unpaid now: orders, units, and units of each wanted variant (in order).
struct BuyerHolds {
    orders: i64,
    units: i64,
    of_wanted: Vec<i64>,
}

/// One aggregate statement, whatever the buyer holds: placing asks it for every order.
async fn buyer_holds(
    txn: &impl ConnectionTrait,
    buyer_id: UserId,
    wanted: impl Iterator<Item = &VariantId>,
    now: DateTime<Utc>,
) -> AppResult<BuyerHolds> {
    let mut select = holds_of(buyer_column().eq(buyer_id), now);
    let mut wanted_count = 0;
    for (at, variant_id) in wanted.enumerate() {
        select.expr_as(units_of(*variant_id), format!("variant_{at}"));
        wanted_count = at + 1;
    }
    let row = txn
        .query_one(&select)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("an aggregate answered no row")))?;
    let of_wanted = (0..wanted_count)
        .map(|at| row.try_get::<i64>("", &format!("variant_{at}")))
        .collect::<Result<_, _>>()?;
    Ok(BuyerHolds {
        orders: row.try_get("", "orders")?,
        units: row.try_get("", "units")?,
        of_wanted,
    })
}

/// What one buyer holds unpaid now, of all variants and of those it orders, for orders checked
/// together.
#[derive(Clone, Default)]
pub struct Held {
    orders: i64,
    units: i64,
    of_variants: HashMap<VariantId, i64>,
}

impl Held {
    /// Whether an order of `quantity` units of `variant` stays within `limits` (the checks of
    /// [`within_buyer_limits`], whose refusals say which limit and until when).
    pub fn allows(&self, limits: OrderLimits, variant: VariantId, quantity: i32) -> bool {
        let quantity = i64::from(quantity);
        let of_variant = self.of_variants.get(&variant).copied().unwrap_or(0);
        self.orders < i64::from(limits.unpaid_orders_per_buyer)
            && self.units + quantity <= i64::from(limits.reserved_units_per_buyer)
            && of_variant + quantity <= i64::from(limits.reserved_units_per_variant)
    }

    /// Counts an order of `quantity` units of `variant` placed meanwhile.
    pub fn add(&mut self, variant: VariantId, quantity: i32) {
        self.orders += 1;
        self.units += i64::from(quantity);
        *self.of_variants.entry(variant).or_default() += i64::from(quantity);
    }
}

/// What the buyers of `orders` (each a buyer and the variant it orders) hold unpaid now, of all
/// variants and of the variants they order, in one statement (a buyer who holds nothing is not
/// in the answer). Call it after taking the buyers' rows. The lines are grouped by buyer and
/// by the ordered variant, every other variant in one group: a buyer's orders are summed over
/// its groups, so an order with lines in two of them counts twice. That errs on the strict
/// side only (an order the count refuses is checked again alone, exactly).
pub async fn held_by(
    txn: &impl ConnectionTrait,
    orders: &[(UserId, VariantId)],
    now: DateTime<Utc>,
) -> AppResult<HashMap<UserId, Held>> {
    let buyers: BTreeSet<UserId> = orders.iter().map(|(buyer, _)| *buyer).collect();
    let pairs: BTreeSet<(UserId, VariantId)> = orders.iter().copied().collect();
    let ordered = pairs.into_iter().fold(Condition::any(), |any, (buyer, variant)| {
        any.add(
            buyer_column()
                .eq(buyer)
                .and(line(order_line::Column::VariantId).eq(variant)),
        )
    });
    // Grouped by its output name: the CASE's values are bound twice otherwise, and PostgreSQL
    // cannot tell the two expressions are one.
    let select = holds_of(buyer_column().is_in(buyers), now)
        .expr_as(buyer_column(), "buyer_id")
        .expr_as(
            Expr::case(ordered, line(order_line::Column::VariantId)),
            "ordered_variant",
        )
        .group_by_col((order::Entity, order::Column::BuyerId))
        .add_group_by([Expr::col("ordered_variant")])
        .to_owned();
    let mut held: HashMap<UserId, Held> = HashMap::new();
    for row in txn.query_all(&select).await? {
        let of_buyer = held.entry(row.try_get("", "buyer_id")?).or_default();
        let units: i64 = row.try_get("", "units")?;
        of_buyer.orders += row.try_get::<i64>("", "orders")?;
        of_buyer.units += units;
        if let Some(variant) = row.try_get::<Option<i64>>("", "ordered_variant")? {
            of_buyer.of_variants.insert(VariantId(variant), units);
        }
    }
    Ok(held)
}

/// The unpaid orders' count (`orders`) and units (`units`) of the buyers `buyers` says, over
/// their lines; a caller adds the columns it needs.
fn holds_of(buyers: Expr, now: DateTime<Utc>) -> SelectStatement {
    Query::select()
        .from(order_line::Entity)
        .inner_join(
            order::Entity,
            Expr::col((order::Entity, order::Column::Id)).equals((order_line::Entity, order_line::Column::OrderId)),
        )
        .expr_as(Func::count_distinct(line(order_line::Column::OrderId)), "orders")
        .expr_as(sum_or_zero(line(order_line::Column::Quantity)), "units")
        .cond_where(holding(buyers, now))
        .to_owned()
}

/// The units of `variant_id` among the lines summed.
fn units_of(variant_id: VariantId) -> FunctionCall {
    let of_variant = Expr::case(
        line(order_line::Column::VariantId).eq(variant_id),
        line(order_line::Column::Quantity),
    )
    .finally(0);
    sum_or_zero(of_variant)
}

fn line(column: order_line::Column) -> Expr {
    Expr::col((order_line::Entity, column))
}

fn buyer_column() -> Expr {
    Expr::col((order::Entity, order::Column::BuyerId))
}

/// The orders (not bulk) of the buyers `buyers` says that hold stock unpaid at `now`.
fn holding(buyers: Expr, now: DateTime<Utc>) -> Condition {
    let column = |column: order::Column| Expr::col((order::Entity, column));
    Condition::all()
        .add(buyers)
        .add(column(order::Column::Bulk).eq(false))
        .add(column(order::Column::Status).eq(OrderStatus::PendingPayment))
        .add(column(order::Column::ReservedUntil).gt(now))
}

/// Seconds until the buyer's first hold ends (`reserved_until`, this order's own, when the
/// buyer holds none): when a refused buyer may try again.
async fn first_hold_ends(
    txn: &impl ConnectionTrait,
    buyer_id: UserId,
    now: DateTime<Utc>,
    reserved_until: DateTime<Utc>,
) -> AppResult<u64> {
    let first = order::Entity::find()
        .filter(holding(buyer_column().eq(buyer_id), now))
        .order_by_asc(order::Column::ReservedUntil)
        .one(txn)
        .await?
        .and_then(|order| order.reserved_until)
        .unwrap_or(reserved_until);
    Ok(u64::try_from(Ord::max((first - now).num_seconds(), 1)).unwrap_or(1))
}
