//! Who hears what a commit did to stock, wired here so that the shop and the operations that
//! announce name neither: the live rooms first (they only wake), then the storefront's cache.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::cache::StorefrontCache;
use crate::livestream::live_room::LiveRooms;
use crate::shop::{Effect, StockListener, StockListeners};

pub fn stock_listeners(live_rooms: Arc<LiveRooms>, cache: Arc<StorefrontCache>) -> StockListeners {
    Arc::new([live_rooms as Arc<dyn StockListener>, cache])
}

#[async_trait::async_trait]
impl StockListener for StorefrontCache {
    /// The stock mirror takes the moved variants' figures; lists filtered on stock are
    /// recomputed when a variant ran out or came back.
    async fn stock_moved(&self, db: &DatabaseConnection, effect: &Effect) {
        self.stock_changed(db, &effect.stock_moved, &effect.stock_figures).await;
        if effect.availability_changed {
            self.availability_changed().await;
        }
    }
}
