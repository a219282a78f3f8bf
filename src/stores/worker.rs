//! Cancels and pays back pickup orders nobody collected in time (`service::pickups`). It
//! works from what the database says, so any replica may run it, several at once.

use std::time::Duration;

use chrono::Utc;
use tokio::task::JoinHandle;

use super::service::pickups;
use crate::shop::Shop;

/// How often to look: a hundredth of the pickup window, between 200 ms and a minute.
pub fn period(window: Duration) -> Duration {
    (window / 100).clamp(Duration::from_millis(200), Duration::from_secs(60))
}

pub fn spawn(shop: Shop) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period(shop.store_settings().pickup_window));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match pickups::expire_uncollected(&shop, Utc::now()).await {
                Ok(0) => {}
                Ok(cancelled) => tracing::info!(cancelled, "cancelled and paid back pickup orders not collected"),
                Err(error) => tracing::error!(error = ?error, "cancelling uncollected pickup orders failed"),
            }
        }
    })
}
