//! Placing an order: every line checked, prices snapshot, stock reserved for all lines or
//! none, and the payment started. The request's lines come from the input or the buyer's cart
//! and its destination from the input or the address book (`request`); lines are priced by
//! `pricing`; the order's identity is its buyer's idempotency key (`keys`).

mod batch;
mod keys;
mod paid;
mod pricing;
mod request;
mod shipping;

use pricing::PricedLine;
use shipping::Shipping;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, DatabaseTransaction, EntityTrait, Set, TransactionTrait};

use crate::accounts::entity::{membership, user};
use crate::cart::take_user;
use crate::infra::db::{begin_write, end_write};
use crate::infra::error::{AppError, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;
use crate::infra::ids::{StoreId, UserId, VariantId};
use crate::infra::money::Fen;
use crate::inventory::{Figure, Moved, Movement};
use crate::livestream::attribution::{self, Referral};
use crate::livestream::links::live_by_code;
use crate::livestream::sessions::{LiveOffer, live_offer};
use crate::orders::entity::{order, order_line, shipment};
use crate::orders::service::holds::within_buyer_limits;
use crate::orders::service::state::move_units;
use crate::orders::{OrderStatus, PaymentMethod};
use crate::organisations::{current_membership, funds};
use crate::payments::ProviderKind;
use crate::payments::checkout::Checkout;
use crate::payments::entity::payment;
use crate::payments::service as payments;
use crate::shop::{Effect, Shop};

pub use crate::cart::address::Address;
pub(super) use crate::cart::address::check_address;
pub(super) use crate::cart::offers::{Offer, offers};
pub use keys::by_idempotency_key;
pub(super) use keys::{key_taken, order_number, pickup_code, placed_meanwhile};
pub(super) use paid::pay_at_once;
pub use request::{Destination, LineRequest, LineSource, MAX_LINES, MAX_QUANTITY, exactly_one};

pub struct OrderRequest {
    pub lines: LineSource,
    pub destination: Destination,
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
    /// The stock figures its reservation left, for the storefront's mirror.
    pub figures: Vec<(VariantId, Figure)>,
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
            figures: Vec::new(),
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
        Effect::stock_moved(reserved.variant_ids.iter().copied(), reserved.availability_changed)
            .with_figures(reserved.figures)
            .and(reserved.paid),
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
            Some(UserError::new(ErrorCode::PaymentsUnavailable, "payment-not-started"))
        }
    };
    Placed {
        order: reserved.order,
        payment_problem,
    }
}

/// `placeOrder`: validates every line, snapshots prices and reserves stock for all lines or
/// none, in one transaction (a hot variant's orders: one batch's, see `batch`). The same key
/// from the same buyer returns the same order, also when two requests race (the unique index
/// decides).
async fn place_order(shop: &Shop, buyer_id: UserId, request: OrderRequest) -> Outcome<Reserved> {
    let prepared = match prepare(shop, buyer_id, request).await? {
        Ok(Ready::Write(prepared)) => prepared,
        Ok(Ready::Found(order)) => return Ok(Ok(Reserved::found_again(order))),
        Err(problem) => return Ok(Err(problem)),
    };
    match batch::lane_of(shop, &prepared) {
        Some(variant) => batch::place(shop, variant, prepared).await,
        None => write(&shop.db, shop, prepared, Taken::NotYet).await,
    }
}

/// An order checked and priced, ready to be written.
pub(super) struct Prepared {
    buyer_id: UserId,
    idempotency_key: String,
    payment_method: PaymentMethod,
    remainder_method: Option<PaymentMethod>,
    referral_code: Option<String>,
    /// What the code credits, read before the transaction.
    referral: Option<Referral>,
    from_cart: bool,
    pickup_store: Option<StoreId>,
    address: Address,
    wanted: BTreeMap<VariantId, (i32, usize)>,
    session: LiveOffer,
    lines: Vec<PricedLine>,
    shipping: Shipping,
    total: Fen,
    now: DateTime<Utc>,
    reserved_until: DateTime<Utc>,
}

/// The buyer's row, which placing takes first (its orders are written one after the other),
/// and the buyer's membership, read once it is taken.
pub(super) enum Taken {
    /// Taken by the batch the order is written in (`buyer` none: no such user).
    Before {
        buyer: Option<Box<user::Model>>,
        membership: Option<membership::Model>,
    },
    NotYet,
}

enum Ready {
    /// Placed before with the same key.
    Found(order::Model),
    Write(Prepared),
}

