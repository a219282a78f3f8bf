//! Orders, their lines and shipments as the API shows them, and the inputs and payloads of
//! the order mutations.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, EntityTrait};

use super::loaders::{ItemsOfShipment, LinesOfOrder, ShipmentsOfOrder, orders_loader};
use super::{Audience, not_found, shown};
use crate::accounts::{Role, Viewer};
use crate::cart::graphql::{AddressInput, ShippingAddress};
use crate::catalogue::graphql::{Producer, Variant};
use crate::graphql::context::{database, loader};
use crate::infra::error::{AppError, AppResult, UserError};
use crate::infra::graphql::global_id::{NodeType, encode};
use crate::infra::ids::OrderId;
use crate::infra::ids::ProducerId;
use crate::infra::money::{Fen, Money};
use crate::orders::carriers::Carrier;
use crate::orders::entity::{order, order_line, shipment, shipment_item};
use crate::orders::service::acceptance;
use crate::orders::service::placing::{self, Placed};
use crate::orders::{OrderStatus, PaymentMethod};
use crate::payments::checkout::PaymentChannel;
use crate::payments::graphql::payment::{Payment, payment_for};

type Result<T> = async_graphql::Result<T>;

/// An order as one viewer sees it: whole to its buyer and operators; to a grower, only the
/// lines and shipment of the grower's own producer (another grower's sales are not theirs).
pub struct Order {
    pub(super) row: order::Model,
    pub(super) only_producer: Option<ProducerId>,
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
        Ok(Some(Order { row, only_producer }))
    }

    /// The order seen whole, by someone the caller has checked may: an admin of the organisation
    /// whose bulk order it is, or an operator.
    pub fn seen_whole(row: order::Model) -> Order {
        Order {
            row,
            only_producer: None,
        }
    }

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
}

#[Object]
impl Order {
    pub async fn id(&self) -> ID {
        encode(NodeType::Order, self.row.id)
    }

    /// What the buyer and the growers quote.
    async fn number(&self) -> &str {
        &self.row.number
    }

    async fn status(&self) -> OrderStatus {
        self.row.status
    }

    /// The order's total; to a grower, the total of the grower's own lines.
    async fn total(&self, ctx: &Context<'_>) -> Result<Money> {
        if self.only_producer.is_none() {
            return Ok(Fen::new(self.row.total_fen).into());
        }
        let sum = self
            .visible_lines(ctx)
            .await?
            .iter()
            .map(|line| line.line_total_fen)
            .sum::<i64>();
        Ok(Fen::new(sum).into())
    }

    #[graphql(complexity = "crate::infra::graphql::relay::list_complexity(placing::MAX_LINES, child_complexity)")]
    async fn lines(&self, ctx: &Context<'_>) -> Result<Vec<OrderLine>> {
        Ok(self.visible_lines(ctx).await?.into_iter().map(OrderLine).collect())
    }

