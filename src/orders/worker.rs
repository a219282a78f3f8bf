//! The background worker: cancels unpaid orders whose reservation ended and marks long-shipped
//! orders delivered. Everything it needs is in the database, so any replica may run it, several
//! at once, and a restart loses nothing.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sea_orm::DatabaseConnection;
use tokio::task::JoinHandle;

use super::service;
use crate::cache::StorefrontCache;
use crate::payouts::ledger::PayoutSettings;

/// How often to look: a quarter of the reservation time, between 200 ms and 5 s.
pub fn period(reservation: Duration) -> Duration {
    (reservation / 4).clamp(Duration::from_millis(200), Duration::from_secs(5))
}

pub fn spawn(
    db: DatabaseConnection,
    cache: Arc<StorefrontCache>,
    reservation: Duration,
    auto_delivery: Duration,
    payouts: PayoutSettings,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period(reservation));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let now = Utc::now();
            match service::expire_reservations(&db, now).await {
                Ok((expired, availability_changed)) => {
                    if expired > 0 {
                        tracing::info!(expired, "cancelled unpaid orders whose reservation ended");
                        metrics::counter!("huakai_orders_expired_total").increment(expired as u64);
                    }
                    if availability_changed {
                        cache.availability_changed().await;
                    }
                }
                Err(error) => tracing::error!(error = ?error, "expiring reservations failed"),
            }
            if let Err(error) = service::auto_deliver(&db, now, auto_delivery, payouts).await {
                tracing::error!(error = ?error, "marking shipped orders delivered failed");
            }
        }
    })
}
