//! Order operations as plain functions over a connection. Business failures come back as
//! `Ok(Err(UserError))`; `Err` is for what the caller cannot fix.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, SqlErr,
};

use super::entity::{order, order_line, shipment};
use super::{OrderStatus, PaymentMethod};
use crate::app::db::begin_write;
use crate::catalogue::entity::{catalogue_entry, product, variant};
use crate::catalogue::today_in_china;
use crate::error::{AppError, AppResult, UserError};
use crate::graphql::relay::PageRequest;
use crate::inventory::{self, Moved, Movement};
use crate::money::Fen;
use crate::payouts::ledger::{self, PayoutSettings};

pub type Outcome<T> = AppResult<Result<T, UserError>>;

pub const MAX_QUANTITY: i32 = 999;
pub const MAX_LINES: usize = 50;

pub struct LineRequest {
    pub variant_id: Option<i64>,
    pub quantity: i32,
}

pub struct Address {
    pub name: String,
    pub phone: String,
    pub province: String,
    pub city: String,
    pub district: String,
    pub line1: String,
    pub postal_code: Option<String>,
}

pub struct OrderRequest {
    pub lines: Vec<LineRequest>,
    pub address: Address,
    pub idempotency_key: String,
    pub payment_method: PaymentMethod,
    pub referral_code: Option<String>,
}

/// A placed (or found again) order, and whether stock ran out because of it.
pub struct Placed {
    pub order: order::Model,
    pub availability_changed: bool,
}

fn invalid(path: &[&str], message: impl Into<String>) -> UserError {
    UserError::new("INVALID_INPUT", message).on_field(path)
}

fn check_text(value: &str, path: &[&str], max_chars: usize) -> Result<(), UserError> {
    let chars = value.trim().chars().count();
    if chars == 0 || chars > max_chars {
        return Err(invalid(path, format!("give 1 to {max_chars} characters")));
    }
    Ok(())
}

/// Checks the request's own fields; returns the quantity wanted per variant.
fn validate(request: &OrderRequest) -> Result<BTreeMap<i64, (i32, usize)>, UserError> {
    let key_chars = request.idempotency_key.chars().count();
    if key_chars == 0 || key_chars > 100 {
        return Err(invalid(
            &["input", "idempotencyKey"],
            "an idempotency key has 1 to 100 characters",
        ));
    }
    if request.lines.is_empty() || request.lines.len() > MAX_LINES {
        return Err(invalid(
            &["input", "lines"],
            format!("an order has 1 to {MAX_LINES} lines"),
        ));
    }
    // Lines of the same variant are one line: their quantities add up.
    let mut wanted: BTreeMap<i64, (i32, usize)> = BTreeMap::new();
    for (index, line) in request.lines.iter().enumerate() {
        let at = index.to_string();
        if !(1..=MAX_QUANTITY).contains(&line.quantity) {
            return Err(
                UserError::new("INVALID_QUANTITY", format!("a quantity is 1 to {MAX_QUANTITY}"))
                    .on_field(&["input", "lines", &at, "quantity"]),
            );
        }
        let Some(variant_id) = line.variant_id else {
            return Err(UserError::new("NOT_FOUND", "no such variant").on_field(&["input", "lines", &at, "variantId"]));
        };
        let entry = wanted.entry(variant_id).or_insert((0, index));
        entry.0 += line.quantity;
        if entry.0 > MAX_QUANTITY {
            return Err(
                UserError::new("INVALID_QUANTITY", format!("at most {MAX_QUANTITY} of one variant"))
                    .on_field(&["input", "lines", &at, "quantity"]),
            );
        }
    }
    let address = &request.address;
    check_text(&address.name, &["input", "shippingAddress", "name"], 50)?;
    check_text(&address.province, &["input", "shippingAddress", "province"], 50)?;
    check_text(&address.city, &["input", "shippingAddress", "city"], 50)?;
    check_text(&address.district, &["input", "shippingAddress", "district"], 50)?;
    check_text(&address.line1, &["input", "shippingAddress", "line1"], 200)?;
    let phone = address.phone.trim();
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    if !(5..=20).contains(&digits) || !phone.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c)) {
        return Err(invalid(
            &["input", "shippingAddress", "phone"],
            "a phone number has 5 to 20 digits",
        ));
    }
    if let Some(code) = address.postal_code.as_deref().map(str::trim).filter(|c| !c.is_empty())
        && !(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(invalid(
            &["input", "shippingAddress", "postalCode"],
            "a postal code has 6 digits",
        ));
    }
    if let Some(code) = &request.referral_code
        && (code.is_empty() || code.len() > 64)
    {
        return Err(invalid(
            &["input", "referralCode"],
            "a referral code has 1 to 64 characters",
        ));
    }
    Ok(wanted)
}