    /// After-sales claims on the order; to a grower, those on its own lines.
    async fn claims(&self, ctx: &Context<'_>) -> Result<Vec<crate::claims::graphql::Claim>> {
        crate::claims::graphql::of_order(ctx, self.row.id, self.only_producer).await
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
        Fen::new(self.row.allowance_fen).into()
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
    #[graphql(complexity = "crate::infra::graphql::relay::list_complexity(placing::MAX_LINES, child_complexity)")]
    async fn shipments(&self, ctx: &Context<'_>) -> Result<Vec<Shipment>> {
        let shipments = orders_loader(ctx)?
            .load_one(ShipmentsOfOrder(self.row.id))
            .await
            .map_err(AppError::from)?
            .unwrap_or_default();
        Ok(shipments
            .into_iter()
            .filter(|s| self.only_producer.is_none_or(|producer| s.producer_id == producer))
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

    /// How the order is paid; the client secret only to the buyer.
    async fn payment(&self, ctx: &Context<'_>) -> Result<Option<Payment>> {
        Ok(payment_for(ctx, &self.row, self.only_producer).await?)
    }

    async fn paid_at(&self) -> Option<DateTime<Utc>> {
        self.row.paid_at
    }

    /// The union or budget unit the order is credited to (消费帮扶), to those who may see it.
    async fn organisation(&self, ctx: &Context<'_>) -> Result<Option<crate::unions::graphql::Organisation>> {
        let Some(organisation_id) = self.row.union_id else {
            return Ok(None);
        };
        Ok(crate::unions::graphql::organisation_node(ctx, organisation_id).await?)
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
        Fen::new(self.0.unit_price_fen).into()
    }

    async fn line_total(&self) -> Money {
        Fen::new(self.0.line_total_fen).into()
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

/// A shipment as one viewer sees it: a bulk order's acceptance code only to those who see the
/// whole order (the organisation's admins, operators).
pub struct Shipment {
    pub(super) row: shipment::Model,
    pub(super) whole: bool,
}

#[Object]
impl Shipment {
    pub async fn id(&self) -> ID {
        encode(NodeType::Shipment, self.row.id)
    }

    async fn producer(&self, ctx: &Context<'_>) -> Result<Producer> {
        let producer = loader(ctx)?
            .load_one(self.row.producer_id)
            .await
            .map_err(AppError::from)?;
        Ok(Producer(producer.ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("shipment without its producer"))
        })?))
    }

    async fn tracking_number(&self) -> Option<&str> {
        self.row.tracking_number.as_deref()
    }

    /// The express company's code (SF, ZTO, YTO, JD, EMS, STO, YUNDA), when the shipper named one.
    async fn carrier(&self) -> Option<&'static str> {
        self.row.carrier.map(Carrier::code)
    }

    /// The carrier's own public page tracking this parcel, once it has a carrier and a number.
    async fn tracking_url(&self) -> Option<String> {
        let number = self.row.tracking_number.as_deref()?;
        Some(self.row.carrier?.tracking_url(number))
    }

    async fn shipped_at(&self) -> Option<DateTime<Utc>> {
        self.row.shipped_at
    }

    /// Of a bulk order: who receives this shipment.
    async fn recipient_name(&self) -> Option<&str> {
        self.row.recipient_name.as_deref()
    }

    /// Of a bulk order: where this shipment goes (the order's own address is the organisation).
    async fn recipient(&self) -> Option<ShippingAddress> {
        Some(ShippingAddress {
            name: self.row.recipient_name.clone()?,
            phone: self.row.recipient_phone.clone()?,
            province: self.row.recipient_province.clone()?,
            city: self.row.recipient_city.clone()?,
            district: self.row.recipient_district.clone()?,
            line1: self.row.recipient_line1.clone()?,
            postal_code: None,
        })
    }

    /// Of a bulk order: what goes in this shipment.
    async fn items(&self, ctx: &Context<'_>) -> Result<Option<Vec<ShipmentItem>>> {
        if self.row.recipient_name.is_none() {
            return Ok(None);
        }
        let items = orders_loader(ctx)?
            .load_one(ItemsOfShipment(self.row.id))
            .await
            .map_err(AppError::from)?
            .unwrap_or_default();
        Ok(Some(items.into_iter().map(ShipmentItem).collect()))
    }

    /// Of a bulk order: the code its recipient accepts it with (the organisation's admins and
    /// operators; they pass it on to the recipient).
    async fn acceptance_code(&self) -> Option<&str> {
        self.whole.then_some(self.row.acceptance_code.as_deref()).flatten()
    }

    /// Of a bulk order: whether its recipient accepted it.
    async fn accepted(&self) -> Option<bool> {
        self.row
            .acceptance_code
            .as_ref()
            .map(|_| self.row.accepted_at.is_some())
    }

    async fn accepted_at(&self) -> Option<DateTime<Utc>> {
        self.row.accepted_at
    }

    /// The problem its recipient reported, until the shipment is accepted.
    async fn problem(&self) -> Option<&str> {
        self.row
            .accepted_at
            .is_none()
            .then_some(self.row.problem_note.as_deref())
            .flatten()
    }

    async fn problem_reported_at(&self) -> Option<DateTime<Utc>> {
        self.row.accepted_at.is_none().then_some(self.row.problem_at).flatten()
    }
}

impl Shipment {
    /// A shipment seen by those who see every part of its order.
    pub fn whole(row: shipment::Model) -> Shipment {
        Shipment { row, whole: true }
    }
}

pub struct ShipmentItem(shipment_item::Model);

#[Object]
impl ShipmentItem {
    async fn variant(&self, ctx: &Context<'_>) -> Result<Variant> {
        let variant = loader(ctx)?.load_one(self.0.variant_id).await.map_err(AppError::from)?;
        Ok(Variant(variant.ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("shipment item without its variant"))
        })?))
    }

    async fn quantity(&self) -> i32 {
        self.0.quantity
    }
}

#[derive(InputObject)]
pub struct OrderLineInput {
    pub variant_id: ID,
    pub quantity: i32,
}

#[derive(InputObject)]
pub struct PlaceOrderInput {
    /// The lines; or `fromCart: true` for the cart's (exactly one of the two).
    pub lines: Option<Vec<OrderLineInput>>,
    /// Places the cart's lines, and empties the cart of them with the order.
    pub from_cart: Option<bool>,
    /// Where the order goes; or `shippingAddressId` (exactly one of the two).
    pub shipping_address: Option<AddressInput>,
    /// One of the buyer's saved addresses (`User.addresses`).
    pub shipping_address_id: Option<ID>,
    /// Repeat it to retry safely: the same key from the same buyer is the same order.
    pub idempotency_key: String,
    /// CARD when Stripe is set up, else BANK_TRANSFER.
    pub payment_method: Option<PaymentMethod>,
    /// With WELFARE_ALLOWANCE: how to pay what the allowance does not cover (without it, an
    /// allowance short of the total is INSUFFICIENT_ALLOWANCE).
    pub remainder_method: Option<PaymentMethod>,
    /// The livestream promo link's code.
    pub referral_code: Option<String>,
    /// Where the buyer pays from with WeChat Pay or Alipay paid directly: NATIVE (a QR code,
    /// the default), JSAPI (inside WeChat, with `payerOpenId`) or H5 (a phone's browser).
    pub payment_channel: Option<PaymentChannel>,
    /// The buyer's openid under the shop's AppID, for JSAPI.
    pub payer_open_id: Option<String>,
}

#[derive(SimpleObject)]
pub struct PlaceOrderPayload {
    order: Option<Order>,
    user_errors: Vec<UserError>,
}

impl PlaceOrderPayload {
    /// The order placed, seen whole by whoever placed it, with what went wrong starting its
    /// payment, if anything did.
    pub fn placed(placed: Placed) -> Self {
        PlaceOrderPayload {
            order: Some(Order {
                row: placed.order,
                only_producer: None,
            }),
            user_errors: placed.payment_problem.into_iter().collect(),
        }
    }

    pub fn refused(problems: Vec<UserError>) -> Self {
        PlaceOrderPayload {
            order: None,
            user_errors: problems,
        }
    }
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

    pub(super) fn done(order: Order) -> Self {
        OrderPayload {
            order: Some(order),
            user_errors: Vec::new(),
        }
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
