//! The shipping fee in the earnings ledger. A shipment's fee is its producer's to earn, whole:
//! no platform fee and no commission on it (the producer pays the courier). At delivery each
//! parcel that cost something earns a `SHIPPING` entry; a refund that gave shipping back (only
//! what passes the goods, see `payments::refunds`) reverses it with `SHIPPING_REFUND`, and a
//! refused refund's reversal is restored by a `SHIPPING` entry naming the refund.
//!
//! **Sharing rule.** An order's shipping refunded so far, `S` (its refunds not refused,
//! together), is shared over its parcels in producer order, each filled up to its fee before the
//! next: cumulative, so each step's entries are the difference to what the parcel holds and a
//! full refund reverses every parcel's fee to the fen. An entry sits on the parcel's first
//! order line (the ledger's unique key is line, kind and refund).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use super::EarningKind;
use super::entity::earning;
use super::entries::insert_earnings;
use crate::infra::error::AppResult;
use crate::infra::ids::{OrderId, OrderLineId, ProducerId, RefundId};
use crate::infra::money::Fen;
use crate::orders::entity::{order_line, shipment};
use crate::payments::entity::payment;
use crate::payments::entity::refund::{self, RefundStatus};

/// A parcel that cost its buyer something: its producer, the line its entries sit on, its fee.
struct Parcel {
    producer_id: ProducerId,
    anchor: OrderLineId,
    fee: Fen,
}

/// The order's parcels with a fee, in producer order.
async fn parcels(db: &impl ConnectionTrait, order_id: OrderId) -> AppResult<Vec<Parcel>> {
    let shipments = shipment::Entity::find()
        .filter(shipment::Column::OrderId.eq(order_id))
        .filter(shipment::Column::ShippingFeeFen.gt(0))
        .order_by_asc(shipment::Column::ProducerId)
        .all(db)
        .await?;
    if shipments.is_empty() {
        return Ok(Vec::new());
    }
    let mut first_lines: HashMap<ProducerId, OrderLineId> = HashMap::new();
    for line in order_line::Entity::find()
        .filter(order_line::Column::OrderId.eq(order_id))
        .order_by_asc(order_line::Column::Id)
        .all(db)
        .await?
    {
        first_lines.entry(line.producer_id).or_insert(line.id);
    }
    Ok(shipments
        .into_iter()
        .filter_map(|s| {
            first_lines.get(&s.producer_id).map(|anchor| Parcel {
                producer_id: s.producer_id,
                anchor: *anchor,
                fee: s.shipping_fee_fen,
            })
        })
        .collect())
}

/// `refunded` shared over `parcels`, each filled up to its fee before the next.
fn shares(refunded: Fen, parcels: &[Parcel]) -> Vec<Fen> {
    let mut left = refunded;
    parcels
        .iter()
        .map(|parcel| {
            let share = Ord::min(left, parcel.fee);
            left -= share;
            share
        })
        .collect()
}

/// The order's refunds not refused that gave shipping back, oldest first: `(id, shipping)`.
async fn shipping_refunds(db: &impl ConnectionTrait, order_id: OrderId) -> AppResult<Vec<(RefundId, Fen)>> {
    Ok(refund::Entity::find()
        .inner_join(payment::Entity)
        .filter(payment::Column::OrderId.eq(order_id))
        .filter(refund::Column::Status.ne(RefundStatus::Failed))
        .filter(refund::Column::ShippingFen.gt(0))
        .order_by_asc(refund::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.id, r.shipping_fen))
        .collect())
}

