//! A host's commissions for a month as CSV (`huakai hosts report --host EMAIL --month 2026-09`).

use std::collections::HashMap;

use chrono::{Datelike, FixedOffset};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::infra::error::{AppError, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::csv::Csv;
use crate::infra::i18n::{Language, Message};
use crate::infra::ids::UserId;
use crate::infra::ids::{OrderId, OrderLineId};
use crate::infra::money::Fen;
use crate::orders::entity::{order, order_line_attribution};
use crate::payouts::entity::host_commission;
use crate::payouts::payout_reference;

/// A month written `YYYY-MM`: (year, month).
pub fn parse_month(month: &str) -> Result<(i32, u32), UserError> {
    month
        .split_once('-')
        .and_then(|(y, m)| Some((y.parse::<i32>().ok()?, m.parse::<u32>().ok()?)))
        .filter(|(_, m)| (1..=12).contains(m))
        .ok_or_else(|| UserError::new(ErrorCode::InvalidInput, "month-format").on_field(&["month"]))
}

/// The host's ledger entries written in `month` (`YYYY-MM`, China time): one row per entry with
/// the rate it was placed at, and the month's total.
pub async fn monthly(db: &impl ConnectionTrait, host_id: UserId, month: &str, language: Language) -> Outcome<String> {
    let (year, month_number) = match parse_month(month) {
        Ok(parsed) => parsed,
        Err(problem) => return Ok(Err(problem)),
    };
    let china = FixedOffset::east_opt(8 * 3600).ok_or_else(|| AppError::Internal(anyhow::anyhow!("UTC+8")))?;
    let entries: Vec<host_commission::Model> = host_commission::Entity::find()
        .filter(host_commission::Column::HostId.eq(host_id))
        .order_by_asc(host_commission::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .filter(|e| {
            let local = e.created_at.with_timezone(&china);
            local.year() == year && local.month() == month_number
        })
        .collect();
    let numbers: HashMap<OrderId, String> = order::Entity::find()
        .filter(order::Column::Id.is_in(entries.iter().map(|e| e.order_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.number))
        .collect();
    let rates: HashMap<OrderLineId, i32> = order_line_attribution::Entity::find()
        .filter(order_line_attribution::Column::OrderLineId.is_in(entries.iter().map(|e| e.order_line_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.order_line_id, a.rate_bps))
        .collect();
    let mut csv = Csv::new(
        language,
        &[
            "csv-date",
            "csv-order",
            "csv-kind",
            "csv-line-total",
            "csv-rate-bps",
            "csv-commission",
            "csv-payout",
        ],
    );
    let mut total = Fen::ZERO;
    for entry in &entries {
        total += entry.amount_fen;
        csv.row(&[
            entry.created_at.with_timezone(&china).format("%Y-%m-%d").to_string(),
            numbers.get(&entry.order_id).cloned().unwrap_or_default(),
            entry.kind.as_str().to_owned(),
            entry.line_total_fen.to_string(),
            rates.get(&entry.order_line_id).map(i32::to_string).unwrap_or_default(),
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
        total.to_string(),
        String::new(),
    ]);
    Ok(Ok(csv.finish()))
}