/// The buyer's order with this idempotency key, if there is one.
pub async fn by_idempotency_key(
    db: &impl ConnectionTrait,
    buyer_id: i64,
    key: &str,
) -> AppResult<Option<order::Model>> {
    Ok(order::Entity::find()
        .filter(order::Column::BuyerId.eq(buyer_id))
        .filter(order::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?)
}

/// `HK`, the day in China, and ten random characters: unique without a counter (the unique
/// key catches the improbable clash).
fn order_number() -> String {
    let china_day = today_in_china().format("%Y%m%d");
    let random = uuid::Uuid::new_v4().simple().to_string().to_ascii_uppercase();
    format!("HK{china_day}{}", &random[..10])
}

/// `placeOrder`: validates every line, snapshots prices and reserves stock for all lines or
/// none, in one transaction. The same key from the same buyer returns the same order, also
/// when two requests race (the unique index decides).
pub async fn place_order(
    db: &DatabaseConnection,
    buyer_id: i64,
    request: OrderRequest,
    reservation: Duration,
) -> Outcome<Placed> {
    let wanted = match validate(&request) {
        Ok(wanted) => wanted,
        Err(problem) => return Ok(Err(problem)),
    };
    if let Some(order) = by_idempotency_key(db, buyer_id, &request.idempotency_key).await? {
        return Ok(Ok(Placed {
            order,
            availability_changed: false,
        }));
    }

    let variants: HashMap<i64, variant::Model> = variant::Entity::find()
        .filter(variant::Column::Id.is_in(wanted.keys().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.id, v))
        .collect();
    let products: HashMap<i64, product::Model> = product::Entity::find()
        .filter(product::Column::Id.is_in(variants.values().map(|v| v.product_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let entries: HashMap<i64, catalogue_entry::Model> = catalogue_entry::Entity::find()
        .filter(catalogue_entry::Column::Id.is_in(products.values().filter_map(|p| p.catalogue_entry_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    let today = today_in_china();
    let mut lines = Vec::with_capacity(wanted.len());
    let mut total = Fen::ZERO;
    for (variant_id, (quantity, index)) in &wanted {
        let at = index.to_string();
        let (Some(variant), Some(product)) = (
            variants.get(variant_id),
            variants.get(variant_id).and_then(|v| products.get(&v.product_id)),
        ) else {
            return Ok(Err(UserError::new("NOT_FOUND", "no such variant").on_field(&[
                "input",
                "lines",
                &at,
                "variantId",
            ])));
        };
        let on_sale = product
            .catalogue_entry_id
            .is_none_or(|entry_id| entries.get(&entry_id).is_some_and(|entry| entry.is_valid_on(today)));
        if !on_sale {
            return Ok(Err(UserError::new(
                "NOT_ON_SALE",
                format!(
                    "{} is not on sale: its catalogue entry is not valid today",
                    product.name
                ),
            )
            .on_field(&["input", "lines", &at, "variantId"])));
        }
        let line_total = Fen::new(variant.price_fen)
            .checked_mul(i64::from(*quantity))
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("line total overflows")))?;
        total = total
            .checked_add(line_total)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("order total overflows")))?;
        lines.push((variant.clone(), product.producer_id, *quantity, line_total, at));
    }

    let now = Utc::now();
    let reserved_until = now + chrono::Duration::from_std(reservation).map_err(|e| AppError::Internal(e.into()))?;
    let address = request.address;
    let txn = begin_write(db).await?;
    let inserted = order::ActiveModel {
        number: Set(order_number()),
        buyer_id: Set(buyer_id),
        status: Set(OrderStatus::PendingPayment.as_db().to_owned()),
        payment_method: Set(request.payment_method.as_db().to_owned()),
        total_fen: Set(total.get()),
        idempotency_key: Set(request.idempotency_key.clone()),
        referral_code: Set(request.referral_code),
        union_id: Set(None),
        ship_name: Set(address.name.trim().to_owned()),
        ship_phone: Set(address.phone.trim().to_owned()),
        ship_province: Set(address.province.trim().to_owned()),
        ship_city: Set(address.city.trim().to_owned()),
        ship_district: Set(address.district.trim().to_owned()),
        ship_line1: Set(address.line1.trim().to_owned()),
        ship_postal_code: Set(address
            .postal_code
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty())),
        reserved_until: Set(Some(reserved_until)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let order = match inserted {
        Ok(order) => order,
        Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            // Another request with this key won the race: its order is the answer.
            txn.rollback().await?;
            let order = by_idempotency_key(db, buyer_id, &request.idempotency_key)
                .await?
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("idempotent order vanished")))?;
            return Ok(Ok(Placed {
                order,
                availability_changed: false,
            }));
        }
        Err(error) => return Err(error.into()),
    };
    order_line::Entity::insert_many(lines.iter().map(|(variant, producer_id, quantity, line_total, _)| {
        order_line::ActiveModel {
            order_id: Set(order.id),
            variant_id: Set(variant.id),
            product_id: Set(variant.product_id),
            producer_id: Set(*producer_id),
            quantity: Set(*quantity),
            unit_price_fen: Set(variant.price_fen),
            line_total_fen: Set(line_total.get()),
            ..Default::default()
        }
    }))
    .exec_without_returning(&txn)
    .await?;
    let mut producers: Vec<i64> = lines.iter().map(|(_, producer_id, ..)| *producer_id).collect();
    producers.sort_unstable();
    producers.dedup();
    shipment::Entity::insert_many(producers.into_iter().map(|producer_id| shipment::ActiveModel {
        order_id: Set(order.id),
        producer_id: Set(producer_id),
        tracking_number: Set(None),
        shipped_at: Set(None),
        ..Default::default()
    }))
    .exec_without_returning(&txn)
    .await?;
    // Stock last, in variant order (no deadlocks between orders of several lines): a hot
    // variant's row is locked only from here to the commit.
    let mut availability_changed = false;
    for (variant, _, quantity, _, at) in &lines {
        match inventory::apply(
            &txn,
            Movement::Reserve,
            variant.id,
            i64::from(*quantity),
            order.id,
            Some(buyer_id),
        )
        .await?
        {
            Moved::Done { availability_flipped } => availability_changed |= availability_flipped,
            Moved::Refused => {
                txn.rollback().await?;
                return Ok(Err(UserError::new(
                    "OUT_OF_STOCK",
                    format!("not enough of {} left", variant.name),
                )
                .on_field(&["input", "lines", at, "quantity"])));
            }
        }
    }
    txn.commit().await?;
    Ok(Ok(Placed {
        order,
        availability_changed,
    }))
}

pub async fn lines_of(db: &impl ConnectionTrait, order_id: i64) -> AppResult<Vec<order_line::Model>> {
    Ok(order_line::Entity::find()
        .filter(order_line::Column::OrderId.eq(order_id))
        .order_by_asc(order_line::Column::Id)
        .all(db)
        .await?)
}

pub async fn shipments_of(db: &impl ConnectionTrait, order_id: i64) -> AppResult<Vec<shipment::Model>> {
    Ok(shipment::Entity::find()
        .filter(shipment::Column::OrderId.eq(order_id))
        .order_by_asc(shipment::Column::Id)
        .all(db)
        .await?)
}

/// Moves an order from `from` to `to` if it is still in `from`; false when another request
/// changed it first.
async fn transition(
    txn: &impl ConnectionTrait,
    order_id: i64,
    from: OrderStatus,
    to: OrderStatus,
    stamp: Option<order::Column>,
) -> AppResult<bool> {
    let mut update = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(to.as_db()))
        .filter(order::Column::Id.eq(order_id))
        .filter(order::Column::Status.eq(from.as_db()));
    if let Some(column) = stamp {
        update = update.col_expr(column, Expr::value(Utc::now()));
    }
    if to != OrderStatus::PendingPayment {
        update = update.col_expr(order::Column::ReservedUntil, Expr::value(Option::<DateTime<Utc>>::None));
    }
    Ok(update.exec(txn).await?.rows_affected == 1)
}

