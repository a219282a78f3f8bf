//! What an order's delivered lines and parcels must hold in the earnings ledger.

use std::collections::HashMap;

use huakai::infra::money::Fen;
use huakai::orders::entity::{order, order_line};
use huakai::payments::entity::refund_line;
use huakai::payouts::entity::{earning, host_commission};

use super::invariants::{Checked, ensure};
use super::ops::{Buyer, Via};

/// Shipping is never given back beyond the fee; once delivered, the parcels' entries hold the fee
/// less what refunds gave back of it, all of it the producer's (no fee, no commission).
pub(super) fn shipping_adds_up(
    row: &order::Model,
    delivered: bool,
    shipping_back: i64,
    parcels: &[&earning::Model],
) -> Checked {
    let id = row.id;
    ensure(shipping_back <= row.shipping_fee_fen.get(), || {
        format!(
            "order {id}: {shipping_back} of shipping given back, it cost {}",
            row.shipping_fee_fen.get()
        )
    })?;
    let held: i64 = parcels.iter().map(|e| e.amount_fen.get()).sum();
    let expected = if delivered {
        row.shipping_fee_fen.get() - shipping_back
    } else {
        0
    };
    ensure(held == expected, || {
        format!(
            "order {id}: its parcels' entries hold {held}; a fee of {} with {shipping_back} given back says {expected}",
            row.shipping_fee_fen.get()
        )
    })?;
    ensure(
        parcels
            .iter()
            .all(|e| e.platform_fee_fen.get() == 0 && e.commission_fen.get() == 0),
        || format!("order {id}: a fee or a commission was taken on shipping"),
    )
}

/// The case's order lines, their attributions' rates, and the hosts' entries for them.
pub(super) struct Sold {
    pub(super) lines: Vec<order_line::Model>,
    pub(super) credited: HashMap<huakai::infra::ids::OrderLineId, i32>,
    pub(super) host_entries: Vec<host_commission::Model>,
}

/// The order's lines keep the fee of their sale and are credited as the model says; once
/// delivered, each line's entries hold its sale less what its refunds reverse, cumulatively, at
/// the sale's rates, and the host's ledger holds the commission column.
pub(super) fn lines_add_up(
    sold: &Sold,
    expected: &super::state::Order,
    refunded: &[&refund_line::Model],
    entries: &[&earning::Model],
) -> Checked {
    let lines: Vec<_> = sold.lines.iter().filter(|l| l.order_id == expected.id).collect();
    let credited: HashMap<_, _> = sold
        .credited
        .iter()
        .filter(|(line, _)| lines.iter().any(|l| l.id == **line))
        .collect();
    let host_entries = &sold.host_entries;
    let should_credit = expected.via != Via::Direct && expected.buyer != Buyer::Host;
    ensure(credited.len() == if should_credit { lines.len() } else { 0 }, || {
        format!(
            "order {} ({:?} through {:?}) has {} lines credited",
            expected.id,
            expected.buyer,
            expected.via,
            credited.len()
        )
    })?;
    for line in lines {
        let fee = u32::try_from(line.platform_fee_bps.unwrap_or(-1)).ok();
        ensure(fee == Some(expected.fee_bps), || {
            format!(
                "line {} keeps fee {fee:?}, it was sold at {}",
                line.id, expected.fee_bps
            )
        })?;
        let mine: Vec<_> = entries.iter().filter(|e| e.order_line_id == line.id).collect();
        if mine.is_empty() {
            continue;
        }
        let total = line.line_total_fen;
        let back: Fen = refunded
            .iter()
            .filter(|p| p.order_line_id == line.id)
            .map(|p| p.amount_fen)
            .sum();
        let rate = credited.get(&line.id).map_or(0, |r| u32::try_from(**r).unwrap_or(0));
        let sum = |field: fn(&earning::Model) -> i64| Fen::new(mine.iter().map(|e| field(e)).sum());
        let kept = (
            sum(|e| e.line_total_fen.get()),
            sum(|e| e.platform_fee_fen.get()),
            sum(|e| e.commission_fen.get()),
        );
        let fee_bps = expected.fee_bps;
        let should = (
            total - back,
            total.share_bps(fee_bps) - back.share_bps(fee_bps),
            total.share_bps(rate) - back.share_bps(rate),
        );
        ensure(kept == should, || {
            format!(
                "line {} of {total} with {back} refunded holds (total, fee, commission) {kept:?}, \
                 the sale's rates ({fee_bps}, {rate} bps) say {should:?}",
                line.id
            )
        })?;
        let hosts: i64 = host_entries
            .iter()
            .filter(|h| h.order_line_id == line.id)
            .map(|h| h.amount_fen.get())
            .sum();
        ensure(Fen::new(hosts) == kept.2, || {
            format!(
                "line {}: the host's ledger holds {hosts}, the earnings {}",
                line.id, kept.2
            )
        })?;
    }
    Ok(())
}
