//! The catalogue's public objects: products, variants, villages, producers, categories.

use async_graphql::dataloader::Loader;
use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};

use super::product_connection;
use crate::cache::holes::{self, StockFigure};
use crate::catalogue::ProducerKind;
use crate::catalogue::creation;
use crate::catalogue::entity::{catalogue_entry, category, producer, product, product_image, variant, village};
use crate::catalogue::loaders::loader;
use crate::catalogue::loaders::{CatalogueLoader, ImagesOfProduct, StockOfVariant, VariantsOfProduct};
use crate::catalogue::service::{ProductCursor, ProductFilter as ServiceFilter, ProductSort};
use crate::infra::error::{AppError, AppResult};
use crate::infra::graphql::global_id::{NodeType, encode};
use crate::infra::graphql::relay::RelayConnection;
use crate::infra::images::graphql::Image;
use crate::infra::money::Money;
use crate::infra::storage::BlobKey;

type Result<T> = async_graphql::Result<T>;

/// Loads a row a foreign key points at; its absence is a broken database, not a client error.
async fn load_required<K>(ctx: &Context<'_>, key: K) -> AppResult<<CatalogueLoader as Loader<K>>::Value>
where
    K: Send + Sync + Clone + Eq + std::hash::Hash + std::fmt::Debug + 'static,
    CatalogueLoader: Loader<K, Error = std::sync::Arc<sea_orm::DbErr>>,
{
    loader(ctx)?
        .load_one(key.clone())
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("dangling catalogue reference {key:?}")))
}

pub struct Product(pub product::Model);

#[Object]
impl Product {
    pub async fn id(&self) -> ID {
        encode(NodeType::Product, self.0.id)
    }

    async fn slug(&self) -> &str {
        &self.0.slug
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn description(&self) -> &str {
        &self.0.description
    }

    async fn category(&self, ctx: &Context<'_>) -> Result<Category> {
        Ok(Category::from(load_required(ctx, self.0.category_id).await?))
    }

    /// Where the product is grown or made.
    async fn village(&self, ctx: &Context<'_>) -> Result<Village> {
        Ok(Village(load_required(ctx, self.0.village_id).await?))
    }

    async fn producer(&self, ctx: &Context<'_>) -> Result<Producer> {
        Ok(Producer(load_required(ctx, self.0.producer_id).await?))
    }

    /// The 贫困地区农产品目录 entry code, when the product is listed.
    async fn catalogue_code(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.catalogue_entry_row(ctx).await?.map(|entry| entry.code))
    }

    /// The 贫困地区农产品目录 entry, when the product is listed.
    async fn catalogue_entry(&self, ctx: &Context<'_>) -> Result<Option<CatalogueEntry>> {
        Ok(self.catalogue_entry_row(ctx).await?.map(CatalogueEntry))
    }

    /// At most `MAX_VARIANTS` (20); the query cost counts them all.
    #[graphql(complexity = "crate::infra::graphql::relay::list_complexity(creation::MAX_VARIANTS, child_complexity)")]
    async fn variants(&self, ctx: &Context<'_>) -> Result<Vec<Variant>> {
        Ok(self.variant_rows(ctx).await?.into_iter().map(Variant).collect())
    }

    async fn price_range(&self) -> PriceRange {
        PriceRange {
            min: self.0.min_price_fen.into(),
            max: self.0.max_price_fen.into(),
        }
    }

    /// True when the product can be bought now: its catalogue entry (if any) is valid today and
    /// at least one variant has stock available.
    async fn in_stock(&self, ctx: &Context<'_>) -> Result<bool> {
        let entry = self.catalogue_entry_row(ctx).await?;
        let variants = self.variant_rows(ctx).await?;
        holes::record(
            ctx,
            StockFigure::InStock {
                variant_ids: variants.iter().map(|v| v.id).collect(),
                entry_validity: entry.as_ref().map(|entry| (entry.valid_from, entry.valid_to)),
            },
        );
        if let Some(entry) = entry
            && !entry.is_valid_on(crate::catalogue::today_in_china())
        {
            return Ok(false);
        }
        let stock = loader(ctx)?
            .load_many(variants.iter().map(|v| StockOfVariant(v.id)))
            .await
            .map_err(AppError::from)?;
        Ok(stock.values().any(|level| level.available() > 0))
    }

    /// When the product was first offered in the shop.
    async fn listed_at(&self) -> DateTime<Utc> {
        self.0.listed_at
    }

    /// False once its grower or an operator took it off the storefront: only they still see it.
    async fn published(&self) -> bool {
        self.0.published
    }

    /// Its pictures, in display order (at most 12).
    #[graphql(
        complexity = "crate::infra::graphql::relay::list_complexity(crate::catalogue::images::MAX_IMAGES, child_complexity)"
    )]
    async fn images(&self, ctx: &Context<'_>) -> Result<Vec<Image>> {
        let rows = loader(ctx)?
            .load_one(ImagesOfProduct(self.0.id))
            .await
            .map_err(AppError::from)?
            .unwrap_or_default();
        Ok(rows.into_iter().filter_map(image).collect())
    }
}

