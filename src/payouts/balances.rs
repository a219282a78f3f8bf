//! What a producer has earned and been paid: balances, lists of payouts and earnings, and the
//! monthly statement.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, FixedOffset, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use super::entity::{earning, host_commission, payout};
use super::{PayoutStatus, payout_reference};
use crate::infra::error::{AppError, AppResult, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::csv::Csv;
use crate::infra::i18n::{Language, Message};
use crate::infra::ids::OrderId;
use crate::infra::ids::ProducerId;
use crate::infra::ids::UserId;
use crate::infra::ids::{EarningId, PayoutId};
use crate::infra::money::Fen;
use crate::infra::paging::{self, Direction, PageRequest};
use crate::orders::entity::order;

/// A producer's money.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Balance {
    /// Earned, still within the hold after delivery.
    pub pending: Fen,
    /// Past the hold and in no payout yet (negative when refunds outweigh new earnings: carried
    /// into the next payout).
    pub available: Fen,
    /// In a payout not yet paid.
    pub in_transit: Fen,
    /// In payouts that were paid.
    pub paid_out: Fen,
}

pub async fn balance(db: &DatabaseConnection, producer_id: ProducerId, now: DateTime<Utc>) -> AppResult<Balance> {
    let entries = earning::Entity::find()
        .filter(earning::Column::ProducerId.eq(producer_id))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.amount_fen, e.available_at, e.payout_id));
    let payouts = payout::Entity::find()
        .filter(payout::Column::ProducerId.eq(producer_id))
        .all(db)
        .await?;
    Ok(tally(entries, payouts, now))
}

/// A livestream host's commissions, in the same four states as a producer's earnings.
pub async fn host_balance(db: &DatabaseConnection, host_id: UserId, now: DateTime<Utc>) -> AppResult<Balance> {
    let entries = host_commission::Entity::find()
        .filter(host_commission::Column::HostId.eq(host_id))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.amount_fen, e.available_at, e.payout_id));
    let payouts = payout::Entity::find()
        .filter(payout::Column::HostId.eq(host_id))
        .all(db)
        .await?;
    Ok(tally(entries, payouts, now))
}

/// Sums ledger entries (amount, when available, the payout claiming it) by state.
fn tally(
    entries: impl Iterator<Item = (Fen, DateTime<Utc>, Option<PayoutId>)>,
    payouts: Vec<payout::Model>,
    now: DateTime<Utc>,
) -> Balance {
    let payouts: HashMap<PayoutId, PayoutStatus> = payouts.into_iter().map(|p| (p.id, p.status)).collect();
    let mut sums = [Fen::ZERO; 4];
    for (amount, available_at, payout_id) in entries {
        let slot = match payout_id.and_then(|id| payouts.get(&id)) {
            None if available_at > now => 0,
            None => 1,
            Some(PayoutStatus::Paid) => 3,
            Some(_) => 2,
        };
        sums[slot] += amount;
    }
    let [pending, available, in_transit, paid_out] = sums;
    Balance {
        pending,
        available,
        in_transit,
        paid_out,
    }
}

/// A page of a host's payouts, newest first.
pub async fn list_host_payouts(
    db: &DatabaseConnection,
    host_id: UserId,
    page: &PageRequest<PayoutId>,
    count_total: bool,
) -> AppResult<(Vec<payout::Model>, u64)> {
    let select = payout::Entity::find().filter(payout::Column::HostId.eq(host_id));
    paging::keyset_page(
        db,
        select,
        payout::Column::Id,
        Direction::NewestFirst,
        page,
        count_total,
    )
    .await
}

/// A page of a producer's payouts (all producers' for `None`), newest first.
pub async fn list_payouts(
    db: &DatabaseConnection,
    producer_id: Option<ProducerId>,
    status: Option<PayoutStatus>,
    page: &PageRequest<PayoutId>,
    count_total: bool,
) -> AppResult<(Vec<payout::Model>, u64)> {
    let mut select = payout::Entity::find();
    if let Some(producer_id) = producer_id {
        select = select.filter(payout::Column::ProducerId.eq(producer_id));
    }
    if let Some(status) = status {
        select = select.filter(payout::Column::Status.eq(status));
    }
    paging::keyset_page(
        db,
        select,
        payout::Column::Id,
        Direction::NewestFirst,
        page,
        count_total,
    )
    .await
}

/// A page of a producer's earnings, newest first.
pub async fn list_earnings(
    db: &DatabaseConnection,
    producer_id: ProducerId,
    page: &PageRequest<EarningId>,
    count_total: bool,
) -> AppResult<(Vec<earning::Model>, u64)> {
    let select = earning::Entity::find().filter(earning::Column::ProducerId.eq(producer_id));
    paging::keyset_page(
        db,
        select,
        earning::Column::Id,
        Direction::NewestFirst,
        page,
        count_total,
    )
    .await
}

/// The earnings of a month (`YYYY-MM`, China time) as CSV, for a producer's records.
pub async fn monthly_statement(
    db: &DatabaseConnection,
    producer_id: ProducerId,
    month: &str,
    language: Language,
) -> Outcome<String> {
    let Some((year, month_number)) = month
        .split_once('-')
        .and_then(|(y, m)| Some((y.parse::<i32>().ok()?, m.parse::<u32>().ok()?)))
        .filter(|(_, m)| (1..=12).contains(m))
    else {
        return Ok(Err(
            UserError::new(ErrorCode::InvalidInput, "month-format").on_field(&["month"])
        ));
    };
    let china = FixedOffset::east_opt(8 * 3600).ok_or_else(|| AppError::Internal(anyhow::anyhow!("UTC+8")))?;
    let entries = earning::Entity::find()
        .filter(earning::Column::ProducerId.eq(producer_id))
        .order_by_asc(earning::Column::Id)
        .all(db)
        .await?;
    let order_ids: Vec<OrderId> = entries.iter().map(|e| e.order_id).collect();
    let numbers: HashMap<OrderId, String> =
        crate::infra::in_list::all_in(db, order::Entity::find(), order::Column::Id, order_ids)
            .await?
            .into_iter()
            .map(|o| (o.id, o.number))
            .collect();
    let mut csv = Csv::new(
        language,
        &[
            "csv-date",
            "csv-order",
            "csv-kind",
            "csv-line-total",
            "csv-platform-fee",
            "csv-commission",
            "csv-earning",
            "csv-payout",
        ],
    );
    let mut total = Fen::ZERO;
    for entry in entries {
        let local = entry.created_at.with_timezone(&china);
        if local.year() != year || local.month() != month_number {
            continue;
        }
        total += entry.amount_fen;
        csv.row(&[
            local.format("%Y-%m-%d").to_string(),
            numbers.get(&entry.order_id).cloned().unwrap_or_default(),
            entry.kind.as_str().to_owned(),
            entry.line_total_fen.to_string(),
            entry.platform_fee_fen.to_string(),
            entry.commission_fen.to_string(),
            entry.amount_fen.to_string(),
            entry.payout_id.map(payout_reference).unwrap_or_default(),
        ]);
    }
    csv.row(&[
        Message::new("csv-total").in_language(language),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        total.to_string(),
        String::new(),
    ]);
    Ok(Ok(csv.finish()))
}
