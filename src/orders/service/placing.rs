//! Placing an order: every line checked, prices snapshot, stock reserved for all lines or
//! none, and the payment started.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set, SqlErr,
};

use crate::accounts::entity::user;
use crate::catalogue::entity::{catalogue_entry, product, variant};
use crate::catalogue::today_in_china;
use crate::infra::db::begin_write;
use crate::infra::error::{AppError, AppResult, Outcome, UserError};
use crate::infra::i18n::Message;
use crate::infra::ids::UserId;
use crate::infra::ids::{CatalogueEntryId, ProducerId, ProductId, VariantId};
use crate::infra::money::Fen;
use crate::inventory::{self, Moved, Movement};
use crate::orders::entity::{order, order_line, shipment};
use crate::orders::service::lifecycle::mark_paid;
use crate::orders::{OrderStatus, PaymentMethod};
use crate::payments::checkout::Checkout;
use crate::payments::entity::payment;
use crate::payments::service as payments;
use crate::payments::{PaymentStatus, ProviderKind};
use crate::shop::{Effect, OrderLimits, Shop};
use crate::unions::funds;
use crate::unions::service as unions;

pub const MAX_QUANTITY: i32 = 999;
pub const MAX_LINES: usize = 50;

pub struct LineRequest {
    pub variant_id: Option<VariantId>,
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
    /// With WELFARE_ALLOWANCE: pays what the allowance does not cover.
    pub remainder_method: Option<PaymentMethod>,
    pub referral_code: Option<String>,
    /// Where the buyer pays from, for WeChat Pay and Alipay paid directly.
    pub checkout: Checkout,
}

/// A placed (or found again) order, and whether stock ran out because of it.
pub(super) struct Reserved {
    pub order: order::Model,
    pub availability_changed: bool,
    pub variant_ids: Vec<VariantId>,
    /// An order paid as it was placed (by allowance or fund): its stock sold.
    pub paid: Effect,
    /// The payment row written with the order, waiting for its provider to start it.
    pub payment: Option<payment::Model>,
}

impl Reserved {
    /// An order placed before with the same idempotency key: nothing moved now.
    pub(super) fn found_again(order: order::Model) -> Reserved {
        Reserved {
            order,
            availability_changed: false,
            variant_ids: Vec::new(),
            paid: Effect::default(),
            payment: None,
        }
    }
}

/// A placed order, and what went wrong starting its payment (the order stands either way: the
/// same idempotency key starts the payment again).
pub struct Placed {
    pub order: order::Model,
    pub payment_problem: Option<UserError>,
}

/// `placeOrder`: reserves the stock (one transaction), tells the storefront cache, and starts
/// the payment. A payment that cannot be started now leaves the order standing and says so.
pub async fn place(shop: &Shop, buyer_id: UserId, mut request: OrderRequest) -> Outcome<Placed> {
    let checkout = std::mem::take(&mut request.checkout);
    Ok(match place_order(shop, buyer_id, request).await? {
        Ok(reserved) => Ok(announce_and_start_payment(shop, reserved, &checkout).await),
        Err(problem) => Err(problem),
    })
}

/// After the placing transaction committed: the storefront cache hears of the stock moved, and
/// the payment starts.
pub(super) async fn announce_and_start_payment(shop: &Shop, reserved: Reserved, checkout: &Checkout) -> Placed {
    shop.announce(
        Effect::stock_moved(reserved.variant_ids.iter().copied(), reserved.availability_changed).and(reserved.paid),
    )
    .await;
    let started = match reserved.payment {
        Some(row) => payments::start_with(shop, &reserved.order, Some(row), checkout).await,
        None => payments::start(shop, &reserved.order, checkout).await,
    };
    let payment_problem = match started {
        Ok(Ok(_)) => None,
        Ok(Err(problem)) => Some(problem),
        Err(error) => {
            tracing::error!(error = ?error, order = reserved.order.id.0, "starting a payment failed");
            Some(UserError::new("PAYMENTS_UNAVAILABLE", "payment-not-started"))
        }
    };
    Placed {
        order: reserved.order,
        payment_problem,
    }
}

fn invalid(path: &[&str], message: impl Into<Message>) -> UserError {
    UserError::new("INVALID_INPUT", message).on_field(path)
}

