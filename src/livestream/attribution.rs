//! Crediting order lines to hosts: at `placeOrder(referralCode:)`, each line whose product has a
//! plan covering the code's host (who is not the buyer) is attributed to it with the rate in
//! force (read before the placing transaction, written in it: a snapshot, later plan changes
//! never touch a placed order). An unknown or retired code is ignored and counted; the order
//! goes through either way. And what the credited lines came to: per host, per producer, per
//! link.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use super::entity::promo_link;
use super::plans::rates_for;
use crate::infra::error::AppResult;
use crate::infra::ids::PayoutId;
use crate::infra::ids::PromoLinkId;
use crate::infra::ids::UserId;
use crate::infra::ids::{OrderId, OrderLineAttributionId, OrderLineId};
use crate::infra::ids::{ProducerId, ProductId};
use crate::infra::money::Fen;
use crate::infra::paging::{self, Direction, PageRequest};
use crate::orders::OrderStatus;
use crate::orders::entity::{order, order_line, order_line_attribution};
use crate::payments::entity::refund::{self, RefundStatus};
use crate::payments::entity::refund_line;
use crate::payouts::entity::{host_commission, payout};
use crate::payouts::{PayoutStatus, split};

/// What a referral code credits, read before the order's transaction: the code's link, its
/// host and the rate in force for each product the host's plans cover.
#[derive(Clone)]
pub struct Referral {
    link: promo_link::Model,
    rates: HashMap<ProductId, u32>,
}

/// The referral `link` (the live link of the order's code, `None` when the code is unknown or
/// retired: ignored and counted) makes for an order of `product_ids` placed by `buyer_id` at
/// `placed_at`. A host's own purchase through its own code is not attributed: nobody earns
/// commission on what it buys itself, and it is no sale of the host's (its link's orders and
/// sales leave it out; a session code still sells at the session's price, from its quota).
pub async fn referral(
    db: &impl ConnectionTrait,
    link: Option<&promo_link::Model>,
    buyer_id: UserId,
    product_ids: impl IntoIterator<Item = ProductId>,
    placed_at: DateTime<Utc>,
) -> AppResult<Option<Referral>> {
    let Some(link) = link else {
        metrics::counter!("huakai_referral_codes_unknown_total").increment(1);
        return Ok(None);
    };
    if link.host_id == buyer_id {
        return Ok(None);
    }
    let rates = rates_for(db, product_ids, link.host_id, placed_at).await?;
    Ok((!rates.is_empty()).then(|| Referral {
        link: link.clone(),
        rates,
    }))
}

/// Attributes placed lines, each with its order's referral and time, in one statement: a line
/// whose product the referral's host's plans cover is credited to the host at the rate read
/// for it (a snapshot: later plan changes never touch a placed order). Call it in the
/// transaction that placed the orders, with their lines as inserted.
pub async fn attribute_lines<'a>(
    txn: &impl ConnectionTrait,
    lines: impl IntoIterator<Item = (&'a order_line::Model, &'a Referral, DateTime<Utc>)>,
) -> AppResult<()> {
    let rows = lines.into_iter().filter_map(|(line, referral, placed_at)| {
        let rate = referral.rates.get(&line.product_id)?;
        Some(order_line_attribution::ActiveModel {
            order_line_id: Set(line.id),
            order_id: Set(line.order_id),
            host_id: Set(referral.link.host_id),
            promo_link_id: Set(referral.link.id),
            rate_bps: Set(i32::try_from(*rate).unwrap_or(0)),
            created_at: Set(placed_at),
            ..Default::default()
        })
    });
    order_line_attribution::Entity::insert_many(rows)
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

/// Where a credited line's commission stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommissionState {
    /// Paid, not delivered yet: what delivery would earn after the refunds so far.
    Estimated,
    /// Delivered: in the host's ledger, not yet paid out in full.
    Earned,
    /// Refunded in full: nothing is left to earn.
    Reversed,
    /// Delivered and every entry paid out.
    Paid,
}

