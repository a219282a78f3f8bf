//! The contract's "Orders and inventory" section: the queries and mutations (here), the
//! objects they answer with (`objects`), and the batched loads behind lists (`loaders`).

mod desk;
mod loaders;
mod objects;
mod shipments;

pub use desk::{OrderDeskQuery, producer_queue};
pub use loaders::{OrdersLoader, request_loader};
pub use objects::{Order, OrderLineInput, OrderPayload};
pub use shipments::Shipment;

use async_graphql::{Context, ID, Object};
use sea_orm::{ConnectionTrait, EntityTrait};

use crate::accounts::Role;
use crate::accounts::policy::{RoleGuard, viewer};
use crate::infra::error::{AppResult, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::graphql::context::{database, wants_total_count};
use crate::infra::graphql::global_id::{NodeType, decode_as};
use crate::infra::graphql::relay::{PageRequest, RelayConnection, connection};
use crate::infra::ids::ProducerId;
use crate::infra::ids::UserId;
use crate::infra::ids::{OrderId, ShipmentId};
use crate::orders::entity::{order, shipment};
use crate::orders::policy::{ChangeOrder, ReadOrder, ShipOrder};
use crate::orders::service::desk::OrderCursor;
use crate::orders::service::lifecycle::Dispatch;
use crate::orders::service::{lifecycle, state};
use crate::shop::shop;

type Result<T> = async_graphql::Result<T>;

pub fn not_found() -> UserError {
    UserError::new(ErrorCode::NotFound, "order-not-found").on_field(&["orderId"])
}

/// Who an order concerns besides its buyer: the producers it buys from, and of a bulk order
/// its organisation's admins.
pub(super) struct Audience {
    pub producers: Vec<ProducerId>,
    pub organisation_admins: Vec<UserId>,
}

impl Audience {
    pub(super) async fn of(db: &impl ConnectionTrait, row: &order::Model) -> AppResult<Audience> {
        let organisation_admins = match (row.bulk, row.union_id) {
            (true, Some(organisation_id)) => crate::organisations::admins_of(db, organisation_id).await?,
            _ => Vec::new(),
        };
        Ok(Audience {
            producers: state::producers_of(db, row.id).await?,
            organisation_admins,
        })
    }

    pub(super) fn read(&self, row: &order::Model) -> ReadOrder<'_> {
        ReadOrder {
            buyer_id: row.buyer_id,
            producer_ids: &self.producers,
            organisation_admin_ids: &self.organisation_admins,
        }
    }

    fn change(&self, row: &order::Model) -> ChangeOrder<'_> {
        ChangeOrder {
            buyer_id: row.buyer_id,
            organisation_admin_ids: &self.organisation_admins,
        }
    }
}

/// The order `id` names, if the viewer may see it.
async fn visible_order(ctx: &Context<'_>, id: &ID) -> AppResult<Option<(order::Model, Audience)>> {
    let Some(order_id) = decode_as::<OrderId>(id, NodeType::Order) else {
        return Ok(None);
    };
    let db = database(ctx)?;
    let Some(row) = order::Entity::find_by_id(order_id).one(db).await? else {
        return Ok(None);
    };
    let audience = Audience::of(db, &row).await?;
    let visible = viewer(ctx).may(audience.read(&row));
    Ok(visible.then_some((row, audience)))
}

/// The order `id` names and who is changing it, if the viewer may (its buyer, its
/// organisation's admins, an operator): `None` when the viewer may not see it, an
/// authorization error when they see it but may not change it.
pub async fn order_to_change(ctx: &Context<'_>, id: &ID) -> AppResult<Option<(order::Model, UserId)>> {
    let Some((row, audience)) = visible_order(ctx, id).await? else {
        return Ok(None);
    };
    let me = viewer(ctx).authorize(audience.change(&row))?;
    Ok(Some((row, me.user_id)))
}

/// The order row `id` names, if the viewer may see it.
pub async fn visible_order_row(ctx: &Context<'_>, id: &ID) -> AppResult<Option<order::Model>> {
    Ok(visible_order(ctx, id).await?.map(|(row, _)| row))
}

/// The order as the viewer may see it.
pub async fn shown(ctx: &Context<'_>, row: order::Model) -> AppResult<Option<Order>> {
    Order::visible_to(database(ctx)?, viewer(ctx), row).await
}

#[derive(Default)]
pub struct OrdersQuery;

