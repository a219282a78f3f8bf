//! Writing the earnings ledger, always inside the transaction of the step that causes it: a
//! sale when a line is delivered, a reversal when money is given back for a delivered line, and
//! a restoring entry when a refund that reversed earnings is refused. Entries are never changed
//! afterwards (only claimed by a payout), and a repeat of any step writes nothing (a unique key
//! on line, kind and refund).
//!
//! Kinds: `SALE` with refund 0 is a delivered line; `REVERSAL` answers a refund (negative);
//! `SALE` naming a refund restores what that refused refund reversed.
//!
//! A line credited to a livestream host (its attribution holds the rate placed with) takes the
//! host's commission out of the producer's earning, and the same step writes the host's entry
//! of that commission in its own ledger (`host_commissions`), in the same transaction.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::entity::{earning, host_commission};
use super::split;
use crate::infra::error::{AppError, AppResult};
use crate::infra::ids::RefundId;
use crate::infra::ids::{OrderId, OrderLineId};
use crate::infra::money::Fen;
use crate::orders::entity::{order_line, order_line_attribution};
use crate::payments::entity::refund::{self, RefundStatus};
use crate::payments::entity::refund_line;

/// The fee and hold the ledger applies.
#[derive(Clone, Copy, Debug)]
pub struct PayoutSettings {
    pub platform_fee_bps: u32,
    pub hold: Duration,
}

pub const SALE: &str = "SALE";
pub const REVERSAL: &str = "REVERSAL";

/// The refund a delivered line's `SALE` names: none, written 0 (the column is part of a unique
/// key, so it is never null).
const NO_REFUND: RefundId = RefundId(0);

/// A step's entries: the producers' earnings and the hosts' commissions.
#[derive(Default)]
struct Entries {
    earnings: Vec<earning::ActiveModel>,
    commissions: Vec<host_commission::ActiveModel>,
}

impl Entries {
    fn push(&mut self, (earning, commission): (earning::ActiveModel, Option<host_commission::ActiveModel>)) {
        self.earnings.push(earning);
        self.commissions.extend(commission);
    }
}

