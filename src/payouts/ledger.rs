//! Writing the earnings ledger, always inside the transaction of the step that causes it: a
//! sale when a line is delivered, a reversal when money is given back for a delivered line, and
//! a restoring entry when a refund that reversed earnings is refused. Entries are never changed
//! afterwards (only claimed by a payout), and a repeat of any step writes nothing (a unique key
//! on line, kind and refund).
//!
//! Kinds: `SALE` with refund 0 is a delivered line; `REVERSAL` answers a refund (negative);
//! `SALE` naming a refund restores what that refused refund reversed; `RESHIP` charges the
//! producer a new parcel sent for an after-sales claim (its `refund_id` holds the claim's id);
//! `SHIPPING` and `SHIPPING_REFUND` are the parcels' fees ([`super::shipping_ledger`]).
//!
//! A line credited to a livestream host (its attribution holds the rate placed with) takes the
//! host's commission out of the producer's earning, and the same step writes the host's entry
//! of that commission in its own ledger (`host_commissions`), in the same transaction.
//!
//! Every entry takes the rates the line was sold at (the fee kept with the line, the commission
//! with its attribution), never the setting in force when a refund comes, and reversals are
//! computed from the line's cumulative refunded amount (see [`super::reversals`] for the
//! rounding rule), so a line refunded in full reverses exactly its sale.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, Set};

use super::entity::{earning, host_commission};
use super::entries::{Entries, insert};
use super::reversals::{self, Rates};
use super::shipping_ledger;
use super::{EarningKind, Split};
use crate::infra::error::{AppError, AppResult};
use crate::infra::ids::{ClaimId, ProducerId, RefundId};
use crate::infra::ids::{OrderId, OrderLineId};
use crate::infra::money::Fen;
use crate::orders::DeliveryFollower;
use crate::orders::entity::{order_line, order_line_attribution};
use crate::payments::entity::refund::{self, RefundStatus};
use crate::payments::entity::{payment, refund_line};
use crate::payments::follower::{self, RefundFollower};
use crate::shop::Shop;

/// The fee and hold the ledger applies: the fee is the one new orders' lines are sold at
/// (and lines placed before fees were kept with them, at delivery).
#[derive(Clone, Copy, Debug)]
pub struct PayoutSettings {
    pub platform_fee_bps: u32,
    pub hold: Duration,
}

impl PayoutSettings {
    /// The fee rate as an order line keeps it (`order_lines.platform_fee_bps`).
    pub fn line_fee_bps(&self) -> i32 {
        i32::try_from(self.platform_fee_bps).unwrap_or(i32::MAX)
    }
}

/// The ledger's part in a delivery: each line's earning, at the fee in force.
pub struct CreditOnDelivery;

#[async_trait::async_trait]
impl DeliveryFollower for CreditOnDelivery {
    async fn delivered(
        &self,
        shop: &Shop,
        txn: &DatabaseTransaction,
        order_id: OrderId,
        at: DateTime<Utc>,
    ) -> AppResult<()> {
        record_delivery(txn, order_id, at, shop.payout_settings()).await
    }
}

/// The ledger's part in a refund: each refunded line's earning (and the parcel's shipping)
/// reversed at the rates it was sold at; restored when the refund is refused.
pub struct ReverseOnRefund;

#[async_trait::async_trait]
impl RefundFollower for ReverseOnRefund {
    async fn refunded(&self, shop: &Shop, txn: &DatabaseTransaction, refund: &follower::Refunded<'_>) -> AppResult<()> {
        reverse_refund(
            txn,
            refund.order_id,
            refund.refund_id,
            refund.lines,
            shop.payout_settings(),
        )
        .await?;
        if refund.shipping > Fen::ZERO {
            shipping_ledger::reverse_shipping(txn, refund.order_id, refund.refund_id).await?;
        }
        Ok(())
    }

    async fn refused(&self, shop: &Shop, txn: &DatabaseTransaction, refund_id: RefundId) -> AppResult<()> {
        restore_refund(txn, refund_id, shop.payout_settings()).await
    }
}

/// The refund a delivered line's `SALE` names: none, written 0 (the column is part of a unique
/// key, so it is never null).
const NO_REFUND: RefundId = RefundId(0);