/// An attributed line of a paid order, with what it came to.
#[derive(Clone, Debug)]
pub struct CreditedLine {
    pub attribution: order_line_attribution::Model,
    pub order_id: OrderId,
    pub order_number: String,
    pub quantity: i32,
    pub product_id: ProductId,
    /// The line total less refunds (not refused) so far.
    pub net_total: Fen,
    /// The host's ledger entries for the line (empty until delivery).
    pub ledger: Vec<host_commission::Model>,
    pub paid_payouts: Vec<PayoutId>,
}

impl CreditedLine {
    /// The ledger's sum once delivered; before, the commission on what the buyer kept.
    pub fn commission(&self, platform_fee_bps: u32) -> Fen {
        if self.ledger.is_empty() {
            let rate = u32::try_from(self.attribution.rate_bps).unwrap_or(0);
            split(self.net_total, platform_fee_bps, rate).commission
        } else {
            self.ledger.iter().map(|e| e.amount_fen).sum()
        }
    }

    pub fn state(&self) -> CommissionState {
        if self.net_total == Fen::ZERO {
            CommissionState::Reversed
        } else if self.ledger.is_empty() {
            CommissionState::Estimated
        } else if self
            .ledger
            .iter()
            .all(|e| e.payout_id.is_some_and(|p| self.paid_payouts.contains(&p)))
        {
            CommissionState::Paid
        } else {
            CommissionState::Earned
        }
    }
}

/// The lines of paid orders among `attributions`, with their refunds and ledger entries.
pub async fn credited_lines(
    db: &impl ConnectionTrait,
    attributions: Vec<order_line_attribution::Model>,
) -> AppResult<Vec<CreditedLine>> {
    let line_ids: Vec<OrderLineId> = attributions.iter().map(|a| a.order_line_id).collect();
    let order_ids: Vec<OrderId> = attributions.iter().map(|a| a.order_id).collect();
    let orders = paid_orders(db, &order_ids).await?;
    let lines = lines_by_id(db, &line_ids).await?;
    let refunded = refunded_by_line(db, &line_ids).await?;
    let mut ledger = ledger_by_line(db, &line_ids).await?;
    let payout_ids: Vec<PayoutId> = ledger.values().flatten().filter_map(|e| e.payout_id).collect();
    let paid_payouts: Vec<PayoutId> = if payout_ids.is_empty() {
        Vec::new()
    } else {
        payout::Entity::find()
            .select_only()
            .column(payout::Column::Id)
            .filter(payout::Column::Id.is_in(payout_ids))
            .filter(payout::Column::Status.eq(PayoutStatus::Paid))
            .into_tuple()
            .all(db)
            .await?
    };
    Ok(attributions
        .into_iter()
        .filter_map(|attribution| {
            let order = orders.get(&attribution.order_id)?;
            let line = lines.get(&attribution.order_line_id)?;
            let net_total = line.line_total_fen - refunded.get(&line.id).copied().unwrap_or(Fen::ZERO);
            Some(CreditedLine {
                order_id: order.id,
                order_number: order.number.clone(),
                quantity: line.quantity,
                product_id: line.product_id,
                net_total,
                ledger: ledger.remove(&line.id).unwrap_or_default(),
                paid_payouts: paid_payouts.clone(),
                attribution,
            })
        })
        .collect())
}

/// A page of a host's credited lines, newest first (cursor: the attribution's id).
pub async fn host_lines(
    db: &impl ConnectionTrait,
    host_id: UserId,
    page: &PageRequest<OrderLineAttributionId>,
) -> AppResult<Vec<CreditedLine>> {
    let select = order_line_attribution::Entity::find().filter(order_line_attribution::Column::HostId.eq(host_id));
    // Lines of orders not paid are left out of the page read, so a page may hold fewer.
    let (attributions, _) = paging::keyset_page(
        db,
        select,
        order_line_attribution::Column::Id,
        Direction::NewestFirst,
        page,
        false,
    )
    .await?;
    credited_lines(db, attributions).await
}