fn entry(
    order_id: OrderId,
    parcel: &Parcel,
    kind: EarningKind,
    refund_id: RefundId,
    amount: Fen,
    available_at: DateTime<Utc>,
) -> earning::ActiveModel {
    earning::ActiveModel {
        producer_id: Set(parcel.producer_id),
        order_id: Set(order_id),
        order_line_id: Set(parcel.anchor),
        refund_id: Set(refund_id),
        kind: Set(kind),
        line_total_fen: Set(amount),
        platform_fee_fen: Set(Fen::ZERO),
        commission_fen: Set(Fen::ZERO),
        amount_fen: Set(amount),
        available_at: Set(available_at),
        payout_id: Set(None),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
}

/// At delivery: each parcel earns its fee, and the shipping its refunds decided before
/// delivery gave back is reversed with it, refund by refund.
pub(super) async fn record_delivery(
    db: &impl ConnectionTrait,
    order_id: OrderId,
    available_at: DateTime<Utc>,
) -> AppResult<()> {
    let parcels = parcels(db, order_id).await?;
    if parcels.is_empty() {
        return Ok(());
    }
    let mut entries: Vec<earning::ActiveModel> = parcels
        .iter()
        .map(|parcel| {
            entry(
                order_id,
                parcel,
                EarningKind::Shipping,
                RefundId(0),
                parcel.fee,
                available_at,
            )
        })
        .collect();
    let (mut refunded, mut held) = (Fen::ZERO, vec![Fen::ZERO; parcels.len()]);
    for (refund_id, shipping) in shipping_refunds(db, order_id).await? {
        refunded += shipping;
        for ((parcel, share), held) in parcels.iter().zip(shares(refunded, &parcels)).zip(held.iter_mut()) {
            if share != *held {
                entries.push(entry(
                    order_id,
                    parcel,
                    EarningKind::ShippingRefund,
                    refund_id,
                    *held - share,
                    available_at,
                ));
                *held = share;
            }
        }
    }
    insert_earnings(db, entries).await
}

/// A refund gave shipping back (call it after its row is written): once the order is
/// delivered, each parcel's reversals are brought to its share of the shipping refunded.
pub async fn reverse_shipping(db: &impl ConnectionTrait, order_id: OrderId, refund_id: RefundId) -> AppResult<()> {
    true_up(db, order_id, EarningKind::ShippingRefund, refund_id).await
}

/// A refund that gave shipping back was refused (call it once it is marked failed): the
/// parcels' reversals come back to what the refunds still standing gave back.
pub(super) async fn restore_refund(db: &impl ConnectionTrait, order_id: OrderId, refund_id: RefundId) -> AppResult<()> {
    true_up(db, order_id, EarningKind::Shipping, refund_id).await
}

/// Writes, for each parcel of a delivered order, the entry (`kind`, naming `refund_id`) that
/// brings what its entries other than its sale hold to minus its share of the shipping refunded.
async fn true_up(
    db: &impl ConnectionTrait,
    order_id: OrderId,
    kind: EarningKind,
    refund_id: RefundId,
) -> AppResult<()> {
    let entries = earning::Entity::find()
        .filter(earning::Column::OrderId.eq(order_id))
        .filter(earning::Column::Kind.is_in([EarningKind::Shipping, EarningKind::ShippingRefund]))
        .all(db)
        .await?;
    let sales: HashMap<OrderLineId, DateTime<Utc>> = entries
        .iter()
        .filter(|e| e.kind == EarningKind::Shipping && e.refund_id == RefundId(0))
        .map(|e| (e.order_line_id, e.available_at))
        .collect();
    if sales.is_empty() {
        return Ok(());
    }
    let parcels = parcels(db, order_id).await?;
    let refunded = shipping_refunds(db, order_id)
        .await?
        .into_iter()
        .fold(Fen::ZERO, |sum, (_, shipping)| sum + shipping);
    let now = Utc::now();
    let mut written = Vec::new();
    for (parcel, share) in parcels.iter().zip(shares(refunded, &parcels)) {
        let Some(sale_available) = sales.get(&parcel.anchor) else {
            continue;
        };
        let held: Fen = entries
            .iter()
            .filter(|e| e.order_line_id == parcel.anchor && e.refund_id != RefundId(0))
            .fold(Fen::ZERO, |sum, e| sum + e.amount_fen);
        let step = -share - held;
        if step != Fen::ZERO {
            written.push(entry(
                order_id,
                parcel,
                kind,
                refund_id,
                step,
                (*sale_available).max(now),
            ));
        }
    }
    insert_earnings(db, written).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parcel(fee: i64) -> Parcel {
        Parcel {
            producer_id: ProducerId(1),
            anchor: OrderLineId(1),
            fee: Fen::new(fee),
        }
    }

    #[test]
    fn shipping_refunded_fills_parcels_in_order_and_never_more_than_their_fees() {
        let parcels = [parcel(800), parcel(0), parcel(1500)];
        assert_eq!(shares(Fen::new(500), &parcels), [Fen::new(500), Fen::ZERO, Fen::ZERO]);
        assert_eq!(
            shares(Fen::new(1000), &parcels),
            [Fen::new(800), Fen::ZERO, Fen::new(200)]
        );
        assert_eq!(
            shares(Fen::new(2300), &parcels),
            [Fen::new(800), Fen::ZERO, Fen::new(1500)]
        );
        // Each step's shares only grow, so a parcel's reversals never turn back.
        let mut before = vec![Fen::ZERO; 3];
        for refunded in (0..=2300).step_by(7) {
            let now = shares(Fen::new(refunded), &parcels);
            assert!(now.iter().zip(&before).all(|(n, b)| n >= b));
            before = now;
        }
    }
}
