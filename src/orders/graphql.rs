//! The contract's "Orders and inventory" section.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder};

use super::entity::{order, order_line, shipment};
use super::policy::{ChangeOrder, ReadOrder, ShipOrder};
use super::service::placing::{self, Address, LineRequest, OrderRequest};
use super::service::{cancel, lifecycle, state};
use super::{OrderStatus, PaymentMethod};
use crate::accounts::policy::{RoleGuard, viewer};
use crate::accounts::{Role, Viewer};
use crate::catalogue::graphql::{Producer, Variant};
use crate::catalogue::loaders::{ProducerId, VariantId};
use crate::error::{AppError, AppResult, UserError};
use crate::graphql::context::{database, loader, shop, wants_total_count};
use crate::graphql::ids::{NodeType, decode_as, encode};
use crate::graphql::relay::{PageRequest, RelayConnection, connection};
use crate::money::{Fen, Money};
use crate::payments::graphql::payment::{Payment, payment_for};

type Result<T> = async_graphql::Result<T>;

/// Batched loads of order lines and shipments, for lists of orders.
pub struct OrdersLoader {
    db: DatabaseConnection,
}

impl OrdersLoader {
    pub fn new(db: DatabaseConnection) -> Self {
        OrdersLoader { db }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinesOfOrder(pub i64);
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ShipmentsOfOrder(pub i64);

/// The rows of `E` belonging to the orders `keys` name, grouped by order (an order with none
/// gets an empty list).
async fn by_order<E, K>(
    db: &DatabaseConnection,
    column: E::Column,
    keys: &[K],
    order_of_key: impl Fn(&K) -> i64,
    key_of_order: impl Fn(i64) -> K,
    order_of_row: impl Fn(&E::Model) -> i64,
) -> std::result::Result<HashMap<K, Vec<E::Model>>, Arc<DbErr>>
where
    E: EntityTrait,
    E::Column: sea_orm::ColumnTrait,
    K: Copy + Eq + std::hash::Hash,
{
    use sea_orm::Iterable;
    let primary_key = E::PrimaryKey::iter()
        .next()
        .map(sea_orm::PrimaryKeyToColumn::into_column);
    let mut select = E::find().filter(column.is_in(keys.iter().map(&order_of_key)));
    if let Some(primary_key) = primary_key {
        select = select.order_by_asc(primary_key);
    }
    let rows = select.all(db).await.map_err(Arc::new)?;
    let mut grouped: HashMap<K, Vec<E::Model>> = keys.iter().map(|k| (*k, Vec::new())).collect();
    for row in rows {
        grouped.entry(key_of_order(order_of_row(&row))).or_default().push(row);
    }
    Ok(grouped)
}

impl Loader<LinesOfOrder> for OrdersLoader {
    type Value = Vec<order_line::Model>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[LinesOfOrder],
    ) -> std::result::Result<HashMap<LinesOfOrder, Self::Value>, Self::Error> {
        by_order::<order_line::Entity, _>(
            &self.db,
            order_line::Column::OrderId,
            keys,
            |k| k.0,
            LinesOfOrder,
            |row| row.order_id,
        )
        .await
    }
}

impl Loader<ShipmentsOfOrder> for OrdersLoader {
    type Value = Vec<shipment::Model>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[ShipmentsOfOrder],
    ) -> std::result::Result<HashMap<ShipmentsOfOrder, Self::Value>, Self::Error> {
        by_order::<shipment::Entity, _>(
            &self.db,
            shipment::Column::OrderId,
            keys,
            |k| k.0,
            ShipmentsOfOrder,
            |row| row.order_id,
        )
        .await
    }
}

pub type RequestOrdersLoader = DataLoader<OrdersLoader, HashMapCache>;

/// Per-request batched loads of order lines and shipments.
pub fn request_loader(db: &DatabaseConnection) -> RequestOrdersLoader {
    DataLoader::with_cache(OrdersLoader::new(db.clone()), tokio::spawn, HashMapCache::default())
}

fn orders_loader<'a>(ctx: &Context<'a>) -> AppResult<&'a RequestOrdersLoader> {
    ctx.data::<RequestOrdersLoader>()
        .map_err(|_| AppError::Internal(anyhow::anyhow!("request without an orders loader")))
}

/// An order as one viewer sees it: whole to its buyer and operators; to a grower, only the
/// lines and shipment of the grower's own producer (another grower's sales are not theirs).
pub struct Order {
    row: order::Model,
    only_producer: Option<i64>,
}

