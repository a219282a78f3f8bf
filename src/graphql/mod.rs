//! Schema assembly: the root types merge each domain's queries and mutations; the `Node`
//! interface and global ids are shared by every domain; limits guard the server.

mod links;
pub mod query_limits;
pub mod socket_guard;
mod user_admin;

use std::sync::Arc;

use crate::infra::graphql::global_id;
use async_graphql::{Context, ID, Interface, MergedObject, MergedSubscription, Object, Schema};

use crate::accounts::graphql::{AccountsMutation, AccountsQuery, User};
use crate::accounts::service::Accounts;
use crate::cart::graphql::{CartMutation, CartQuery, SavedAddress, ShippingMutation};
use crate::catalogue::graphql::{
    BackOfficeCatalogueMutation, CatalogueListingMutation, CatalogueManagementQuery, CatalogueMutation, CatalogueQuery,
    Producer, Product, Variant, Village,
};
use crate::checkout::graphql::{BulkCheckoutMutation, CheckoutMutation};
use crate::claims::graphql::{Claim, ClaimsMutation, ClaimsQuery};
use crate::impact::ImpactReports;
use crate::impact::graphql::ImpactQuery;
use crate::livestream::graphql::{
    Host, LiveSession, LiveSessionItem, LivestreamMutation, LivestreamQuery, LivestreamSubscription, PromoLink,
};
use crate::orders::graphql::{Order, OrderDeskQuery, OrdersMutation, OrdersQuery, Shipment};
use crate::payments::graphql::{BankRefund, PaymentsMutation, PaymentsQuery};
use crate::payouts::graphql::{Payout, PayoutsMutation, PayoutsQuery};
use crate::shop::Shop;
use crate::stores::graphql::{CounterSale, Store, StoresMutation, StoresQuery};
use crate::unions::graphql::{
    BulkOrdersMutation, BulkOrdersQuery, Membership, Organisation, UnionsMutation, UnionsQuery,
};
use crate::{accounts, cart, catalogue, claims, livestream, orders, payments, payouts, stores, unions};

/// Deeper queries are refused: no legitimate client nests more than this.
pub const MAX_DEPTH: usize = 10;
/// Every list counts as its size bound times its fields: a page of 100 products with their
/// variants (20 at most each) and every field costs about 21,000; lists nested in lists (pages
/// of pages, `variants { product { variants … } }`) cost their product and are refused.
pub const MAX_COMPLEXITY: usize = 25_000;

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
    Organisation(Organisation),
    Membership(Membership),
    Host(Host),
    PromoLink(PromoLink),
    LiveSession(LiveSession),
    LiveSessionItem(LiveSessionItem),
    Claim(Claim),
    SavedAddress(SavedAddress),
    Store(Store),
    CounterSale(CounterSale),
    Shipment(Shipment),
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by its global id; null when there is none the caller may see.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Node>> {
        let Some((node_type, row_id)) = global_id::decode(&id) else {
            return Ok(None);
        };
        // Each domain answers for its own types, and checks who is asking.
        use global_id::NodeType;
        Ok(match node_type {
            NodeType::Product => catalogue::graphql::product_node(ctx, row_id.into())
                .await?
                .map(Node::Product),
            NodeType::Variant => catalogue::graphql::variant_node(ctx, row_id.into())
                .await?
                .map(Node::Variant),
            NodeType::Village => catalogue::graphql::village_node(ctx, row_id.into())
                .await?
                .map(Node::Village),
            NodeType::Producer => catalogue::graphql::producer_node(ctx, row_id.into())
                .await?
                .map(Node::Producer),
            NodeType::User => accounts::graphql::node(ctx, row_id.into()).await?.map(Node::User),
            NodeType::Order => orders::graphql::node(ctx, row_id.into())
                .await?
                .map(|order| Node::Order(Box::new(order))),
            NodeType::Payout => payouts::graphql::node(ctx, row_id.into()).await?.map(Node::Payout),
            NodeType::BankRefund => payments::graphql::node(ctx, row_id.into()).await?.map(Node::BankRefund),
            NodeType::Organisation => unions::graphql::organisation_node(ctx, row_id.into())
                .await?
                .map(Node::Organisation),
            NodeType::Membership => unions::graphql::membership_node(ctx, row_id.into())
                .await?
                .map(Node::Membership),
            NodeType::Host => livestream::graphql::host_node(ctx, row_id.into())
                .await?
                .map(Node::Host),
            NodeType::PromoLink => livestream::graphql::promo_link_node(ctx, row_id.into())
                .await?
                .map(Node::PromoLink),
            NodeType::LiveSession => livestream::graphql::live_session_node(ctx, row_id.into())
                .await?
                .map(Node::LiveSession),
            NodeType::LiveSessionItem => livestream::graphql::live_session_item_node(ctx, row_id.into())
                .await?
                .map(Node::LiveSessionItem),
            NodeType::Claim => claims::graphql::node(ctx, row_id.into()).await?.map(Node::Claim),
            NodeType::SavedAddress => cart::graphql::node(ctx, row_id.into()).await?.map(Node::SavedAddress),
            NodeType::Store => stores::graphql::store_node(ctx, row_id.into()).await?.map(Node::Store),
            NodeType::CounterSale => stores::graphql::sale_node(ctx, row_id.into())
                .await?
                .map(Node::CounterSale),
            NodeType::Shipment => orders::graphql::shipment_node(ctx, row_id.into())
                .await?
                .map(Node::Shipment),
        })
    }
}

