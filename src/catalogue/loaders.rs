//! Batched loads for the storefront's nested fields, so a page of products costs a fixed number
//! of statements whatever its size. A loader lives for one request: nothing it holds goes stale.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use async_graphql::Context;
use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, Value};

use super::entity::{catalogue_entry, category, producer, product, product_image, variant, village};
use crate::infra::error::AppResult;
use crate::infra::graphql::context::handle;
use crate::infra::ids::{CatalogueEntryId, CategoryId, ProducerId, ProductId, VariantId, VillageId};
use crate::inventory::entity::stock_level;

pub struct CatalogueLoader {
    db: DatabaseConnection,
}

impl CatalogueLoader {
    pub fn new(db: DatabaseConnection) -> Self {
        CatalogueLoader { db }
    }
}

/// A request's own loader: what it caches must not outlive the request.
pub fn request_loader(db: &DatabaseConnection) -> DataLoader<CatalogueLoader, HashMapCache> {
    DataLoader::with_cache(CatalogueLoader::new(db.clone()), tokio::spawn, HashMapCache::default())
}

/// The request's catalogue loader, which the app puts in every request's data.
pub fn loader<'a>(ctx: &Context<'a>) -> AppResult<&'a DataLoader<CatalogueLoader, HashMapCache>> {
    handle(ctx)
}

/// All variants of a product, in display order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VariantsOfProduct(pub ProductId);
/// All pictures of a product, in display order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ImagesOfProduct(pub ProductId);
/// The stock level of a variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StockOfVariant(pub VariantId);

type LoadResult<K, V> = Result<HashMap<K, V>, Arc<DbErr>>;

/// Loads the rows of `E` whose `column` is one of `ids`, keyed by `key_of`.
async fn rows_by<E, K>(
    db: &DatabaseConnection,
    column: E::Column,
    ids: impl Iterator<Item = impl Into<Value>>,
    key_of: impl Fn(&E::Model) -> K,
) -> LoadResult<K, E::Model>
where
    E: EntityTrait,
    K: Eq + Hash,
{
    let rows = E::find().filter(column.is_in(ids)).all(db).await.map_err(Arc::new)?;
    Ok(rows.into_iter().map(|row| (key_of(&row), row)).collect())
}

impl Loader<CategoryId> for CatalogueLoader {
    type Value = category::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[CategoryId]) -> LoadResult<CategoryId, Self::Value> {
        rows_by::<category::Entity, _>(&self.db, category::Column::Id, keys.iter().copied(), |row| row.id).await
    }
}

impl Loader<VillageId> for CatalogueLoader {
    type Value = village::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[VillageId]) -> LoadResult<VillageId, Self::Value> {
        rows_by::<village::Entity, _>(&self.db, village::Column::Id, keys.iter().copied(), |row| row.id).await
    }
}

impl Loader<ProducerId> for CatalogueLoader {
    type Value = producer::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[ProducerId]) -> LoadResult<ProducerId, Self::Value> {
        rows_by::<producer::Entity, _>(&self.db, producer::Column::Id, keys.iter().copied(), |row| row.id).await
    }
}

impl Loader<CatalogueEntryId> for CatalogueLoader {
    type Value = catalogue_entry::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[CatalogueEntryId]) -> LoadResult<CatalogueEntryId, Self::Value> {
        rows_by::<catalogue_entry::Entity, _>(&self.db, catalogue_entry::Column::Id, keys.iter().copied(), |row| {
            row.id
        })
        .await
    }
}

impl Loader<ProductId> for CatalogueLoader {
    type Value = product::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[ProductId]) -> LoadResult<ProductId, Self::Value> {
        rows_by::<product::Entity, _>(&self.db, product::Column::Id, keys.iter().copied(), |row| row.id).await
    }
}

impl Loader<VariantId> for CatalogueLoader {
    type Value = variant::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[VariantId]) -> LoadResult<VariantId, Self::Value> {
        rows_by::<variant::Entity, _>(&self.db, variant::Column::Id, keys.iter().copied(), |row| row.id).await
    }
}

impl Loader<StockOfVariant> for CatalogueLoader {
    type Value = stock_level::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[StockOfVariant]) -> LoadResult<StockOfVariant, Self::Value> {
        rows_by::<stock_level::Entity, _>(
            &self.db,
            stock_level::Column::VariantId,
            keys.iter().map(|k| k.0),
            |row| StockOfVariant(row.variant_id),
        )
        .await
    }
}

