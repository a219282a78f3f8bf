//! What livestream brings to the shop: its GraphQL roots (the live room's subscription among
//! them) and node types, its settings (`HUAKAI_MAX_COMMISSION_BPS`, `HUAKAI_COMMISSION_NOTICE`,
//! `HUAKAI_STOREFRONT_URL`, `HUAKAI_LIVE_STOCK_RESYNC`), the quota given back when orders
//! release units (`orders::SessionQuota`), the worker that returns ended sessions' quota to
//! stock, and a host's commissions as CSV (`/hosts/me/commissions.csv`, and `huakai hosts
//! report` for an operator).

use std::sync::Arc;

use axum::Router;
use tokio::task::JoinHandle;

use super::command::HostsCommand;
pub use super::graphql::{
    Host, LiveSession, LiveSessionItem, LivestreamMutation as Mutation, LivestreamQuery as Query,
    LivestreamSubscription as Subscription, PromoLink,
};
use super::graphql::{host_node, live_session_item_node, live_session_node, promo_link_node};
use super::quota::GiveBackQuota;
use super::{LivestreamSettings, parse_storefront_url};
use crate::accounts::service::Accounts;
use crate::infra::graphql::global_id::node_types;
use crate::infra::settings::{ConfigError, parse_bps, parse_duration, parse_setting};
use crate::orders::SessionQuota;
use crate::shop::door::{Door, DoorCommand, Lookup};
use crate::shop::{Parts, Shop};

node_types! {
    Host => host_node,
    PromoLink => promo_link_node,
    LiveSession => live_session_node,
    LiveSessionItem => live_session_item_node,
}

pub struct LivestreamDoor;

impl Door for LivestreamDoor {
    fn parts(&self, lookup: Lookup<'_>, parts: Parts) -> Result<Parts, ConfigError> {
        let parts = parts.with::<Arc<dyn SessionQuota>>(Arc::new(GiveBackQuota));
        Ok(parts.with(LivestreamSettings {
            max_commission_bps: parse_setting(
                "HUAKAI_MAX_COMMISSION_BPS",
                lookup("HUAKAI_MAX_COMMISSION_BPS"),
                "2000",
                parse_bps,
            )?,
            commission_notice: parse_setting(
                "HUAKAI_COMMISSION_NOTICE",
                lookup("HUAKAI_COMMISSION_NOTICE"),
                "7d",
                parse_duration,
            )?,
            storefront_url: parse_setting(
                "HUAKAI_STOREFRONT_URL",
                lookup("HUAKAI_STOREFRONT_URL"),
                "http://127.0.0.1:8080/",
                parse_storefront_url,
            )?,
            live_stock_resync: parse_setting(
                "HUAKAI_LIVE_STOCK_RESYNC",
                lookup("HUAKAI_LIVE_STOCK_RESYNC"),
                "5s",
                parse_duration,
            )?,
        }))
    }

    fn workers(&self, shop: &Shop) -> Vec<JoinHandle<()>> {
        vec![super::worker::spawn(shop.clone())]
    }

    fn routes(&self, shop: &Shop, accounts: &Arc<Accounts>) -> Router {
        super::http::routes(shop.db.clone(), accounts.clone())
    }

    fn command(&self) -> Option<&dyn DoorCommand> {
        Some(&HostsCommand)
    }
}
