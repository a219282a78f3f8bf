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
mod together;
mod write;

use pricing::PricedLine;
use shipping::Shipping;
use write::{Hot, Taken, write};
pub(super) use write::{HotPart, LeftToBatch};

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::infra::error::{AppError, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::ids::{StoreId, UserId, VariantId};
use crate::infra::money::Fen;
use crate::inventory::Figure;
use crate::livestream::attribution::{self, Referral};
use crate::livestream::links::live_by_code;
use crate::livestream::sessions::{LiveOffer, live_offer};
use crate::orders::PaymentMethod;
use crate::orders::entity::order;
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
    /// The variants whose stock its reservation moved.
    pub variant_ids: Vec<VariantId>,
    /// The variants whose live session quota it took (their stock did not move).
    pub quota_variant_ids: Vec<VariantId>,
    /// The stock figures its reservation left, for the storefront's mirror.
    pub figures: Vec<(VariantId, Figure)>,
    /// An order paid as it was placed (by allowance or fund): its stock sold.
    pub paid: Effect,
    /// The payment row written with the order, waiting for its provider to start it.
    pub payment: Option<payment::Model>,
    /// What a batch does for this order at its end, with its other orders' (`Hot::AtTheEnd`).
    pub left_to_batch: LeftToBatch,
}

impl Reserved {
    /// An order placed before with the same idempotency key: nothing moved now.
    pub(super) fn found_again(order: order::Model) -> Reserved {
        Reserved {
            order,
            availability_changed: false,
            variant_ids: Vec::new(),
            quota_variant_ids: Vec::new(),
            figures: Vec::new(),
            paid: Effect::default(),
            payment: None,
            left_to_batch: LeftToBatch::default(),
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
            .and(Effect::quota_moved(reserved.quota_variant_ids))
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
        Some(shard) => batch::place(shop, shard, prepared).await,
        None => write(&shop.db, shop, prepared, Taken::NotYet, Hot::EachOrder).await,
    }
}

/// An order checked and priced, ready to be written.
#[derive(Clone)]
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
