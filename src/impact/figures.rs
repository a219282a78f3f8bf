//! The report's figures, each worked out from the order, refund, earnings and payout ledgers
//! so that anyone with the data can reproduce it to the fen.
//!
//! Rules (also in docs/):
//! - **Sales**: order lines of paid orders (`paid_at` in the period, by calendar day in China)
//!   for products of registered-poor villages (建档立卡贫困村), net of every refund that was not
//!   refused, whenever it came; a refund counts against a line by its split over the lines.
//! - **Units sold**: the quantities of those lines, less lines refunded in full.
//! - **Paid to producers**: payouts to producers of those villages marked paid in the period.
//!   **Paid to households**: the registered-poor households' parts of those payouts, as each
//!   payout's statement froze them (二次分配).
//! - **Households reached**: distinct registered-poor households with a part above zero in
//!   those payouts, plus household producers (农户) of those villages paid in the period.
//! - **Grower's share**: the producers' earnings over the line totals they came from (refunds
//!   netted on both sides), in basis points rounded half up.
//! - **Through unions / through hosts**: sales of orders credited to an organisation / of lines
//!   attributed to a livestream host (a code that named no host's plan counts for none).
//! - **Channels**: the sales split over online, livestream, union and supermarket, each line in
//!   one channel ([`super::Channel`] says which first), so the channels add up to the sales.
//! - **Pledges fulfilled**: organisations' yearly pledges (预留份额) for the years the period
//!   touches whose progress has reached the amount pledged.
//! - A village's households-reached figure is shown only when it is 5 or more; it is always in
//!   the total.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::Channel;
use crate::catalogue::ProducerKind;
use crate::catalogue::entity::{producer, village};
use crate::infra::error::{AppError, AppResult};
use crate::infra::i18n::Message;
use crate::infra::ids::PayoutId;
use crate::infra::ids::{OrderId, OrderLineId};
use crate::infra::ids::{ProducerId, VillageId};
use crate::infra::in_list::{self, all_in};
use crate::infra::money::Fen;
use crate::orders::entity::{order, order_line, order_line_attribution};
use crate::payments::entity::refund::{self, RefundStatus};
use crate::payments::entity::refund_line;
use crate::payouts::EarningKind;
use crate::payouts::PayoutStatus;
use crate::payouts::entity::payout::{self, PayeeKind};
use crate::payouts::entity::{earning, payout_household_share};
use crate::stores::entity::counter_sale;
use crate::unions;
use crate::unions::entity::pledge;

/// Fewer households than this in a village are shown only in the total.
pub const SMALLEST_VILLAGE_FIGURE: u64 = 5;
/// The longest period a report covers (its months are listed one by one).
pub const MAX_DAYS: i64 = 731;

/// What the report covers: calendar days in China, both ends included, and perhaps one village.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub village_slug: Option<String>,
}

impl Period {
    /// `from`..`to` (defaults: this year in China), or why not.
    pub fn new(
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        village_slug: Option<String>,
    ) -> Result<Period, Message> {
        let year = crate::catalogue::today_in_china().year();
        let from = from.unwrap_or_else(|| NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(NaiveDate::MIN));
        let to = to.unwrap_or_else(|| NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(NaiveDate::MAX));
        if to < from {
            return Err(Message::new("to-before-from"));
        }
        if (to - from).num_days() > MAX_DAYS {
            return Err(Message::new("report-days").with("max", MAX_DAYS));
        }
        Ok(Period {
            from,
            to,
            village_slug: village_slug.filter(|slug| !slug.trim().is_empty()),
        })
    }

    /// The whole of `year` in China.
    pub fn year(year: i32, village_slug: Option<String>) -> Result<Period, Message> {
        let from = NaiveDate::from_ymd_opt(year, 1, 1).ok_or(Message::new("year-not-valid"))?;
        let to = NaiveDate::from_ymd_opt(year, 12, 31).ok_or(Message::new("year-not-valid"))?;
        Period::new(Some(from), Some(to), village_slug)
    }

    /// The period as instants: from midnight in China on `from` to midnight after `to`.
    fn instants(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let china = |day: NaiveDate| day.and_hms_opt(0, 0, 0).map(|t| t.and_utc() - TimeDelta::hours(8));
        let start = china(self.from).unwrap_or(DateTime::<Utc>::MIN_UTC);
        let end = china(self.to + TimeDelta::days(1)).unwrap_or(DateTime::<Utc>::MAX_UTC);
        (start, end)
    }

