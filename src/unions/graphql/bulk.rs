//! Bulk orders' acceptance (履约验收): `acceptShipment` (anyone holding a shipment's code), and
//! the operators' list of reported problems. Placing a bulk order is checkout's
//! (`checkout::graphql::bulk`).

use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::accounts::Role;
use crate::accounts::policy::RoleGuard;
use crate::infra::error::UserError;
use crate::infra::graphql::context::{database, wants_total_count};
use crate::infra::graphql::relay::{PageRequest, RelayConnection, connection};
use crate::infra::ids::OrganisationId;
use crate::infra::ids::ShipmentId;
use crate::orders::entity::shipment;
use crate::orders::graphql::{Order, Shipment};
use crate::orders::service::acceptance;
use crate::shop::shop;

type Result<T> = async_graphql::Result<T>;

#[derive(SimpleObject)]
pub struct AcceptancePayload {
    /// Whether the shipment now stands accepted (false: the problem was recorded).
    accepted: Option<bool>,
    user_errors: Vec<UserError>,
}

/// How far an organisation's bulk orders are accepted by their recipients.
#[derive(SimpleObject)]
pub struct AcceptanceProgress {
    /// Shipments of its paid bulk orders.
    shipments: u64,
    accepted: u64,
    /// Not accepted, with a problem reported.
    with_problems: u64,
}

impl From<acceptance::Progress> for AcceptanceProgress {
    fn from(progress: acceptance::Progress) -> Self {
        AcceptanceProgress {
            shipments: progress.shipments,
            accepted: progress.accepted,
            with_problems: progress.with_problems,
        }
    }
}

/// A bulk-order shipment whose recipient reported a problem not yet resolved.
pub struct AcceptanceProblem(shipment::Model);

#[Object]
impl AcceptanceProblem {
    async fn shipment(&self) -> Shipment {
        Shipment::whole(self.0.clone())
    }

    async fn order(&self, ctx: &Context<'_>) -> Result<Option<Order>> {
        Ok(crate::orders::graphql::node(ctx, self.0.order_id).await?)
    }

    async fn note(&self) -> Option<&str> {
        self.0.problem_note.as_deref()
    }

    async fn reported_at(&self) -> Option<DateTime<Utc>> {
        self.0.problem_at
    }
}

/// A page of reported problems, for an organisation's admins or the operators.
pub(super) async fn problems_page(
    ctx: &Context<'_>,
    organisation_id: Option<OrganisationId>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<RelayConnection<ShipmentId, AcceptanceProblem>> {
    let page = PageRequest::new(first, after.as_deref())?;
    let (rows, total) =
        acceptance::open_problems(database(ctx)?, organisation_id, &page, wants_total_count(ctx)).await?;
    Ok(connection(rows, &page, total, |row| row.id, AcceptanceProblem))
}

#[derive(Default)]
pub struct BulkOrdersQuery;

#[Object]
impl BulkOrdersQuery {
    /// Bulk-order shipments whose recipients reported a problem, newest first (operators).
    #[graphql(
        guard = "RoleGuard::any_of(&[Role::Admin])",
        complexity = "crate::infra::graphql::relay::connection_complexity(first, child_complexity)"
    )]
    async fn acceptance_problems(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<RelayConnection<ShipmentId, AcceptanceProblem>> {
        problems_page(ctx, None, first, after).await
    }
}

#[derive(Default)]
pub struct BulkOrdersMutation;

#[Object]
impl BulkOrdersMutation {
    /// Accepts a bulk-order shipment, or reports a problem with it (`accepted: false` and a
    /// note): anyone holding its code, signed in or not.
    async fn accept_shipment(
        &self,
        ctx: &Context<'_>,
        code: String,
        accepted: bool,
        note: Option<String>,
    ) -> Result<AcceptancePayload> {
        Ok(
            match crate::claims::service::parcels::answer(shop(ctx)?, &code, accepted, note.as_deref()).await? {
                Ok(accepted) => AcceptancePayload {
                    accepted: Some(accepted),
                    user_errors: Vec::new(),
                },
                Err(problem) => AcceptancePayload {
                    accepted: None,
                    user_errors: vec![problem],
                },
            },
        )
    }
}