/// Applies `movement` to every line of an order; false (and the caller rolls back) when the
/// books refuse one.
async fn move_lines(
    txn: &impl ConnectionTrait,
    lines: &[order_line::Model],
    movement: Movement,
    actor: Option<i64>,
) -> AppResult<Option<bool>> {
    let mut sorted: Vec<&order_line::Model> = lines.iter().collect();
    sorted.sort_by_key(|line| line.variant_id);
    let mut flipped = false;
    for line in sorted {
        match inventory::apply(
            txn,
            movement,
            line.variant_id,
            i64::from(line.quantity),
            line.order_id,
            actor,
        )
        .await?
        {
            Moved::Done { availability_flipped } => flipped |= availability_flipped,
            Moved::Refused => return Ok(None),
        }
    }
    Ok(Some(flipped))
}

/// What a status change did to stock, for the storefront cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Changed {
    pub availability_changed: bool,
}

/// Marks an unpaid order paid: its reserved units are sold. `Ok(None)` when the order is not
/// awaiting payment (paid already, say: paying twice changes nothing).
pub async fn mark_paid(db: &DatabaseConnection, order_id: i64) -> AppResult<Option<Changed>> {
    let txn = begin_write(db).await?;
    if !transition(
        &txn,
        order_id,
        OrderStatus::PendingPayment,
        OrderStatus::Paid,
        Some(order::Column::PaidAt),
    )
    .await?
    {
        txn.rollback().await?;
        return Ok(None);
    }
    let lines = lines_of(&txn, order_id).await?;
    let Some(flipped) = move_lines(&txn, &lines, Movement::Sell, None).await? else {
        txn.rollback().await?;
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
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(Some(Changed {
        availability_changed: flipped,
    }))
}

/// A payment that arrived after the order's reservation ended: the order is paid if its stock
/// can still be had (all lines or none), else `Ok(None)` and the caller refunds.
pub async fn revive_paid(db: &DatabaseConnection, order_id: i64) -> AppResult<Option<Changed>> {
    let txn = begin_write(db).await?;
    let revived = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(OrderStatus::Paid.as_db()))
        .col_expr(order::Column::PaidAt, Expr::value(Utc::now()))
        .col_expr(order::Column::CancelledAt, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(order::Column::Id.eq(order_id))
        .filter(order::Column::Status.eq(OrderStatus::Cancelled.as_db()))
        .filter(order::Column::PaidAt.is_null())
        .exec(&txn)
        .await?;
    if revived.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(None);
    }
    let lines = lines_of(&txn, order_id).await?;
    let mut flipped = false;
    for movement in [Movement::Reserve, Movement::Sell] {
        match move_lines(&txn, &lines, movement, None).await? {
            Some(changed) => flipped |= changed,
            None => {
                txn.rollback().await?;
                return Ok(None);
            }
        }
    }
    txn.commit().await?;
    Ok(Some(Changed {
        availability_changed: flipped,
    }))
}

