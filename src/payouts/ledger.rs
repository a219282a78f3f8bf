//! Writing the earnings ledger: a sale when a line is delivered, a reversal when money is given
//! back for a delivered line. Entries are never changed afterwards (only claimed by a payout).

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::entity::earning;
use super::{allocate, split};
use crate::error::{AppError, AppResult};
use crate::money::Fen;
use crate::orders::entity::order_line;

/// The fee and hold the ledger applies.
#[derive(Clone, Copy, Debug)]
pub struct PayoutSettings {
    pub platform_fee_bps: u32,
    pub hold: Duration,
}

/// Host commission in basis points; livestream links do not exist yet.
const COMMISSION_BPS: u32 = 0;

async fn insert(db: &impl ConnectionTrait, entries: Vec<earning::ActiveModel>) -> AppResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    // A repeat (the same delivery or refund applied twice) writes nothing.
    earning::Entity::insert_many(entries)
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

/// Each line of a delivered order earns its producer the line total less the fee and the
/// commission, available after the hold.
pub async fn record_delivery(
    db: &impl ConnectionTrait,
    order_id: i64,
    delivered_at: DateTime<Utc>,
    settings: PayoutSettings,
) -> AppResult<()> {
    let lines = order_line::Entity::find()
        .filter(order_line::Column::OrderId.eq(order_id))
        .all(db)
        .await?;
    let available_at =
        delivered_at + chrono::Duration::from_std(settings.hold).map_err(|e| AppError::Internal(e.into()))?;
    let entries = lines
        .into_iter()
        .map(|line| {
            let parts = split(Fen::new(line.line_total_fen), settings.platform_fee_bps, COMMISSION_BPS);
            earning::ActiveModel {
                producer_id: Set(line.producer_id),
                order_id: Set(order_id),
                order_line_id: Set(line.id),
                refund_id: Set(0),
                kind: Set("SALE".to_owned()),
                line_total_fen: Set(line.line_total_fen),
                platform_fee_fen: Set(parts.platform_fee.get()),
                commission_fen: Set(parts.commission.get()),
                amount_fen: Set(parts.earning.get()),
                available_at: Set(available_at),
                payout_id: Set(None),
                created_at: Set(delivered_at),
                ..Default::default()
            }
        })
        .collect();
    insert(db, entries).await
}

/// Money given back for a delivered order: a reversing entry per line, the refund shared over
/// the lines in proportion to their totals, each reversing its fee the way the sale took it.
/// Counts against the balance at once. An order not delivered has no earnings to reverse.
pub async fn record_refund(
    db: &impl ConnectionTrait,
    order_id: i64,
    refund_id: i64,
    amount: Fen,
    settings: PayoutSettings,
) -> AppResult<()> {
    let sales = earning::Entity::find()
        .filter(earning::Column::OrderId.eq(order_id))
        .filter(earning::Column::Kind.eq("SALE"))
        .all(db)
        .await?;
    if sales.is_empty() {
        return Ok(());
    }
    let weights: Vec<i64> = sales.iter().map(|sale| sale.line_total_fen).collect();
    let now = Utc::now();
    let entries = sales
        .iter()
        .zip(allocate(amount.get(), &weights))
        .filter(|(_, part)| *part > 0)
        .map(|(sale, part)| {
            let parts = split(Fen::new(-part), settings.platform_fee_bps, COMMISSION_BPS);
            earning::ActiveModel {
                producer_id: Set(sale.producer_id),
                order_id: Set(order_id),
                order_line_id: Set(sale.order_line_id),
                refund_id: Set(refund_id),
                kind: Set("REVERSAL".to_owned()),
                line_total_fen: Set(-part),
                platform_fee_fen: Set(parts.platform_fee.get()),
                commission_fen: Set(parts.commission.get()),
                amount_fen: Set(parts.earning.get()),
                available_at: Set(now),
                payout_id: Set(None),
                created_at: Set(now),
                ..Default::default()
            }
        })
        .collect();
    insert(db, entries).await
}