    /// Every month the period touches, `YYYY-MM`.
    fn months(&self) -> Vec<String> {
        let mut months = Vec::new();
        let mut day = NaiveDate::from_ymd_opt(self.from.year(), self.from.month(), 1).unwrap_or(self.from);
        while day <= self.to {
            months.push(day.format("%Y-%m").to_string());
            day = day.checked_add_months(chrono::Months::new(1)).unwrap_or(NaiveDate::MAX);
        }
        months
    }
}

fn china_month(at: DateTime<Utc>) -> String {
    (at + TimeDelta::hours(8)).format("%Y-%m").to_string()
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VillageFigures {
    pub village: village::Model,
    pub sales: Fen,
    /// `None` when fewer than [`SMALLEST_VILLAGE_FIGURE`] households.
    pub households_reached: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub period: Period,
    pub sales: Fen,
    pub units_sold: i64,
    pub paid_to_producers: Fen,
    pub paid_to_households: Fen,
    pub households_reached: u64,
    pub grower_share_bps: i64,
    pub through_unions: Fen,
    pub through_hosts: Fen,
    /// Every channel, in [`Channel::ALL`]'s order, with its sales.
    pub channels: Vec<(Channel, Fen)>,
    /// Pledges for the period's years, and how many of them are fulfilled.
    pub pledges_made: u64,
    pub pledges_fulfilled: u64,
    /// Villages with sales in the period, most sold first.
    pub villages: Vec<VillageFigures>,
    /// (town, sales), most sold first.
    pub towns: Vec<(String, Fen)>,
    /// (producer kind, sales), most sold first.
    pub producer_kinds: Vec<(String, Fen)>,
    /// (`YYYY-MM`, sales) for every month of the period.
    pub months: Vec<(String, Fen)>,
    pub computed_at: DateTime<Utc>,
}

/// `numerator / denominator` in basis points, rounded half up (0 when nothing was sold).
fn basis_points(numerator: i64, denominator: i64) -> i64 {
    if denominator <= 0 {
        return 0;
    }
    let scaled = i128::from(numerator) * 10_000;
    let denominator = i128::from(denominator);
    i64::try_from((2 * scaled + denominator) / (2 * denominator)).unwrap_or(0)
}

fn ranked<K: Clone>(sums: HashMap<K, Fen>, name: impl Fn(&K) -> String) -> Vec<(String, Fen)> {
    let mut rows: Vec<(String, Fen)> = sums.iter().map(|(k, v)| (name(k), *v)).collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    rows
}

/// Works the report out for `period`. `None` when the village named does not exist.
pub async fn report(db: &impl ConnectionTrait, period: Period) -> AppResult<Option<Report>> {
    let villages: HashMap<VillageId, village::Model> = village::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.id, v))
        .collect();
    let chosen = match &period.village_slug {
        Some(slug) => match villages.values().find(|v| &v.slug == slug) {
            Some(village) => Some(village.id),
            None => return Ok(None),
        },
        None => None,
    };
    let in_scope = |village_id: VillageId| {
        villages.get(&village_id).is_some_and(|v| v.registered_poor) && chosen.is_none_or(|c| c == village_id)
    };
    let producers: HashMap<ProducerId, producer::Model> = producer::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let village_of_producer = |producer_id: ProducerId| producers.get(&producer_id).map(|p| p.village_id);
    let (start, end) = period.instants();

    // Sales: lines of orders paid in the period, net of refunds that were not refused.
    let orders: HashMap<OrderId, order::Model> = order::Entity::find()
        .filter(order::Column::PaidAt.gte(start))
        .filter(order::Column::PaidAt.lt(end))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    let lines: Vec<order_line::Model> = all_in(
        db,
        order_line::Entity::find(),
        order_line::Column::OrderId,
        orders.keys().copied(),
    )
    .await?
    .into_iter()
    .filter(|line| village_of_producer(line.producer_id).is_some_and(in_scope))
    .collect();
    let mut refunded: HashMap<OrderLineId, Fen> = HashMap::new();
    for chunk in in_list::chunks(lines.iter().map(|l| l.id)) {
        for (part, refund) in refund_line::Entity::find()
            .find_also_related(refund::Entity)
            .filter(refund_line::Column::OrderLineId.is_in(chunk))
            .all(db)
            .await?
        {
            if refund.is_some_and(|r| r.status != RefundStatus::Failed) {
                *refunded.entry(part.order_line_id).or_default() += part.amount_fen;
            }
        }
    }
    let attributed: HashSet<OrderLineId> = all_in(
        db,
        order_line_attribution::Entity::find(),
        order_line_attribution::Column::OrderLineId,
        lines.iter().map(|l| l.id),
    )
    .await?
    .into_iter()
    .map(|a| a.order_line_id)
    .collect();
    let over_the_counter: HashSet<OrderId> = all_in(
        db,
        counter_sale::Entity::find(),
        counter_sale::Column::OrderId,
        orders.keys().copied(),
    )
    .await?
    .into_iter()
    .map(|sale| sale.order_id)
    .collect();
    let mut by_channel: HashMap<Channel, Fen> = HashMap::new();
    let mut sales = Fen::ZERO;
    let mut units = 0i64;
    let mut through_unions = Fen::ZERO;
    let mut through_hosts = Fen::ZERO;
    let mut by_village: HashMap<VillageId, Fen> = HashMap::new();
    let mut by_town: HashMap<String, Fen> = HashMap::new();
    let mut by_kind: HashMap<String, Fen> = HashMap::new();
    let mut by_month: BTreeMap<String, Fen> = period.months().into_iter().map(|m| (m, Fen::ZERO)).collect();
    for line in &lines {
        let net = line.line_total_fen
            - refunded
                .get(&line.id)
                .copied()
                .unwrap_or(Fen::ZERO)
                .min(line.line_total_fen);
        let Some(order) = orders.get(&line.order_id) else {
            continue;
        };
        let Some(producer) = producers.get(&line.producer_id) else {
            continue;
        };
        sales += net;
        if net > Fen::ZERO {
            units += i64::from(line.quantity);
        }
        if order.union_id.is_some() {
            through_unions += net;
        }
        if attributed.contains(&line.id) {
            through_hosts += net;
        }
        let channel = if over_the_counter.contains(&line.order_id) {
            Channel::Supermarket
        } else if attributed.contains(&line.id) {
            Channel::Livestream
        } else if order.union_id.is_some() {
            Channel::Union
        } else {
            Channel::Online
        };
        *by_channel.entry(channel).or_default() += net;
        *by_village.entry(producer.village_id).or_default() += net;
        if let Some(village) = villages.get(&producer.village_id) {
            *by_town.entry(village.town.clone()).or_default() += net;
        }
        *by_kind.entry(producer.kind.as_str().to_owned()).or_default() += net;
        if let Some(paid_at) = order.paid_at {
            *by_month.entry(china_month(paid_at)).or_default() += net;
        }
    }

    // The growers' share of what buyers paid, from the earnings of those lines.
    let line_ids: HashSet<OrderLineId> = lines.iter().map(|l| l.id).collect();
    let (mut earned, mut earned_from) = (Fen::ZERO, Fen::ZERO);
    for entry in all_in(
        db,
        earning::Entity::find(),
        earning::Column::OrderId,
        orders.keys().copied(),
    )
    .await?
    {
        // The share is of what the goods earned: a parcel's fee goes to its courier.
        let shipping = matches!(entry.kind, EarningKind::Shipping | EarningKind::ShippingRefund);
        if line_ids.contains(&entry.order_line_id) && !shipping {
            earned += entry.amount_fen;
            earned_from += entry.line_total_fen;
        }
    }

    // Money that reached producers and, through cooperatives, registered-poor households.
    let payouts: Vec<payout::Model> = payout::Entity::find()
        .filter(payout::Column::PayeeKind.eq(PayeeKind::Producer))
        .filter(payout::Column::Status.eq(PayoutStatus::Paid))
        .filter(payout::Column::PaidAt.gte(start))
        .filter(payout::Column::PaidAt.lt(end))
        .all(db)
        .await?
        .into_iter()
        .filter(|p| p.producer_id.and_then(village_of_producer).is_some_and(in_scope))
        .collect();
    let paid_to_producers: Fen = payouts.iter().map(|p| p.amount_fen).sum();
    let producer_of_payout: HashMap<PayoutId, ProducerId> = payouts
        .iter()
        .filter_map(|p| p.producer_id.map(|producer| (p.id, producer)))
        .collect();
    let mut paid_to_households = Fen::ZERO;
    let mut households: HashSet<(ProducerId, String)> = HashSet::new();
    for share in all_in(
        db,
        payout_household_share::Entity::find().filter(payout_household_share::Column::RegisteredPoor.eq(true)),
        payout_household_share::Column::PayoutId,
        producer_of_payout.keys().copied(),
    )
    .await?
    {
        paid_to_households += share.amount_fen;
        if share.amount_fen > Fen::ZERO
            && let Some(producer) = producer_of_payout.get(&share.payout_id)
        {
            households.insert((*producer, share.name));
        }
    }
    for producer_id in producer_of_payout.values() {
        if producers
            .get(producer_id)
            .is_some_and(|p| p.kind == ProducerKind::Household)
        {
            households.insert((*producer_id, String::new()));
        }
    }
    let mut households_by_village: HashMap<VillageId, u64> = HashMap::new();
    for (producer_id, _) in &households {
        if let Some(village_id) = village_of_producer(*producer_id) {
            *households_by_village.entry(village_id).or_default() += 1;
        }
    }

    let mut village_rows: Vec<VillageFigures> = by_village
        .keys()
        .chain(households_by_village.keys())
        .collect::<HashSet<_>>()
        .into_iter()
        .filter_map(|village_id| {
            let village = villages.get(village_id)?.clone();
            let reached = households_by_village.get(village_id).copied().unwrap_or(0);
            Some(VillageFigures {
                village,
                sales: by_village.get(village_id).copied().unwrap_or(Fen::ZERO),
                households_reached: (reached >= SMALLEST_VILLAGE_FIGURE).then_some(reached),
            })
        })
        .collect();
    village_rows.sort_by(|a, b| b.sales.cmp(&a.sales).then(a.village.slug.cmp(&b.village.slug)));

    let (pledges_made, pledges_fulfilled) = pledges(db, &period).await?;
    Ok(Some(Report {
        pledges_made,
        pledges_fulfilled,
        sales,
        units_sold: units,
        paid_to_producers,
        paid_to_households,
        households_reached: u64::try_from(households.len()).map_err(|e| AppError::Internal(e.into()))?,
        grower_share_bps: basis_points(earned.get(), earned_from.get()),
        through_unions,
        through_hosts,
        channels: Channel::ALL
            .into_iter()
            .map(|channel| (channel, by_channel.get(&channel).copied().unwrap_or(Fen::ZERO)))
            .collect(),
        villages: village_rows,
        towns: ranked(by_town, String::clone),
        producer_kinds: ranked(by_kind, String::clone),
        months: by_month.into_iter().collect(),
        computed_at: Utc::now(),
        period,
    }))
}