impl Order {
    /// The order as `viewer` may see it, or `None` when it is not theirs to see.
    pub async fn visible_to(db: &DatabaseConnection, viewer: &Viewer, row: order::Model) -> AppResult<Option<Order>> {
        let producers = state::producers_of(db, row.id).await?;
        if !viewer.may(ReadOrder {
            buyer_id: row.buyer_id,
            producer_ids: &producers,
        }) {
            return Ok(None);
        }
        let whole = match viewer {
            Viewer::User(me) => me.user_id == row.buyer_id || me.role == Role::Admin,
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

    #[graphql(complexity = "crate::graphql::relay::list_complexity(placing::MAX_LINES, child_complexity)")]
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

    /// One per producer, each with its own tracking number.
    /// One per producer with lines in the order.
    #[graphql(complexity = "crate::graphql::relay::list_complexity(placing::MAX_LINES, child_complexity)")]
    async fn shipments(&self, ctx: &Context<'_>) -> Result<Vec<Shipment>> {
        let shipments = orders_loader(ctx)?
            .load_one(ShipmentsOfOrder(self.row.id))
            .await
            .map_err(AppError::from)?
            .unwrap_or_default();
        Ok(shipments
            .into_iter()
            .filter(|s| self.only_producer.is_none_or(|producer| s.producer_id == producer))
            .map(Shipment)
            .collect())
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
        let variant = loader(ctx)?
            .load_one(VariantId(self.0.variant_id))
            .await
            .map_err(AppError::from)?;
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
            .load_one(ProducerId(self.0.producer_id))
            .await
            .map_err(AppError::from)?;
        Ok(Producer(producer.ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("order line without its producer"))
        })?))
    }
}

pub struct Shipment(shipment::Model);

#[Object]
impl Shipment {
    async fn producer(&self, ctx: &Context<'_>) -> Result<Producer> {
        let producer = loader(ctx)?
            .load_one(ProducerId(self.0.producer_id))
            .await
            .map_err(AppError::from)?;
        Ok(Producer(producer.ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("shipment without its producer"))
        })?))
    }

    async fn tracking_number(&self) -> Option<&str> {
        self.0.tracking_number.as_deref()
    }

    async fn shipped_at(&self) -> Option<DateTime<Utc>> {
        self.0.shipped_at
    }
}

#[derive(SimpleObject)]
pub struct ShippingAddress {
    name: String,
    phone: String,
    province: String,
    city: String,
    district: String,
    line1: String,
    postal_code: Option<String>,
}

#[derive(InputObject)]
pub struct OrderLineInput {
    pub variant_id: ID,
    pub quantity: i32,
}

#[derive(InputObject)]
pub struct AddressInput {
    pub name: String,
    pub phone: String,
    pub province: String,
    pub city: String,
    pub district: String,
    pub line1: String,
    pub postal_code: Option<String>,
}

#[derive(InputObject)]
pub struct PlaceOrderInput {
    pub lines: Vec<OrderLineInput>,
    pub shipping_address: AddressInput,
    /// Repeat it to retry safely: the same key from the same buyer is the same order.
    pub idempotency_key: String,
    /// CARD when Stripe is set up, else BANK_TRANSFER.
    pub payment_method: Option<PaymentMethod>,
    /// The livestream promo link's code.
    pub referral_code: Option<String>,
}

#[derive(SimpleObject)]
pub struct PlaceOrderPayload {
    order: Option<Order>,
    user_errors: Vec<UserError>,
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

    fn done(order: Order) -> Self {
        OrderPayload {
            order: Some(order),
            user_errors: Vec::new(),
        }
    }

