//! How far an organisation has come on its yearly pledge (消费帮扶 认购): paid sales credited to
//! it in the year, net of refunds, month by month in China time.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::entity::pledge;
use crate::infra::error::AppResult;
use crate::infra::ids::{OrderId, OrganisationId};
use crate::infra::money::Fen;
use crate::orders::entity::order;
use crate::payments::entity::payment;

/// A pledge and how far the organisation has come.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PledgeProgress {
    pub year: i32,
    pub amount: Fen,
    /// Paid sales credited to the organisation in the year, net of refunds.
    pub progress: Fen,
    /// Progress per month of the year (1–12) that had any.
    pub months: BTreeMap<u32, Fen>,
}

impl PledgeProgress {
    /// Progress as a percentage of the pledge with two decimals ("42.50"), rounded half up
    /// (it passes "100.00" when the pledge is exceeded).
    pub fn percentage(&self) -> String {
        let amount = i128::from(self.amount.get().max(1));
        let hundredths = (i128::from(self.progress.get()) * 10_000 * 2 + amount) / (amount * 2);
        format!("{}.{:02}", hundredths / 100, (hundredths % 100).abs())
    }
}

/// When a calendar year begins in China (UTC+8), as an instant.
fn china_year_start(year: i32) -> Option<DateTime<Utc>> {
    let midnight = NaiveDate::from_ymd_opt(year, 1, 1)?.and_hms_opt(0, 0, 0)?;
    Some(midnight.and_utc() - TimeDelta::hours(8))
}

/// The China-time month (1–12) of an instant.
fn china_month(at: DateTime<Utc>) -> u32 {
    (at + TimeDelta::hours(8)).month()
}

/// The organisation's pledge for `year` with its progress: each credited order counts in the
/// month it was paid (China time), at its total less what was refunded of it (refunds decided
/// but not yet sent included), so a refund lowers the month of the sale it reverses.
pub async fn pledge_progress(
    db: &impl ConnectionTrait,
    organisation_id: OrganisationId,
    year: i32,
) -> AppResult<Option<PledgeProgress>> {
    let Some(pledge) = pledge::Entity::find()
        .filter(pledge::Column::OrganisationId.eq(organisation_id))
        .filter(pledge::Column::Year.eq(year))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let (Some(start), Some(end)) = (china_year_start(year), china_year_start(year + 1)) else {
        return Ok(None);
    };
    let months = credited_sales(db, organisation_id, start, end).await?;
    let progress = Fen::new(months.values().map(|fen| fen.get()).sum());
    Ok(Some(PledgeProgress {
        year,
        amount: pledge.amount_fen,
        progress,
        months,
    }))
}

/// Paid sales credited to the organisation between `start` and `end`, net of refunds, by
/// China-time month.
async fn credited_sales(
    db: &impl ConnectionTrait,
    organisation_id: OrganisationId,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> AppResult<BTreeMap<u32, Fen>> {
    let orders = order::Entity::find()
        .filter(order::Column::UnionId.eq(organisation_id))
        .filter(order::Column::PaidAt.gte(start))
        .filter(order::Column::PaidAt.lt(end))
        .all(db)
        .await?;
    let refunded: HashMap<OrderId, Fen> = payment::Entity::find()
        .filter(payment::Column::OrderId.is_in(orders.iter().map(|o| o.id)))
        .all(db)
        .await?
        .into_iter()
        .map(|payment| (payment.order_id, payment.refunded_fen))
        .collect();
    let mut months: BTreeMap<u32, Fen> = BTreeMap::new();
    for order in &orders {
        let Some(paid_at) = order.paid_at else { continue };
        let net = order.total_fen - refunded.get(&order.id).copied().unwrap_or(Fen::ZERO);
        *months.entry(china_month(paid_at)).or_insert(Fen::ZERO) += net;
    }
    Ok(months)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(amount: i64, progress: i64) -> PledgeProgress {
        PledgeProgress {
            year: 2026,
            amount: Fen::new(amount),
            progress: Fen::new(progress),
            months: BTreeMap::new(),
        }
    }

    #[test]
    fn percentages_round_half_up_to_two_decimals() {
        assert_eq!(progress(300, 100).percentage(), "33.33");
        assert_eq!(progress(300, 200).percentage(), "66.67");
        // 1 fen of 200 yuan is 0.005 %: half a hundredth rounds up; less rounds down.
        assert_eq!(progress(20_000, 1).percentage(), "0.01");
        assert_eq!(progress(20_001, 1).percentage(), "0.00");
        assert_eq!(progress(100, 150).percentage(), "150.00");
        assert_eq!(progress(100, 0).percentage(), "0.00");
    }

    #[test]
    fn years_and_months_are_china_time() {
        let start = china_year_start(2026).expect("a date");
        assert_eq!(start.to_rfc3339(), "2025-12-31T16:00:00+00:00");
        assert_eq!(china_month(start), 1);
        assert_eq!(china_month(start - TimeDelta::seconds(1)), 12);
    }
}
