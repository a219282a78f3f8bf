//! An organisation's rows and money (消费帮扶): the organisation with its fund, its admins, its
//! members' allowance grants, the fund's ledger and the counter codes, and the one way each is
//! spent and given back (`funds`). Orders and payments spend and refund them; the unions domain
//! above runs invites, members, pledges and the organisation's report.

pub mod entity;
pub mod funds;

use std::collections::HashMap;

use async_graphql::Enum;
use sea_orm::entity::prelude::{DeriveActiveEnum, EnumIter, StringLen};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::accounts::entity::membership::{self, MembershipKind};
use crate::infra::error::AppResult;
use crate::infra::ids::{OrganisationId, UserId};
use entity::organisation_admin;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum OrganisationKind {
    /// A labour union (工会).
    #[sea_orm(string_value = "UNION")]
    Union,
    /// A public budget unit (预算单位).
    #[sea_orm(string_value = "BUDGET_UNIT")]
    BudgetUnit,
}

/// The user ids of an organisation's admins.
pub async fn admins_of(db: &impl ConnectionTrait, organisation_id: OrganisationId) -> AppResult<Vec<UserId>> {
    Ok(organisation_admin::Entity::find()
        .filter(organisation_admin::Column::OrganisationId.eq(organisation_id))
        .all(db)
        .await?
        .into_iter()
        .map(|admin| admin.user_id)
        .collect())
}

/// The user's current membership of an organisation, if any.
pub async fn current_membership(db: &impl ConnectionTrait, user_id: UserId) -> AppResult<Option<membership::Model>> {
    Ok(current_memberships(db, &[user_id]).await?.remove(&user_id))
}

/// [`current_membership`] of each of `user_ids`, in one read (those with none are left out).
pub async fn current_memberships(
    db: &impl ConnectionTrait,
    user_ids: &[UserId],
) -> AppResult<HashMap<UserId, membership::Model>> {
    Ok(membership::Entity::find()
        .filter(membership::Column::UserId.is_in(user_ids.iter().copied()))
        .filter(membership::Column::Kind.eq(MembershipKind::Organisation))
        .filter(membership::Column::EndedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(|membership| (membership.user_id, membership))
        .collect())
}

/// The organisation a buyer's order placed now is credited to.
pub async fn credited_organisation(db: &impl ConnectionTrait, buyer_id: UserId) -> AppResult<Option<OrganisationId>> {
    Ok(current_membership(db, buyer_id)
        .await?
        .and_then(|membership| membership.organisation_id))
}
