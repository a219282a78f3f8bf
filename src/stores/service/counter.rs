//! A sale over a store's counter (`recordCounterSale`): one transaction takes the lines off the
//! store's shelf, spends the member's allowance when it pays, writes the sale as an order
//! delivered at once (so its lines earn for their producers through the one delivery call of
//! the earnings ledger, and count in the impact report) and takes the store's day, which a
//! closed day refuses. The same key at the same store is the same sale, also when tills race
//! (the unique key decides, and the loser answers with the winner's sale).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set, SqlErr,
};

use crate::accounts::entity::membership;
use crate::cart::offers::{Offer, offers};
use crate::catalogue::today_in_china;
use crate::infra::db::{begin_write, end_write};
use crate::infra::error::{AppError, AppResult, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;
use crate::infra::ids::{StoreId, UserId, VariantId};
use crate::infra::money::Fen;
use crate::inventory::entity::store;
use crate::inventory::shelf;
use crate::orders::OrderStatus;
use crate::orders::entity::{order, order_line};
use crate::orders::{MAX_LINES, MAX_QUANTITY};
use crate::organisations::funds;
use crate::payments::ProviderKind;
use crate::payments::records::paid_at_once;
use crate::payouts::ledger::{self, PayoutSettings};
use crate::stores::CounterPaymentMethod;
use crate::stores::entity::{counter_sale, store_day};

pub(super) const MAX_KEY_CHARS: usize = 64;

pub struct SaleLine {
    /// None: the id named no variant.
    pub variant_id: Option<VariantId>,
    pub quantity: i32,
}

pub struct SaleRequest {
    pub lines: Vec<SaleLine>,
    pub payment_method: CounterPaymentMethod,
    /// The member's counter code, for WELFARE_ALLOWANCE.
    pub member_code: Option<String>,
    pub idempotency_key: String,
}

fn line_field(index: usize, field: &str) -> Vec<String> {
    vec!["input".into(), "lines".into(), index.to_string(), field.into()]
}

fn on(problem: UserError, path: &[String]) -> UserError {
    problem.on_field(&path.iter().map(String::as_str).collect::<Vec<_>>())
}

/// The lines asked for, merged by variant (in variant order, the order rows are locked in):
/// quantity and the first line's index.
fn check(request: &SaleRequest) -> Result<BTreeMap<VariantId, (i32, usize)>, UserError> {
    let key_chars = request.idempotency_key.trim().chars().count();
    if key_chars == 0 || key_chars > MAX_KEY_CHARS {
        return Err(UserError::new(
            ErrorCode::InvalidInput,
            Message::new("counter-key-length").with("max", MAX_KEY_CHARS),
        )
        .on_field(&["input", "idempotencyKey"]));
    }
    if request.lines.is_empty() || request.lines.len() > MAX_LINES {
        return Err(UserError::new(
            ErrorCode::InvalidInput,
            Message::new("order-line-count").with("max", MAX_LINES),
        )
        .on_field(&["input", "lines"]));
    }
    let mut wanted: BTreeMap<VariantId, (i32, usize)> = BTreeMap::new();
    for (index, line) in request.lines.iter().enumerate() {
        let Some(variant_id) = line.variant_id else {
            return Err(on(
                UserError::new(ErrorCode::NotFound, "variant-not-found"),
                &line_field(index, "variantId"),
            ));
        };
        let entry = wanted.entry(variant_id).or_insert((0, index));
        entry.0 = entry.0.saturating_add(line.quantity);
        if line.quantity < 1 || entry.0 > MAX_QUANTITY {
            return Err(on(
                UserError::new(
                    ErrorCode::InvalidQuantity,
                    Message::new("quantity-per-variant").with("max", MAX_QUANTITY),
                ),
                &line_field(index, "quantity"),
            ));
        }
    }
    Ok(wanted)
}

/// The store's sale with this key, if there is one.
async fn by_key(db: &impl ConnectionTrait, store_id: StoreId, key: &str) -> AppResult<Option<counter_sale::Model>> {
    Ok(counter_sale::Entity::find()
        .filter(counter_sale::Column::StoreId.eq(store_id))
        .filter(counter_sale::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?)
}

/// `HKS`, the day in China and ten random characters: a counter sale's order number.
fn sale_number(day: NaiveDate) -> String {
    let random = uuid::Uuid::new_v4().simple().to_string().to_ascii_uppercase();
    format!("HKS{}{}", day.format("%Y%m%d"), &random[..10])
}

/// A priced line: variant, producer, quantity, unit price, line total.
struct Priced {
    variant_id: VariantId,
    product_id: crate::infra::ids::ProductId,
    producer_id: crate::infra::ids::ProducerId,
    quantity: i32,
    unit_price: Fen,
    line_total: Fen,
    index: usize,
}

/// Prices every line at its variant's price, refusing what does not sell today (and, for the
/// allowance, what the poverty-relief catalogue does not list).
fn price(
    wanted: &BTreeMap<VariantId, (i32, usize)>,
    offers: &std::collections::HashMap<VariantId, Offer>,
    method: CounterPaymentMethod,
) -> AppResult<Result<(Vec<Priced>, Fen), UserError>> {
    let mut lines = Vec::with_capacity(wanted.len());
    let mut total = Fen::ZERO;
    for (variant_id, (quantity, index)) in wanted {
        let path = line_field(*index, "variantId");
        let Some(offer) = offers.get(variant_id) else {
            return Ok(Err(on(UserError::new(ErrorCode::NotFound, "variant-not-found"), &path)));
        };
        if !offer.on_sale {
            return Ok(Err(on(
                UserError::new(
                    ErrorCode::NotOnSale,
                    Message::new("not-on-sale").with("product", offer.product_name.as_str()),
                ),
                &path,
            )));
        }
        if method == CounterPaymentMethod::WelfareAllowance && !offer.in_catalogue {
            return Ok(Err(on(
                UserError::new(
                    ErrorCode::NotEligible,
                    Message::new("allowance-product-not-eligible").with("product", offer.product_name.as_str()),
                ),
                &path,
            )));
        }
        let unit_price = offer.variant.price_fen;
        let line_total = unit_price
            .checked_mul(i64::from(*quantity))
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("line total overflows")))?;
        total = total
            .checked_add(line_total)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("sale total overflows")))?;
        lines.push(Priced {
            variant_id: *variant_id,
            product_id: offer.variant.product_id,
            producer_id: offer.producer_id,
            quantity: *quantity,
            unit_price,
            line_total,
            index: *index,
        });
    }
    Ok(Ok((lines, total)))
}

