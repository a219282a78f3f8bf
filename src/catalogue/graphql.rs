//! The storefront's GraphQL types and queries (the contract's "Catalogue" section).

use async_graphql::dataloader::Loader;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};

use super::entity::{catalogue_entry, category, producer, product, stock_movement, variant, village};
use super::loaders::{
    CatalogueEntryId, CatalogueLoader, CategoryId, ProducerId, ProductSelection, StockOfVariant, VariantsOfProduct,
    VillageId, prefetch_product_page,
};
use super::management;
use super::policy::ManageCatalogue;
use super::service::{self, ProductCursor, ProductFilter as ServiceFilter, ProductSort};
use crate::accounts::Role;
use crate::accounts::policy::{ReadUser, RoleGuard, viewer};
use crate::cache::holes::{self, StockFigure};
use crate::error::{AppError, AppResult, UserError};

type Result<T> = async_graphql::Result<T>;
use crate::graphql::context::{database, loader, storefront_cache, wants_total_count};
use crate::graphql::ids::{NodeType, decode_as, encode};
use crate::graphql::relay::{PageRequest, RelayConnection, connection};
use crate::money::{Fen, Money};

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
        Ok(Category::from(
            load_required(ctx, CategoryId(self.0.category_id)).await?,
        ))
    }

    /// Where the product is grown or made.
    async fn village(&self, ctx: &Context<'_>) -> Result<Village> {
        Ok(Village(load_required(ctx, VillageId(self.0.village_id)).await?))
    }

    async fn producer(&self, ctx: &Context<'_>) -> Result<Producer> {
        Ok(Producer(load_required(ctx, ProducerId(self.0.producer_id)).await?))
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
    #[graphql(complexity = "crate::graphql::relay::list_complexity(management::MAX_VARIANTS, child_complexity)")]
    async fn variants(&self, ctx: &Context<'_>) -> Result<Vec<Variant>> {
        Ok(self.variant_rows(ctx).await?.into_iter().map(Variant).collect())
    }

    async fn price_range(&self) -> PriceRange {
        PriceRange {
            min: Fen::new(self.0.min_price_fen).into(),
            max: Fen::new(self.0.max_price_fen).into(),
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
            && !entry.is_valid_on(super::today_in_china())
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
            Some(id) => Ok(Some(load_required(ctx, CatalogueEntryId(id)).await?)),
            None => Ok(None),
        }
    }
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
        Fen::new(self.0.price_fen).into()
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
        Ok(Product(
            load_required(ctx, super::loaders::ProductId(self.0.product_id)).await?,
        ))
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
    #[graphql(complexity = "crate::graphql::relay::connection_complexity(first, child_complexity)")]
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

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ProducerKind {
    /// A farm household (农户).
    Household,
    /// A cooperative (合作社).
    Cooperative,
    /// A village workshop (扶贫车间).
    Workshop,
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

    async fn kind(&self) -> Result<ProducerKind> {
        match self.0.kind.as_str() {
            "HOUSEHOLD" => Ok(ProducerKind::Household),
            "COOPERATIVE" => Ok(ProducerKind::Cooperative),
            "WORKSHOP" => Ok(ProducerKind::Workshop),
            other => Err(AppError::Internal(anyhow::anyhow!("unknown producer kind {other:?}")).into()),
        }
    }

    async fn village(&self, ctx: &Context<'_>) -> Result<Village> {
        Ok(Village(load_required(ctx, VillageId(self.0.village_id)).await?))
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
pub struct CatalogueEntry(catalogue_entry::Model);

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

#[derive(InputObject, Default)]
pub struct ProductFilter {
    pub category_slug: Option<String>,
    pub village_slug: Option<String>,
    /// Words in the name or description, e.g. "百合".
    pub search: Option<String>,
    /// True: only products that can be bought now; false: only those that cannot.
    pub in_stock: Option<bool>,
}

async fn product_connection(
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
    #[graphql(complexity = "crate::graphql::relay::connection_complexity(first, child_complexity)")]
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

    async fn product(&self, ctx: &Context<'_>, slug: String) -> Result<Option<Product>> {
        Ok(service::product_by_slug(database(ctx)?, &slug).await?.map(Product))
    }

    #[graphql(complexity = "crate::graphql::relay::connection_complexity(first, child_complexity)")]
    async fn villages(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<RelayConnection<i64, Village>> {
        let page = PageRequest::new(first, after.as_deref())?;
        let (rows, total) = service::list_villages(database(ctx)?, &page, wants_total_count(ctx)).await?;
        Ok(connection(rows, &page, total, |row| row.id, Village))
    }

    async fn village(&self, ctx: &Context<'_>, slug: String) -> Result<Option<Village>> {
        Ok(service::village_by_slug(database(ctx)?, &slug).await?.map(Village))
    }

    #[graphql(complexity = "crate::graphql::relay::list_complexity(CATEGORIES_COST_BOUND, child_complexity)")]
    async fn categories(&self, ctx: &Context<'_>) -> Result<Vec<Category>> {
        Ok(service::list_categories(database(ctx)?)
            .await?
            .into_iter()
            .map(Category::from)
            .collect())
    }
}

/// A product through `node(id:)`.
pub async fn product_node(ctx: &Context<'_>, id: i64) -> AppResult<Option<Product>> {
    Ok(loader(ctx)?.load_one(super::loaders::ProductId(id)).await?.map(Product))
}

/// A village through `node(id:)`.
pub async fn village_node(ctx: &Context<'_>, id: i64) -> AppResult<Option<Village>> {
    Ok(loader(ctx)?.load_one(VillageId(id)).await?.map(Village))
}

/// A producer through `node(id:)`.
pub async fn producer_node(ctx: &Context<'_>, id: i64) -> AppResult<Option<Producer>> {
    Ok(loader(ctx)?.load_one(ProducerId(id)).await?.map(Producer))
}

/// A variant through `node(id:)`.
pub async fn variant_node(ctx: &Context<'_>, id: i64) -> AppResult<Option<Variant>> {
    use sea_orm::EntityTrait;
    Ok(variant::Entity::find_by_id(id).one(database(ctx)?).await?.map(Variant))
}

/// Categories are the operators' short list (8 in the demo shop); the query cost counts a list
/// of them as this many.
const CATEGORIES_COST_BOUND: usize = 50;

/// Text inputs the catalogue checks itself, refusing control characters as `INVALID_INPUT`
/// user errors (every other string input is refused earlier by
/// [`crate::graphql::input_rules`]): root field, and the path to the input within it.
pub const SELF_CHECKED_TEXT: &[(&str, &[&str])] = &[
    ("updateVariant", &["input", "name"]),
    ("createProduct", &["input", "name"]),
    ("createProduct", &["input", "description"]),
    ("createProduct", &["input", "variants", "name"]),
];

#[derive(SimpleObject)]
pub struct VariantPayload {
    variant: Option<Variant>,
    user_errors: Vec<UserError>,
}

impl VariantPayload {
    fn failed(problem: UserError) -> Self {
        VariantPayload {
            variant: None,
            user_errors: vec![problem],
        }
    }
}

#[derive(InputObject)]
pub struct VariantUpdateInput {
    /// Decimal yuan such as "39.80".
    pub price: Option<String>,
    pub name: Option<String>,
}

/// One change to a variant's stock, as the audit trail keeps it.
pub struct StockMovement(stock_movement::Model);

#[Object]
impl StockMovement {
    async fn on_hand_delta(&self) -> i64 {
        self.0.on_hand_delta
    }

    async fn reserved_delta(&self) -> i64 {
        self.0.reserved_delta
    }

    async fn reason(&self) -> &str {
        &self.0.reason
    }

    /// Who made the change, as the policy lets the viewer see users: the viewer's own changes
    /// and, to operators, everyone's. Null for the shop's own changes (an expired
    /// reservation) and for other people (a grower must not learn which buyers ordered).
    async fn actor_id(&self, ctx: &Context<'_>) -> Option<ID> {
        self.0
            .actor_user_id
            .filter(|user_id| viewer(ctx).may(ReadUser { user_id: *user_id }))
            .map(|user_id| encode(NodeType::User, user_id))
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// The variant `id` names, if the viewer may manage its producer's catalogue. An unknown id is
/// a `NOT_FOUND` user error; a variant of another producer is FORBIDDEN (variants are public,
/// so this leaks nothing).
async fn managed_variant(ctx: &Context<'_>, id: &ID) -> AppResult<std::result::Result<variant::Model, UserError>> {
    let not_found = || UserError::new("NOT_FOUND", "no such variant").on_field(&["variantId"]);
    let Some(variant_id) = decode_as(id, NodeType::Variant) else {
        return Ok(Err(not_found()));
    };
    let Some((variant, producer_id)) = management::variant_with_producer(database(ctx)?, variant_id).await? else {
        return Ok(Err(not_found()));
    };
    viewer(ctx).authorize(ManageCatalogue { producer_id })?;
    Ok(Ok(variant))
}

#[derive(Default)]
pub struct CatalogueMutation;

/// Listing products and keeping catalogue entries (merged into the mutation root with
/// [`CatalogueMutation`]).
#[derive(Default)]
pub struct CatalogueListingMutation;

#[Object]
impl CatalogueMutation {
    /// Changes a variant's price or name (its producer's growers, and operators).
    #[graphql(guard = "RoleGuard::any_of(&[Role::Grower, Role::Admin])")]
    async fn update_variant(
        &self,
        ctx: &Context<'_>,
        variant_id: ID,
        input: VariantUpdateInput,
    ) -> Result<VariantPayload> {
        let variant = match managed_variant(ctx, &variant_id).await? {
            Ok(variant) => variant,
            Err(problem) => return Ok(VariantPayload::failed(problem)),
        };
        let changes = management::VariantChanges {
            price: input.price,
            name: input.name,
        };
        let outcome = management::update_variant(database(ctx)?, variant, changes).await?;
        Ok(match outcome {
            Ok(variant) => {
                storefront_cache(ctx)?.catalogue_changed().await;
                VariantPayload {
                    variant: Some(Variant(variant)),
                    user_errors: Vec::new(),
                }
            }
            Err(problem) => VariantPayload::failed(problem),
        })
    }

    /// Adds (or, negative, removes) on-hand stock, with a reason kept in the audit trail.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Grower, Role::Admin])")]
    async fn adjust_stock(
        &self,
        ctx: &Context<'_>,
        variant_id: ID,
        delta: i32,
        reason: String,
    ) -> Result<VariantPayload> {
        let variant = match managed_variant(ctx, &variant_id).await? {
            Ok(variant) => variant,
            Err(problem) => return Ok(VariantPayload::failed(problem)),
        };
        let actor = viewer(ctx).signed_in()?;
        let outcome = management::adjust_stock(database(ctx)?, actor, variant.id, delta, &reason).await?;
        Ok(match outcome {
            Ok(change) => {
                let cache = storefront_cache(ctx)?;
                cache.stock_changed(database(ctx)?, &[variant.id]).await;
                if change.availability_flipped() {
                    cache.availability_changed().await;
                }
                VariantPayload {
                    variant: Some(Variant(variant)),
                    user_errors: Vec::new(),
                }
            }
            Err(problem) => VariantPayload::failed(problem),
        })
    }
}

#[derive(InputObject)]
pub struct NewVariantInput {
    /// Capital letters, digits and dashes, unique in the shop.
    pub sku: String,
    pub name: String,
    /// Decimal yuan such as "39.80".
    pub price: String,
    #[graphql(default)]
    pub weight_grams: i32,
    /// Opening stock on hand.
    #[graphql(default)]
    pub stock: i32,
}

#[derive(InputObject)]
pub struct NewProductInput {
    /// Lower-case pinyin words joined by dashes, unique in the shop.
    pub slug: String,
    pub name: String,
    #[graphql(default)]
    pub description: String,
    pub category_slug: String,
    /// Where it is grown or made; the producer's village when not given.
    pub village_slug: Option<String>,
    /// The producer it is listed for: required of operators; a grower lists for its own.
    pub producer_slug: Option<String>,
    /// Its 贫困地区农产品目录 entry, when listed.
    pub catalogue_code: Option<String>,
    pub variants: Vec<NewVariantInput>,
}

#[derive(SimpleObject)]
pub struct ProductPayload {
    product: Option<Product>,
    user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct CatalogueEntryUpdateInput {
    pub issuer: Option<String>,
    pub valid_from: Option<NaiveDate>,
    /// Last day of validity (China time); a day in the past takes the entry's products off sale.
    pub valid_to: Option<NaiveDate>,
}

#[derive(SimpleObject)]
pub struct CatalogueEntryPayload {
    catalogue_entry: Option<CatalogueEntry>,
    user_errors: Vec<UserError>,
}

/// The producer a new product is listed for: a grower's own; for an operator, the one named.
async fn listing_producer(
    ctx: &Context<'_>,
    producer_slug: Option<&str>,
) -> AppResult<std::result::Result<producer::Model, UserError>> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let me = viewer(ctx).signed_in()?;
    let producer = match (producer_slug, me.producer_id) {
        (Some(slug), _) => {
            producer::Entity::find()
                .filter(producer::Column::Slug.eq(slug))
                .one(database(ctx)?)
                .await?
        }
        (None, Some(own)) => producer::Entity::find_by_id(own).one(database(ctx)?).await?,
        (None, None) => {
            return Ok(Err(
                UserError::new("INVALID_INPUT", "name the producer to list for").on_field(&["input", "producerSlug"])
            ));
        }
    };
    let Some(producer) = producer else {
        return Ok(Err(
            UserError::new("NOT_FOUND", "no such producer").on_field(&["input", "producerSlug"])
        ));
    };
    viewer(ctx).authorize(ManageCatalogue {
        producer_id: producer.id,
    })?;
    Ok(Ok(producer))
}

#[Object]
impl CatalogueListingMutation {
    /// Lists a new product with its variants and opening stock (a grower for its own producer,
    /// operators for any).
    #[graphql(guard = "RoleGuard::any_of(&[Role::Grower, Role::Admin])")]
    async fn create_product(&self, ctx: &Context<'_>, input: NewProductInput) -> Result<ProductPayload> {
        let producer = match listing_producer(ctx, input.producer_slug.as_deref()).await? {
            Ok(producer) => producer,
            Err(problem) => {
                return Ok(ProductPayload {
                    product: None,
                    user_errors: vec![problem],
                });
            }
        };
        let actor = viewer(ctx).signed_in()?;
        let new = management::NewProduct {
            slug: input.slug,
            name: input.name,
            description: input.description,
            category_slug: input.category_slug,
            village_slug: input.village_slug,
            catalogue_code: input.catalogue_code,
            variants: input
                .variants
                .into_iter()
                .map(|v| management::NewVariant {
                    sku: v.sku,
                    name: v.name,
                    price: v.price,
                    weight_grams: v.weight_grams,
                    stock: v.stock,
                })
                .collect(),
        };
        let outcome = management::create_product(database(ctx)?, actor, &producer, new).await?;
        Ok(match outcome {
            Ok(product) => {
                storefront_cache(ctx)?.catalogue_changed().await;
                ProductPayload {
                    product: Some(Product(product)),
                    user_errors: Vec::new(),
                }
            }
            Err(problem) => ProductPayload {
                product: None,
                user_errors: vec![problem],
            },
        })
    }

    /// Renews, corrects or withdraws a 贫困地区农产品目录 entry (operators).
    #[graphql(guard = "RoleGuard::any_of(&[Role::Admin])")]
    async fn update_catalogue_entry(
        &self,
        ctx: &Context<'_>,
        code: String,
        input: CatalogueEntryUpdateInput,
    ) -> Result<CatalogueEntryPayload> {
        let changes = management::EntryChanges {
            issuer: input.issuer,
            valid_from: input.valid_from,
            valid_to: input.valid_to,
        };
        let outcome = management::update_catalogue_entry(database(ctx)?, &code, changes).await?;
        Ok(match outcome {
            Ok(entry) => {
                storefront_cache(ctx)?.catalogue_changed().await;
                CatalogueEntryPayload {
                    catalogue_entry: Some(CatalogueEntry(entry)),
                    user_errors: Vec::new(),
                }
            }
            Err(problem) => CatalogueEntryPayload {
                catalogue_entry: None,
                user_errors: vec![problem],
            },
        })
    }
}

#[derive(Default)]
pub struct CatalogueManagementQuery;

#[Object]
impl CatalogueManagementQuery {
    /// A variant's stock changes, newest first (its producer's growers, and operators).
    #[graphql(
        guard = "RoleGuard::any_of(&[Role::Grower, Role::Admin])",
        complexity = "crate::graphql::relay::connection_complexity(first, child_complexity)"
    )]
    async fn stock_history(&self, ctx: &Context<'_>, variant_id: ID, first: Option<i32>) -> Result<Vec<StockMovement>> {
        let variant = match managed_variant(ctx, &variant_id).await? {
            Ok(variant) => variant,
            Err(_) => return Ok(Vec::new()),
        };
        let limit = PageRequest::<i64>::new(first, None)?.limit;
        let rows = management::stock_history(database(ctx)?, variant.id, limit).await?;
        Ok(rows.into_iter().map(StockMovement).collect())
    }
}
