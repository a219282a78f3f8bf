//! Schema assembly: the root types merge each domain's queries and mutations; the `Node`
//! interface and global ids are shared by every domain; limits guard the server.

pub mod ids;
pub mod relay;

use async_graphql::dataloader::{DataLoader, HashMapCache};
use std::sync::Arc;

use async_graphql::{Context, EmptySubscription, ID, Interface, MergedObject, Object, Schema};
use sea_orm::DatabaseConnection;

use crate::accounts::graphql::{AccountsMutation, AccountsQuery, User};
use crate::accounts::service::Accounts;
use crate::cache::StorefrontCache;
use crate::catalogue::graphql::{
    CatalogueListingMutation, CatalogueManagementQuery, CatalogueMutation, CatalogueQuery, Producer, Product, Variant,
    Village,
};
use crate::catalogue::loaders::CatalogueLoader;
use crate::error::{AppError, AppResult};
use crate::orders::graphql::{Order, OrdersMutation, OrdersQuery};
use crate::payments::graphql::{BankRefund, PaymentsMutation, PaymentsQuery};
use crate::payouts::graphql::{Payout, PayoutsMutation, PayoutsQuery};
use crate::shop::Shop;

/// Deeper queries are refused: no legitimate client nests more than this.
pub const MAX_DEPTH: usize = 10;
/// A page of 100 products with every field costs about 4,000; nested pages of pages cost more.
pub const MAX_COMPLEXITY: usize = 5_000;

#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
pub enum Node {
    Product(Product),
    Variant(Variant),
    Village(Village),
    Producer(Producer),
    User(User),
    Order(Box<Order>),
    Payout(Payout),
    BankRefund(BankRefund),
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by its global id; null when there is none the caller may see.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Node>> {
        let Some((node_type, row_id)) = ids::decode(&id) else {
            return Ok(None);
        };
        let node = match node_type {
            ids::NodeType::User => crate::accounts::graphql::node(ctx, row_id).await?,
            ids::NodeType::Order => crate::orders::graphql::node(ctx, row_id).await?,
            ids::NodeType::Payout => crate::payouts::graphql::node(ctx, row_id).await?,
            ids::NodeType::BankRefund => crate::payments::graphql::node(ctx, row_id).await?,
            catalogue_type => crate::catalogue::graphql::node(ctx, catalogue_type, row_id).await?,
        };
        Ok(node)
    }
}

#[derive(MergedObject, Default)]
pub struct Query(
    CatalogueQuery,
    CatalogueManagementQuery,
    AccountsQuery,
    OrdersQuery,
    PaymentsQuery,
    PayoutsQuery,
    NodeQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    AccountsMutation,
    CatalogueMutation,
    CatalogueListingMutation,
    OrdersMutation,
    PaymentsMutation,
    PayoutsMutation,
);

pub type HuakaiSchema = Schema<Query, Mutation, EmptySubscription>;

/// What the resolvers share across requests.
pub struct Services {
    pub accounts: Arc<Accounts>,
    pub shop: Shop,
}

/// The schema with its limits, serving `services`.
pub fn build_schema(services: Option<Services>) -> HuakaiSchema {
    let mut builder = Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY);
    if let Some(services) = services {
        builder = builder
            .data(services.shop.db.clone())
            .data(services.accounts)
            .data(services.shop.cache.clone())
            .data(services.shop);
    }
    builder.finish()
}

/// The schema in SDL, as `huakai export-schema` prints it and `schema/schema.graphql` holds it.
pub fn sdl() -> String {
    build_schema(None).sdl()
}

/// Per-request data: batched loaders that must not outlive the request.
pub fn request_loader(db: &DatabaseConnection) -> DataLoader<CatalogueLoader, HashMapCache> {
    DataLoader::with_cache(CatalogueLoader::new(db.clone()), tokio::spawn, HashMapCache::default())
}

pub fn database<'a>(ctx: &Context<'a>) -> AppResult<&'a DatabaseConnection> {
    ctx.data::<DatabaseConnection>()
        .map_err(|_| AppError::Internal(anyhow::anyhow!("schema built without a database")))
}

pub fn loader<'a>(ctx: &Context<'a>) -> AppResult<&'a DataLoader<CatalogueLoader, HashMapCache>> {
    ctx.data::<DataLoader<CatalogueLoader, HashMapCache>>()
        .map_err(|_| AppError::Internal(anyhow::anyhow!("request without a catalogue loader")))
}

/// The shop's operations' handles (database, Stripe, cache, settings).
pub fn shop<'a>(ctx: &Context<'a>) -> AppResult<&'a Shop> {
    ctx.data::<Shop>()
        .map_err(|_| AppError::Internal(anyhow::anyhow!("schema built without the shop")))
}

/// The storefront cache, for writes to announce what they changed.
pub fn storefront_cache<'a>(ctx: &Context<'a>) -> AppResult<&'a Arc<StorefrontCache>> {
    ctx.data::<Arc<StorefrontCache>>()
        .map_err(|_| AppError::Internal(anyhow::anyhow!("schema built without a storefront cache")))
}

/// Whether the client selected `totalCount` on the connection being resolved.
pub fn wants_total_count(ctx: &Context<'_>) -> bool {
    ctx.look_ahead().field("totalCount").exists()
}