/// Every credited line of a producer's products: which hosts sold them, at what rate.
pub async fn producer_lines(db: &impl ConnectionTrait, producer_id: ProducerId) -> AppResult<Vec<CreditedLine>> {
    let line_ids: Vec<OrderLineId> = order_line::Entity::find()
        .select_only()
        .column(order_line::Column::Id)
        .filter(order_line::Column::ProducerId.eq(producer_id))
        .into_tuple()
        .all(db)
        .await?;
    let attributions = order_line_attribution::Entity::find()
        .filter(order_line_attribution::Column::OrderLineId.is_in(line_ids))
        .order_by_desc(order_line_attribution::Column::Id)
        .all(db)
        .await?;
    credited_lines(db, attributions).await
}

/// What a link's orders came to: paid orders only (awaiting payment or cancelled unpaid do
/// not count), sales net of refunds, commission as the ledger holds it for delivered lines and
/// as estimated for lines paid but not delivered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkFigures {
    pub orders: i64,
    pub units: i64,
    pub sales: Fen,
    pub commission: Fen,
}

pub async fn figures(db: &impl ConnectionTrait, link_id: PromoLinkId, platform_fee_bps: u32) -> AppResult<LinkFigures> {
    let attributions = order_line_attribution::Entity::find()
        .filter(order_line_attribution::Column::PromoLinkId.eq(link_id))
        .all(db)
        .await?;
    let lines = credited_lines(db, attributions).await?;
    let mut figures = LinkFigures::default();
    let mut orders = HashSet::new();
    for line in lines {
        orders.insert(line.order_id);
        figures.units += i64::from(line.quantity);
        figures.sales = Fen::new(figures.sales.get() + line.net_total.get());
        let commission = line.commission(platform_fee_bps);
        figures.commission = Fen::new(figures.commission.get() + commission.get());
    }
    figures.orders = i64::try_from(orders.len()).unwrap_or(i64::MAX);
    Ok(figures)
}

/// Refunded so far per line (refunds not refused), for lines of `order_ids`.
async fn refunded_by_line(db: &impl ConnectionTrait, line_ids: &[OrderLineId]) -> AppResult<HashMap<OrderLineId, Fen>> {
    let parts = refund_line::Entity::find()
        .inner_join(refund::Entity)
        .filter(refund_line::Column::OrderLineId.is_in(line_ids.iter().copied()))
        .filter(refund::Column::Status.ne(RefundStatus::Failed))
        .all(db)
        .await?;
    let mut by_line = HashMap::new();
    for part in parts {
        *by_line.entry(part.order_line_id).or_insert(Fen::ZERO) += part.amount_fen;
    }
    Ok(by_line)
}

/// The host's ledger entries per line.
async fn ledger_by_line(
    db: &impl ConnectionTrait,
    line_ids: &[OrderLineId],
) -> AppResult<HashMap<OrderLineId, Vec<host_commission::Model>>> {
    let entries = host_commission::Entity::find()
        .filter(host_commission::Column::OrderLineId.is_in(line_ids.iter().copied()))
        .all(db)
        .await?;
    let mut by_line: HashMap<OrderLineId, Vec<host_commission::Model>> = HashMap::new();
    for entry in entries {
        by_line.entry(entry.order_line_id).or_default().push(entry);
    }
    Ok(by_line)
}

/// Orders that money was paid for: neither awaiting payment nor cancelled before payment.
async fn paid_orders(db: &impl ConnectionTrait, order_ids: &[OrderId]) -> AppResult<HashMap<OrderId, order::Model>> {
    Ok(order::Entity::find()
        .filter(order::Column::Id.is_in(order_ids.iter().copied()))
        .filter(order::Column::Status.ne(OrderStatus::PendingPayment))
        .all(db)
        .await?
        .into_iter()
        .filter(|o| o.status != OrderStatus::Cancelled || o.paid_at.is_some())
        .map(|o| (o.id, o))
        .collect())
}

async fn lines_by_id(
    db: &impl ConnectionTrait,
    line_ids: &[OrderLineId],
) -> AppResult<HashMap<OrderLineId, order_line::Model>> {
    Ok(order_line::Entity::find()
        .filter(order_line::Column::Id.is_in(line_ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.id, l))
        .collect())
}
