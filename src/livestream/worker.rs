//! Returns the unsold quota of ended sessions to stock. It works from what the database says,
//! so any replica may run it (an item is claimed by a conditional update), and a session that
//! ended while no server ran is settled at the next start.

use std::time::Duration;

use chrono::Utc;
use tokio::task::JoinHandle;

use crate::shop::Shop;

/// Quota comes back at most this long after a session's end.
pub const PERIOD: Duration = Duration::from_secs(1);

pub fn spawn(shop: Shop) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(PERIOD);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match crate::livestream::quota::settle_ended(&shop, Utc::now()).await {
                Ok(0) => {}
                Ok(settled) => tracing::info!(settled, "returned the unsold quota of ended live sessions"),
                Err(error) => tracing::error!(error = ?error, "returning ended sessions' quota failed"),
            }
        }
    })
}
