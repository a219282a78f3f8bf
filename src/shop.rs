//! What an operation that spans domains needs (placing, paying, refunding, delivering, paying
//! out): the database, the storefront cache to tell about stock that ran out or came back, the
//! settings, and what each domain keeps in it for its own operations (its settings, the payment
//! providers' clients). Resolvers, webhook handlers, workers and the command line hold one
//! `Shop` and call one operation with it.
//!
//! The shop stands below the domains that use it, so it names none of them: a domain's part
//! is kept by its type (`Parts`), and the domain reads it through an accessor of its own
//! (`impl Shop` in its folder: `shop.claim_settings()`, `shop.stripe()`). What a domain puts in
//! the shop, and its workers and routes, it declares in its door ([`door::Door`]).

pub mod door;

use std::any::{Any, TypeId, type_name};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::Context;
use sea_orm::DatabaseConnection;

use crate::cache::StorefrontCache;
use crate::infra::error::AppResult;
use crate::infra::graphql::context::handle;
use crate::infra::ids::VariantId;
use crate::infra::images::ImageStore;
use crate::inventory::Figure;

#[derive(Clone)]
pub struct Shop {
    pub db: DatabaseConnection,
    pub cache: Arc<StorefrontCache>,
    /// Where uploaded pictures (claim photos) are checked, resized and kept.
    pub images: ImageStore,
    /// Who hears what a commit did to stock, wired by the app: the live rooms (here and through
    /// Redis in the other replicas), then the storefront's cache. An operation only announces.
    pub stock_listeners: StockListeners,
    /// Where a hot variant's orders wait to be written in one batch (this process's).
    pub placing_lanes: Arc<crate::infra::lanes::Lanes>,
    pub settings: ShopSettings,
    /// What each domain above keeps here for its own operations.
    pub parts: Parts,
}

/// Values kept by their type, one of each: a domain's settings, a provider's client.
#[derive(Clone, Default)]
pub struct Parts(Arc<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>);

impl std::fmt::Debug for Parts {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "Parts({} kept)", self.0.len())
    }
}

impl Parts {
    /// These parts and `part`, which takes the place of a part of its type.
    pub fn with<T: Any + Send + Sync>(mut self, part: T) -> Parts {
        Arc::make_mut(&mut self.0).insert(TypeId::of::<T>(), Arc::new(part));
        self
    }

    pub fn get<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.0.get(&TypeId::of::<T>())?.downcast_ref()
    }
}

impl Shop {
    /// The part of type `T`. Every part is put in where the app builds its shop (each domain's
    /// door, then `Config::shop_parts`), before anything is served: a part missing is a fault of that
    /// wiring, which any test that builds the app meets, never of a request.
    pub fn part<T: Any + Send + Sync>(&self) -> &T {
        self.parts
            .get()
            .unwrap_or_else(|| panic!("the shop was built without its {}", type_name::<T>()))
    }
}

/// The shop's handles, as a resolver finds them in the schema's data.
pub fn shop<'a>(ctx: &Context<'a>) -> AppResult<&'a Shop> {
    handle(ctx)
}

/// Told, after a commit, what it did to stock.
#[async_trait::async_trait]
pub trait StockListener: Send + Sync {
    async fn stock_moved(&self, db: &DatabaseConnection, effect: &Effect);
}

/// The shop's stock listeners, told one after the other.
pub type StockListeners = Arc<[Arc<dyn StockListener>]>;

#[derive(Clone, Debug)]
pub struct ShopSettings {
    /// How long an unpaid order holds its stock.
    pub reservation: Duration,
    /// A shipped order counts as delivered this long after shipment.
    pub auto_delivery: Duration,
    pub order_limits: OrderLimits,
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
    /// Figures the change itself left (`UPDATE … RETURNING`): the mirror takes these without
    /// reading them again. A variant moved without one is read after the commit.
    pub stock_figures: Vec<(VariantId, Figure)>,
    /// The variants whose live session quota moved, their stock not: the live rooms showing
    /// them read it again; the storefront, which shows stock, has nothing to learn.
    pub quota_moved: Vec<VariantId>,
}

impl Effect {
    /// This effect, then `other`: a figure of this one whose variant `other` moved again is no
    /// longer the last; `other`'s figure stands for it, or, without one, it is read after the
    /// commit.
    pub fn and(mut self, other: Effect) -> Effect {
        self.availability_changed |= other.availability_changed;
        self.stock_figures.retain(|(variant, _)| {
            !other.stock_moved.contains(variant) && !other.stock_figures.iter().any(|(moved, _)| moved == variant)
        });
        self.stock_moved.extend(other.stock_moved);
        self.stock_figures.extend(other.stock_figures);
        self.quota_moved.extend(other.quota_moved);
        self
    }

    /// With the figures the change left for some of its variants.
    pub fn with_figures(mut self, figures: Vec<(VariantId, Figure)>) -> Effect {
        self.stock_figures = figures;
        self
    }

    /// The stock of `variant_ids` moved; `availability_changed` when one ran out or came back.
    pub fn stock_moved(variant_ids: impl IntoIterator<Item = VariantId>, availability_changed: bool) -> Effect {
        Effect {
            availability_changed,
            stock_moved: variant_ids.into_iter().collect(),
            ..Effect::default()
        }
    }

    /// The live session quota of `variant_ids` moved.
    pub fn quota_moved(variant_ids: impl IntoIterator<Item = VariantId>) -> Effect {
        Effect {
            quota_moved: variant_ids.into_iter().collect(),
            ..Effect::default()
        }
    }
}

impl Shop {
    /// Tells the stock listeners what a committed change did, before the change is answered:
    /// the live rooms showing one of the variants read their stock again, here and in the other
    /// replicas; the storefront cache's stock mirror takes the moved variants' figures, and its
    /// lists filtered on stock are recomputed when a variant ran out or came back. A replica
    /// that misses this (it died, or Redis failed) leaves figures at most the mirror's time to
    /// live behind, entries at most their TTL, and live rooms at most
    /// `HUAKAI_LIVE_STOCK_RESYNC`.
    pub async fn announce(&self, mut effect: Effect) {
        effect.stock_moved.sort_unstable();
        effect.stock_moved.dedup();
        effect.quota_moved.sort_unstable();
        effect.quota_moved.dedup();
        for listener in self.stock_listeners.iter() {
            listener.stock_moved(&self.db, &effect).await;
        }
    }
}
