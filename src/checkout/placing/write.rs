//! Writing a prepared order: the buyer's row and membership, the limits, the allowance, the
//! order with its lines, shipments, attribution and payment row, the quota and the stock, in
//! one transaction or in a batch's savepoint.

use sea_orm::{ActiveModelTrait, DatabaseTransaction, EntityTrait, Set, TransactionTrait};

use super::shipping::Shipping;
use super::{Prepared, PricedLine, Reserved, key_taken, order_number, pay_at_once, pickup_code, placed_meanwhile};
use crate::accounts::entity::{membership, user};
use crate::cart::take_user;
use crate::infra::db::{begin_write, end_write};
use crate::infra::error::{AppError, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;
use crate::infra::ids::{LiveSessionItemId, OrderId, OrganisationId, UserId, VariantId};
use crate::infra::mail::{self, OutgoingMail};
use crate::infra::money::Fen;
use crate::inventory::{Moved, Movement};
use crate::livestream::attribution;
use crate::livestream::quota;
use crate::orders::entity::{order, order_line, shipment};
use crate::orders::service::holds::within_buyer_limits;
use crate::orders::service::state::move_units;
use crate::orders::{OrderStatus, PaymentMethod};
use crate::organisations::{current_membership, funds};
use crate::payments::ProviderKind;
use crate::payments::entity::payment;
use crate::payments::service as payments;
use crate::shop::{Effect, Shop};

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

/// When an order's units of a batch's hot row (its variant's stock, or its live session item's
/// quota) are taken: by the order itself, or by its batch, once for all its orders, at the end.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Hot {
    EachOrder,
    AtTheEnd,
}

/// What an order written with `Hot::AtTheEnd` leaves its batch to take.
pub(in crate::checkout) enum HotPart {
    /// Units of the variant's stock, reserved for the order placed by `buyer`.
    Stock {
        variant: VariantId,
        units: i64,
        buyer: UserId,
    },
    /// Units of a live session item's quota (the purchase is written).
    Quota { item: LiveSessionItemId, units: i32 },
}

/// What an order written with `Hot::AtTheEnd` leaves its batch to do at its end, with its other
/// orders', one statement each: take its units of the hot row, and write the rows nothing can
/// refuse once the order stands.
#[derive(Default)]
pub(in crate::checkout) struct LeftToBatch {
    pub hot: Option<HotPart>,
    pub shipments: Vec<shipment::ActiveModel>,
    pub payment: Option<payment::ActiveModel>,
    pub mail: Option<OutgoingMail>,
}