    /// The order as it is now, as the viewer may see it.
    pub async fn of(ctx: &Context<'_>, order_id: i64) -> AppResult<Self> {
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

fn not_found() -> UserError {
    UserError::new("NOT_FOUND", "no such order").on_field(&["orderId"])
}

/// The order `id` names, if the viewer may see it.
async fn visible_order(ctx: &Context<'_>, id: &ID) -> AppResult<Option<(order::Model, Vec<i64>)>> {
    let Some(order_id) = decode_as(id, NodeType::Order) else {
        return Ok(None);
    };
    let db = database(ctx)?;
    let Some(row) = order::Entity::find_by_id(order_id).one(db).await? else {
        return Ok(None);
    };
    let producers = state::producers_of(db, row.id).await?;
    let visible = viewer(ctx).may(ReadOrder {
        buyer_id: row.buyer_id,
        producer_ids: &producers,
    });
    Ok(visible.then_some((row, producers)))
}

/// The order row `id` names, if the viewer may see it.
pub async fn visible_order_row(ctx: &Context<'_>, id: &ID) -> AppResult<Option<order::Model>> {
    Ok(visible_order(ctx, id).await?.map(|(row, _)| row))
}

async fn shown(ctx: &Context<'_>, row: order::Model) -> AppResult<Option<Order>> {
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
        complexity = "crate::graphql::relay::connection_complexity(first, child_complexity)"
    )]
    async fn my_orders(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<RelayConnection<i64, Order>> {
        let me = viewer(ctx).signed_in()?;
        let page = PageRequest::new(first, after.as_deref())?;
        let (rows, total) = state::buyer_orders(database(ctx)?, me.user_id, &page, wants_total_count(ctx)).await?;
        Ok(connection(
            rows,
            &page,
            total,
            |row| row.id,
            |row| Order {
                row,
                only_producer: None,
            },
        ))
    }
}

#[derive(Default)]
pub struct OrdersMutation;

#[Object]
impl OrdersMutation {
    /// Places an order: every line's stock is held for all lines or none, until `reservedUntil`.
    #[graphql(guard = "RoleGuard::signed_in()")]
    async fn place_order(&self, ctx: &Context<'_>, input: PlaceOrderInput) -> Result<PlaceOrderPayload> {
        let me = viewer(ctx).signed_in()?;
        let shop = shop(ctx)?;
        let payments_available = shop.stripe.is_some();
        let payment_method = input.payment_method.unwrap_or(if payments_available {
            PaymentMethod::Card
        } else {
            PaymentMethod::BankTransfer
        });
        if payment_method.uses_stripe() && !payments_available {
            return Ok(PlaceOrderPayload {
                order: None,
                user_errors: vec![
                    UserError::new(
                        "PAYMENTS_UNAVAILABLE",
                        "card, Alipay and WeChat Pay are not available; pay by bank transfer",
                    )
                    .on_field(&["input", "paymentMethod"]),
                ],
            });
        }
        let address = input.shipping_address;
        let request = OrderRequest {
            lines: input
                .lines
                .iter()
                .map(|line| LineRequest {
                    variant_id: decode_as(&line.variant_id, NodeType::Variant),
                    quantity: line.quantity,
                })
                .collect(),
            address: Address {
                name: address.name,
                phone: address.phone,
                province: address.province,
                city: address.city,
                district: address.district,
                line1: address.line1,
                postal_code: address.postal_code,
            },
            idempotency_key: input.idempotency_key,
            payment_method,
            referral_code: input.referral_code,
        };
        Ok(match placing::place(shop, me.user_id, request).await? {
            Ok(placed) => PlaceOrderPayload {
                order: Some(Order {
                    row: placed.order,
                    only_producer: None,
                }),
                user_errors: placed.payment_problem.into_iter().collect(),
            },
            Err(problem) => PlaceOrderPayload {
                order: None,
                user_errors: vec![problem],
            },
        })
    }

    /// Cancels an order not yet shipped (its buyer, or an operator): its stock is freed.
    #[graphql(guard = "RoleGuard::signed_in()")]
    async fn cancel_order(&self, ctx: &Context<'_>, order_id: ID) -> Result<OrderPayload> {
        let Some((row, _)) = visible_order(ctx, &order_id).await? else {
            return Ok(OrderPayload::failed(not_found()));
        };
        let me = viewer(ctx).authorize(ChangeOrder { buyer_id: row.buyer_id })?;
        Ok(match cancel::cancel(shop(ctx)?, row.id, me.user_id).await? {
            Ok(row) => match shown(ctx, row).await? {
                Some(order) => OrderPayload::done(order),
                None => OrderPayload::failed(not_found()),
            },
            Err(problem) => OrderPayload::failed(problem),
        })
    }

    /// Ships a paid order: a grower ships its own producer's part, an operator every part left.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Grower, Role::Admin])")]
    async fn mark_shipped(&self, ctx: &Context<'_>, order_id: ID, tracking_number: String) -> Result<OrderPayload> {
        let Some((row, producers)) = visible_order(ctx, &order_id).await? else {
            return Ok(OrderPayload::failed(not_found()));
        };
        let me = viewer(ctx).authorize(ShipOrder {
            producer_ids: &producers,
        })?;
        let producer = if me.role == Role::Admin { None } else { me.producer_id };
        let outcome = lifecycle::mark_shipped(shop(ctx)?, row.id, producer, &tracking_number).await?;
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
        let Some((row, _)) = visible_order(ctx, &order_id).await? else {
            return Ok(OrderPayload::failed(not_found()));
        };
        viewer(ctx).authorize(ChangeOrder { buyer_id: row.buyer_id })?;
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

/// An order through `node(id:)`: null to anyone who may not see it.
pub async fn node(ctx: &Context<'_>, order_id: i64) -> AppResult<Option<Order>> {
    let db = database(ctx)?;
    let Some(row) = order::Entity::find_by_id(order_id).one(db).await? else {
        return Ok(None);
    };
    Order::visible_to(db, viewer(ctx), row).await
}