/// The lines of `line_ids` credited to a host, with the rate placed with.
async fn attributions(
    db: &impl ConnectionTrait,
    line_ids: impl IntoIterator<Item = OrderLineId>,
) -> AppResult<HashMap<OrderLineId, order_line_attribution::Model>> {
    Ok(order_line_attribution::Entity::find()
        .filter(order_line_attribution::Column::OrderLineId.is_in(line_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.order_line_id, a))
        .collect())
}

/// The rates `line` was sold at: its kept fee (the setting's for a line placed before fees were
/// kept) and its attribution's commission.
fn rates_of(
    line: &order_line::Model,
    attribution: Option<&order_line_attribution::Model>,
    settings: PayoutSettings,
) -> Rates {
    Rates {
        platform_fee_bps: line
            .platform_fee_bps
            .and_then(|bps| u32::try_from(bps).ok())
            .unwrap_or(settings.platform_fee_bps),
        commission_bps: attribution.map_or(0, |a| u32::try_from(a.rate_bps).unwrap_or(0)),
    }
}

/// An entry of `amounts` (negative for a reversal) of `line`, and the host's entry of its
/// commission when the line is credited to one.
fn entry(
    line: &order_line::Model,
    attribution: Option<&order_line_attribution::Model>,
    kind: EarningKind,
    refund_id: RefundId,
    amounts: Split,
    available_at: DateTime<Utc>,
) -> (earning::ActiveModel, Option<host_commission::ActiveModel>) {
    let line_total = reversals::line_total(amounts);
    let now = Utc::now();
    let commission = attribution.map(|a| host_commission::ActiveModel {
        host_id: Set(a.host_id),
        order_id: Set(line.order_id),
        order_line_id: Set(line.id),
        refund_id: Set(refund_id),
        kind: Set(kind),
        line_total_fen: Set(line_total),
        amount_fen: Set(amounts.commission),
        available_at: Set(available_at),
        payout_id: Set(None),
        created_at: Set(now),
        ..Default::default()
    });
    let earning = earning::ActiveModel {
        producer_id: Set(line.producer_id),
        order_id: Set(line.order_id),
        order_line_id: Set(line.id),
        refund_id: Set(refund_id),
        kind: Set(kind),
        line_total_fen: Set(line_total),
        platform_fee_fen: Set(amounts.platform_fee),
        commission_fen: Set(amounts.commission),
        amount_fen: Set(amounts.earning),
        available_at: Set(available_at),
        payout_id: Set(None),
        created_at: Set(now),
        ..Default::default()
    };
    (earning, commission)
}

/// Where a delivered line's refunds stand: what its refunds not refused add up to, and what
/// its entries other than the sale (reversals, restorations) add up to now.
struct Refunded {
    amount: Fen,
    held: Split,
}

/// [`Refunded`] for each of `line_ids` (all of one order).
async fn refunded(
    db: &impl ConnectionTrait,
    line_ids: impl IntoIterator<Item = OrderLineId> + Clone,
) -> AppResult<HashMap<OrderLineId, Refunded>> {
    let mut state: HashMap<OrderLineId, Refunded> = HashMap::new();
    for part in refund_line::Entity::find()
        .inner_join(refund::Entity)
        .filter(refund_line::Column::OrderLineId.is_in(line_ids.clone()))
        .filter(refund::Column::Status.ne(RefundStatus::Failed))
        .all(db)
        .await?
    {
        let line = state.entry(part.order_line_id).or_insert(Refunded {
            amount: Fen::ZERO,
            held: reversals::NONE,
        });
        line.amount += part.amount_fen;
    }
    for row in earning::Entity::find()
        .filter(earning::Column::OrderLineId.is_in(line_ids))
        .filter(earning::Column::RefundId.ne(0))
        .filter(earning::Column::Kind.is_in([EarningKind::Sale, EarningKind::Reversal]))
        .all(db)
        .await?
    {
        let line = state.entry(row.order_line_id).or_insert(Refunded {
            amount: Fen::ZERO,
            held: reversals::NONE,
        });
        line.held = reversals::add(
            line.held,
            Split {
                platform_fee: row.platform_fee_fen,
                commission: row.commission_fen,
                earning: row.amount_fen,
            },
        );
    }
    Ok(state)
}

