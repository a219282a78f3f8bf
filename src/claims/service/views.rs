//! What the claims look like from each side: an order's claims, a producer's queue, the
//! operators' queue, and each producer's claim rate.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::claims::ClaimStatus;
use crate::claims::entity::claim;
use crate::infra::error::AppResult;
use crate::infra::ids::{ClaimId, OrderId, ProducerId};
use crate::infra::paging::{Direction, PageRequest, keyset_page};
use crate::orders::OrderStatus;
use crate::orders::entity::{order, order_line};

/// The days a claim rate counts.
pub const RATE_DAYS: i64 = 90;

pub async fn of_order(db: &impl ConnectionTrait, order_id: OrderId) -> AppResult<Vec<claim::Model>> {
    Ok(claim::Entity::find()
        .filter(claim::Column::OrderId.eq(order_id))
        .order_by_asc(claim::Column::Id)
        .all(db)
        .await?)
}

/// Claims newest first, of one producer or (operators) all, in `statuses` (all when empty).
pub async fn queue(
    db: &impl ConnectionTrait,
    producer_id: Option<ProducerId>,
    statuses: &[ClaimStatus],
    page: &PageRequest<ClaimId>,
    count_total: bool,
) -> AppResult<(Vec<claim::Model>, u64)> {
    let mut select = claim::Entity::find();
    if let Some(producer_id) = producer_id {
        select = select.filter(claim::Column::ProducerId.eq(producer_id));
    }
    if !statuses.is_empty() {
        select = select.filter(claim::Column::Status.is_in(statuses.iter().copied()));
    }
    keyset_page(db, select, claim::Column::Id, Direction::NewestFirst, page, count_total).await
}

/// A producer's claims and delivered orders over the last [`RATE_DAYS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClaimRate {
    pub producer_id: ProducerId,
    pub claims: u64,
    pub delivered_orders: u64,
}

/// [`ClaimRate`] of every producer with claims or deliveries in the period, most claims per
/// delivered order first.
pub async fn claim_rates(db: &impl ConnectionTrait, now: DateTime<Utc>) -> AppResult<Vec<ClaimRate>> {
    let since = now - chrono::Duration::days(RATE_DAYS);
    let claimed: Vec<(ProducerId, i64)> = claim::Entity::find()
        .select_only()
        .column(claim::Column::ProducerId)
        .column_as(claim::Column::Id.count(), "claims")
        .filter(claim::Column::OpenedAt.gte(since))
        .group_by(claim::Column::ProducerId)
        .into_tuple()
        .all(db)
        .await?;
    let delivered_orders = Query::select()
        .column(order::Column::Id)
        .from(order::Entity)
        .and_where(order::Column::DeliveredAt.gte(since))
        .and_where(order::Column::Status.is_in([OrderStatus::Delivered, OrderStatus::Completed, OrderStatus::Refunded]))
        .to_owned();
    let delivered: Vec<(ProducerId, OrderId)> = order_line::Entity::find()
        .select_only()
        .column(order_line::Column::ProducerId)
        .column(order_line::Column::OrderId)
        .distinct()
        .filter(order_line::Column::OrderId.in_subquery(delivered_orders))
        .into_tuple()
        .all(db)
        .await?;
    let mut counts: BTreeMap<ProducerId, (u64, u64)> = BTreeMap::new();
    for (producer_id, claims) in claimed {
        counts.entry(producer_id).or_default().0 += u64::try_from(claims).unwrap_or(0);
    }
    for (producer_id, _) in delivered {
        counts.entry(producer_id).or_default().1 += 1;
    }
    let mut rates: Vec<ClaimRate> = counts
        .into_iter()
        .map(|(producer_id, (claims, delivered_orders))| ClaimRate {
            producer_id,
            claims,
            delivered_orders,
        })
        .collect();
    // Most claims per delivered order first: a/b > c/d as a*d > c*b, without fractions.
    rates.sort_by(|a, b| {
        let left = u128::from(b.claims) * u128::from(a.delivered_orders.max(1));
        let right = u128::from(a.claims) * u128::from(b.delivered_orders.max(1));
        left.cmp(&right).then(a.producer_id.cmp(&b.producer_id))
    });
    Ok(rates)
}
