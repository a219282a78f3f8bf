//! Refunds claims their growers left unanswered and completes orders whose claim window has
//! passed. It works from what the database says (see `service::timeouts`), so any replica may
//! run it, several at once, and a restart loses nothing.

use std::time::Duration;

use chrono::Utc;
use tokio::task::JoinHandle;

use super::service::timeouts;
use crate::shop::Shop;

/// How often to look: a quarter of the answer time, between 200 ms and 5 s.
pub fn period(response: Duration) -> Duration {
    (response / 4).clamp(Duration::from_millis(200), Duration::from_secs(5))
}

pub fn spawn(shop: Shop) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period(shop.claim_settings().response));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let now = Utc::now();
            match timeouts::accept_unanswered(&shop, now).await {
                Ok(0) => {}
                Ok(refunded) => tracing::info!(refunded, "refunded claims their growers left unanswered"),
                Err(error) => tracing::error!(error = ?error, "refunding unanswered claims failed"),
            }
            if let Err(error) = timeouts::complete_orders(&shop, now).await {
                tracing::error!(error = ?error, "completing orders past their claim window failed");
            }
        }
    })
}
