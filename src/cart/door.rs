//! What the cart brings to the shop: its GraphQL roots (shipping rules among them) and the
//! saved address as a node type.

use async_graphql::MergedObject;

use super::graphql::{CartMutation, ShippingMutation};
pub use super::graphql::{CartQuery as Query, SavedAddress};
use crate::infra::graphql::global_id::node_types;

#[derive(MergedObject, Default)]
#[graphql(name = "CartRootMutation")]
pub struct Mutation(CartMutation, ShippingMutation);

node_types! {
    SavedAddress => super::graphql::node,
}