/// After a full refund: a paid order not yet shipped puts its units back; a paid, shipped or
/// delivered order becomes REFUNDED (a cancelled one stays CANCELLED).
pub async fn mark_refunded(db: &DatabaseConnection, order_id: i64) -> AppResult<Changed> {
    let Some(order) = order::Entity::find_by_id(order_id).one(db).await? else {
        return Ok(Changed {
            availability_changed: false,
        });
    };
    let txn = begin_write(db).await?;
    let mut flipped = false;
    let status = OrderStatus::from_db(&order.status);
    let refundable = matches!(
        status,
        Some(OrderStatus::Paid | OrderStatus::Shipped | OrderStatus::Delivered | OrderStatus::Completed)
    );
    if refundable && let Some(from) = status {
        let unshipped = status == Some(OrderStatus::Paid)
            && shipments_of(&txn, order_id)
                .await?
                .iter()
                .all(|s| s.shipped_at.is_none());
        if transition(&txn, order_id, from, OrderStatus::Refunded, None).await? && unshipped {
            let lines = lines_of(&txn, order_id).await?;
            match move_lines(&txn, &lines, Movement::Return, None).await? {
                Some(changed) => flipped = changed,
                None => {
                    txn.rollback().await?;
                    return Err(AppError::Internal(anyhow::anyhow!(
                        "order {order_id} refunded without its stock"
                    )));
                }
            }
        }
    }
    txn.commit().await?;
    Ok(Changed {
        availability_changed: flipped,
    })
}

