//! An organisation's report for a period (消费帮扶台账): what its credited orders bought, by
//! county (区县), village, producer and month, net of refunds; its pledge for the period's
//! last year with the progress; the allowances granted from its fund, spent and returned to it;
//! what the fund paid for bulk orders; and how far those bulk orders are accepted.
//! Shown to its admins and operators, in GraphQL and as CSV.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, TimeDelta, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::pledges::{self, PledgeProgress};
use crate::catalogue::entity::{producer, village};
use crate::infra::error::{Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::csv::Csv;
use crate::infra::i18n::{Language, Message};
use crate::infra::ids::OrganisationId;
use crate::infra::ids::RefundId;
use crate::infra::ids::{OrderId, OrderLineId};
use crate::infra::ids::{ProducerId, VillageId};
use crate::infra::in_list::all_in;
use crate::infra::money::Fen;
use crate::orders::entity::{order, order_line};
use crate::orders::service::acceptance::{self, Progress};
use crate::organisations::entity::ledger::{self, LedgerEntryKind};
use crate::payments::entity::refund::{self, RefundStatus};
use crate::payments::entity::refund_line;

/// The longest period one report covers.
const MAX_DAYS: i64 = 366;

/// Spending under one name (a county, a village, a producer, a month), largest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Share {
    pub name: String,
    pub amount: Fen,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrganisationReport {
    /// First and last day (China time), both included.
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Paid credited orders in the period, and what they came to net of refunds.
    pub orders: usize,
    pub spending: Fen,
    pub by_county: Vec<Share>,
    pub by_village: Vec<Share>,
    pub by_producer: Vec<Share>,
    /// `YYYY-MM`, in calendar order.
    pub by_month: Vec<Share>,
    /// The pledge of the period's last year, if one was set.
    pub pledge: Option<PledgeProgress>,
    pub allowance_granted: Fen,
    /// Allowance spent on members' orders, net of what refunds and cancellations gave back.
    pub allowance_spent: Fen,
    pub allowance_returned: Fen,
    /// Paid from the fund for bulk orders, net of refunds to the fund.
    pub fund_purchases: Fen,
    /// Acceptance of the bulk orders placed in the period.
    pub acceptance: Progress,
}

/// The instant a China-time day begins.
fn china_midnight(day: NaiveDate) -> chrono::DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc() - TimeDelta::hours(8)
}

/// Adds `amount` under `name`.
fn add(sums: &mut HashMap<String, Fen>, name: &str, amount: Fen) {
    *sums.entry(name.to_owned()).or_default() += amount;
}

/// Largest first; equal amounts by name, so the order is stable.
fn ranked(sums: HashMap<String, Fen>) -> Vec<Share> {
    let mut shares: Vec<Share> = sums.into_iter().map(|(name, amount)| Share { name, amount }).collect();
    shares.sort_by(|a, b| b.amount.cmp(&a.amount).then_with(|| a.name.cmp(&b.name)));
    shares
}

