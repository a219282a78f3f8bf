//! Batched loads of order lines and shipments, for lists of orders.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::Context;
use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder};

use crate::error::{AppError, AppResult};
use crate::orders::OrderId;
use crate::orders::entity::{order_line, shipment, shipment_item};

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
pub struct LinesOfOrder(pub OrderId);
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ShipmentsOfOrder(pub OrderId);
/// A bulk order's shipment items (what each recipient gets).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ItemsOfOrder(pub OrderId);

/// The rows of `E` belonging to the orders `keys` name, grouped by order (an order with none
/// gets an empty list).
async fn by_order<E, K>(
    db: &DatabaseConnection,
    column: E::Column,
    keys: &[K],
    order_of_key: impl Fn(&K) -> OrderId,
    key_of_order: impl Fn(OrderId) -> K,
    order_of_row: impl Fn(&E::Model) -> OrderId,
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

impl Loader<ItemsOfOrder> for OrdersLoader {
    type Value = Vec<shipment_item::Model>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[ItemsOfOrder],
    ) -> std::result::Result<HashMap<ItemsOfOrder, Self::Value>, Self::Error> {
        by_order::<shipment_item::Entity, _>(
            &self.db,
            shipment_item::Column::OrderId,
            keys,
            |k| k.0,
            ItemsOfOrder,
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

pub(super) fn orders_loader<'a>(ctx: &Context<'a>) -> AppResult<&'a RequestOrdersLoader> {
    ctx.data::<RequestOrdersLoader>()
        .map_err(|_| AppError::Internal(anyhow::anyhow!("request without an orders loader")))
}