/// `cancelOrder`: an unpaid order frees its stock; a paid one not yet shipped puts its units
/// back on the shelf (the caller refunds it).
pub async fn cancel(db: &DatabaseConnection, order: &order::Model, actor: i64) -> Outcome<(order::Model, Changed)> {
    let status = OrderStatus::from_db(&order.status);
    let shipments = shipments_of(db, order.id).await?;
    let (from, movement) = match status {
        Some(OrderStatus::PendingPayment) => (OrderStatus::PendingPayment, Movement::Release),
        Some(OrderStatus::Paid) if shipments.iter().all(|s| s.shipped_at.is_none()) => {
            (OrderStatus::Paid, Movement::Return)
        }
        _ => {
            return Ok(Err(UserError::new(
                "NOT_CANCELLABLE",
                "only an order not yet shipped can be cancelled",
            )
            .on_field(&["orderId"])));
        }
    };
    let txn = begin_write(db).await?;
    if !transition(
        &txn,
        order.id,
        from,
        OrderStatus::Cancelled,
        Some(order::Column::CancelledAt),
    )
    .await?
    {
        txn.rollback().await?;
        return Ok(Err(UserError::new(
            "NOT_CANCELLABLE",
            "the order changed meanwhile; look again",
        )
        .on_field(&["orderId"])));
    }
    let lines = lines_of(&txn, order.id).await?;
    let Some(flipped) = move_lines(&txn, &lines, movement, Some(actor)).await? else {
        txn.rollback().await?;
        return Err(AppError::Internal(anyhow::anyhow!(
            "order {} cancelled without its stock",
            order.id
        )));
    };
    txn.commit().await?;
    let order = order::Entity::find_by_id(order.id)
        .one(db)
        .await?
        .ok_or(AppError::Internal(anyhow::anyhow!("order vanished")))?;
    Ok(Ok((
        order,
        Changed {
            availability_changed: flipped,
        },
    )))
}

/// `markShipped`: ships `producer`'s part of the order (every unshipped part when `None`, as an
/// operator does); the order is SHIPPED once every part is.
pub async fn mark_shipped(
    db: &DatabaseConnection,
    order: &order::Model,
    producer: Option<i64>,
    tracking_number: &str,
) -> Outcome<order::Model> {
    let tracking_number = tracking_number.trim();
    if tracking_number.is_empty() || tracking_number.chars().count() > 64 {
        return Ok(Err(invalid(
            &["trackingNumber"],
            "a tracking number has 1 to 64 characters",
        )));
    }
    if OrderStatus::from_db(&order.status) != Some(OrderStatus::Paid) {
        return Ok(Err(
            UserError::new("NOT_SHIPPABLE", "only a paid order is shipped").on_field(&["orderId"])
        ));
    }
    let txn = begin_write(db).await?;
    let mut update = shipment::Entity::update_many()
        .col_expr(shipment::Column::TrackingNumber, Expr::value(tracking_number))
        .col_expr(shipment::Column::ShippedAt, Expr::value(Utc::now()))
        .filter(shipment::Column::OrderId.eq(order.id))
        .filter(shipment::Column::ShippedAt.is_null());
    if let Some(producer_id) = producer {
        update = update.filter(shipment::Column::ProducerId.eq(producer_id));
    }
    if update.exec(&txn).await?.rows_affected == 0 {
        txn.rollback().await?;
        return Ok(Err(UserError::new(
            "NOT_SHIPPABLE",
            "this part of the order has shipped already",
        )
        .on_field(&["orderId"])));
    }
    let unshipped = shipment::Entity::find()
        .filter(shipment::Column::OrderId.eq(order.id))
        .filter(shipment::Column::ShippedAt.is_null())
        .count(&txn)
        .await?;
    if unshipped == 0 {
        transition(
            &txn,
            order.id,
            OrderStatus::Paid,
            OrderStatus::Shipped,
            Some(order::Column::ShippedAt),
        )
        .await?;
    }
    txn.commit().await?;
    let order = order::Entity::find_by_id(order.id)
        .one(db)
        .await?
        .ok_or(AppError::Internal(anyhow::anyhow!("order vanished")))?;
    Ok(Ok(order))
}

