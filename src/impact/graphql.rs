//! The contract's "Impact report": `impact(from, to, villageSlug)`, anonymous.

use std::sync::Arc;

use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::Channel;
use super::figures::{Period, Report};
use crate::catalogue::graphql::Village;
use crate::infra::error::AppError;
use crate::infra::graphql::context::database;
use crate::infra::graphql::date::Date;
use crate::infra::money::Money;

type Result<T> = async_graphql::Result<T>;

/// What the shop did for poor villages in a period.
pub struct ImpactReport(pub Arc<Report>);

#[derive(SimpleObject)]
pub struct VillageImpact {
    village: Village,
    sales: Money,
    /// Null when fewer than 5 households: they count in the total only.
    households_reached: Option<i32>,
}

/// A channel's share of the sales.
#[derive(SimpleObject)]
pub struct ChannelImpact {
    channel: Channel,
    sales: Money,
}

#[derive(SimpleObject)]
pub struct MonthImpact {
    /// `YYYY-MM`.
    month: String,
    sales: Money,
}

#[derive(SimpleObject)]
pub struct TownImpact {
    town: String,
    sales: Money,
}

#[derive(SimpleObject)]
pub struct ProducerKindImpact {
    /// `HOUSEHOLD`, `COOPERATIVE` or `WORKSHOP`.
    kind: String,
    sales: Money,
}

fn count(value: u64) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

#[Object]
impl ImpactReport {
    async fn from(&self) -> Date {
        Date(self.0.period.from)
    }

    async fn to(&self) -> Date {
        Date(self.0.period.to)
    }

    /// Sales of products from registered-poor villages: paid, net of refunds.
    async fn sales(&self) -> Money {
        self.0.sales.into()
    }

    async fn units_sold(&self) -> i32 {
        i32::try_from(self.0.units_sold).unwrap_or(i32::MAX)
    }

    /// Payouts to those villages' producers paid in the period.
    async fn paid_to_producers(&self) -> Money {
        self.0.paid_to_producers.into()
    }

    /// What reached registered-poor households through cooperatives' shares (二次分配).
    async fn paid_to_households(&self) -> Money {
        self.0.paid_to_households.into()
    }

    async fn households_reached(&self) -> i32 {
        count(self.0.households_reached)
    }

    /// The growers' earnings over what buyers paid for their lines, in basis points.
    async fn grower_share_bps(&self) -> i32 {
        i32::try_from(self.0.grower_share_bps).unwrap_or(i32::MAX)
    }

    /// Sales credited to unions and budget units (消费帮扶).
    async fn sales_through_organisations(&self) -> Money {
        self.0.through_unions.into()
    }

    /// Sales that came through livestream hosts' links (直播带货).
    async fn sales_through_hosts(&self) -> Money {
        self.0.through_hosts.into()
    }

    /// The sales by channel: online, livestream, union and supermarket (扶贫超市), each line in
    /// one, so they add up to `sales`.
    async fn channels(&self) -> Vec<ChannelImpact> {
        self.0
            .channels
            .iter()
            .map(|(channel, sales)| ChannelImpact {
                channel: *channel,
                sales: (*sales).into(),
            })
            .collect()
    }

    /// Organisations' yearly pledges (预留份额) for the period's years.
    async fn pledges_made(&self) -> i32 {
        count(self.0.pledges_made)
    }

    /// Of those, the pledges whose progress has reached the amount pledged.
    async fn pledges_fulfilled(&self) -> i32 {
        count(self.0.pledges_fulfilled)
    }

    async fn villages(&self) -> Vec<VillageImpact> {
        self.0
            .villages
            .iter()
            .map(|v| VillageImpact {
                village: Village(v.village.clone()),
                sales: v.sales.into(),
                households_reached: v.households_reached.map(count),
            })
            .collect()
    }

    async fn towns(&self) -> Vec<TownImpact> {
        self.0
            .towns
            .iter()
            .map(|(town, sales)| TownImpact {
                town: town.clone(),
                sales: (*sales).into(),
            })
            .collect()
    }

    async fn producer_kinds(&self) -> Vec<ProducerKindImpact> {
        self.0
            .producer_kinds
            .iter()
            .map(|(kind, sales)| ProducerKindImpact {
                kind: kind.clone(),
                sales: (*sales).into(),
            })
            .collect()
    }

    /// Every month of the period.
    async fn months(&self) -> Vec<MonthImpact> {
        self.0
            .months
            .iter()
            .map(|(month, sales)| MonthImpact {
                month: month.clone(),
                sales: (*sales).into(),
            })
            .collect()
    }

    async fn computed_at(&self) -> DateTime<Utc> {
        self.0.computed_at
    }
}

#[derive(Default)]
pub struct ImpactQuery;

#[Object]
impl ImpactQuery {
    /// What the shop did for poor villages from `from` to `to` (calendar days in China, both
    /// included; this year by default), for one village or all. Anyone may ask; it costs
    /// `IMPACT_COST` against the query cost limit, so one request asks for three at most.
    #[graphql(complexity = "super::IMPACT_COST + child_complexity")]
    async fn impact(
        &self,
        ctx: &Context<'_>,
        from: Option<Date>,
        to: Option<Date>,
        village_slug: Option<String>,
    ) -> Result<ImpactReport> {
        let period = Period::new(from.map(|d| d.0), to.map(|d| d.0), village_slug).map_err(AppError::BadInput)?;
        let reports = crate::shop::shop(ctx)?.impact_reports();
        match reports.report(database(ctx)?, period).await? {
            Some(report) => Ok(ImpactReport(report)),
            None => Err(AppError::bad_input("village-not-found").into()),
        }
    }
}
