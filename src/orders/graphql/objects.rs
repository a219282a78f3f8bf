//! Orders, their lines and shipments as the API shows them, and the inputs and payloads of
//! the order mutations.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, EntityTrait};

use super::loaders::{LinesOfOrder, ShipmentsOfOrder, orders_loader};
use super::shipments::Shipment;
use super::{Audience, not_found, shown};
use crate::accounts::{Role, Viewer};
use crate::cart::graphql::ShippingAddress;
use crate::catalogue::graphql::{Producer, Variant};
use crate::catalogue::loaders::loader;
use crate::infra::error::{AppError, AppResult, UserError};
use crate::infra::graphql::context::database;
use crate::infra::graphql::global_id::{NodeType, encode};
use crate::infra::ids::{OrderId, OrganisationId, ProducerId};
use crate::infra::money::{Fen, Money};
use crate::orders::entity::{order, order_line, shipment};
use crate::orders::service::acceptance;
use crate::orders::{OrderStatus, PaymentMethod};

type Result<T> = async_graphql::Result<T>;

/// An order: what was bought, for how much, and where it stands.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Order {
    // The order's own fields. Those that lead to a domain standing above orders (its claims,
    // its organisation, its payment) are the schema's to add (`graphql::order_links`), so that orders never
    // names the domains built on it.
    #[graphql(flatten)]
    view: OrderView,
}

/// An order as one viewer sees it: whole to its buyer and operators; to a grower, only the
/// lines and shipment of the grower's own producer (another grower's sales are not theirs).
pub struct OrderView {
    row: order::Model,
    only_producer: Option<ProducerId>,
}

impl Order {
    /// The order as `viewer` may see it, or `None` when it is not theirs to see.
    pub async fn visible_to(db: &DatabaseConnection, viewer: &Viewer, row: order::Model) -> AppResult<Option<Order>> {
        let audience = Audience::of(db, &row).await?;
        if !viewer.may(audience.read(&row)) {
            return Ok(None);
        }
        let whole = match viewer {
            Viewer::User(me) => {
                me.user_id == row.buyer_id
                    || me.role == Role::Admin
                    || (me.role == Role::UnionAdmin && audience.organisation_admins.contains(&me.user_id))
            }
            Viewer::Anonymous => false,
        };
        let only_producer = if whole {
            None
        } else {
            match viewer {
                Viewer::User(me) => me.producer_id,
                Viewer::Anonymous => None,
            }
        };
        Ok(Some(Order::seen_by(row, only_producer)))
    }

    /// The order seen whole, by someone the caller has checked may: an admin of the organisation
    /// whose bulk order it is, or an operator.
    pub fn seen_whole(row: order::Model) -> Order {
        Order::seen_by(row, None)
    }

    /// The order as seen by a grower of `only_producer`, or whole.
    pub(super) fn seen_by(row: order::Model, only_producer: Option<ProducerId>) -> Order {
        Order {
            view: OrderView { row, only_producer },
        }
    }

    /// Its global id, which the `Node` interface asks of every node.
    pub async fn id(&self, _ctx: &Context<'_>) -> Result<ID> {
        Ok(encode(NodeType::Order, self.view.row.id))
    }

    pub fn order_id(&self) -> OrderId {
        self.view.row.id
    }

    pub fn row(&self) -> &order::Model {
        &self.view.row
    }

    /// The union or budget unit the order is credited to.
    pub fn organisation_id(&self) -> Option<OrganisationId> {
        self.view.row.union_id
    }

    /// The producer whose lines alone the viewer sees, when the viewer is one of its growers.
    pub fn only_producer(&self) -> Option<ProducerId> {
        self.view.only_producer
    }
}

impl OrderView {
    async fn visible_lines(&self, ctx: &Context<'_>) -> AppResult<Vec<order_line::Model>> {
        let lines = orders_loader(ctx)?
            .load_one(LinesOfOrder(self.row.id))
            .await?
            .unwrap_or_default();
        Ok(lines
            .into_iter()
            .filter(|line| self.only_producer.is_none_or(|producer| line.producer_id == producer))
            .collect())
    }