/// Pledges for the years the period touches: how many, and how many are fulfilled.
async fn pledges(db: &impl ConnectionTrait, period: &Period) -> AppResult<(u64, u64)> {
    let pledges = pledge::Entity::find()
        .filter(pledge::Column::Year.between(period.from.year(), period.to.year()))
        .all(db)
        .await?;
    let mut fulfilled = 0;
    for made in &pledges {
        let progress = unions::pledges::pledge_progress(db, made.organisation_id, made.year).await?;
        if progress.is_some_and(|p| p.progress >= p.amount) {
            fulfilled += 1;
        }
    }
    Ok((u64::try_from(pledges.len()).unwrap_or(u64::MAX), fulfilled))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_round_half_up_in_basis_points() {
        assert_eq!(basis_points(9_500, 10_000), 9_500);
        assert_eq!(basis_points(2, 3), 6_667);
        assert_eq!(basis_points(1, 20_000), 1, "0.5 bp rounds up");
        assert_eq!(basis_points(5, 0), 0);
    }

    #[test]
    fn a_period_lists_its_months_and_refuses_nonsense() {
        let period = Period::new(
            NaiveDate::from_ymd_opt(2026, 11, 15),
            NaiveDate::from_ymd_opt(2027, 2, 1),
            None,
        )
        .expect("a period");
        assert_eq!(period.months(), ["2026-11", "2026-12", "2027-01", "2027-02"]);
        assert!(
            Period::new(
                NaiveDate::from_ymd_opt(2026, 2, 1),
                NaiveDate::from_ymd_opt(2026, 1, 1),
                None
            )
            .is_err()
        );
        assert!(
            Period::new(
                NaiveDate::from_ymd_opt(2020, 1, 1),
                NaiveDate::from_ymd_opt(2026, 1, 1),
                None
            )
            .is_err()
        );
        let (start, end) = Period::year(2026, None).expect("year").instants();
        assert_eq!(start.to_rfc3339(), "2025-12-31T16:00:00+00:00", "midnight in China");
        assert_eq!(end.to_rfc3339(), "2026-12-31T16:00:00+00:00");
    }
}