impl Product {
    async fn variant_rows(&self, ctx: &Context<'_>) -> AppResult<Vec<variant::Model>> {
        Ok(loader(ctx)?
            .load_one(VariantsOfProduct(self.0.id))
            .await?
            .unwrap_or_default())
    }

    async fn catalogue_entry_row(&self, ctx: &Context<'_>) -> AppResult<Option<catalogue_entry::Model>> {
        match self.0.catalogue_entry_id {
            Some(id) => Ok(Some(load_required(ctx, id).await?)),
            None => Ok(None),
        }
    }
}

/// A stored picture as an `Image`; a row whose keys no longer parse is left out.
fn image(row: product_image::Model) -> Option<Image> {
    let keys = [row.thumbnail_key, row.medium_key, row.large_key].map(|key| BlobKey::parse(&key).ok());
    let [Some(thumbnail), Some(medium), Some(large)] = keys else {
        return None;
    };
    Some(Image {
        width: u32::try_from(row.width).ok()?,
        height: u32::try_from(row.height).ok()?,
        keys: [thumbnail, medium, large],
        alt: row.alt,
    })
}

pub struct Variant(pub variant::Model);

#[Object]
impl Variant {
    pub async fn id(&self) -> ID {
        encode(NodeType::Variant, self.0.id)
    }

    async fn sku(&self) -> &str {
        &self.0.sku
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn price(&self) -> Money {
        self.0.price_fen.into()
    }

    async fn weight_grams(&self) -> i32 {
        self.0.weight_grams
    }

    /// Units that can be ordered now: on hand less those held by unpaid orders.
    async fn available(&self, ctx: &Context<'_>) -> Result<i32> {
        holes::record(ctx, StockFigure::Available { variant_id: self.0.id });
        let stock = loader(ctx)?
            .load_one(StockOfVariant(self.0.id))
            .await
            .map_err(AppError::from)?;
        let available = stock.map_or(0, |level| level.available());
        Ok(i32::try_from(available).unwrap_or(i32::MAX))
    }

    async fn product(&self, ctx: &Context<'_>) -> Result<Product> {
        Ok(Product(load_required(ctx, self.0.product_id).await?))
    }
}

pub struct Village(pub village::Model);

#[Object]
impl Village {
    pub async fn id(&self) -> ID {
        encode(NodeType::Village, self.0.id)
    }

    async fn slug(&self) -> &str {
        &self.0.slug
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn town(&self) -> &str {
        &self.0.town
    }

    async fn district(&self) -> &str {
        &self.0.district
    }

    /// On the register of poor villages (建档立卡贫困村).
    async fn registered_poor(&self) -> bool {
        self.0.registered_poor
    }

    /// The year the village left poverty (出列), if it was registered poor.
    async fn exited_poverty_year(&self) -> Option<i32> {
        self.0.exited_poverty_year
    }

    async fn story(&self) -> &str {
        &self.0.story
    }

    /// Products grown or made in this village, newest first.
    #[graphql(complexity = "crate::infra::graphql::relay::connection_complexity(first, child_complexity)")]
    async fn products(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<RelayConnection<ProductCursor, Product>> {
        let filter = ServiceFilter {
            village_id: Some(self.0.id),
            ..ServiceFilter::default()
        };
        Ok(product_connection(ctx, &filter, ProductSort::Newest, first, after.as_deref()).await?)
    }
}

pub struct Producer(pub producer::Model);

#[Object]
impl Producer {
    pub async fn id(&self) -> ID {
        encode(NodeType::Producer, self.0.id)
    }

    async fn slug(&self) -> &str {
        &self.0.slug
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn kind(&self) -> ProducerKind {
        self.0.kind
    }

    async fn village(&self, ctx: &Context<'_>) -> Result<Village> {
        Ok(Village(load_required(ctx, self.0.village_id).await?))
    }

    /// Registered poor households linked to this producer (利益联结机制).
    async fn linked_poor_households(&self) -> i32 {
        self.0.linked_poor_households
    }
}

#[derive(SimpleObject)]
pub struct Category {
    pub slug: String,
    pub name: String,
}

impl From<category::Model> for Category {
    fn from(row: category::Model) -> Self {
        Category {
            slug: row.slug,
            name: row.name,
        }
    }
}

/// An entry of the 贫困地区农产品目录 (catalogue of products from poverty areas).
pub struct CatalogueEntry(pub(super) catalogue_entry::Model);

#[Object]
impl CatalogueEntry {
    async fn code(&self) -> &str {
        &self.0.code
    }

    async fn issuer(&self) -> &str {
        &self.0.issuer
    }

    /// First day of validity (China time).
    async fn valid_from(&self) -> NaiveDate {
        self.0.valid_from
    }

    /// Last day of validity, inclusive (China time).
    async fn valid_to(&self) -> NaiveDate {
        self.0.valid_to
    }
}

#[derive(SimpleObject)]
pub struct PriceRange {
    pub min: Money,
    pub max: Money,
}