    async fn visible_shipments(&self, ctx: &Context<'_>) -> AppResult<Vec<shipment::Model>> {
        Ok(orders_loader(ctx)?
            .load_one(ShipmentsOfOrder(self.row.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .filter(|s| self.only_producer.is_none_or(|producer| s.producer_id == producer))
            .collect())
    }

    /// The goods the asker sees: the order's, or the grower's own lines'.
    async fn goods(&self, ctx: &Context<'_>) -> AppResult<Fen> {
        if self.only_producer.is_none() {
            return Ok(self.row.total_fen - self.row.shipping_fee_fen);
        }
        Ok(self
            .visible_lines(ctx)
            .await?
            .iter()
            .map(|line| line.line_total_fen)
            .sum())
    }

    /// The shipping the asker sees: the order's, or the grower's own parcel's.
    async fn shipping(&self, ctx: &Context<'_>) -> AppResult<Fen> {
        if self.only_producer.is_none() {
            return Ok(self.row.shipping_fee_fen);
        }
        Ok(self
            .visible_shipments(ctx)
            .await?
            .iter()
            .map(|s| s.shipping_fee_fen)
            .sum())
    }
}

#[Object]
impl OrderView {
    pub async fn id(&self) -> ID {
        encode(NodeType::Order, self.row.id)
    }

    /// What the buyer and the growers quote.
    async fn number(&self) -> &str {
        &self.row.number
    }

    /// A pickup order's store (到店自提): collected there, and its address is the store's.
    async fn pickup_store_id(&self) -> Option<ID> {
        self.row.pickup_store_id.map(|id| encode(NodeType::Store, id))
    }

    /// The code a pickup order's buyer shows at the store's counter: to the buyer and
    /// operators only (it collects the goods).
    async fn pickup_code(&self, ctx: &Context<'_>) -> Option<&str> {
        let may = match crate::accounts::policy::viewer(ctx) {
            Viewer::User(me) => me.user_id == self.row.buyer_id || me.role == Role::Admin,
            Viewer::Anonymous => false,
        };
        may.then_some(self.row.pickup_code.as_deref()).flatten()
    }

    async fn status(&self) -> OrderStatus {
        self.row.status
    }

    /// What the buyer pays: the goods and the shipping; to a grower, the grower's own part.
    async fn total(&self, ctx: &Context<'_>) -> Result<Money> {
        Ok((self.goods(ctx).await? + self.shipping(ctx).await?).into())
    }

    /// The goods (the lines' totals), before shipping; to a grower, its own lines.
    async fn subtotal(&self, ctx: &Context<'_>) -> Result<Money> {
        Ok(self.goods(ctx).await?.into())
    }

    /// The shipments' fees as the producers' rules gave them when the order was placed; to a
    /// grower, its own parcel's.
    async fn shipping_fee(&self, ctx: &Context<'_>) -> Result<Money> {
        Ok(self.shipping(ctx).await?.into())
    }

    #[graphql(complexity = "crate::infra::graphql::relay::list_complexity(crate::orders::MAX_LINES, child_complexity)")]
    async fn lines(&self, ctx: &Context<'_>) -> Result<Vec<OrderLine>> {
        Ok(self.visible_lines(ctx).await?.into_iter().map(OrderLine).collect())
    }

    /// Until when an unpaid order holds its stock.
    async fn reserved_until(&self) -> Option<DateTime<Utc>> {
        self.row.reserved_until
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }

    async fn payment_method(&self) -> PaymentMethod {
        self.row.payment_method
    }

    /// What the welfare allowance paid (zero unless paid with WELFARE_ALLOWANCE).
    async fn allowance_paid(&self) -> Money {
        self.row.allowance_fen.into()
    }

    /// How the part the allowance did not cover is paid, for a split payment.
    async fn remainder_method(&self) -> Option<PaymentMethod> {
        self.row.remainder_method
    }

    /// The livestream promo link the order came through.
    async fn referral_code(&self) -> Option<&str> {
        self.row.referral_code.as_deref()
    }

    async fn shipping_address(&self) -> ShippingAddress {
        ShippingAddress {
            name: self.row.ship_name.clone(),
            phone: self.row.ship_phone.clone(),
            province: self.row.ship_province.clone(),
            city: self.row.ship_city.clone(),
            district: self.row.ship_district.clone(),
            line1: self.row.ship_line1.clone(),
            postal_code: self.row.ship_postal_code.clone(),
        }
    }

    /// One per producer with lines in the order, each with its own tracking number; of a bulk
    /// order, one per recipient and producer.
    #[graphql(complexity = "crate::infra::graphql::relay::list_complexity(crate::orders::MAX_LINES, child_complexity)")]
    async fn shipments(&self, ctx: &Context<'_>) -> Result<Vec<Shipment>> {
        Ok(self
            .visible_shipments(ctx)
            .await?
            .into_iter()
            .map(|row| Shipment {
                row,
                whole: self.only_producer.is_none(),
            })
            .collect())
    }

    /// Of a bulk order: whether every shipment has been accepted by its recipient.
    async fn accepted(&self, ctx: &Context<'_>) -> Result<Option<bool>> {
        if !self.row.bulk {
            return Ok(None);
        }
        let shipments = orders_loader(ctx)?
            .load_one(ShipmentsOfOrder(self.row.id))
            .await
            .map_err(AppError::from)?
            .unwrap_or_default();
        Ok(acceptance::order_accepted(&self.row, &shipments))
    }

    /// Whether this is an organisation's bulk order, shipped to many recipients.
    async fn bulk(&self) -> bool {
        self.row.bulk
    }

    async fn paid_at(&self) -> Option<DateTime<Utc>> {
        self.row.paid_at
    }

    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.row.delivered_at
    }
}

pub struct OrderLine(order_line::Model);

#[Object]
impl OrderLine {
    async fn variant(&self, ctx: &Context<'_>) -> Result<Variant> {
        let variant = loader(ctx)?.load_one(self.0.variant_id).await.map_err(AppError::from)?;
        Ok(Variant(variant.ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("order line without its variant"))
        })?))
    }

    async fn quantity(&self) -> i32 {
        self.0.quantity
    }

    /// The price when the order was placed.
    async fn unit_price(&self) -> Money {
        self.0.unit_price_fen.into()
    }

    async fn line_total(&self) -> Money {
        self.0.line_total_fen.into()
    }

    async fn producer(&self, ctx: &Context<'_>) -> Result<Producer> {
        let producer = loader(ctx)?
            .load_one(self.0.producer_id)
            .await
            .map_err(AppError::from)?;
        Ok(Producer(producer.ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("order line without its producer"))
        })?))
    }
}

#[derive(InputObject)]
pub struct OrderLineInput {
    pub variant_id: ID,
    pub quantity: i32,
}

#[derive(SimpleObject)]
pub struct OrderPayload {
    order: Option<Order>,
    user_errors: Vec<UserError>,
}

impl OrderPayload {
    pub fn failed(problem: UserError) -> Self {
        OrderPayload {
            order: None,
            user_errors: vec![problem],
        }
    }

    pub fn done(order: Order) -> Self {
        OrderPayload {
            order: Some(order),
            user_errors: Vec::new(),
        }
    }

    /// A pickup order handed over at its store's counter, shown to the clerk who did (whole,
    /// but for its pickup code, which is its buyer's and operators').
    pub fn handed_over(row: order::Model) -> Self {
        OrderPayload::done(Order::seen_whole(row))
    }

    /// The order as it is now, as the viewer may see it.
    pub async fn of(ctx: &Context<'_>, order_id: OrderId) -> AppResult<Self> {
        let row = order::Entity::find_by_id(order_id)
            .one(database(ctx)?)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("order vanished")))?;
        Ok(match shown(ctx, row).await? {
            Some(order) => OrderPayload::done(order),
            None => OrderPayload::failed(not_found()),
        })
    }
}