async fn insert(db: &impl ConnectionTrait, entries: Entries) -> AppResult<()> {
    if !entries.commissions.is_empty() {
        host_commission::Entity::insert_many(entries.commissions)
            .on_conflict(
                OnConflict::columns([
                    host_commission::Column::OrderLineId,
                    host_commission::Column::Kind,
                    host_commission::Column::RefundId,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    if entries.earnings.is_empty() {
        return Ok(());
    }
    earning::Entity::insert_many(entries.earnings)
        .on_conflict(
            OnConflict::columns([
                earning::Column::OrderLineId,
                earning::Column::Kind,
                earning::Column::RefundId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

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

/// An entry for `line_total` (negative for a reversal) of `line`, split as a sale is, and the
/// host's entry of the commission when the line is credited to one.
fn entry(
    line: &order_line::Model,
    attribution: Option<&order_line_attribution::Model>,
    kind: &str,
    refund_id: RefundId,
    line_total: Fen,
    available_at: DateTime<Utc>,
    settings: PayoutSettings,
) -> (earning::ActiveModel, Option<host_commission::ActiveModel>) {
    let commission_bps = attribution.map_or(0, |a| u32::try_from(a.rate_bps).unwrap_or(0));
    let parts = split(line_total, settings.platform_fee_bps, commission_bps);
    let now = Utc::now();
    let commission = attribution.map(|a| host_commission::ActiveModel {
        host_id: Set(a.host_id),
        order_id: Set(line.order_id),
        order_line_id: Set(line.id),
        refund_id: Set(refund_id),
        kind: Set(kind.to_owned()),
        line_total_fen: Set(line_total.get()),
        amount_fen: Set(parts.commission.get()),
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
        kind: Set(kind.to_owned()),
        line_total_fen: Set(line_total.get()),
        platform_fee_fen: Set(parts.platform_fee.get()),
        commission_fen: Set(parts.commission.get()),
        amount_fen: Set(parts.earning.get()),
        available_at: Set(available_at),
        payout_id: Set(None),
        created_at: Set(now),
        ..Default::default()
    };
    (earning, commission)
}

/// Each line of a delivered order earns its producer the line total less the fee and the
/// commission, available after the hold; every refund decided before delivery (and not
/// refused) is reversed with it, so the producer earns on what the buyer kept.
pub async fn record_delivery(
    db: &impl ConnectionTrait,
    order_id: OrderId,
    delivered_at: DateTime<Utc>,
    settings: PayoutSettings,
) -> AppResult<()> {
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
        entries.push(entry(
            line,
            credited.get(&line.id),
            SALE,
            NO_REFUND,
            Fen::new(line.line_total_fen),
            available_at,
            settings,
        ));
    }
    let refunded = refund_line::Entity::find()
        .inner_join(refund::Entity)
        .filter(refund_line::Column::OrderLineId.is_in(lines.keys().copied()))
        .filter(refund::Column::Status.ne(RefundStatus::Failed))
        .all(db)
        .await?;
    for part in refunded {
        if let Some(line) = lines.get(&part.order_line_id) {
            entries.push(entry(
                line,
                credited.get(&line.id),
                REVERSAL,
                part.refund_id,
                Fen::new(-part.amount_fen),
                available_at,
                settings,
            ));
        }
    }
    insert(db, entries).await
}

/// A refund decided for an order: for each line already delivered (it has a sale), a reversing
/// entry of the refund's part of that line. It becomes available with its sale, or at once when
/// the sale is available already (after a payout: a negative balance the next payout deducts).
/// Lines not delivered yet are reversed when they are ([`record_delivery`]).
pub async fn reverse_refund(
    db: &impl ConnectionTrait,
    order_id: OrderId,
    refund_id: RefundId,
    parts: &[(OrderLineId, i64)],
    settings: PayoutSettings,
) -> AppResult<()> {
    let sales: HashMap<OrderLineId, DateTime<Utc>> = earning::Entity::find()
        .filter(earning::Column::OrderId.eq(order_id))
        .filter(earning::Column::Kind.eq(SALE))
        .filter(earning::Column::RefundId.eq(0))
        .all(db)
        .await?
        .into_iter()
        .map(|sale| (sale.order_line_id, sale.available_at))
        .collect();
    if sales.is_empty() {
        return Ok(());
    }
    let lines: HashMap<OrderLineId, order_line::Model> = order_line::Entity::find()
        .filter(order_line::Column::Id.is_in(sales.keys().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|line| (line.id, line))
        .collect();
    let credited = attributions(db, lines.keys().copied()).await?;
    let now = Utc::now();
    let mut entries = Entries::default();
    for (line_id, part) in parts {
        let Some(line) = lines.get(line_id) else { continue };
        let available_at = sales
            .get(line_id)
            .map_or(now, |sale_available| (*sale_available).max(now));
        entries.push(entry(
            line,
            credited.get(line_id),
            REVERSAL,
            refund_id,
            Fen::new(-part),
            available_at,
            settings,
        ));
    }
    insert(db, entries).await
}

/// A refund was refused after it reversed earnings: each reversal is answered by an entry of
/// the opposite amount (its fee and commission mirrored too, and the host's entry with it),
/// available at once.
pub async fn restore_refund(db: &impl ConnectionTrait, refund_id: RefundId) -> AppResult<()> {
    let reversals = earning::Entity::find()
        .filter(earning::Column::RefundId.eq(refund_id))
        .filter(earning::Column::Kind.eq(REVERSAL))
        .all(db)
        .await?;
    let host_reversals = host_commission::Entity::find()
        .filter(host_commission::Column::RefundId.eq(refund_id))
        .filter(host_commission::Column::Kind.eq(REVERSAL))
        .all(db)
        .await?;
    let now = Utc::now();
    let commissions = host_reversals
        .into_iter()
        .map(|reversal| host_commission::ActiveModel {
            host_id: Set(reversal.host_id),
            order_id: Set(reversal.order_id),
            order_line_id: Set(reversal.order_line_id),
            refund_id: Set(refund_id),
            kind: Set(SALE.to_owned()),
            line_total_fen: Set(-reversal.line_total_fen),
            amount_fen: Set(-reversal.amount_fen),
            available_at: Set(now),
            payout_id: Set(None),
            created_at: Set(now),
            ..Default::default()
        })
        .collect();
    let earnings = reversals
        .into_iter()
        .map(|reversal| earning::ActiveModel {
            producer_id: Set(reversal.producer_id),
            order_id: Set(reversal.order_id),
            order_line_id: Set(reversal.order_line_id),
            refund_id: Set(refund_id),
            kind: Set(SALE.to_owned()),
            line_total_fen: Set(-reversal.line_total_fen),
            platform_fee_fen: Set(-reversal.platform_fee_fen),
            commission_fen: Set(-reversal.commission_fen),
            amount_fen: Set(-reversal.amount_fen),
            available_at: Set(now),
            payout_id: Set(None),
            created_at: Set(now),
            ..Default::default()
        })
        .collect();
    insert(db, Entries { earnings, commissions }).await
}