/// Each line of a delivered order earns its producer the line total less the fee and the
/// commission, at the rates it was sold at, available after the hold; every refund decided
/// before delivery (and not refused) is reversed with it, in the order they were decided, so the
/// producer earns on what the buyer kept. A line placed before fees were kept with lines takes
/// the fee in force now, and keeps it for its refunds.
pub async fn record_delivery(
    db: &impl ConnectionTrait,
    order_id: OrderId,
    delivered_at: DateTime<Utc>,
    settings: PayoutSettings,
) -> AppResult<()> {
    order_line::Entity::update_many()
        .col_expr(order_line::Column::PlatformFeeBps, Expr::value(settings.line_fee_bps()))
        .filter(order_line::Column::OrderId.eq(order_id))
        .filter(order_line::Column::PlatformFeeBps.is_null())
        .exec(db)
        .await?;
    let lines: HashMap<OrderLineId, order_line::Model> = order_line::Entity::find()
        .filter(order_line::Column::OrderId.eq(order_id))
        .all(db)
        .await?
        .into_iter()
        .map(|line| (line.id, line))
        .collect();
    let available_at =
        delivered_at + chrono::Duration::from_std(settings.hold).map_err(|e| AppError::Internal(e.into()))?;
    let credited = attributions(db, lines.keys().copied()).await?;
    let mut entries = Entries::default();
    for line in lines.values() {
        let attribution = credited.get(&line.id);
        let sale = rates_of(line, attribution, settings).split(line.line_total_fen);
        entries.push(entry(
            line,
            attribution,
            EarningKind::Sale,
            NO_REFUND,
            sale,
            available_at,
        ));
    }
    let refunded = refund_line::Entity::find()
        .inner_join(refund::Entity)
        .filter(refund_line::Column::OrderLineId.is_in(lines.keys().copied()))
        .filter(refund::Column::Status.ne(RefundStatus::Failed))
        .order_by_asc(refund_line::Column::RefundId)
        .all(db)
        .await?;
    // Per line: refunded so far, and what the reversals written so far add up to.
    let mut so_far: HashMap<OrderLineId, (Fen, Split)> = HashMap::new();
    for part in refunded {
        if let Some(line) = lines.get(&part.order_line_id) {
            let attribution = credited.get(&line.id);
            let (amount, held) = so_far.entry(line.id).or_insert((Fen::ZERO, reversals::NONE));
            *amount += part.amount_fen;
            let reversal = reversals::next_entry(*held, *amount, rates_of(line, attribution, settings));
            *held = reversals::add(*held, reversal);
            entries.push(entry(
                line,
                attribution,
                EarningKind::Reversal,
                part.refund_id,
                reversal,
                available_at,
            ));
        }
    }
    insert(db, entries).await?;
    shipping_ledger::record_delivery(db, order_id, available_at).await
}

/// A refund decided for an order: for each line already delivered (it has a sale), a reversing
/// entry that brings the line's reversals to what its cumulative refunded amount reverses at the
/// sale's rates (its line total is minus the refund's part). It becomes available with its
/// sale, or at once when the sale is available already (after a payout: a negative balance the
/// next payout deducts). Lines not delivered yet are reversed when they are
/// ([`record_delivery`]). Call it after the refund's parts are written.
pub async fn reverse_refund(
    db: &impl ConnectionTrait,
    order_id: OrderId,
    refund_id: RefundId,
    parts: &[(OrderLineId, Fen)],
    settings: PayoutSettings,
) -> AppResult<()> {
    let sales: HashMap<OrderLineId, DateTime<Utc>> = earning::Entity::find()
        .filter(earning::Column::OrderId.eq(order_id))
        .filter(earning::Column::Kind.eq(EarningKind::Sale))
        .filter(earning::Column::RefundId.eq(0))
        .all(db)
        .await?
        .into_iter()
        .map(|sale| (sale.order_line_id, sale.available_at))
        .collect();
    if sales.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let available = |line_id: &OrderLineId| {
        sales
            .get(line_id)
            .map_or(now, |sale_available| (*sale_available).max(now))
    };
    let line_ids = parts
        .iter()
        .map(|(line_id, _)| *line_id)
        .filter(|id| sales.contains_key(id));
    true_up(db, line_ids, EarningKind::Reversal, refund_id, available, settings).await
}

