//! A member's membership and an organisation's pledges, as GraphQL objects.

use std::collections::BTreeMap;

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::accounts::Viewer;
use crate::accounts::entity::{membership, user};
use crate::accounts::graphql::User;
use crate::accounts::policy::Permission;
use crate::accounts::policy::viewer;
use crate::infra::error::{AppError, AppResult, UserError};
use crate::infra::graphql::context::database;
use crate::infra::graphql::global_id::{NodeType, encode};
use crate::infra::ids::MembershipId;
use crate::infra::money::{Fen, Money};
use crate::organisations::funds::{self};
use crate::unions::pledges::PledgeProgress;
use crate::unions::policy::{AdministerOrganisation, ReadMembership, ShowCounterCode};
use crate::unions::service;
use sea_orm::{DatabaseConnection, EntityTrait};

use super::{Organisation, Result};

/// A pledge (预留份额) and how far the organisation has come.
#[derive(SimpleObject)]
pub struct Pledge {
    year: i32,
    amount: Money,
    /// Paid sales of the organisation's orders and its members' credited orders in the year,
    /// net of refunds.
    progress: Money,
    /// Progress as a percentage of the amount, two decimals, rounded half up ("42.50").
    percentage: String,
    /// Progress by month (China time), the months that had any.
    months: Vec<PledgeMonth>,
}

#[derive(SimpleObject)]
pub struct PledgeMonth {
    /// `2026-09`.
    month: String,
    sales: Money,
}

impl From<PledgeProgress> for Pledge {
    fn from(progress: PledgeProgress) -> Self {
        let percentage = progress.percentage();
        let months: BTreeMap<u32, Fen> = progress.months;
        Pledge {
            year: progress.year,
            amount: progress.amount.into(),
            progress: progress.progress.into(),
            percentage,
            months: months
                .into_iter()
                .map(|(month, sales)| PledgeMonth {
                    month: format!("{}-{month:02}", progress.year),
                    sales: sales.into(),
                })
                .collect(),
        }
    }
}

/// A user's membership of an organisation, as the member and its admins see it.
pub struct Membership(pub(super) membership::Model);

#[Object]
impl Membership {
    pub async fn id(&self) -> ID {
        encode(NodeType::Membership, self.0.id)
    }

    async fn organisation(&self, ctx: &Context<'_>) -> Result<Organisation> {
        let db = database(ctx)?;
        let row = match self.0.organisation_id {
            Some(id) => service::find(db, id).await?,
            None => None,
        }
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("membership without its organisation")))?;
        let admin_ids = crate::organisations::admins_of(db, row.id).await?;
        let administered = viewer(ctx).may(AdministerOrganisation { admin_ids: &admin_ids });
        Ok(Organisation { row, administered })
    }

    async fn user(&self, ctx: &Context<'_>) -> Result<User> {
        let row = user::Entity::find_by_id(self.0.user_id)
            .one(database(ctx)?)
            .await
            .map_err(AppError::from)?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("membership without its user")))?;
        Ok(User::of(row))
    }

    /// Welfare allowance the member may spend now (grants not expired, less what was spent).
    async fn allowance(&self, ctx: &Context<'_>) -> Result<Money> {
        Ok(funds::allowance(database(ctx)?, self.0.id, Utc::now()).await?.into())
    }

    /// The code the member shows a relief supermarket's clerk to pay with the allowance: it
    /// changes every minute, like a payment code. The member's own: not even an operator or an
    /// admin of the organisation may read it (it spends the member's money).
    async fn counter_code(&self, ctx: &Context<'_>) -> Result<String> {
        let me = viewer(ctx).signed_in()?;
        let mine = ShowCounterCode { member: self.0.user_id };
        if !mine.allows(me) || self.0.ended_at.is_some() {
            return Err(AppError::Forbidden.into());
        }
        Ok(funds::counter_code(database(ctx)?, self.0.id, Utc::now()).await?)
    }

    /// Whether the membership is current (it ends when an admin removes the member).
    async fn active(&self) -> bool {
        self.0.ended_at.is_none()
    }

    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }

    async fn ended_at(&self) -> Option<DateTime<Utc>> {
        self.0.ended_at
    }
}

/// The membership as `viewer` may see it: the member's own, or one of an organisation it
/// administers.
pub(super) async fn visible_membership(
    db: &DatabaseConnection,
    viewer: &Viewer,
    membership_id: MembershipId,
) -> AppResult<Option<Membership>> {
    let Some(row) = service::find_membership(db, membership_id).await? else {
        return Ok(None);
    };
    let admin_ids = match row.organisation_id {
        Some(id) => crate::organisations::admins_of(db, id).await?,
        None => Vec::new(),
    };
    Ok(viewer
        .may(ReadMembership {
            member_id: row.user_id,
            admin_ids: &admin_ids,
        })
        .then_some(Membership(row)))
}

#[derive(SimpleObject)]
pub struct InvitePayload {
    /// Give it to one person: it admits one member.
    pub(super) code: Option<String>,
    pub(super) user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct MembershipPayload {
    pub(super) membership: Option<Membership>,
    pub(super) user_errors: Vec<UserError>,
}

/// A membership through `node(id:)`: null to anyone who may not see it.
pub async fn membership_node(ctx: &Context<'_>, membership_id: MembershipId) -> AppResult<Option<Membership>> {
    visible_membership(database(ctx)?, viewer(ctx), membership_id).await
}