/// A shipped order arrived: DELIVERED, and each line's earning goes into its producer's
/// ledger in the same transaction (`false` when the order was not SHIPPED).
async fn deliver(db: &DatabaseConnection, order_id: i64, payouts: PayoutSettings) -> AppResult<bool> {
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
pub async fn confirm_delivery(
    db: &DatabaseConnection,
    order: &order::Model,
    payouts: PayoutSettings,
) -> Outcome<order::Model> {
    if !deliver(db, order.id, payouts).await? {
        return Ok(Err(UserError::new(
            "NOT_DELIVERABLE",
            "only a shipped order can be delivered",
        )
        .on_field(&["orderId"])));
    }
    let order = order::Entity::find_by_id(order.id)
        .one(db)
        .await?
        .ok_or(AppError::Internal(anyhow::anyhow!("order vanished")))?;
    Ok(Ok(order))
}

/// Cancels unpaid orders whose reservation ended and frees their stock, a batch at a time.
/// Several replicas may run this at once: each takes the rows no other holds (`SKIP LOCKED`).
/// Returns how many orders expired and whether any variant came back in stock.
pub async fn expire_reservations(db: &DatabaseConnection, now: DateTime<Utc>) -> AppResult<(usize, bool)> {
    let mut expired = 0;
    let mut availability_changed = false;
    loop {
        let txn = begin_write(db).await?;
        let due = order::Entity::find()
            .filter(order::Column::Status.eq(OrderStatus::PendingPayment.as_db()))
            .filter(order::Column::ReservedUntil.lt(now))
            .order_by_asc(order::Column::ReservedUntil)
            .limit(50)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .all(&txn)
            .await?;
        if due.is_empty() {
            txn.rollback().await?;
            return Ok((expired, availability_changed));
        }
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
                match move_lines(&txn, &lines, Movement::Release, None).await? {
                    Some(flipped) => availability_changed |= flipped,
                    None => {
                        txn.rollback().await?;
                        return Err(AppError::Internal(anyhow::anyhow!(
                            "order {} expired without its stock",
                            order.id
                        )));
                    }
                }
                expired += 1;
            }
        }
        txn.commit().await?;
    }
}

/// Marks orders delivered `after` their last shipment left, for buyers who never confirm.
pub async fn auto_deliver(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    after: Duration,
    payouts: PayoutSettings,
) -> AppResult<u64> {
    let cutoff = now - chrono::Duration::from_std(after).map_err(|e| AppError::Internal(e.into()))?;
    let due: Vec<i64> = order::Entity::find()
        .select_only()
        .column(order::Column::Id)
        .filter(order::Column::Status.eq(OrderStatus::Shipped.as_db()))
        .filter(order::Column::ShippedAt.lt(cutoff))
        .into_tuple()
        .all(db)
        .await?;
    let mut delivered = 0;
    for order_id in due {
        if deliver(db, order_id, payouts).await? {
            delivered += 1;
        }
    }
    Ok(delivered)
}

/// A page of the buyer's orders, newest first; the cursor is the order id.
pub async fn buyer_orders(
    db: &impl ConnectionTrait,
    buyer_id: i64,
    page: &PageRequest<i64>,
    count_total: bool,
) -> AppResult<(Vec<order::Model>, u64)> {
    let select = order::Entity::find().filter(order::Column::BuyerId.eq(buyer_id));
    let total = if count_total {
        select.clone().count(db).await?
    } else {
        0
    };
    let mut select = select;
    if let Some(after) = page.after {
        select = select.filter(order::Column::Id.lt(after));
    }
    let rows = select
        .order_by_desc(order::Column::Id)
        .limit(page.limit + 1)
        .all(db)
        .await?;
    Ok((rows, total))
}

/// The producers with lines in an order.
pub async fn producers_of(db: &impl ConnectionTrait, order_id: i64) -> AppResult<Vec<i64>> {
    Ok(shipments_of(db, order_id)
        .await?
        .into_iter()
        .map(|s| s.producer_id)
        .collect())
}
