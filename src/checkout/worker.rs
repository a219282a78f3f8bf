//! The background worker: cancels unpaid orders whose reservation ended, closes their trades
//! at WeChat Pay and Alipay, and marks long-shipped orders delivered. Everything it needs is in the database, so any replica may run it, several
//! at once, and a restart loses nothing.

use std::time::Duration;

use chrono::Utc;
use tokio::task::JoinHandle;

use crate::orders::service::lifecycle;
use crate::shop::Shop;

/// How often to look: a quarter of the reservation time, between 200 ms and 5 s.
pub fn period(reservation: Duration) -> Duration {
    (reservation / 4).clamp(Duration::from_millis(200), Duration::from_secs(5))
}

pub fn spawn(shop: Shop) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period(shop.settings.reservation));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let now = Utc::now();
            match lifecycle::expire_reservations(&shop, now).await {
                Ok(0) => {}
                Ok(expired) => {
                    tracing::info!(expired, "cancelled unpaid orders whose reservation ended");
                    metrics::counter!("huakai_orders_expired_total").increment(expired as u64);
                }
                Err(error) => tracing::error!(error = ?error, "expiring reservations failed"),
            }
            // Nobody may pay an expired (or cancelled) order at WeChat Pay or Alipay afterwards.
            if let Err(error) = crate::payments::direct_sweep::close_lapsed(&shop).await {
                tracing::error!(error = ?error, "closing the trades of cancelled orders failed");
            }
            if let Err(error) = lifecycle::auto_deliver(&shop, now).await {
                tracing::error!(error = ?error, "marking shipped orders delivered failed");
            }
        }
    })
}