fn check_text(value: &str, max_chars: usize) -> Result<(), Message> {
    let chars = value.trim().chars().count();
    if chars == 0 || chars > max_chars {
        return Err(Message::new("text-length").with("max", max_chars));
    }
    Ok(())
}

/// Checks a delivery address; the field at fault and why, when it is not one.
pub(super) fn check_address(address: &Address) -> Result<(), (&'static str, Message)> {
    for (field, value, max_chars) in [
        ("name", &address.name, 50),
        ("province", &address.province, 50),
        ("city", &address.city, 50),
        ("district", &address.district, 50),
        ("line1", &address.line1, 200),
    ] {
        check_text(value, max_chars).map_err(|problem| (field, problem))?;
    }
    let phone = address.phone.trim();
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    if !(5..=20).contains(&digits)
        || phone.chars().count() > 30
        || !phone.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c))
    {
        return Err(("phone", Message::new("phone-digits")));
    }
    if let Some(code) = address.postal_code.as_deref().map(str::trim).filter(|c| !c.is_empty())
        && !(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(("postalCode", Message::new("postal-code-digits")));
    }
    Ok(())
}

/// Checks the request's own fields; returns the quantity wanted per variant.
fn validate(request: &OrderRequest) -> Result<BTreeMap<VariantId, (i32, usize)>, UserError> {
    let key_chars = request.idempotency_key.chars().count();
    if key_chars == 0 || key_chars > 100 {
        return Err(invalid(&["input", "idempotencyKey"], "idempotency-key-length"));
    }
    if request.lines.is_empty() || request.lines.len() > MAX_LINES {
        return Err(invalid(
            &["input", "lines"],
            Message::new("order-line-count").with("max", MAX_LINES),
        ));
    }
    // Lines of the same variant are one line: their quantities add up.
    let mut wanted: BTreeMap<VariantId, (i32, usize)> = BTreeMap::new();
    for (index, line) in request.lines.iter().enumerate() {
        let at = index.to_string();
        if !(1..=MAX_QUANTITY).contains(&line.quantity) {
            return Err(UserError::new(
                "INVALID_QUANTITY",
                Message::new("quantity-range").with("max", MAX_QUANTITY),
            )
            .on_field(&["input", "lines", &at, "quantity"]));
        }
        let Some(variant_id) = line.variant_id else {
            return Err(UserError::new("NOT_FOUND", "variant-not-found").on_field(&[
                "input",
                "lines",
                &at,
                "variantId",
            ]));
        };
        let entry = wanted.entry(variant_id).or_insert((0, index));
        entry.0 += line.quantity;
        if entry.0 > MAX_QUANTITY {
            return Err(UserError::new(
                "INVALID_QUANTITY",
                Message::new("quantity-per-variant").with("max", MAX_QUANTITY),
            )
            .on_field(&["input", "lines", &at, "quantity"]));
        }
    }
    if let Err((field, problem)) = check_address(&request.address) {
        return Err(invalid(&["input", "shippingAddress", field], problem));
    }
    if let Some(code) = &request.referral_code
        && (code.is_empty() || code.len() > 64)
    {
        return Err(invalid(&["input", "referralCode"], "referral-code-length"));
    }
    if request.payment_method == PaymentMethod::OrganisationFund {
        return Err(invalid(&["input", "paymentMethod"], "organisation-fund-bulk-only"));
    }
    match request.remainder_method {
        None => {}
        Some(_) if request.payment_method != PaymentMethod::WelfareAllowance => {
            return Err(invalid(&["input", "remainderMethod"], "remainder-only-with-allowance"));
        }
        Some(PaymentMethod::WelfareAllowance | PaymentMethod::OrganisationFund) => {
            return Err(invalid(&["input", "remainderMethod"], "remainder-method-invalid"));
        }
        Some(_) => {}
    }
    Ok(wanted)
}

/// The buyer's order with this idempotency key, if there is one.
pub async fn by_idempotency_key(
    db: &impl ConnectionTrait,
    buyer_id: UserId,
    key: &str,
) -> AppResult<Option<order::Model>> {
    Ok(order::Entity::find()
        .filter(order::Column::BuyerId.eq(buyer_id))
        .filter(order::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?)
}

/// Whether inserting an order failed because its buyer's idempotency key is taken: another
/// request with the same key placed it meanwhile.
pub(super) fn key_taken(error: &DbErr) -> bool {
    matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// The order another request with the same buyer and key placed while this one was placing
/// (the unique key refused this one's insert, and the caller rolled back): that order is the
/// answer to both.
pub(super) async fn placed_meanwhile(db: &DatabaseConnection, buyer_id: UserId, key: &str) -> AppResult<Reserved> {
    let order = by_idempotency_key(db, buyer_id, key)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("idempotent order vanished")))?;
    Ok(Reserved::found_again(order))
}

