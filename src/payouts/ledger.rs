//! Writing the earnings ledger: a sale when a line is delivered, a reversal when money is given
//! back for a delivered line. Entries are never changed afterwards (only claimed by a payout).

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::entity::earning;
use super::split;
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

/// Splits `amount` over `weights` in proportion, to the fen: floors, then the leftover fen to
/// the largest remainders.
pub fn allocate(amount: i64, weights: &[i64]) -> Vec<i64> {
    let total: i128 = weights.iter().map(|w| i128::from(*w)).sum();
    if total <= 0 {
        return vec![0; weights.len()];
    }
    let mut parts: Vec<(i128, i128)> = weights
        .iter()
        .map(|w| {
            let exact = i128::from(amount) * i128::from(*w);
            (exact / total, exact % total)
        })
        .collect();
    let mut left = i128::from(amount) - parts.iter().map(|(floor, _)| floor).sum::<i128>();
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|a, b| parts[*b].1.cmp(&parts[*a].1).then(a.cmp(b)));
    for index in order {
        if left <= 0 {
            break;
        }
        parts[index].0 += 1;
        left -= 1;
    }
    parts
        .into_iter()
        .map(|(part, _)| i64::try_from(part).unwrap_or(i64::MAX))
        .collect()
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

#[cfg(test)]
mod tests {
    use super::allocate;

    #[test]
    fn refunds_are_shared_over_lines_to_the_fen() {
        assert_eq!(allocate(100, &[1, 1, 1]), vec![34, 33, 33]);
        assert_eq!(allocate(1, &[5000, 1]), vec![1, 0]);
        assert_eq!(allocate(999, &[333, 333, 334]).iter().sum::<i64>(), 999);
        assert_eq!(allocate(5, &[0, 0]), vec![0, 0]);
    }
}