/// Everything an order needs read and checked before its transaction.
async fn prepare(shop: &Shop, buyer_id: UserId, request: OrderRequest) -> Outcome<Ready> {
    let (db, settings) = (&shop.db, &shop.settings);
    if let Err(problem) = request::check_request(&request) {
        return Ok(Err(problem));
    }
    // Before the cart is read: a retry of an order placed from the cart finds it emptied.
    if let Some(order) = by_idempotency_key(db, buyer_id, &request.idempotency_key).await? {
        return Ok(Ok(Ready::Found(order)));
    }
    let resolved = match request::resolve(db, buyer_id, request.lines, request.destination).await? {
        Ok(resolved) => resolved,
        Err(problem) => return Ok(Err(problem)),
    };
    let wanted = match request::wanted(&resolved.lines) {
        Ok(wanted) => wanted,
        Err(problem) => return Ok(Err(problem)),
    };
    let offers = offers(db, wanted.keys().copied()).await?;
    let now = Utc::now();
    // A live session's code sells its approved items at the session price, from the quota
    // (online stock: a pickup order sells from its store's shelf, at the shelf's prices).
    let link = match &request.referral_code {
        Some(code) => live_by_code(db, code).await?,
        None => None,
    };
    let session = match resolved.pickup_store {
        None => live_offer(db, link.as_ref(), now).await?,
        Some(_) => Default::default(),
    };
    let (lines, subtotal) = match pricing::price_lines(&wanted, &offers, &session, request.payment_method)? {
        Ok(priced) => priced,
        Err(problem) => return Ok(Err(problem)),
    };
    let shipping = match resolved.pickup_store {
        Some(_) => Shipping::none(),
        None => match shipping::shipping_of(db, &lines, &resolved.address.province, resolved.address_field).await? {
            Ok(shipping) => shipping,
            Err(problem) => return Ok(Err(problem)),
        },
    };
    let total = subtotal
        .checked_add(shipping.total)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("order total overflows")))?;

    let referral = match &request.referral_code {
        Some(_) => {
            let products = lines.iter().map(|line| line.variant.product_id);
            attribution::referral(db, link.as_ref(), buyer_id, products, now).await?
        }
        None => None,
    };
    let reserved_until =
        now + chrono::Duration::from_std(settings.reservation).map_err(|e| AppError::Internal(e.into()))?;
    let address = resolved.address.trimmed();
    Ok(Ok(Ready::Write(Prepared {
        buyer_id,
        idempotency_key: request.idempotency_key,
        payment_method: request.payment_method,
        remainder_method: request.remainder_method,
        referral_code: request.referral_code,
        referral,
        from_cart: resolved.from_cart,
        pickup_store: resolved.pickup_store,
        address,
        wanted,
        session,
        lines,
        shipping,
        total,
        now,
        reserved_until,
    })))
}