impl Loader<VariantsOfProduct> for CatalogueLoader {
    type Value = Vec<variant::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[VariantsOfProduct]) -> LoadResult<VariantsOfProduct, Self::Value> {
        let rows = variant::Entity::find()
            .filter(variant::Column::ProductId.is_in(keys.iter().map(|k| k.0)))
            .order_by_asc(variant::Column::Position)
            .order_by_asc(variant::Column::Id)
            .all(&self.db)
            .await
            .map_err(Arc::new)?;
        let mut by_product: HashMap<VariantsOfProduct, Vec<variant::Model>> =
            keys.iter().map(|key| (*key, Vec::new())).collect();
        for row in rows {
            by_product
                .entry(VariantsOfProduct(row.product_id))
                .or_default()
                .push(row);
        }
        Ok(by_product)
    }
}

impl Loader<ImagesOfProduct> for CatalogueLoader {
    type Value = Vec<product_image::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[ImagesOfProduct]) -> LoadResult<ImagesOfProduct, Self::Value> {
        let rows = product_image::Entity::find()
            .filter(product_image::Column::ProductId.is_in(keys.iter().map(|k| k.0)))
            .order_by_asc(product_image::Column::Position)
            .all(&self.db)
            .await
            .map_err(Arc::new)?;
        let mut by_product: HashMap<ImagesOfProduct, Vec<product_image::Model>> =
            keys.iter().map(|key| (*key, Vec::new())).collect();
        for row in rows {
            by_product.entry(ImagesOfProduct(row.product_id)).or_default().push(row);
        }
        Ok(by_product)
    }
}

/// What a page of products will ask of each product, read from the query before resolving it.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProductSelection {
    pub category: bool,
    pub village: bool,
    pub producer: bool,
    pub producer_village: bool,
    pub catalogue_entry: bool,
    pub variants: bool,
    pub stock: bool,
    pub images: bool,
}

/// Loads, in one statement each, everything `selection` needs for a page of products and puts
/// it in the request's loader cache. The nested resolvers then find it there, so a page costs
/// the same number of statements whatever its size and however its fields interleave.
pub async fn prefetch_product_page(
    loader: &async_graphql::dataloader::DataLoader<CatalogueLoader, async_graphql::dataloader::HashMapCache>,
    products: &[product::Model],
    selection: ProductSelection,
) -> Result<(), Arc<DbErr>> {
    if products.is_empty() {
        return Ok(());
    }
    let inner = loader.loader();
    let mut village_ids: Vec<VillageId> = Vec::new();
    if selection.village {
        village_ids.extend(products.iter().map(|p| p.village_id));
    }
    if selection.producer {
        let keys: Vec<ProducerId> = products.iter().map(|p| p.producer_id).collect();
        let producers = inner.load(&keys).await?;
        if selection.producer_village {
            village_ids.extend(producers.values().map(|p| p.village_id));
        }
        loader.feed_many(producers).await;
    }
    if !village_ids.is_empty() {
        loader.feed_many(inner.load(&village_ids).await?).await;
    }
    if selection.category {
        let keys: Vec<CategoryId> = products.iter().map(|p| p.category_id).collect();
        loader.feed_many(inner.load(&keys).await?).await;
    }
    if selection.catalogue_entry {
        let keys: Vec<CatalogueEntryId> = products.iter().filter_map(|p| p.catalogue_entry_id).collect();
        if !keys.is_empty() {
            loader.feed_many(inner.load(&keys).await?).await;
        }
    }
    if selection.variants || selection.stock {
        let keys: Vec<VariantsOfProduct> = products.iter().map(|p| VariantsOfProduct(p.id)).collect();
        let variants = inner.load(&keys).await?;
        if selection.stock {
            let stock_keys: Vec<StockOfVariant> = variants.values().flatten().map(|v| StockOfVariant(v.id)).collect();
            if !stock_keys.is_empty() {
                loader.feed_many(inner.load(&stock_keys).await?).await;
            }
        }
        loader.feed_many(variants).await;
    }
    if selection.images {
        let keys: Vec<ImagesOfProduct> = products.iter().map(|p| ImagesOfProduct(p.id)).collect();
        loader.feed_many(inner.load(&keys).await?).await;
    }
    Ok(())
}
