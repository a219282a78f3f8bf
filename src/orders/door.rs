//! What orders bring to the shop: their GraphQL roots and node types. Their reservations'
//! worker is checkout's, which cancels what placing reserved.

use async_graphql::MergedObject;

pub use super::graphql::OrdersMutation as Mutation;
pub use super::graphql::{Order, Shipment};
use super::graphql::{OrderDeskQuery, OrdersQuery, shipment_node};
use crate::infra::graphql::global_id::node_types;

#[derive(MergedObject, Default)]
#[graphql(name = "OrdersRootQuery")]
pub struct Query(OrdersQuery, OrderDeskQuery);

node_types! {
    Order => super::graphql::node,
    Shipment => shipment_node,
}
