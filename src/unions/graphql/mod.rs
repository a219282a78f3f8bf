//! The contract's "Unions and budget units" section: organisations, admins, invites, members
//! and pledges.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::pledges;
use super::policy::{AdministerOrganisation, OperateOrganisations, ReadOrganisation};
use super::service::{self, NewOrganisation};
use crate::accounts::graphql::accounts;
use crate::accounts::policy::{RoleGuard, viewer};
use crate::accounts::{Role, Viewer};
use crate::infra::error::{AppError, AppResult, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::graphql::context::{database, wants_total_count};
use crate::infra::graphql::date::Date;
use crate::infra::graphql::global_id::{NodeType, decode_as, encode};
use crate::infra::graphql::relay::{PageRequest, RelayConnection, connection};
use crate::infra::ids::MembershipId;
use crate::infra::ids::OrganisationId;
use crate::infra::ids::ShipmentId;
use crate::infra::money::Money;
use crate::orders::graphql::Order;
use crate::orders::service::acceptance;
use crate::orders::service::desk::OrderCursor;
use crate::organisations::OrganisationKind;
use crate::organisations::entity::organisation;
use crate::organisations::funds::{self, GrantRequest};
use sea_orm::DatabaseConnection;

mod bulk;
mod members;
mod report;

pub use bulk::{BulkOrdersMutation, BulkOrdersQuery};
use members::{InvitePayload, MembershipPayload};
pub use members::{Membership, Pledge, membership_node};
use report::OrganisationReport;

pub(super) type Result<T> = async_graphql::Result<T>;

/// An organisation as one viewer sees it: its name to members, everything to its admins and
/// operators.
pub struct Organisation {
    row: organisation::Model,
    administered: bool,
}

impl Organisation {
    /// The organisation as `viewer` may see it, or `None` when it is not theirs to see.
    pub async fn visible_to(
        db: &DatabaseConnection,
        viewer: &Viewer,
        row: organisation::Model,
    ) -> AppResult<Option<Organisation>> {
        let admin_ids = crate::organisations::admins_of(db, row.id).await?;
        let administered = viewer.may(AdministerOrganisation { admin_ids: &admin_ids });
        let viewer_is_member = match viewer {
            Viewer::User(me) => crate::organisations::credited_organisation(db, me.user_id).await? == Some(row.id),
            Viewer::Anonymous => false,
        };
        if !administered
            && !viewer.may(ReadOrganisation {
                admin_ids: &admin_ids,
                viewer_is_member,
            })
        {
            return Ok(None);
        }
        Ok(Some(Organisation { row, administered }))
    }

    fn administered(&self) -> AppResult<()> {
        if self.administered {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

#[Object]
impl Organisation {
    pub async fn id(&self) -> ID {
        encode(NodeType::Organisation, self.row.id)
    }

    async fn name(&self) -> &str {
        &self.row.name
    }

    async fn kind(&self) -> OrganisationKind {
        self.row.kind
    }

    /// The 发票 title (its admins and operators).
    async fn invoice_title(&self) -> Result<Option<&str>> {
        self.administered()?;
        Ok(self.row.invoice_title.as_deref())
    }

    async fn tax_number(&self) -> Result<Option<&str>> {
        self.administered()?;
        Ok(self.row.tax_number.as_deref())
    }

    /// The most allowance one member may be granted in a calendar year.
    async fn allowance_cap_per_member(&self) -> Result<Option<Money>> {
        self.administered()?;
        Ok(self.row.allowance_cap_per_member_fen.map(|fen| fen.into()))
    }

    /// What the fund holds, not yet granted (its admins and operators).
    async fn fund(&self) -> Result<Money> {
        self.administered()?;
        Ok(self.row.fund_fen.into())
    }

    /// The pledge for `year` and the progress towards it (its admins and operators).
    async fn pledge(&self, ctx: &Context<'_>, year: i32) -> Result<Option<Pledge>> {
        self.administered()?;
        Ok(pledges::pledge_progress(database(ctx)?, self.row.id, year)
            .await?
            .map(Pledge::from))
    }

    /// What the organisation bought in the days `from` to `to` (China time, a year at most),
    /// with its pledge and allowances (its admins and operators).
    async fn report(&self, ctx: &Context<'_>, from: Date, to: Date) -> Result<OrganisationReport> {
        self.administered()?;
        match crate::unions::report::report(database(ctx)?, self.row.id, from.0, to.0).await? {
            Ok(found) => Ok(OrganisationReport(found)),
            Err(problem) => Err(AppError::BadInput(problem.message).into()),
        }
    }

    /// Its bulk orders, newest first (its admins and operators).
    #[graphql(complexity = "crate::infra::graphql::relay::connection_complexity(first, child_complexity)")]
    async fn bulk_orders(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<RelayConnection<OrderCursor, Order>> {
        self.administered()?;
        let page = PageRequest::new(first, after.as_deref())?;
        let (rows, total) = acceptance::bulk_orders(database(ctx)?, self.row.id, &page, wants_total_count(ctx)).await?;
        Ok(connection(
            rows,
            &page,
            total,
            |row| (row.created_at, row.id),
            Order::seen_whole,
        ))
    }

    /// How far its paid bulk orders are accepted by their recipients (its admins and operators).
    async fn acceptance(&self, ctx: &Context<'_>) -> Result<bulk::AcceptanceProgress> {
        self.administered()?;
        Ok(acceptance::progress(database(ctx)?, self.row.id, None).await?.into())
    }

    /// Its bulk-order shipments with a problem reported, newest first (its admins and operators).
    #[graphql(complexity = "crate::infra::graphql::relay::connection_complexity(first, child_complexity)")]
    async fn acceptance_problems(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<RelayConnection<ShipmentId, bulk::AcceptanceProblem>> {
        self.administered()?;
        bulk::problems_page(ctx, Some(self.row.id), first, after).await
    }

    /// The current members, oldest first (its admins and operators).
    #[graphql(complexity = "crate::infra::graphql::relay::connection_complexity(first, child_complexity)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<RelayConnection<MembershipId, Membership>> {
        self.administered()?;
        let page = PageRequest::new(first, after.as_deref())?;
        let (rows, total) = service::members(database(ctx)?, self.row.id, &page).await?;
        let total = if wants_total_count(ctx) { total } else { 0 };
        Ok(connection(rows, &page, total, |row| row.id, Membership))
    }
}

/// An organisation through `node(id:)`: null to anyone who may not see it.
pub async fn organisation_node(ctx: &Context<'_>, organisation_id: OrganisationId) -> AppResult<Option<Organisation>> {
    let db = database(ctx)?;
    let Some(row) = service::find(db, organisation_id).await? else {
        return Ok(None);
    };
    Organisation::visible_to(db, viewer(ctx), row).await
}

#[derive(InputObject)]
pub struct OrganisationInput {
    name: String,
    kind: OrganisationKind,
    invoice_title: Option<String>,
    tax_number: Option<String>,
    /// The most allowance one member may be granted in a calendar year, decimal yuan.
    allowance_cap_per_member: Option<String>,
}

#[derive(InputObject)]
pub struct AllowanceGrantInput {
    organisation_id: ID,
    /// Omitted: every current member.
    membership_ids: Option<Vec<ID>>,
    /// Each member's allowance, decimal yuan.
    amount: String,
    /// 中秋慰问, 春节慰问…
    occasion: String,
    expires_at: DateTime<Utc>,
}

#[derive(SimpleObject)]
pub struct OrganisationPayload {
    organisation: Option<Organisation>,
    user_errors: Vec<UserError>,
}

impl OrganisationPayload {
    fn done(organisation: Organisation) -> Self {
        OrganisationPayload {
            organisation: Some(organisation),
            user_errors: Vec::new(),
        }
    }

    fn failed(problem: UserError) -> Self {
        OrganisationPayload {
            organisation: None,
            user_errors: vec![problem],
        }
    }
}

pub fn no_organisation() -> UserError {
    UserError::new(ErrorCode::NotFound, "organisation-not-found").on_field(&["organisationId"])
}

/// The organisation `id` names, if its admins (or an operator) are asking; FORBIDDEN for
/// anyone else, NOT_FOUND when there is none.
pub async fn administered(ctx: &Context<'_>, id: &ID) -> AppResult<Option<organisation::Model>> {
    let db = database(ctx)?;
    let Some(row) = decode_as(id, NodeType::Organisation) else {
        return Ok(None);
    };
    let Some(row) = service::find(db, row).await? else {
        return Ok(None);
    };
    let admin_ids = crate::organisations::admins_of(db, row.id).await?;
    viewer(ctx).authorize(AdministerOrganisation { admin_ids: &admin_ids })?;
    Ok(Some(row))
}

fn seen_by_admin(row: organisation::Model) -> Organisation {
    Organisation {
        row,
        administered: true,
    }
}

#[derive(Default)]
pub struct UnionsQuery;

#[Object]
impl UnionsQuery {
    /// The organisation the signed-in UNION_ADMIN administers.
    #[graphql(guard = "RoleGuard::signed_in()")]
    async fn my_organisation(&self, ctx: &Context<'_>) -> Result<Option<Organisation>> {
        let me = viewer(ctx).signed_in()?;
        if me.role != Role::UnionAdmin {
            return Ok(None);
        }
        Ok(service::administered_by(database(ctx)?, me.user_id)
            .await?
            .map(seen_by_admin))
    }

    /// The signed-in user's current membership of an organisation.
    #[graphql(guard = "RoleGuard::signed_in()")]
    async fn my_membership(&self, ctx: &Context<'_>) -> Result<Option<Membership>> {
        let me = viewer(ctx).signed_in()?;
        Ok(crate::organisations::current_membership(database(ctx)?, me.user_id)
            .await?
            .map(Membership))
    }
}

#[derive(Default)]
pub struct UnionsMutation;

#[Object]
impl UnionsMutation {
    /// Creates a union or budget unit (operators).
    #[graphql(guard = "RoleGuard::any_of(&[Role::Admin])")]
    async fn create_organisation(&self, ctx: &Context<'_>, input: OrganisationInput) -> Result<OrganisationPayload> {
        viewer(ctx).authorize(OperateOrganisations)?;
        let request = NewOrganisation {
            name: input.name,
            kind: input.kind,
            invoice_title: input.invoice_title,
            tax_number: input.tax_number,
            allowance_cap_per_member: input.allowance_cap_per_member,
        };
        Ok(match service::create(database(ctx)?, request).await? {
            Ok(row) => OrganisationPayload::done(seen_by_admin(row)),
            Err(problem) => OrganisationPayload::failed(problem),
        })
    }

    /// Makes the user a UNION_ADMIN of the organisation (operators).
    #[graphql(guard = "RoleGuard::any_of(&[Role::Admin])")]
    async fn add_organisation_admin(
        &self,
        ctx: &Context<'_>,
        organisation_id: ID,
        user_id: ID,
    ) -> Result<OrganisationPayload> {
        viewer(ctx).authorize(OperateOrganisations)?;
        let Some(organisation_id) = decode_as(&organisation_id, NodeType::Organisation) else {
            return Ok(OrganisationPayload::failed(no_organisation()));
        };
        let Some(user_id) = decode_as(&user_id, NodeType::User) else {
            return Ok(OrganisationPayload::failed(
                UserError::new(ErrorCode::NotFound, "user-not-found").on_field(&["userId"]),
            ));
        };
        Ok(
            match service::add_admin(database(ctx)?, &accounts(ctx)?.sessions, organisation_id, user_id).await? {
                Ok(row) => OrganisationPayload::done(seen_by_admin(row)),
                Err(problem) => OrganisationPayload::failed(problem),
            },
        )
    }

    /// An invite code for one member (the organisation's admins).
    #[graphql(guard = "RoleGuard::any_of(&[Role::UnionAdmin, Role::Admin])")]
    async fn create_invite(&self, ctx: &Context<'_>, organisation_id: ID) -> Result<InvitePayload> {
        let Some(row) = administered(ctx, &organisation_id).await? else {
            return Ok(InvitePayload {
                code: None,
                user_errors: vec![no_organisation()],
            });
        };
        let me = viewer(ctx).signed_in()?;
        if let Err(problem) = crate::unions::guessing::count_invite(ctx, row.id).await? {
            return Ok(InvitePayload {
                code: None,
                user_errors: vec![problem],
            });
        }
        let code = service::create_invite(database(ctx)?, row.id, me.user_id).await?;
        Ok(InvitePayload {
            code: Some(code),
            user_errors: Vec::new(),
        })
    }

    /// Joins the organisation whose invite `code` is (a signed-in user of no organisation).
    #[graphql(guard = "RoleGuard::signed_in()")]
    async fn join_organisation(&self, ctx: &Context<'_>, code: String) -> Result<MembershipPayload> {
        let me = viewer(ctx).signed_in()?;
        let guessed = crate::unions::guessing::count_guess(ctx, me.user_id).await?;
        let ttl = crate::unions::guessing::invite_ttl(ctx)?;
        let outcome = match guessed {
            Ok(()) => service::join(database(ctx)?, me.user_id, &code, ttl).await?,
            Err(problem) => Err(problem),
        };
        Ok(match outcome {
            Ok(row) => MembershipPayload {
                membership: Some(Membership(row)),
                user_errors: Vec::new(),
            },
            Err(problem) => MembershipPayload {
                membership: None,
                user_errors: vec![problem],
            },
        })
    }

    /// Ends a membership (the organisation's admins): the member's orders are no longer
    /// credited to it.
    #[graphql(guard = "RoleGuard::any_of(&[Role::UnionAdmin, Role::Admin])")]
    async fn remove_member(&self, ctx: &Context<'_>, membership_id: ID) -> Result<MembershipPayload> {
        let db = database(ctx)?;
        let not_found = || MembershipPayload {
            membership: None,
            user_errors: vec![UserError::new(ErrorCode::NotFound, "membership-not-found").on_field(&["membershipId"])],
        };
        let Some(row) = decode_as(&membership_id, NodeType::Membership) else {
            return Ok(not_found());
        };
        let Some(row) = service::find_membership(db, row).await? else {
            return Ok(not_found());
        };
        let admin_ids = match row.organisation_id {
            Some(id) => crate::organisations::admins_of(db, id).await?,
            None => Vec::new(),
        };
        viewer(ctx).authorize(AdministerOrganisation { admin_ids: &admin_ids })?;
        Ok(match service::remove_member(db, row.id).await? {
            Some(row) => MembershipPayload {
                membership: Some(Membership(row)),
                user_errors: Vec::new(),
            },
            None => not_found(),
        })
    }

    /// Sets the organisation's pledge for a year (its admins).
    #[graphql(guard = "RoleGuard::any_of(&[Role::UnionAdmin, Role::Admin])")]
    async fn set_pledge(
        &self,
        ctx: &Context<'_>,
        organisation_id: ID,
        year: i32,
        amount: String,
    ) -> Result<OrganisationPayload> {
        let Some(row) = administered(ctx, &organisation_id).await? else {
            return Ok(OrganisationPayload::failed(no_organisation()));
        };
        Ok(
            match service::set_pledge(database(ctx)?, row.id, year, &amount).await? {
                Ok(()) => OrganisationPayload::done(seen_by_admin(row)),
                Err(problem) => OrganisationPayload::failed(problem),
            },
        )
    }

    /// Records a bank transfer into the organisation's fund (operators); a bank reference is
    /// recorded once.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Admin])")]
    async fn record_organisation_deposit(
        &self,
        ctx: &Context<'_>,
        organisation_id: ID,
        amount: String,
        reference: String,
    ) -> Result<OrganisationPayload> {
        let me = viewer(ctx).authorize(OperateOrganisations)?;
        let db = database(ctx)?;
        let Some(id) = decode_as(&organisation_id, NodeType::Organisation) else {
            return Ok(OrganisationPayload::failed(no_organisation()));
        };
        if service::find(db, id).await?.is_none() {
            return Ok(OrganisationPayload::failed(no_organisation()));
        }
        if let Err(problem) = funds::record_deposit(db, id, &amount, &reference, me.user_id).await? {
            return Ok(OrganisationPayload::failed(problem));
        }
        Ok(match service::find(db, id).await? {
            Some(row) => OrganisationPayload::done(seen_by_admin(row)),
            None => OrganisationPayload::failed(no_organisation()),
        })
    }

    /// Grants each named member (or every current member) an allowance from the fund (its
    /// admins): all or none.
    #[graphql(guard = "RoleGuard::any_of(&[Role::UnionAdmin, Role::Admin])")]
    async fn grant_allowance(&self, ctx: &Context<'_>, input: AllowanceGrantInput) -> Result<OrganisationPayload> {
        let Some(row) = administered(ctx, &input.organisation_id).await? else {
            return Ok(OrganisationPayload::failed(
                no_organisation().on_field(&["input", "organisationId"]),
            ));
        };
        let me = viewer(ctx).signed_in()?;
        let membership_ids = input.membership_ids.map(|ids| {
            ids.iter()
                // An id of another type names no membership: -1 matches none and says so.
                .map(|id| decode_as(id, NodeType::Membership).unwrap_or(MembershipId(-1)))
                .collect()
        });
        let request = GrantRequest {
            organisation_id: row.id,
            membership_ids,
            amount: input.amount,
            occasion: input.occasion,
            expires_at: input.expires_at,
            granted_by: me.user_id,
        };
        let db = database(ctx)?;
        if let Err(problem) = funds::grant(db, request).await? {
            return Ok(OrganisationPayload::failed(problem));
        }
        Ok(match service::find(db, row.id).await? {
            Some(row) => OrganisationPayload::done(seen_by_admin(row)),
            None => OrganisationPayload::failed(no_organisation()),
        })
    }
}
