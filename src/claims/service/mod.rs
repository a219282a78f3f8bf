//! The claims' use cases. Each runs in one transaction that takes the order's row first (as
//! refunds and deliveries do), so a claim, a refund by an operator and a delivery of the same
//! order happen one after the other, each seeing the other's rows.

pub mod deciding;
pub mod notices;
pub mod opening;
pub mod parcels;
pub mod photos;
pub mod remedies;
pub mod timeouts;
pub mod views;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::entity::{claim, claim_line};
use crate::infra::error::AppResult;
use crate::infra::ids::ClaimId;

pub async fn find(db: &impl ConnectionTrait, claim_id: ClaimId) -> AppResult<Option<claim::Model>> {
    Ok(claim::Entity::find_by_id(claim_id).one(db).await?)
}

pub async fn lines_of(db: &impl ConnectionTrait, claim_id: ClaimId) -> AppResult<Vec<claim_line::Model>> {
    Ok(claim_line::Entity::find()
        .filter(claim_line::Column::ClaimId.eq(claim_id))
        .order_by_asc(claim_line::Column::OrderLineId)
        .all(db)
        .await?)
}
