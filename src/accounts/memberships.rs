//! A user's ties: today the producer a grower works for; the organisations and hosts of the
//! next domains join the same table. A tie is ended, never deleted, so history stays.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::entity::membership::{self, MembershipKind};
use crate::infra::error::AppResult;
use crate::infra::ids::ProducerId;
use crate::infra::ids::UserId;

/// The producer `user_id` works for now, if any.
pub async fn current_producer(db: &impl ConnectionTrait, user_id: UserId) -> AppResult<Option<ProducerId>> {
    Ok(membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .filter(membership::Column::Kind.eq(MembershipKind::Producer))
        .filter(membership::Column::EndedAt.is_null())
        .one(db)
        .await?
        .and_then(|tie| tie.producer_id))
}

/// Makes `producer_id` the producer `user_id` works for (none: the user works for none), ending
/// the current tie when it changes. Call it in the transaction that changes the user's role.
pub async fn work_for(db: &impl ConnectionTrait, user_id: UserId, producer_id: Option<ProducerId>) -> AppResult<()> {
    if current_producer(db, user_id).await? == producer_id {
        return Ok(());
    }
    let now = Utc::now();
    membership::Entity::update_many()
        .col_expr(membership::Column::EndedAt, Expr::value(now))
        .filter(membership::Column::UserId.eq(user_id))
        .filter(membership::Column::Kind.eq(MembershipKind::Producer))
        .filter(membership::Column::EndedAt.is_null())
        .exec(db)
        .await?;
    if let Some(producer_id) = producer_id {
        membership::ActiveModel {
            user_id: Set(user_id),
            kind: Set(MembershipKind::Producer),
            producer_id: Set(Some(producer_id)),
            started_at: Set(now),
            ended_at: Set(None),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(())
}
