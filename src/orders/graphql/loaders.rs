//! Batched loads of order lines and shipments, for lists of orders.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::Context;
use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder};

use crate::infra::error::{AppError, AppResult};
use crate::infra::ids::{OrderId, ShipmentId};
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
/// What a bulk order's shipment holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ItemsOfShipment(pub ShipmentId);

/// The rows of `E` whose `column` holds one of the ids `keys` name (an order's, a shipment's),
/// grouped by that id (a key with no rows gets an empty list).
async fn grouped_by<E, K, Id>(
    db: &DatabaseConnection,
    column: E::Column,
    keys: &[K],
    id_of_key: impl Fn(&K) -> Id,
    key_of_id: impl Fn(Id) -> K,
    id_of_row: impl Fn(&E::Model) -> Id,
) -> std::result::Result<HashMap<K, Vec<E::Model>>, Arc<DbErr>>
where
    E: EntityTrait,
    E::Column: sea_orm::ColumnTrait,
    K: Copy + Eq + std::hash::Hash,
    Id: Into<sea_orm::Value>,
{
    use sea_orm::Iterable;
    let primary_key = E::PrimaryKey::iter()
        .next()
        .map(sea_orm::PrimaryKeyToColumn::into_column);
    let mut select = E::find().filter(column.is_in(keys.iter().map(&id_of_key)));
    if let Some(primary_key) = primary_key {
        select = select.order_by_asc(primary_key);
    }
    let rows = select.all(db).await.map_err(Arc::new)?;
    let mut grouped: HashMap<K, Vec<E::Model>> = keys.iter().map(|k| (*k, Vec::new())).collect();
    for row in rows {
        grouped.entry(key_of_id(id_of_row(&row))).or_default().push(row);
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
        grouped_by::<order_line::Entity, _, _>(
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
        grouped_by::<shipment::Entity, _, _>(
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

impl Loader<ItemsOfShipment> for OrdersLoader {
    type Value = Vec<shipment_item::Model>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[ItemsOfShipment],
    ) -> std::result::Result<HashMap<ItemsOfShipment, Self::Value>, Self::Error> {
        grouped_by::<shipment_item::Entity, _, _>(
            &self.db,
            shipment_item::Column::ShipmentId,
            keys,
            |k| k.0,
            ItemsOfShipment,
            |row| row.shipment_id,
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
