//! Returns expired allowance to the fund. It works from what the database says, so any replica
//! may run it (a grant is closed by a conditional update, once), and grants that expired while
//! no server ran are returned at the next start.

use std::time::Duration;

use chrono::Utc;
use tokio::task::JoinHandle;

use crate::organisations::funds;
use crate::shop::Shop;

/// Expired allowance is back in the fund at most this long after its expiry.
pub const PERIOD: Duration = Duration::from_secs(1);

pub fn spawn(shop: Shop) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(PERIOD);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match funds::expire_grants(&shop.db, Utc::now()).await {
                Ok(0) => {}
                Ok(closed) => tracing::info!(closed, "returned expired allowance to the funds"),
                Err(error) => tracing::error!(error = ?error, "returning expired allowance failed"),
            }
        }
    })
}
