//! What checkout brings to the shop: its mutations (placing, bulk orders, cancelling) and the
//! worker that ends lapsed reservations and delivers long-shipped orders.

use async_graphql::MergedObject;
use tokio::task::JoinHandle;

use super::graphql::{BulkCheckoutMutation, CheckoutMutation};
use crate::shop::Shop;
use crate::shop::door::Door;

#[derive(MergedObject, Default)]
#[graphql(name = "CheckoutRootMutation")]
pub struct Mutation(CheckoutMutation, BulkCheckoutMutation);

pub struct CheckoutDoor;

impl Door for CheckoutDoor {
    fn workers(&self, shop: &Shop) -> Vec<JoinHandle<()>> {
        vec![super::worker::spawn(shop.clone())]
    }
}
