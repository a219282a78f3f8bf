//! The claims' clock: a claim its grower leaves unanswered past `respond_by` is refunded as
//! asked, and a delivered order whose claim window has passed with no claim undecided becomes
//! COMPLETED. Both work from what the database says, so any replica may run them, several at
//! once: a claim is decided by a conditional update (see `deciding`), an order completed by a
//! conditional move between statuses, each under the order's row.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

use super::deciding::{self, Decider, Decision};
use crate::claims::entity::claim;
use crate::claims::{ClaimDecision, ClaimStatus};
use crate::infra::db::begin_write;
use crate::infra::error::{AppError, AppResult};
use crate::infra::error_code::ErrorCode;
use crate::infra::ids::{ClaimId, OrderId};
use crate::orders::OrderStatus;
use crate::orders::entity::order;
use crate::orders::service::state::{lock_order, transition};
use crate::shop::Shop;

/// Claims past their answer time, refunded as asked. Returns how many this call decided.
pub async fn accept_unanswered(shop: &Shop, now: DateTime<Utc>) -> AppResult<usize> {
    let due: Vec<ClaimId> = claim::Entity::find()
        .select_only()
        .column(claim::Column::Id)
        .filter(claim::Column::Status.eq(ClaimStatus::Open))
        .filter(claim::Column::RespondedAt.is_null())
        .filter(claim::Column::EscalatedAt.is_null())
        .filter(claim::Column::RespondBy.lt(now))
        .order_by_asc(claim::Column::RespondBy)
        .limit(100)
        .into_tuple()
        .all(&shop.db)
        .await?;
    let mut decided = 0;
    for claim_id in due {
        let refund = Decision {
            decision: ClaimDecision::Refund,
            amount: None,
            note: None,
        };
        match deciding::decide(shop, claim_id, Decider::Timeout, refund).await? {
            Ok(_) => decided += 1,
            // Nothing is left to refund (an operator refunded the order meanwhile): an
            // operator decides, instead of the worker trying again at every round.
            Err(problem) if problem.code == ErrorCode::NotRefundable => {
                deciding::hand_to_operators(shop, claim_id).await?;
            }
            // Decided meanwhile, by its grower or another replica.
            Err(_) => {}
        }
    }
    Ok(decided)
}

/// Delivered orders whose claim window has passed and that no claim keeps open: COMPLETED.
/// Returns how many.
pub async fn complete_orders(shop: &Shop, now: DateTime<Utc>) -> AppResult<usize> {
    let window = chrono::Duration::from_std(shop.claim_settings().window).map_err(|e| AppError::Internal(e.into()))?;
    let due: Vec<OrderId> = order::Entity::find()
        .select_only()
        .column(order::Column::Id)
        .filter(order::Column::Status.eq(OrderStatus::Delivered))
        .filter(order::Column::DeliveredAt.lt(now - window))
        .filter(
            order::Column::Id.not_in_subquery(
                Query::select()
                    .column(claim::Column::OrderId)
                    .from(claim::Entity)
                    .and_where(claim::Column::Status.is_in(ClaimStatus::UNDECIDED))
                    .to_owned(),
            ),
        )
        .order_by_asc(order::Column::DeliveredAt)
        .limit(200)
        .into_tuple()
        .all(&shop.db)
        .await?;
    let mut completed = 0;
    for order_id in due {
        let txn = begin_write(&shop.db).await?;
        lock_order(&txn, order_id).await?;
        let undecided = claim::Entity::find()
            .filter(claim::Column::OrderId.eq(order_id))
            .filter(claim::Column::Status.is_in(ClaimStatus::UNDECIDED))
            .count(&txn)
            .await?;
        if undecided == 0 && transition(&txn, order_id, OrderStatus::Delivered, OrderStatus::Completed, None).await? {
            completed += 1;
        }
        txn.commit().await?;
    }
    Ok(completed)
}