/// Writes a prepared order in a transaction of its own, or (`parent` a transaction: a batch
/// of a hot variant's orders) in a savepoint of that one: all of it or none, either way. A
/// batch has taken its buyers' rows already (`Taken::Before`).
pub(super) async fn write<C>(parent: &C, shop: &Shop, prepared: Prepared, buyer: Taken) -> Outcome<Reserved>
where
    C: TransactionTrait<Transaction = DatabaseTransaction>,
{
    let (db, settings) = (&shop.db, &shop.settings);
    let Prepared {
        buyer_id,
        idempotency_key,
        payment_method,
        remainder_method: wanted_remainder,
        referral_code,
        referral,
        from_cart,
        pickup_store,
        address,
        wanted,
        session,
        lines,
        shipping,
        total,
        now,
        reserved_until,
    } = prepared;
    let txn = begin_write(parent).await?;
    // Credited to the organisation the buyer belongs to now (read in the transaction that
    // places the order, so an order placed as a member leaving counts one way, consistently).
    let (buyer, membership) = match buyer {
        Taken::Before { buyer, membership } => (buyer.map(|row| *row), membership),
        Taken::NotYet => (
            take_user(&txn, buyer_id).await?,
            current_membership(&txn, buyer_id).await?,
        ),
    };
    let organisation = membership.as_ref().and_then(|m| m.organisation_id);
    // The allowance pays all it can (the buyer's row, taken above, makes the buyer's orders
    // read it one after the other); short of the total, the remainder method pays the rest.
    let (allowance_from, allowance_part) = match (&membership, payment_method) {
        (Some(membership), PaymentMethod::WelfareAllowance) => {
            let balance = funds::allowance(&txn, membership.id, now).await?;
            if balance < total && wanted_remainder.is_none() {
                return end_write(txn, Err(allowance_short(total, balance))).await;
            }
            (Some(membership.id), Ord::min(balance, total))
        }
        (None, PaymentMethod::WelfareAllowance) => {
            return end_write(
                txn,
                Err(UserError::new(ErrorCode::NotEligible, "allowance-members-only")
                    .on_field(&["input", "paymentMethod"])),
            )
            .await;
        }
        _ => (None, Fen::ZERO),
    };
    let remainder_method = (allowance_part < total).then_some(wanted_remainder).flatten();
    // Every order that waits for its money holds stock unpaid; one the allowance pays in full
    // is paid in this transaction and holds nothing.
    let paid_at_once = allowance_from.is_some() && remainder_method.is_none();
    if !paid_at_once
        && let Err(problem) =
            within_buyer_limits(&txn, buyer_id, &wanted, settings.order_limits, (now, reserved_until)).await?
    {
        return end_write(txn, Err(problem)).await;
    }
    let inserted = order::ActiveModel {
        number: Set(order_number()),
        buyer_id: Set(buyer_id),
        status: Set(OrderStatus::PendingPayment),
        payment_method: Set(payment_method),
        total_fen: Set(total),
        shipping_fee_fen: Set(shipping.total),
        idempotency_key: Set(idempotency_key.clone()),
        referral_code: Set(referral_code.clone()),
        union_id: Set(organisation),
        ship_name: Set(address.name),
        ship_phone: Set(address.phone),
        ship_province: Set(address.province),
        ship_city: Set(address.city),
        ship_district: Set(address.district),
        ship_line1: Set(address.line1),
        ship_postal_code: Set(address.postal_code),
        reserved_until: Set(Some(reserved_until)),
        created_at: Set(now),
        allowance_fen: Set(allowance_part),
        remainder_method: Set(remainder_method),
        pickup_store_id: Set(pickup_store),
        pickup_code: Set(pickup_store.map(|_| pickup_code())),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let mut order = match inserted {
        Ok(order) => order,
        Err(error) if key_taken(&error) => {
            txn.rollback().await?;
            return Ok(Ok(placed_meanwhile(db, buyer_id, &idempotency_key).await?));
        }
        Err(error) => return Err(error.into()),
    };
    // The platform's fee is the rate in force now, kept with the line: delivery and every
    // refund take it from there, whatever the setting is by then.
    let fee_bps = i32::try_from(shop.payout_settings().platform_fee_bps).unwrap_or(i32::MAX);
    order_line::Entity::insert_many(lines.iter().map(|line| order_line::ActiveModel {
        order_id: Set(order.id),
        variant_id: Set(line.variant.id),
        product_id: Set(line.variant.product_id),
        producer_id: Set(line.producer_id),
        quantity: Set(line.quantity),
        unit_price_fen: Set(line.unit_price),
        line_total_fen: Set(line.line_total),
        platform_fee_bps: Set(Some(fee_bps)),
        ..Default::default()
    }))
    .exec_without_returning(&txn)
    .await?;
    // One parcel per producer; a pickup order has none (it is collected whole).
    if pickup_store.is_none() {
        shipment::Entity::insert_many(shipping.fees.iter().map(|(producer_id, fee)| shipment::ActiveModel {
            order_id: Set(order.id),
            producer_id: Set(*producer_id),
            tracking_number: Set(None),
            shipped_at: Set(None),
            shipping_fee_fen: Set(*fee),
            ..Default::default()
        }))
        .exec_without_returning(&txn)
        .await?;
    }
    if let Some(referral) = &referral {
        attribution::attribute(&txn, order.id, referral, now).await?;
    }
    if let Err(problem) = crate::livestream::quota::claim(&txn, &session, order.id, buyer_id, &wanted, now).await? {
        return end_write(txn, Err(problem)).await;
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
    let mut figures = Vec::with_capacity(lines.len());
    for PricedLine {
        variant, quantity, at, ..
    } in &lines
    {
        // Units from a session's quota are held already (set aside at approval).
        if session.serves(variant.id) {
            continue;
        }
        let units = (variant.id, i64::from(*quantity));
        match move_units(&txn, pickup_store, Movement::Reserve, units, order.id, Some(buyer_id)).await? {
            Moved::Done {
                availability_flipped,
                figure,
            } => {
                availability_changed |= availability_flipped;
                figures.extend(figure.map(|figure| (variant.id, figure)));
            }
            Moved::Refused => {
                txn.rollback().await?;
                let (code, message) = match pickup_store {
                    None => (ErrorCode::OutOfStock, "out-of-stock"),
                    Some(_) => (ErrorCode::NotOnShelf, "not-on-shelf"),
                };
                return Ok(Err(UserError::new(
                    code,
                    Message::new(message).with("variant", variant.name.as_str()),
                )
                .on_field(&["input", "lines", at, "quantity"])));
            }
        }
    }
    if from_cart {
        crate::cart::lines::remove_placed(&txn, buyer_id, lines.iter().map(|line| line.variant.id)).await?;
    }
    let mut paid = Effect::default();
    if let Some(membership_id) = allowance_from {
        // Grants that expired or closed since the balance was read: refused, nothing spent.
        if !funds::spend(&txn, membership_id, order.id, allowance_part, now).await? {
            return end_write(txn, Err(allowance_short(total, allowance_part))).await;
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
    if let Some(buyer) = &buyer {
        crate::orders::service::notices::placed(&txn, &order, buyer).await?;
    }
    end_write(
        txn,
        Ok(Reserved {
            order,
            availability_changed,
            variant_ids: lines.iter().map(|line| line.variant.id).collect(),
            figures,
            paid,
            payment,
        }),
    )
    .await
}

/// The allowance cannot pay `total` (it holds `balance`) and no other method pays the rest.
fn allowance_short(total: Fen, balance: Fen) -> UserError {
    UserError::new(
        ErrorCode::InsufficientAllowance,
        Message::new("allowance-insufficient")
            .with("total", total)
            .with("balance", balance),
    )
    .on_field(&["input", "paymentMethod"])
}
