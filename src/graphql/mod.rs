//! Schema assembly: the root types merge each domain's queries and mutations; the `Node`
//! interface and global ids are shared by every domain; limits guard the server.

pub mod ids;
pub mod input_rules;
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
/// Every list counts as its size bound times its fields: a page of 100 products with their
/// variants (20 at most each) and every field costs about 21,000; lists nested in lists (pages
/// of pages, `variants { product { variants … } }`) cost their product and are refused.
pub const MAX_COMPLEXITY: usize = 25_000;

/// Cost of a list of at most `bound` items for the complexity limit.
pub fn list_complexity(bound: usize, child_complexity: usize) -> usize {
    bound.saturating_mul(child_complexity.max(1))
}

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
        .limit_complexity(MAX_COMPLEXITY)
        .extension(input_rules::InputRules);
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

/// Whether a document holds a mutation or a subscription (which a GET must never run, and
/// which are never kept as persisted queries). A document that does not parse holds neither:
/// executing it only reports the syntax error.
pub fn holds_write_operation(query: &str) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    // Parsing costs more than serving a cached answer: the keywords must be in the text of a
    // document that has such an operation, so only documents that contain one are parsed.
    if !query.contains("mutation") && !query.contains("subscription") {
        return false;
    }
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return false;
    };
    let writes = |ty: OperationType| ty != OperationType::Query;
    match &document.operations {
        DocumentOperations::Single(operation) => writes(operation.node.ty),
        DocumentOperations::Multiple(operations) => operations.values().any(|operation| writes(operation.node.ty)),
    }
}

/// The names of the root fields of queries and mutations: operation names the shop knows.
pub fn root_field_names() -> Vec<String> {
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    let Ok(document) = async_graphql::parser::parse_schema(sdl()) else {
        return Vec::new();
    };
    document
        .definitions
        .iter()
        .filter_map(|definition| match definition {
            TypeSystemDefinition::Type(ty) if ["Query", "Mutation"].contains(&ty.node.name.node.as_str()) => {
                match &ty.node.kind {
                    TypeKind::Object(object) => {
                        Some(object.fields.iter().map(|field| field.node.name.node.to_string()))
                    }
                    _ => None,
                }
            }
            _ => None,
        })
        .flatten()
        .collect()
}

/// Whether the client selected `totalCount` on the connection being resolved.
pub fn wants_total_count(ctx: &Context<'_>) -> bool {
    ctx.look_ahead().field("totalCount").exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_writes() {
        assert!(holds_write_operation("mutation { x }"));
        assert!(holds_write_operation("query A { a } mutation B { b }"));
        assert!(!holds_write_operation("{ products { totalCount } }"));
        assert!(!holds_write_operation("{ product(slug: \"mutation\") { name } }"));
    }

    #[test]
    fn root_fields_are_known_operation_names() {
        let names = root_field_names();
        assert!(names.iter().any(|name| name == "products"));
        assert!(names.iter().any(|name| name == "login"));
    }
}
