//! What relief supermarkets bring to the shop: their GraphQL roots and node types, their
//! settings (`HUAKAI_STORE_LOW_STOCK`, `HUAKAI_PICKUP_WINDOW`), and the worker that cancels and
//! pays back pickups nobody collected.

use tokio::task::JoinHandle;

use super::StoreSettings;
pub use super::graphql::{CounterSale, Store, StoresMutation as Mutation, StoresQuery as Query};
use super::graphql::{sale_node, store_node};
use crate::infra::graphql::global_id::node_types;
use crate::infra::settings::{ConfigError, parse_count, parse_duration, parse_setting};
use crate::shop::door::{Door, Lookup};
use crate::shop::{Parts, Shop};

node_types! {
    Store => store_node,
    CounterSale => sale_node,
}

pub struct StoresDoor;

impl Door for StoresDoor {
    fn parts(&self, lookup: Lookup<'_>, parts: Parts) -> Result<Parts, ConfigError> {
        Ok(parts.with(StoreSettings {
            low_stock: parse_setting(
                "HUAKAI_STORE_LOW_STOCK",
                lookup("HUAKAI_STORE_LOW_STOCK"),
                "5",
                parse_count,
            )?,
            pickup_window: parse_setting(
                "HUAKAI_PICKUP_WINDOW",
                lookup("HUAKAI_PICKUP_WINDOW"),
                "3d",
                parse_duration,
            )?,
        }))
    }

    fn workers(&self, shop: &Shop) -> Vec<JoinHandle<()>> {
        vec![super::worker::spawn(shop.clone())]
    }
}