/// Takes the buyer's row for the rest of the transaction, so that the buyer's concurrent orders
/// count their holds and read the allowance one after the other.
async fn take_buyer(txn: &impl ConnectionTrait, buyer_id: UserId) -> AppResult<()> {
    user::Entity::update_many()
        .col_expr(user::Column::Id, Expr::col(user::Column::Id))
        .filter(user::Column::Id.eq(buyer_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Refuses an order that would have the buyer hold more unpaid orders or units than the limits
/// allow, its first unpaid order included, with when the oldest of its holds ends (this
/// order's own `reserved_until` when it would be the first). Call it after [`take_buyer`].
/// An organisation's bulk orders count against the organisation, not their admin.
async fn within_limits(
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

/// `HK`, the day in China, and ten random characters: unique without a counter (the unique
/// key catches the improbable clash).
pub(super) fn order_number() -> String {
    let china_day = today_in_china().format("%Y%m%d");
    let random = uuid::Uuid::new_v4().simple().to_string().to_ascii_uppercase();
    format!("HK{china_day}{}", &random[..10])
}

/// A variant as it may be sold today.
pub(super) struct Offer {
    pub variant: variant::Model,
    pub producer_id: ProducerId,
    pub product_name: String,
    /// Listed in the poverty-relief catalogue (目录): welfare money may buy it.
    pub in_catalogue: bool,
    /// Not withdrawn: a catalogue product sells while its entry is valid.
    pub on_sale: bool,
}

/// The variants of `variant_ids` that exist, with what decides whether they sell today.
pub(super) async fn offers(
    db: &impl ConnectionTrait,
    variant_ids: impl IntoIterator<Item = VariantId>,
) -> AppResult<HashMap<VariantId, Offer>> {
    let variants = variant::Entity::find()
        .filter(variant::Column::Id.is_in(variant_ids))
        .all(db)
        .await?;
    let products: HashMap<ProductId, product::Model> = product::Entity::find()
        .filter(product::Column::Id.is_in(variants.iter().map(|v| v.product_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let entries: HashMap<CatalogueEntryId, catalogue_entry::Model> = catalogue_entry::Entity::find()
        .filter(catalogue_entry::Column::Id.is_in(products.values().filter_map(|p| p.catalogue_entry_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    let today = today_in_china();
    Ok(variants
        .into_iter()
        .filter_map(|variant| {
            let product = products.get(&variant.product_id)?;
            let on_sale = product
                .catalogue_entry_id
                .is_none_or(|entry_id| entries.get(&entry_id).is_some_and(|entry| entry.is_valid_on(today)));
            Some((
                variant.id,
                Offer {
                    producer_id: product.producer_id,
                    product_name: product.name.clone(),
                    in_catalogue: product.catalogue_entry_id.is_some(),
                    on_sale,
                    variant,
                },
            ))
        })
        .collect())
}

/// `placeOrder`: validates every line, snapshots prices and reserves stock for all lines or
/// none, in one transaction. The same key from the same buyer returns the same order, also
/// when two requests race (the unique index decides).
async fn place_order(shop: &Shop, buyer_id: UserId, request: OrderRequest) -> Outcome<Reserved> {
    let (db, settings) = (&shop.db, &shop.settings);
    let wanted = match validate(&request) {
        Ok(wanted) => wanted,
        Err(problem) => return Ok(Err(problem)),
    };
    if let Some(order) = by_idempotency_key(db, buyer_id, &request.idempotency_key).await? {
        return Ok(Ok(Reserved::found_again(order)));
    }

    let offers = offers(db, wanted.keys().copied()).await?;
    let now = Utc::now();
    // A live session's code sells its approved items at the session price, from the quota.
    let session = crate::livestream::sessions::live_offer(db, request.referral_code.as_deref(), now).await?;
    let mut lines = Vec::with_capacity(wanted.len());
    let mut total = Fen::ZERO;
    for (variant_id, (quantity, index)) in &wanted {
        let at = index.to_string();
        let Some(offer) = offers.get(variant_id) else {
            return Ok(Err(UserError::new("NOT_FOUND", "variant-not-found").on_field(&[
                "input",
                "lines",
                &at,
                "variantId",
            ])));
        };
        let variant = &offer.variant;
        if !offer.on_sale {
            return Ok(Err(UserError::new(
                "NOT_ON_SALE",
                Message::new("not-on-sale").with("product", offer.product_name.as_str()),
            )
            .on_field(&["input", "lines", &at, "variantId"])));
        }
        // Welfare money buys only what the poverty-relief catalogue (目录) lists.
        if request.payment_method == PaymentMethod::WelfareAllowance && !offer.in_catalogue {
            return Ok(Err(UserError::new(
                "NOT_ELIGIBLE",
                Message::new("allowance-product-not-eligible").with("product", offer.product_name.as_str()),
            )
            .on_field(&["input", "lines", &at, "variantId"])));
        }
        let unit_price = session.price_of(variant.id).unwrap_or(Fen::new(variant.price_fen));
        let line_total = unit_price
            .checked_mul(i64::from(*quantity))
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("line total overflows")))?;
        total = total
            .checked_add(line_total)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("order total overflows")))?;
        lines.push((
            variant.clone(),
            offer.producer_id,
            *quantity,
            unit_price,
            line_total,
            at,
        ));
    }

    let reserved_until =
        now + chrono::Duration::from_std(settings.reservation).map_err(|e| AppError::Internal(e.into()))?;
    let address = request.address;
    let txn = begin_write(db).await?;
    take_buyer(&txn, buyer_id).await?;
    // Credited to the organisation the buyer belongs to now (read in the transaction that
    // places the order, so an order placed as a member leaving counts one way, consistently).
    let membership = unions::current_membership(&txn, buyer_id).await?;
    let organisation = membership.as_ref().and_then(|m| m.organisation_id);
    // The allowance pays all it can (the buyer's row, taken above, makes the buyer's orders
    // read it one after the other); short of the total, the remainder method pays the rest.
    let (allowance_from, allowance_part) = match (&membership, request.payment_method) {
        (Some(membership), PaymentMethod::WelfareAllowance) => {
            let balance = funds::allowance(&txn, membership.id, now).await?;
            if balance < total && request.remainder_method.is_none() {
                txn.rollback().await?;
                return Ok(Err(UserError::new(
                    "INSUFFICIENT_ALLOWANCE",
                    Message::new("allowance-insufficient")
                        .with("total", total)
                        .with("balance", balance),
                )
                .on_field(&["input", "paymentMethod"])));
            }
            (Some(membership.id), Ord::min(balance, total))
        }
        (None, PaymentMethod::WelfareAllowance) => {
            txn.rollback().await?;
            return Ok(Err(
                UserError::new("NOT_ELIGIBLE", "allowance-members-only").on_field(&["input", "paymentMethod"])
            ));
        }
        _ => (None, Fen::ZERO),
    };
    let remainder_method = (allowance_part < total).then_some(request.remainder_method).flatten();
    // Every order that waits for its money holds stock unpaid; one the allowance pays in full
    // is paid in this transaction and holds nothing.
    let paid_at_once = allowance_from.is_some() && remainder_method.is_none();
    if !paid_at_once
        && let Err(problem) =
            within_limits(&txn, buyer_id, &wanted, settings.order_limits, (now, reserved_until)).await?
    {
        txn.rollback().await?;
        return Ok(Err(problem));
    }
    let inserted = order::ActiveModel {
        number: Set(order_number()),
        buyer_id: Set(buyer_id),
        status: Set(OrderStatus::PendingPayment),
        payment_method: Set(request.payment_method),
        total_fen: Set(total.get()),
        idempotency_key: Set(request.idempotency_key.clone()),
        referral_code: Set(request.referral_code.clone()),
        union_id: Set(organisation),
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
        allowance_fen: Set(allowance_part.get()),
        remainder_method: Set(remainder_method),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let mut order = match inserted {
        Ok(order) => order,
        Err(error) if key_taken(&error) => {
            txn.rollback().await?;
            return Ok(Ok(placed_meanwhile(db, buyer_id, &request.idempotency_key).await?));
        }
        Err(error) => return Err(error.into()),
    };
    // The platform's fee is the rate in force now, kept with the line: delivery and every
    // refund take it from there, whatever the setting is by then.
    let fee_bps = i32::try_from(settings.payouts.platform_fee_bps).unwrap_or(i32::MAX);
    order_line::Entity::insert_many(
        lines.iter().map(
            |(variant, producer_id, quantity, unit_price, line_total, _)| order_line::ActiveModel {
                order_id: Set(order.id),
                variant_id: Set(variant.id),
                product_id: Set(variant.product_id),
                producer_id: Set(*producer_id),
                quantity: Set(*quantity),
                unit_price_fen: Set(unit_price.get()),
                line_total_fen: Set(line_total.get()),
                platform_fee_bps: Set(Some(fee_bps)),
                ..Default::default()
            },
        ),
    )
    .exec_without_returning(&txn)
    .await?;
    let mut producers: Vec<ProducerId> = lines.iter().map(|(_, producer_id, ..)| *producer_id).collect();
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
    if let Some(code) = &request.referral_code {
        crate::livestream::attribution::attribute(&txn, order.id, buyer_id, code, now).await?;
    }
    if let Err(problem) = crate::livestream::quota::claim(&txn, &session, order.id, buyer_id, &wanted, now).await? {
        txn.rollback().await?;
        return Ok(Err(problem));
    }
    // The payment waits in the order's own transaction (one commit places both), written
    // before the stock so that it adds nothing to the time a hot variant's row is locked.
    let payment = match paid_at_once {
        true => None,
        false => payments::open(&txn, shop, &order).await?,
    };
    // Stock last, in variant order (no deadlocks between orders of several lines): a hot
    // variant's row is locked only from here to the commit.
    let mut availability_changed = false;
    for (variant, _, quantity, _, _, at) in &lines {
        // Units from a session's quota are held already (set aside at approval).
        if session.serves(variant.id) {
            continue;
        }
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
                    Message::new("out-of-stock").with("variant", variant.name.as_str()),
                )
                .on_field(&["input", "lines", at, "quantity"])));
            }
        }
    }
    let mut paid = Effect::default();
    if let Some(membership_id) = allowance_from {
        // Grants that expired or closed since the balance was read: refused, nothing spent.
        if !funds::spend(&txn, membership_id, order.id, allowance_part, now).await? {
            txn.rollback().await?;
            return Ok(Err(UserError::new(
                "INSUFFICIENT_ALLOWANCE",
                Message::new("allowance-insufficient")
                    .with("total", total)
                    .with("balance", allowance_part),
            )
            .on_field(&["input", "paymentMethod"])));
        }
    }
    // Fully covered: paid now. Split: the remainder's payment starts after the commit, like
    // any other order's.
    if paid_at_once {
        paid = pay_at_once(&txn, &order, ProviderKind::Allowance, now).await?;
        order = order::Entity::find_by_id(order.id)
            .one(&txn)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("order {} vanished", order.id)))?;
    }
    txn.commit().await?;
    Ok(Ok(Reserved {
        order,
        availability_changed,
        variant_ids: lines.iter().map(|(variant, ..)| variant.id).collect(),
        paid,
        payment,
    }))
}

/// Inside the placing transaction, once the allowance or the organisation's fund has paid: the
/// payment SUCCEEDED and the order PAID, so such an order is never left waiting with the money
/// taken.
pub(super) async fn pay_at_once(
    txn: &impl ConnectionTrait,
    order: &order::Model,
    provider: ProviderKind,
    now: DateTime<Utc>,
) -> AppResult<Effect> {
    payment::ActiveModel {
        order_id: Set(order.id),
        provider: Set(provider),
        status: Set(PaymentStatus::Succeeded),
        amount_fen: Set(order.total_fen),
        refunded_fen: Set(0),
        currency: Set("cny".to_owned()),
        stripe_payment_intent_id: Set(None),
        client_secret: Set(None),
        bank_reference: Set(None),
        last_error: Set(None),
        needs_review: Set(false),
        review_reason: Set(None),
        next_action_kind: Set(None),
        next_action: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    mark_paid(txn, order.id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("order {} left its placing state", order.id)))
}