/// Writes, for each of `line_ids`, the entry (`kind`, naming `refund_id`) that brings the line's
/// entries other than its sale to what its cumulative refunded amount reverses now.
async fn true_up(
    db: &impl ConnectionTrait,
    line_ids: impl Iterator<Item = OrderLineId>,
    kind: EarningKind,
    refund_id: RefundId,
    available_at: impl Fn(&OrderLineId) -> DateTime<Utc>,
    settings: PayoutSettings,
) -> AppResult<()> {
    let line_ids: Vec<OrderLineId> = line_ids.collect();
    if line_ids.is_empty() {
        return Ok(());
    }
    let lines = order_line::Entity::find()
        .filter(order_line::Column::Id.is_in(line_ids.iter().copied()))
        .all(db)
        .await?;
    let credited = attributions(db, line_ids.iter().copied()).await?;
    let state = refunded(db, line_ids.iter().copied()).await?;
    let mut entries = Entries::default();
    for line in &lines {
        let attribution = credited.get(&line.id);
        let (amount, held) = state
            .get(&line.id)
            .map_or((Fen::ZERO, reversals::NONE), |s| (s.amount, s.held));
        let step = reversals::next_entry(held, amount, rates_of(line, attribution, settings));
        entries.push(entry(line, attribution, kind, refund_id, step, available_at(&line.id)));
    }
    insert(db, entries).await
}

/// A refund was refused after it reversed earnings: each line it reversed gets an entry (kind
/// `SALE`, naming the refund, available at once) that brings the line's entries back to what
/// the refunds still standing reverse, the host's entry with it. Call it once the refund is
/// marked failed.
pub async fn restore_refund(db: &impl ConnectionTrait, refund_id: RefundId, settings: PayoutSettings) -> AppResult<()> {
    let reversed: Vec<OrderLineId> = earning::Entity::find()
        .filter(earning::Column::RefundId.eq(refund_id))
        .filter(earning::Column::Kind.eq(EarningKind::Reversal))
        .all(db)
        .await?
        .into_iter()
        .map(|reversal| reversal.order_line_id)
        .collect();
    let now = Utc::now();
    true_up(
        db,
        reversed.into_iter(),
        EarningKind::Sale,
        refund_id,
        |_| now,
        settings,
    )
    .await?;
    let gave_shipping = refund::Entity::find_by_id(refund_id)
        .find_also_related(payment::Entity)
        .one(db)
        .await?;
    if let Some((refund, Some(payment))) = gave_shipping
        && refund.shipping_fen > Fen::ZERO
    {
        shipping_ledger::restore_refund(db, payment.order_id, refund_id).await?;
    }
    Ok(())
}

/// A new parcel sent for claim `claim_id` costs its producer the goods and the shipping,
/// `(order line, cost)` each: one negative entry per line, available at once (a repeat writes
/// nothing).
pub async fn charge_reship(
    db: &impl ConnectionTrait,
    producer_id: ProducerId,
    order_id: OrderId,
    claim_id: ClaimId,
    costs: &[(OrderLineId, Fen)],
) -> AppResult<()> {
    let now = Utc::now();
    let mut entries = Entries::default();
    for (line_id, cost) in costs {
        entries.earnings.push(earning::ActiveModel {
            producer_id: Set(producer_id),
            order_id: Set(order_id),
            order_line_id: Set(*line_id),
            refund_id: Set(RefundId(claim_id.0)),
            kind: Set(EarningKind::Reship),
            line_total_fen: Set(-*cost),
            platform_fee_fen: Set(Fen::ZERO),
            commission_fen: Set(Fen::ZERO),
            amount_fen: Set(-*cost),
            available_at: Set(now),
            payout_id: Set(None),
            created_at: Set(now),
            ..Default::default()
        });
    }
    insert(db, entries).await
}

impl crate::shop::Shop {
    /// The fee and hold the ledger applies now.
    pub fn payout_settings(&self) -> PayoutSettings {
        *self.part()
    }
}
