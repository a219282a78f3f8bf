//! What unions bring to the shop: their GraphQL roots (bulk orders among them), node types,
//! and the worker that returns expired allowance to the funds.

use async_graphql::MergedObject;
use tokio::task::JoinHandle;

use super::graphql::{
    BulkOrdersMutation, BulkOrdersQuery, UnionsMutation, UnionsQuery, membership_node, organisation_node,
};
pub use super::graphql::{Membership, Organisation};
use crate::infra::graphql::global_id::node_types;
use crate::shop::Shop;
use crate::shop::door::Door;

#[derive(MergedObject, Default)]
#[graphql(name = "UnionsRootQuery")]
pub struct Query(UnionsQuery, BulkOrdersQuery);

#[derive(MergedObject, Default)]
#[graphql(name = "UnionsRootMutation")]
pub struct Mutation(UnionsMutation, BulkOrdersMutation);

node_types! {
    Organisation => organisation_node,
    Membership => membership_node,
}

pub struct UnionsDoor;

impl Door for UnionsDoor {
    fn workers(&self, shop: &Shop) -> Vec<JoinHandle<()>> {
        vec![super::worker::spawn(shop.clone())]
    }
}