#[derive(MergedObject, Default)]
pub struct Query(
    CatalogueQuery,
    CatalogueManagementQuery,
    AccountsQuery,
    OrdersQuery,
    OrderDeskQuery,
    PaymentsQuery,
    PayoutsQuery,
    ImpactQuery,
    UnionsQuery,
    BulkOrdersQuery,
    LivestreamQuery,
    ClaimsQuery,
    CartQuery,
    StoresQuery,
    NodeQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    AccountsMutation,
    CatalogueMutation,
    CatalogueListingMutation,
    BackOfficeCatalogueMutation,
    CheckoutMutation,
    OrdersMutation,
    PaymentsMutation,
    PayoutsMutation,
    UnionsMutation,
    BulkCheckoutMutation,
    BulkOrdersMutation,
    LivestreamMutation,
    user_admin::UserAdminMutation,
    ClaimsMutation,
    CartMutation,
    ShippingMutation,
    StoresMutation,
);

#[derive(MergedSubscription, Default)]
pub struct Subscription(LivestreamSubscription);

pub type HuakaiSchema = Schema<Query, Mutation, Subscription>;

/// What the resolvers share across requests.
pub struct Services {
    pub accounts: Arc<Accounts>,
    pub shop: Shop,
    pub impact: Arc<ImpactReports>,
    pub invites: crate::unions::guessing::InviteSettings,
    pub live_rooms: Arc<crate::livestream::live_room::LiveRooms>,
}

/// The schema with its limits, serving `services`.
pub fn build_schema(services: Option<Services>) -> HuakaiSchema {
    let mut builder = Schema::build(Query::default(), Mutation::default(), Subscription::default())
        // Instead of the builder's limits, which would refuse the standard introspection query.
        .extension(query_limits::QueryLimits {
            max_depth: MAX_DEPTH,
            max_complexity: MAX_COMPLEXITY,
        })
        .extension(crate::infra::graphql::input_rules::InputRules {
            self_checked_text: catalogue::graphql::SELF_CHECKED_TEXT,
        })
        .extension(socket_guard::SocketGuard);
    if let Some(services) = services {
        builder = builder
            .data(services.shop.db.clone())
            .data(services.accounts)
            .data(services.shop.cache.clone())
            .data(services.shop)
            .data(services.impact)
            .data(services.invites)
            .data(services.live_rooms);
    }
    builder.finish()
}

/// The schema in SDL, as `huakai export-schema` prints it and `schema/schema.graphql` holds it.
pub fn sdl() -> String {
    build_schema(None).sdl()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_fields_are_known_operation_names() {
        let names = root_field_names();
        assert!(names.iter().any(|name| name == "products"));
        assert!(names.iter().any(|name| name == "login"));
    }
}
