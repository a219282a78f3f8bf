//! What a decision does, inside the decision's transaction (which holds the order's row): a
//! refund of the claimed lines through the one refund path, or a new parcel of them from the
//! producer's stock, charged to the producer.

use sea_orm::ConnectionTrait;
use sea_orm::{ActiveModelTrait, DatabaseTransaction, EntityTrait, Set};

use super::lines_of;
use crate::claims::entity::claim;
use crate::infra::error::{AppResult, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;
use crate::infra::ids::{OrderLineId, ShipmentId};
use crate::infra::money::Fen;
use crate::inventory::{self, Moved, Movement};
use crate::orders::OrderStatus;
use crate::orders::entity::{order, order_line, shipment, shipment_item};
use crate::orders::service::state::lines_of as order_lines_of;
use crate::payments::PaymentStatus;
use crate::payments::records::payment_of;
use crate::payments::refundable::refunded_by_line;
use crate::payments::refunds::{self, Decided};
use crate::payouts::ledger;
use crate::shop::{Effect, Shop};

/// The claim's order lines with the units claimed of each.
async fn claimed_lines(txn: &impl ConnectionTrait, claim: &claim::Model) -> AppResult<Vec<(order_line::Model, i32)>> {
    let units = lines_of(txn, claim.id).await?;
    Ok(order_lines_of(txn, claim.order_id)
        .await?
        .into_iter()
        .filter_map(|line| {
            let claimed = units.iter().find(|unit| unit.order_line_id == line.id)?;
            Some((line, claimed.quantity))
        })
        .collect())
}

/// Refunds the claimed lines (the refund and its amount): `amount`, or (`None`) what they cost, each line never more than
/// it still holds after every other refund of the order (an operator's meanwhile included).
pub async fn refund(
    txn: &DatabaseTransaction,
    shop: &Shop,
    claim: &claim::Model,
    amount: Option<Fen>,
) -> Outcome<(Decided, Fen)> {
    let nothing = || {
        Ok(Err(
            UserError::new(ErrorCode::NotRefundable, "claim-nothing-to-refund").on_field(&["claimId"])
        ))
    };
    let Some(payment) = payment_of(txn, claim.order_id).await? else {
        return nothing();
    };
    if !matches!(
        payment.status,
        PaymentStatus::Succeeded | PaymentStatus::PartiallyRefunded
    ) {
        return nothing();
    }
    let refunded = refunded_by_line(txn, payment.id).await?;
    let caps: Vec<(OrderLineId, Fen)> = claimed_lines(txn, claim)
        .await?
        .iter()
        .map(|(line, units)| {
            let holds = line.line_total_fen - refunded.get(&line.id).copied().unwrap_or(Fen::ZERO);
            (
                line.id,
                Ord::max(
                    Ord::min(Fen::new(i64::from(*units) * line.unit_price_fen.get()), holds),
                    Fen::ZERO,
                ),
            )
        })
        .collect();
    let cap: Fen = caps.iter().map(|(_, cap)| *cap).sum();
    if cap <= Fen::ZERO {
        return nothing();
    }
    let amount = match amount {
        None => Ord::min(cap, claim.asked_fen),
        Some(amount) if amount > Fen::ZERO && amount <= cap => amount,
        Some(_) => {
            return Ok(Err(UserError::new(
                ErrorCode::InvalidInput,
                Message::new("refund-range").with("max", cap),
            )
            .on_field(&["amount"])));
        }
    };
    let reason = format!("after-sales claim {}", claim.id);
    Ok(refunds::decide_for_lines(txn, &payment, amount, &reason, &caps, shop)
        .await?
        .map(|decided| (decided, amount)))
}

/// Sends the claimed units again from the producer's stock as a new parcel to where the first
/// went, and charges the producer what they cost (the buyer pays nothing).
pub async fn reship(
    txn: &impl ConnectionTrait,
    claim: &claim::Model,
    order: &order::Model,
) -> Outcome<(ShipmentId, Effect)> {
    // An order refunded in full meanwhile gets no new parcel for free.
    if order.status == OrderStatus::Refunded {
        return Ok(Err(
            UserError::new(ErrorCode::NotReshippable, "claim-order-refunded").on_field(&["decision"])
        ));
    }
    let mut lines = claimed_lines(txn, claim).await?;
    // Stock rows are taken in variant order, as on every path that moves stock.
    lines.sort_by_key(|(line, _)| line.variant_id);
    let mut flipped = false;
    for (line, units) in &lines {
        match inventory::apply(
            txn,
            Movement::Reship,
            line.variant_id,
            i64::from(*units),
            order.id,
            None,
        )
        .await?
        {
            Moved::Done {
                availability_flipped, ..
            } => flipped |= availability_flipped,
            Moved::Refused => {
                return Ok(Err(
                    UserError::new(ErrorCode::OutOfStock, "claim-reship-out-of-stock").on_field(&["decision"])
                ));
            }
        }
    }
    let parcel = match claim.shipment_id {
        Some(shipment_id) => shipment::Entity::find_by_id(shipment_id).one(txn).await?,
        None => None,
    };
    let recipient = |of_parcel: Option<&String>, of_order: &String| Some(of_parcel.unwrap_or(of_order).clone());
    let parcel_field = |pick: fn(&shipment::Model) -> Option<&String>| parcel.as_ref().and_then(pick);
    let shipment = shipment::ActiveModel {
        order_id: Set(order.id),
        producer_id: Set(claim.producer_id),
        tracking_number: Set(None),
        shipped_at: Set(None),
        recipient_name: Set(recipient(parcel_field(|p| p.recipient_name.as_ref()), &order.ship_name)),
        recipient_phone: Set(recipient(
            parcel_field(|p| p.recipient_phone.as_ref()),
            &order.ship_phone,
        )),
        recipient_province: Set(recipient(
            parcel_field(|p| p.recipient_province.as_ref()),
            &order.ship_province,
        )),
        recipient_city: Set(recipient(parcel_field(|p| p.recipient_city.as_ref()), &order.ship_city)),
        recipient_district: Set(recipient(
            parcel_field(|p| p.recipient_district.as_ref()),
            &order.ship_district,
        )),
        recipient_line1: Set(recipient(
            parcel_field(|p| p.recipient_line1.as_ref()),
            &order.ship_line1,
        )),
        acceptance_code: Set(None),
        accepted_at: Set(None),
        problem_note: Set(None),
        problem_at: Set(None),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    shipment_item::Entity::insert_many(lines.iter().map(|(line, units)| shipment_item::ActiveModel {
        shipment_id: Set(shipment.id),
        order_id: Set(order.id),
        variant_id: Set(line.variant_id),
        quantity: Set(*units),
        ..Default::default()
    }))
    .exec_without_returning(txn)
    .await?;
    let costs: Vec<(OrderLineId, Fen)> = lines
        .iter()
        .map(|(line, units)| (line.id, Fen::new(i64::from(*units) * line.unit_price_fen.get())))
        .collect();
    ledger::charge_reship(txn, claim.producer_id, order.id, claim.id, &costs).await?;
    Ok(Ok((
        shipment.id,
        Effect::stock_moved(lines.iter().map(|(line, _)| line.variant_id), flipped),
    )))
}
