//! The storefront's GraphQL types and queries (the contract's "Catalogue" section): the public
//! objects (`objects`), the anonymous queries (here), and what growers and operators change
//! (`listing`).

mod back_office;
mod listing;
mod objects;

pub use back_office::BackOfficeCatalogueMutation;
pub use listing::{CatalogueListingMutation, CatalogueManagementQuery, CatalogueMutation, SELF_CHECKED_TEXT};
pub use objects::{CatalogueEntry, Category, PriceRange, Producer, Product, Variant, Village};

use std::sync::Arc;

use async_graphql::{Context, InputObject, Object};

use crate::accounts::policy::viewer;
use crate::cache::{StorefrontCache, holes};
use crate::catalogue::entity::{product, variant};
use crate::catalogue::loaders::loader;
use crate::catalogue::loaders::{ProductSelection, prefetch_product_page};
use crate::catalogue::policy::ManageCatalogue;
use crate::catalogue::service::{self, ProductCursor, ProductFilter as ServiceFilter, ProductSort};
use crate::infra::error::AppResult;
use crate::infra::graphql::context::handle;
use crate::infra::graphql::context::{database, wants_total_count};
use crate::infra::graphql::relay::{PageRequest, RelayConnection, connection};
use crate::infra::ids::{ProducerId, ProductId, VariantId, VillageId};

type Result<T> = async_graphql::Result<T>;

#[derive(InputObject, Default)]
pub struct ProductFilter {
    pub category_slug: Option<String>,
    pub village_slug: Option<String>,
    /// Words in the name or description, e.g. "百合".
    pub search: Option<String>,
    /// True: only products that can be bought now; false: only those that cannot.
    pub in_stock: Option<bool>,
}

pub(super) async fn product_connection(
    ctx: &Context<'_>,
    filter: &ServiceFilter,
    sort: ProductSort,
    first: Option<i32>,
    after: Option<&str>,
) -> AppResult<RelayConnection<ProductCursor, Product>> {
    let page = PageRequest::new(first, after)?;
    let (rows, total) = service::list_products(database(ctx)?, filter, sort, &page, wants_total_count(ctx)).await?;
    prefetch_product_page(loader(ctx)?, &rows, selection_of_nodes(ctx)).await?;
    Ok(connection(
        rows,
        &page,
        total,
        |row| ProductCursor::of(sort, row),
        Product,
    ))
}

/// Which nested product fields the query selects under `nodes` or `edges { node }`.
fn selection_of_nodes(ctx: &Context<'_>) -> ProductSelection {
    let look_ahead = ctx.look_ahead();
    let nodes = look_ahead.field("nodes");
    let edge_nodes = look_ahead.field("edges").field("node");
    let selects = |field: &str| nodes.field(field).exists() || edge_nodes.field(field).exists();
    let in_stock = selects("inStock");
    ProductSelection {
        category: selects("category"),
        village: selects("village"),
        producer: selects("producer"),
        producer_village: nodes.field("producer").field("village").exists()
            || edge_nodes.field("producer").field("village").exists(),
        catalogue_entry: in_stock || selects("catalogueCode") || selects("catalogueEntry"),
        variants: selects("variants"),
        images: selects("images"),
        stock: in_stock
            || nodes.field("variants").field("available").exists()
            || edge_nodes.field("variants").field("available").exists(),
    }
}

/// The storefront: anonymous, cacheable reads.
#[derive(Default)]
pub struct CatalogueQuery;

#[Object]
impl CatalogueQuery {
    #[graphql(complexity = "crate::infra::graphql::relay::connection_complexity(first, child_complexity)")]
    async fn products(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<ProductFilter>,
        sort: Option<ProductSort>,
    ) -> Result<RelayConnection<ProductCursor, Product>> {
        let filter = filter.unwrap_or_default();
        if filter.in_stock.is_some() {
            holes::depends_on_availability(ctx);
        }
        let filter = ServiceFilter {
            category_slug: filter.category_slug,
            village_slug: filter.village_slug,
            village_id: None,
            search: filter.search,
            in_stock: filter.in_stock,
        };
        Ok(product_connection(ctx, &filter, sort.unwrap_or_default(), first, after.as_deref()).await?)
    }

    /// An unpublished product is null but to its growers and operators.
    async fn product(&self, ctx: &Context<'_>, slug: String) -> Result<Option<Product>> {
        Ok(visible(ctx, service::product_by_slug(database(ctx)?, &slug).await?))
    }

    #[graphql(complexity = "crate::infra::graphql::relay::connection_complexity(first, child_complexity)")]
    async fn villages(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<RelayConnection<VillageId, Village>> {
        let page = PageRequest::new(first, after.as_deref())?;
        let (rows, total) = service::list_villages(database(ctx)?, &page, wants_total_count(ctx)).await?;
        Ok(connection(rows, &page, total, |row| row.id, Village))
    }

    async fn village(&self, ctx: &Context<'_>, slug: String) -> Result<Option<Village>> {
        Ok(service::village_by_slug(database(ctx)?, &slug).await?.map(Village))
    }

    #[graphql(complexity = "crate::infra::graphql::relay::list_complexity(CATEGORIES_COST_BOUND, child_complexity)")]
    async fn categories(&self, ctx: &Context<'_>) -> Result<Vec<Category>> {
        Ok(service::list_categories(database(ctx)?)
            .await?
            .into_iter()
            .map(Category::from)
            .collect())
    }
}

/// A product through `node(id:)`.
pub async fn product_node(ctx: &Context<'_>, id: ProductId) -> AppResult<Option<Product>> {
    Ok(visible(ctx, loader(ctx)?.load_one(id).await?))
}

/// `row` as the viewer may see it: a published product to anyone, an unpublished one to those
/// who manage its producer's catalogue only.
fn visible(ctx: &Context<'_>, row: Option<product::Model>) -> Option<Product> {
    row.filter(|row| {
        row.published
            || viewer(ctx).may(ManageCatalogue {
                producer_id: row.producer_id,
            })
    })
    .map(Product)
}

/// A village through `node(id:)`.
pub async fn village_node(ctx: &Context<'_>, id: VillageId) -> AppResult<Option<Village>> {
    Ok(loader(ctx)?.load_one(id).await?.map(Village))
}

/// A producer through `node(id:)`.
pub async fn producer_node(ctx: &Context<'_>, id: ProducerId) -> AppResult<Option<Producer>> {
    Ok(loader(ctx)?.load_one(id).await?.map(Producer))
}

/// A variant through `node(id:)`.
pub async fn variant_node(ctx: &Context<'_>, id: VariantId) -> AppResult<Option<Variant>> {
    use sea_orm::EntityTrait;
    Ok(variant::Entity::find_by_id(id).one(database(ctx)?).await?.map(Variant))
}

/// Categories are the operators' short list (8 in the demo shop); the query cost counts a list
/// of them as this many.
const CATEGORIES_COST_BOUND: usize = 50;

/// The storefront cache, for the catalogue's writes to announce what they changed.
pub(super) fn storefront_cache<'a>(ctx: &Context<'a>) -> AppResult<&'a Arc<StorefrontCache>> {
    handle(ctx)
}
