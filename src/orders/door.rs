//! What orders bring to the shop: their GraphQL roots and node types, and the batched loader
//! of an order's lines and shipments that every request gets. Their reservations' worker is
//! checkout's, which cancels what placing reserved.

use async_graphql::MergedObject;
use sea_orm::DatabaseConnection;

pub use super::graphql::OrdersMutation as Mutation;
pub use super::graphql::{Order, Shipment};
use super::graphql::{OrderDeskQuery, OrdersQuery, shipment_node};
use crate::infra::graphql::global_id::node_types;
use crate::shop::door::Door;

#[derive(MergedObject, Default)]
#[graphql(name = "OrdersRootQuery")]
pub struct Query(OrdersQuery, OrderDeskQuery);

node_types! {
    Order => super::graphql::node,
    Shipment => shipment_node,
}

pub struct OrdersDoor;

impl Door for OrdersDoor {
    fn loaders(&self, db: &DatabaseConnection, request: async_graphql::Request) -> async_graphql::Request {
        request.data(super::graphql::request_loader(db))
    }
}
