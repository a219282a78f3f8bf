//! What an operation that spans domains needs (placing, paying, refunding, delivering, paying
//! out): the database, Stripe and WeChat Pay and Alipay when configured, the storefront cache to tell about stock that
//! ran out or came back, and the settings. Resolvers, webhook handlers, workers and the command
//! line hold one `Shop` and call one operation with it.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::Context;
use sea_orm::DatabaseConnection;

use crate::cache::StorefrontCache;
use crate::infra::error::AppResult;
use crate::infra::graphql::context::handle;
use crate::infra::ids::VariantId;
use crate::infra::images::ImageStore;
use crate::payments::direct_pay::DirectPay;
use crate::payments::stripe::StripeGateway;
use crate::payouts::ledger::PayoutSettings;

#[derive(Clone)]
pub struct Shop {
    pub db: DatabaseConnection,
    pub stripe: Option<StripeGateway>,
    /// WeChat Pay and Alipay paid directly, when configured.
    pub direct: DirectPay,
    pub cache: Arc<StorefrontCache>,
    /// Where uploaded pictures (claim photos) are checked, resized and kept.
    pub images: ImageStore,
    /// Who else hears that stock moved (the live rooms, here and through Redis in the other
    /// replicas), wired by the app: a domain below never names the live rooms.
    pub stock_listener: Arc<dyn StockListener>,
    /// Where a hot variant's orders wait to be written in one batch (this process's).
    pub placing_lanes: Arc<crate::infra::lanes::Lanes>,
    pub settings: ShopSettings,
}

/// The shop's handles, as a resolver finds them in the schema's data.
pub fn shop<'a>(ctx: &Context<'a>) -> AppResult<&'a Shop> {
    handle(ctx)
}

/// Told, after a commit, which variants' stock moved.
pub trait StockListener: Send + Sync {
    fn stock_moved(&self, variants: &[VariantId]);
}

#[derive(Clone, Debug)]
pub struct ShopSettings {
    /// How long an unpaid order holds its stock.
    pub reservation: Duration,
    /// A shipped order counts as delivered this long after shipment.
    pub auto_delivery: Duration,
    pub payouts: PayoutSettings,
    pub order_limits: OrderLimits,
    pub livestream: crate::livestream::LivestreamSettings,
    pub claims: crate::claims::ClaimSettings,
    pub stores: crate::stores::StoreSettings,
}

/// What one buyer (and one organisation, with its bulk orders) may hold unpaid at once, so that
/// nobody can sit on a flash sale's stock with orders they never pay (each is a setting: a union
/// buying for its members raises them).
#[derive(Clone, Copy, Debug)]
pub struct OrderLimits {
    /// Orders awaiting payment.
    pub unpaid_orders_per_buyer: u32,
    /// Units held by the buyer's unpaid orders, all variants together.
    pub reserved_units_per_buyer: u32,
    /// Units of one variant held by the buyer's unpaid orders.
    pub reserved_units_per_variant: u32,
    /// Bulk orders of one organisation awaiting payment.
    pub unpaid_bulk_orders_per_organisation: u32,
    /// Units held by one organisation's unpaid bulk orders.
    pub reserved_units_per_organisation: u32,
}

/// What a committed operation changed that the storefront cache must hear about.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Effect {
    /// A variant ran out of stock or came back.
    pub availability_changed: bool,
    /// The variants whose stock moved: the stock mirror takes their new figures.
    pub stock_moved: Vec<VariantId>,
}

impl Effect {
    pub fn and(mut self, other: Effect) -> Effect {
        self.availability_changed |= other.availability_changed;
        self.stock_moved.extend(other.stock_moved);
        self
    }

    /// The stock of `variant_ids` moved; `availability_changed` when one ran out or came back.
    pub fn stock_moved(variant_ids: impl IntoIterator<Item = VariantId>, availability_changed: bool) -> Effect {
        Effect {
            availability_changed,
            stock_moved: variant_ids.into_iter().collect(),
        }
    }
}

impl Shop {
    /// Tells the storefront cache what a committed change did, before the change is answered:
    /// the stock mirror takes the moved variants' figures, and lists filtered on stock are
    /// recomputed when a variant ran out or came back; the live rooms showing one of the
    /// variants read their stock again, here and in the other replicas. A replica that misses
    /// this (it died, or Redis failed) leaves figures at most the mirror's time to live behind,
    /// entries at most their TTL, and live rooms at most `HUAKAI_LIVE_STOCK_RESYNC`.
    pub async fn announce(&self, mut effect: Effect) {
        effect.stock_moved.sort_unstable();
        effect.stock_moved.dedup();
        self.stock_listener.stock_moved(&effect.stock_moved);
        self.cache.stock_changed(&self.db, &effect.stock_moved).await;
        if effect.availability_changed {
            self.cache.availability_changed().await;
        }
    }
}