#[Object]
impl OrdersQuery {
    /// An order its buyer, its growers or an operator may see; null to anyone else.
    async fn order(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Order>> {
        let Some((row, _)) = visible_order(ctx, &id).await? else {
            return Ok(None);
        };
        Ok(shown(ctx, row).await?)
    }

    /// The signed-in buyer's orders, newest first.
    #[graphql(
        guard = "RoleGuard::signed_in()",
        complexity = "crate::infra::graphql::relay::connection_complexity(first, child_complexity)"
    )]
    async fn my_orders(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<RelayConnection<OrderCursor, Order>> {
        let me = viewer(ctx).signed_in()?;
        let page = PageRequest::new(first, after.as_deref())?;
        let (rows, total) = state::buyer_orders(database(ctx)?, me.user_id, &page, wants_total_count(ctx)).await?;
        Ok(connection(
            rows,
            &page,
            total,
            |row| (row.created_at, row.id),
            Order::seen_whole,
        ))
    }
}

#[derive(Default)]
pub struct OrdersMutation;

#[Object]
impl OrdersMutation {
    /// Ships a paid order: a grower ships its own producer's part, an operator every part left;
    /// of a bulk order, the parcel `shipmentId` names (each parcel has its own number). The
    /// carrier is a code: SF, ZTO, YTO, JD, EMS, STO or YUNDA.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Grower, Role::Admin])")]
    async fn mark_shipped(
        &self,
        ctx: &Context<'_>,
        order_id: ID,
        tracking_number: String,
        carrier: Option<String>,
        shipment_id: Option<ID>,
    ) -> Result<OrderPayload> {
        let Some((row, audience)) = visible_order(ctx, &order_id).await? else {
            return Ok(OrderPayload::failed(not_found()));
        };
        let me = viewer(ctx).authorize(ShipOrder {
            producer_ids: &audience.producers,
        })?;
        let shipment = match shipment_id {
            None => None,
            Some(id) => match decode_as(&id, NodeType::Shipment) {
                Some(shipment_id) => Some(shipment_id),
                None => {
                    return Ok(OrderPayload::failed(
                        UserError::new(ErrorCode::NotFound, "shipment-not-found").on_field(&["shipmentId"]),
                    ));
                }
            },
        };
        let dispatch = Dispatch {
            producer: if me.role == Role::Admin { None } else { me.producer_id },
            shipment,
            tracking_number: &tracking_number,
            carrier: carrier.as_deref(),
        };
        let outcome = lifecycle::mark_shipped(shop(ctx)?, row.id, dispatch).await?;
        Ok(match outcome {
            Ok(row) => match shown(ctx, row).await? {
                Some(order) => OrderPayload::done(order),
                None => OrderPayload::failed(not_found()),
            },
            Err(problem) => OrderPayload::failed(problem),
        })
    }

    /// The buyer (or an operator) confirms a shipped order arrived.
    #[graphql(guard = "RoleGuard::signed_in()")]
    async fn confirm_delivery(&self, ctx: &Context<'_>, order_id: ID) -> Result<OrderPayload> {
        let Some((row, audience)) = visible_order(ctx, &order_id).await? else {
            return Ok(OrderPayload::failed(not_found()));
        };
        viewer(ctx).authorize(audience.change(&row))?;
        let outcome = lifecycle::confirm_delivery(shop(ctx)?, row.id).await?;
        Ok(match outcome {
            Ok(row) => match shown(ctx, row).await? {
                Some(order) => OrderPayload::done(order),
                None => OrderPayload::failed(not_found()),
            },
            Err(problem) => OrderPayload::failed(problem),
        })
    }
}

/// A parcel through `node(id:)`: null to anyone who may not see it.
pub async fn shipment_node(ctx: &Context<'_>, shipment_id: ShipmentId) -> AppResult<Option<Shipment>> {
    let db = database(ctx)?;
    let Some(row) = shipment::Entity::find_by_id(shipment_id).one(db).await? else {
        return Ok(None);
    };
    let Some(order) = order::Entity::find_by_id(row.order_id).one(db).await? else {
        return Ok(None);
    };
    // A grower sees only its own producer's parcels of the orders it sees.
    Ok(
        match Order::visible_to(db, viewer(ctx), order)
            .await?
            .map(|order| order.only_producer())
        {
            Some(None) => Some(Shipment { row, whole: true }),
            Some(Some(producer)) if producer == row.producer_id => Some(Shipment { row, whole: false }),
            _ => None,
        },
    )
}

/// An order through `node(id:)`: null to anyone who may not see it.
pub async fn node(ctx: &Context<'_>, order_id: OrderId) -> AppResult<Option<Order>> {
    let db = database(ctx)?;
    let Some(row) = order::Entity::find_by_id(order_id).one(db).await? else {
        return Ok(None);
    };
    Order::visible_to(db, viewer(ctx), row).await
}
