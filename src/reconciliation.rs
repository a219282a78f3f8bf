//! `huakai payments reconcile`: payments and refunds against the providers' records, then the
//! payouts whose transfer is in doubt, for whatever a lost webhook or an unanswered call left
//! behind.

use chrono::{DateTime, Utc};

use crate::infra::error::AppResult;
use crate::payments::reconcile::{self, Reconciliation};
use crate::payouts::runs;
use crate::shop::Shop;

/// What a reconciliation found and settled.
pub struct Reconciled {
    pub payments: Reconciliation,
    /// Payouts in flight that turned out to be paid (or were paid now).
    pub payouts_settled: usize,
}

pub async fn reconcile(shop: &Shop, since: DateTime<Utc>) -> AppResult<Reconciled> {
    let payments = reconcile::reconcile(shop, since).await?;
    let payouts_settled = match shop.stripe() {
        Some(gateway) => runs::send_transfers(&shop.db, gateway)
            .await?
            .iter()
            .filter(|payout| payout.paid_at.is_some())
            .count(),
        None => 0,
    };
    Ok(Reconciled {
        payments,
        payouts_settled,
    })
}