/// The report of `organisation_id` for the days `from` to `to` (China time, both included).
pub async fn report(
    db: &impl ConnectionTrait,
    organisation_id: OrganisationId,
    from: NaiveDate,
    to: NaiveDate,
) -> Outcome<OrganisationReport> {
    if to < from {
        return Ok(Err(
            UserError::new(ErrorCode::InvalidInput, "to-before-from").on_field(&["to"])
        ));
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Ok(Err(UserError::new(
            ErrorCode::InvalidInput,
            Message::new("report-days").with("max", MAX_DAYS),
        )
        .on_field(&["to"])));
    }
    let (start, end) = (china_midnight(from), china_midnight(to) + TimeDelta::days(1));
    let orders = order::Entity::find()
        .filter(order::Column::UnionId.eq(organisation_id))
        .filter(order::Column::PaidAt.gte(start))
        .filter(order::Column::PaidAt.lt(end))
        .all(db)
        .await?;
    let lines = all_in(
        db,
        order_line::Entity::find(),
        order_line::Column::OrderId,
        orders.iter().map(|o| o.id),
    )
    .await?;
    // What was given back of each line: every refund decided, sent or waiting, but not one
    // that was refused.
    let parts = all_in(
        db,
        refund_line::Entity::find(),
        refund_line::Column::OrderLineId,
        lines.iter().map(|l| l.id),
    )
    .await?;
    let refused: Vec<RefundId> = all_in(
        db,
        refund::Entity::find().filter(refund::Column::Status.eq(RefundStatus::Failed)),
        refund::Column::Id,
        parts.iter().map(|part| part.refund_id),
    )
    .await?
    .into_iter()
    .map(|r| r.id)
    .collect();
    let mut refunded: HashMap<OrderLineId, Fen> = HashMap::new();
    for part in parts.iter().filter(|part| !refused.contains(&part.refund_id)) {
        *refunded.entry(part.order_line_id).or_default() += part.amount_fen;
    }
    // One id per producer, however many lines it has.
    let producer_ids: std::collections::HashSet<ProducerId> = lines.iter().map(|l| l.producer_id).collect();
    let producers: HashMap<ProducerId, producer::Model> =
        all_in(db, producer::Entity::find(), producer::Column::Id, producer_ids)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
    let villages: HashMap<VillageId, village::Model> = all_in(
        db,
        village::Entity::find(),
        village::Column::Id,
        producers.values().map(|p| p.village_id),
    )
    .await?
    .into_iter()
    .map(|v| (v.id, v))
    .collect();
    let paid_month: HashMap<OrderId, String> = orders
        .iter()
        .filter_map(|o| Some((o.id, (o.paid_at? + TimeDelta::hours(8)).format("%Y-%m").to_string())))
        .collect();

    let (mut counties, mut village_sums, mut producer_sums) = (HashMap::new(), HashMap::new(), HashMap::new());
    let mut months: BTreeMap<String, Fen> = BTreeMap::new();
    let mut spending = Fen::ZERO;
    for line in &lines {
        let net = line.line_total_fen - refunded.get(&line.id).copied().unwrap_or(Fen::ZERO);
        spending += net;
        if let Some(month) = paid_month.get(&line.order_id) {
            *months.entry(month.clone()).or_default() += net;
        }
        let Some(producer) = producers.get(&line.producer_id) else {
            continue;
        };
        add(&mut producer_sums, &producer.name, net);
        if let Some(village) = villages.get(&producer.village_id) {
            add(&mut village_sums, &village.name, net);
            add(&mut counties, &village.district, net);
        }
    }

    let entries = ledger::Entity::find()
        .filter(ledger::Column::OrganisationId.eq(organisation_id))
        .filter(ledger::Column::CreatedAt.gte(start))
        .filter(ledger::Column::CreatedAt.lt(end))
        .all(db)
        .await?;
    let moved = |kind: LedgerEntryKind| -> Fen {
        entries
            .iter()
            .filter(|entry| entry.kind == kind)
            .map(|entry| Fen::new(entry.fund_delta_fen.get().abs()))
            .sum()
    };
    // Allowance given back goes to its grant or, once that has closed, to the fund: either way
    // it was not spent.
    let allowance_spent: Fen = entries
        .iter()
        .map(|entry| match entry.kind {
            LedgerEntryKind::Spend => -entry.grant_delta_fen,
            LedgerEntryKind::Refund | LedgerEntryKind::Release => -(entry.grant_delta_fen + entry.fund_delta_fen),
            _ => Fen::ZERO,
        })
        .sum();

    Ok(Ok(OrganisationReport {
        from,
        to,
        orders: orders.len(),
        spending,
        by_county: ranked(counties),
        by_village: ranked(village_sums),
        by_producer: ranked(producer_sums),
        by_month: months
            .into_iter()
            .map(|(name, amount)| Share { name, amount })
            .collect(),
        pledge: pledges::pledge_progress(db, organisation_id, chrono::Datelike::year(&to)).await?,
        allowance_granted: moved(LedgerEntryKind::Grant),
        allowance_spent,
        allowance_returned: moved(LedgerEntryKind::Return),
        fund_purchases: moved(LedgerEntryKind::Purchase) - moved(LedgerEntryKind::FundRefund),
        acceptance: acceptance::progress(db, organisation_id, Some((start, end))).await?,
    }))
}

/// The report as CSV (section, name, amount in yuan), headed in `language`.
pub fn csv(report: &OrganisationReport, language: Language) -> String {
    let words = |id: &'static str| Message::new(id).in_language(language);
    let mut csv = Csv::new(language, &["csv-section", "csv-name", "csv-value"]);
    let mut row = |section: &'static str, name: String, value: String| csv.row(&[words(section), name, value]);
    row("impact-period", words("impact-from"), report.from.to_string());
    row("impact-period", words("impact-to"), report.to.to_string());
    row("impact-total", words("report-orders"), report.orders.to_string());
    row("impact-total", words("report-spending"), report.spending.to_string());
    for (section, shares) in [
        ("report-by-county", &report.by_county),
        ("report-by-village", &report.by_village),
        ("report-by-producer", &report.by_producer),
        ("report-by-month", &report.by_month),
    ] {
        for share in shares {
            row(section, share.name.clone(), share.amount.to_string());
        }
    }
    if let Some(pledge) = &report.pledge {
        let year = pledge.year.to_string();
        row("report-pledge", year.clone(), pledge.amount.to_string());
        row("report-pledge-progress", year.clone(), pledge.progress.to_string());
        row("report-pledge-percentage", year, pledge.percentage());
    }
    row(
        "report-allowance",
        words("report-granted"),
        report.allowance_granted.to_string(),
    );
    row(
        "report-allowance",
        words("report-spent"),
        report.allowance_spent.to_string(),
    );
    row(
        "report-allowance",
        words("report-returned"),
        report.allowance_returned.to_string(),
    );
    row(
        "report-fund",
        words("report-fund-purchases"),
        report.fund_purchases.to_string(),
    );
    let acceptance = &report.acceptance;
    for (name, count) in [
        ("report-shipments", acceptance.shipments),
        ("report-accepted", acceptance.accepted),
        ("report-with-problems", acceptance.with_problems),
    ] {
        row("report-acceptance", words(name), count.to_string());
    }
    csv.finish()
}