/// Writes a prepared order in a transaction of its own, or (`parent` a transaction: a batch
/// of a hot variant's orders) in a savepoint of that one: all of it or none, either way. A
/// batch has taken its buyers' rows already (`Taken::Before`), and may leave its hot row to
/// the end (`Hot::AtTheEnd`: what the order owes it, and the rows it leaves to the batch, are
/// in `Reserved::left_to_batch`).
pub(super) async fn write<C>(parent: &C, shop: &Shop, prepared: Prepared, buyer: Taken, hot: Hot) -> Outcome<Reserved>
where
    C: TransactionTrait<Transaction = DatabaseTransaction>,
{
    let (db, settings) = (&shop.db, &shop.settings);
    // The row's own fields are written from `prepared` whole (`order_row`).
    let Prepared {
        buyer_id,
        payment_method,
        ref referral,
        from_cart,
        pickup_store,
        ref wanted,
        ref session,
        ref lines,
        ref shipping,
        total,
        now,
        reserved_until,
        ..
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
            if balance < total && prepared.remainder_method.is_none() {
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
    let remainder_method = remainder_method(&prepared, allowance_part);
    // Every order that waits for its money holds stock unpaid; one the allowance pays in full
    // is paid in this transaction and holds nothing.
    let paid_at_once = allowance_from.is_some() && remainder_method.is_none();
    if !paid_at_once
        && let Err(problem) =
            within_buyer_limits(&txn, buyer_id, wanted, settings.order_limits, (now, reserved_until)).await?
    {
        return end_write(txn, Err(problem)).await;
    }
    let inserted = order_row(&prepared, organisation, allowance_part).insert(&txn).await;
    let mut order = match inserted {
        Ok(order) => order,
        Err(error) if key_taken(&error) => {
            txn.rollback().await?;
            return Ok(Ok(placed_meanwhile(db, buyer_id, &prepared.idempotency_key).await?));
        }
        Err(error) => return Err(error.into()),
    };
    let order_lines = order_line::Entity::insert_many(line_rows(shop, order.id, lines))
        .exec_with_returning(&txn)
        .await?;
    // Paid at once, the order sells its units in this transaction: they must be held first.
    // Otherwise a batch's order leaves its hot row, and the rows nothing can refuse (shipments,
    // payment row, mail), to its batch, which writes them for all its orders at once.
    let deferred = hot == Hot::AtTheEnd && !paid_at_once;
    let mut later = LeftToBatch::default();
    // One parcel per producer; a pickup order has none (it is collected whole).
    if pickup_store.is_none() {
        let parcels = parcel_rows(order.id, shipping);
        match deferred {
            true => later.shipments = parcels,
            false => {
                _ = shipment::Entity::insert_many(parcels)
                    .exec_without_returning(&txn)
                    .await?
            }
        }
    }
    if let Some(referral) = referral {
        attribution::attribute_lines(&txn, order_lines.iter().map(|line| (line, referral, now))).await?;
    }
    let claimed = match quota::claim(&txn, session, order.id, buyer_id, wanted, now, deferred).await? {
        Ok(claimed) => claimed,
        Err(problem) => return end_write(txn, Err(problem)).await,
    };
    let mut hot_part = claimed.first().map(|(item, units)| HotPart::Quota {
        item: *item,
        units: *units,
    });
    // The payment waits in the order's own transaction (one commit places both), written
    // before the stock so that it adds nothing to the time a hot variant's row is locked.
    let payment = match (paid_at_once, deferred) {
        (true, _) => None,
        (false, true) => {
            later.payment = payments::opening(shop, &order);
            None
        }
        (false, false) => payments::open(&txn, shop, &order).await?,
    };
    // Stock last, in variant order (no deadlocks between orders of several lines): a hot
    // variant's row is locked only from here to the commit.
    let mut availability_changed = false;
    let mut figures = Vec::with_capacity(lines.len());
    for PricedLine {
        variant, quantity, at, ..
    } in lines
    {
        // Units from a session's quota are held already (set aside at approval).
        if session.serves(variant.id) {
            continue;
        }
        if deferred {
            hot_part = Some(HotPart::Stock {
                variant: variant.id,
                units: i64::from(*quantity),
                buyer: buyer_id,
            });
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
        let mail = crate::orders::service::notices::placed(&order, buyer);
        match deferred {
            true => later.mail = Some(mail),
            false => _ = mail::enqueue(&txn, &mail).await?,
        }
    }
    let ids = lines.iter().map(|line| line.variant.id);
    end_write(
        txn,
        Ok(Reserved {
            order,
            availability_changed,
            variant_ids: ids.clone().filter(|id| !session.serves(*id)).collect(),
            quota_variant_ids: ids.filter(|id| session.serves(*id)).collect(),
            figures,
            paid,
            payment,
            left_to_batch: LeftToBatch { hot: hot_part, ..later },
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

/// What pays the part of the order the allowance does not (`allowance_part` of its total):
/// the method the buyer asked for, when there is such a part.
pub(super) fn remainder_method(prepared: &Prepared, allowance_part: Fen) -> Option<PaymentMethod> {
    (allowance_part < prepared.total)
        .then_some(prepared.remainder_method)
        .flatten()
}

/// The order's row, awaiting its payment; the allowance pays `allowance_part` of it.
pub(super) fn order_row(
    prepared: &Prepared,
    organisation: Option<OrganisationId>,
    allowance_part: Fen,
) -> order::ActiveModel {
    let address = prepared.address.clone();
    order::ActiveModel {
        number: Set(order_number()),
        buyer_id: Set(prepared.buyer_id),
        status: Set(OrderStatus::PendingPayment),
        payment_method: Set(prepared.payment_method),
        total_fen: Set(prepared.total),
        shipping_fee_fen: Set(prepared.shipping.total),
        idempotency_key: Set(prepared.idempotency_key.clone()),
        referral_code: Set(prepared.referral_code.clone()),
        union_id: Set(organisation),
        ship_name: Set(address.name),
        ship_phone: Set(address.phone),
        ship_province: Set(address.province),
        ship_city: Set(address.city),
        ship_district: Set(address.district),
        ship_line1: Set(address.line1),
        ship_postal_code: Set(address.postal_code),
        reserved_until: Set(Some(prepared.reserved_until)),
        created_at: Set(prepared.now),
        allowance_fen: Set(allowance_part),
        remainder_method: Set(remainder_method(prepared, allowance_part)),
        pickup_store_id: Set(prepared.pickup_store),
        pickup_code: Set(prepared.pickup_store.map(|_| pickup_code())),
        ..Default::default()
    }
}

/// The order's lines, with the platform's fee in force now: delivery and every refund take it
/// from there, whatever the setting is by then.
pub(super) fn line_rows<'a>(
    shop: &Shop,
    order_id: OrderId,
    lines: &'a [PricedLine],
) -> impl Iterator<Item = order_line::ActiveModel> + 'a {
    let fee_bps = shop.payout_settings().line_fee_bps();
    lines.iter().map(move |line| order_line::ActiveModel {
        order_id: Set(order_id),
        variant_id: Set(line.variant.id),
        product_id: Set(line.variant.product_id),
        producer_id: Set(line.producer_id),
        quantity: Set(line.quantity),
        unit_price_fen: Set(line.unit_price),
        line_total_fen: Set(line.line_total),
        platform_fee_bps: Set(Some(fee_bps)),
        ..Default::default()
    })
}

/// The order's parcels, one per producer.
pub(super) fn parcel_rows(order_id: OrderId, shipping: &Shipping) -> Vec<shipment::ActiveModel> {
    shipping
        .fees
        .iter()
        .map(|(producer_id, fee)| shipment::ActiveModel {
            order_id: Set(order_id),
            producer_id: Set(*producer_id),
            tracking_number: Set(None),
            shipped_at: Set(None),
            shipping_fee_fen: Set(*fee),
            ..Default::default()
        })
        .collect()
}