/// Who pays with the allowance: the member whose code the clerk took (this minute's or the
/// last), or why not.
async fn paying_member(
    db: &impl ConnectionTrait,
    request: &SaleRequest,
    now: DateTime<Utc>,
) -> AppResult<Result<Option<membership::Model>, UserError>> {
    if request.payment_method != CounterPaymentMethod::WelfareAllowance {
        return Ok(Ok(None));
    }
    let code = request.member_code.as_deref().unwrap_or_default();
    Ok(match funds::member_of_code(db, code, now).await? {
        Some(member) if member.organisation_id.is_some() => Ok(Some(member)),
        _ => Err(UserError::new(ErrorCode::InvalidCode, "counter-code-invalid").on_field(&["input", "memberCode"])),
    })
}

pub(super) fn key_taken(error: &DbErr) -> bool {
    matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Takes the store's day for this sale: opened by its first sale, refused once closed. Last in
/// the transaction, so the day's row is held only from here to the commit; a closing that
/// came first makes this refuse, one that comes after waits for this sale and counts it.
pub(super) async fn take_day(txn: &impl ConnectionTrait, store_id: StoreId, day: NaiveDate) -> AppResult<bool> {
    store_day::Entity::insert(store_day::ActiveModel {
        store_id: Set(store_id),
        business_date: Set(day),
        sales_count: Set(0),
        cash_expected_fen: Set(None),
        cash_counted_fen: Set(None),
        difference_fen: Set(None),
        closed_by: Set(None),
        closed_at: Set(None),
    })
    .on_conflict(
        OnConflict::columns([store_day::Column::StoreId, store_day::Column::BusinessDate])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    let taken = store_day::Entity::update_many()
        .col_expr(
            store_day::Column::SalesCount,
            Expr::col(store_day::Column::SalesCount).add(1),
        )
        .filter(store_day::Column::StoreId.eq(store_id))
        .filter(store_day::Column::BusinessDate.eq(day))
        .filter(store_day::Column::ClosedAt.is_null())
        .exec(txn)
        .await?;
    Ok(taken.rows_affected == 1)
}

/// `recordCounterSale` by a clerk of `store`.
pub async fn record_sale(
    db: &DatabaseConnection,
    payouts: PayoutSettings,
    store: &store::Model,
    clerk_id: UserId,
    request: SaleRequest,
) -> Outcome<counter_sale::Model> {
    let wanted = match check(&request) {
        Ok(wanted) => wanted,
        Err(problem) => return Ok(Err(problem)),
    };
    let key = request.idempotency_key.trim().to_owned();
    if let Some(sale) = by_key(db, store.id, &key).await? {
        return Ok(Ok(sale));
    }
    let now = Utc::now();
    let day = today_in_china();
    let member = match paying_member(db, &request, now).await? {
        Ok(member) => member,
        Err(problem) => return Ok(Err(problem)),
    };
    let offers = offers(db, wanted.keys().copied()).await?;
    let (lines, total) = match price(&wanted, &offers, request.payment_method)? {
        Ok(priced) => priced,
        Err(problem) => return Ok(Err(problem)),
    };
    let txn = begin_write(db).await?;
    let allowance = if member.is_some() { total } else { Fen::ZERO };
    let inserted = order::ActiveModel {
        number: Set(sale_number(day)),
        // The member who paid, so the sale is in their orders and credited to their
        // organisation; otherwise the clerk who sold (the buyer at a counter is nobody known).
        buyer_id: Set(member.as_ref().map_or(clerk_id, |m| m.user_id)),
        status: Set(OrderStatus::Delivered),
        payment_method: Set(request.payment_method.order_method()),
        total_fen: Set(total),
        idempotency_key: Set(format!("counter-{}-{key}", store.id)),
        referral_code: Set(None),
        union_id: Set(member.as_ref().and_then(|m| m.organisation_id)),
        ship_name: Set(store.name.clone()),
        ship_phone: Set(String::new()),
        ship_province: Set(String::new()),
        ship_city: Set(String::new()),
        ship_district: Set(String::new()),
        ship_line1: Set(store.address.clone()),
        ship_postal_code: Set(None),
        reserved_until: Set(None),
        created_at: Set(now),
        paid_at: Set(Some(now)),
        shipped_at: Set(Some(now)),
        delivered_at: Set(Some(now)),
        cancelled_at: Set(None),
        allowance_fen: Set(allowance),
        remainder_method: Set(None),
        bulk: Set(false),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let order = match inserted {
        Ok(order) => order,
        Err(error) if key_taken(&error) => return sold_meanwhile(db, txn, store.id, &key).await,
        Err(error) => return Err(error.into()),
    };
    let sale = counter_sale::ActiveModel {
        store_id: Set(store.id),
        order_id: Set(order.id),
        clerk_id: Set(clerk_id),
        payment_method: Set(request.payment_method),
        total_fen: Set(total),
        business_date: Set(day),
        idempotency_key: Set(key.clone()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let sale = match sale {
        Ok(sale) => sale,
        Err(error) if key_taken(&error) => return sold_meanwhile(db, txn, store.id, &key).await,
        Err(error) => return Err(error.into()),
    };
    let fee_bps = payouts.line_fee_bps();
    order_line::Entity::insert_many(lines.iter().map(|line| order_line::ActiveModel {
        order_id: Set(order.id),
        variant_id: Set(line.variant_id),
        product_id: Set(line.product_id),
        producer_id: Set(line.producer_id),
        quantity: Set(line.quantity),
        unit_price_fen: Set(line.unit_price),
        line_total_fen: Set(line.line_total),
        platform_fee_bps: Set(Some(fee_bps)),
        ..Default::default()
    }))
    .exec_without_returning(&txn)
    .await?;
    if let Some(member) = &member
        && !funds::spend(&txn, member.id, order.id, total, now).await?
    {
        txn.rollback().await?;
        let balance = funds::allowance(db, member.id, now).await?;
        return Ok(Err(UserError::new(
            ErrorCode::InsufficientAllowance,
            Message::new("allowance-insufficient")
                .with("total", total)
                .with("balance", balance),
        )
        .on_field(&["input", "paymentMethod"])));
    }
    // Paid as it is sold: refunds at the counter take the one refund path from this payment.
    let provider = if member.is_some() {
        ProviderKind::Allowance
    } else {
        ProviderKind::Counter
    };
    paid_at_once(&txn, &order, provider, now).await?;
    ledger::record_delivery(&txn, order.id, now, payouts).await?;
    // The shelf in variant order (no deadlocks between tills), then the day.
    for line in &lines {
        if !shelf::take(
            &txn,
            store.id,
            line.variant_id,
            i64::from(line.quantity),
            order.id,
            clerk_id,
        )
        .await?
        {
            let name = offers.get(&line.variant_id).map_or("", |o| o.variant.name.as_str());
            let short = UserError::new(
                ErrorCode::NotOnShelf,
                Message::new("not-on-shelf").with("variant", name),
            );
            return end_write(txn, Err(on(short, &line_field(line.index, "quantity")))).await;
        }
    }
    if !take_day(&txn, store.id, day).await? {
        return end_write(txn, Err(UserError::new(ErrorCode::DayClosed, "store-day-closed"))).await;
    }
    end_write(txn, Ok(sale)).await
}

/// Another till's request with the same key sold meanwhile (the unique key refused this one):
/// its sale is the answer to both.
async fn sold_meanwhile(
    db: &DatabaseConnection,
    txn: sea_orm::DatabaseTransaction,
    store_id: StoreId,
    key: &str,
) -> Outcome<counter_sale::Model> {
    txn.rollback().await?;
    let sale = by_key(db, store_id, key)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("idempotent counter sale vanished")))?;
    Ok(Ok(sale))
}
