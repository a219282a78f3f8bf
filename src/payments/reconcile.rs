//! Our payments and refunds against Stripe's records (and WeChat Pay's and Alipay's), for
//! whatever a lost webhook or an unanswered call left behind, by the same code paths the
//! webhook and the first call take; `huakai payments reconcile` (`crate::reconciliation`) adds
//! the payouts in flight.

use chrono::{DateTime, Utc};

use super::records::payment_for_intent;
use super::service::apply_success;
use super::stripe::PaymentIntentStatus;
use super::{direct_bill, direct_sweep, settling};
use crate::infra::error::AppResult;
use crate::infra::money::Fen;
use crate::shop::Shop;

/// What a reconciliation found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reconciliation {
    pub checked: usize,
    pub repaired: usize,
    pub flagged: usize,
    pub unknown: usize,
    /// Refunds in doubt that turned out to have gone through (or were made now).
    pub refunds_settled: usize,
}

/// Pays orders whose PaymentIntent, or WeChat Pay or Alipay trade, (created since `since`)
/// was paid without our hearing of it, then settles every refund and payout whose outcome is
/// still unknown.
pub async fn reconcile(shop: &Shop, since: DateTime<Utc>) -> AppResult<Reconciliation> {
    let mut found = Reconciliation::default();
    // WeChat Pay's bills first: what they show paid needs no lookup.
    let bills = direct_bill::check_wechatpay_bills(shop, since).await?;
    found.checked += bills.checked;
    found.repaired += bills.repaired;
    found.unknown += bills.unknown;
    let (checked, repaired) = direct_sweep::look_up_pending(shop, std::time::Duration::ZERO, Some(since)).await?;
    found.checked += checked;
    found.repaired += repaired;
    let Some(gateway) = shop.stripe() else {
        if shop.direct().any() {
            found.refunds_settled = settling::retry_unsettled(shop, std::time::Duration::ZERO).await?;
        }
        return Ok(found);
    };
    for intent in gateway.recent_payment_intents(since.timestamp(), 50).await? {
        found.checked += 1;
        let Some(payment) = payment_for_intent(&shop.db, intent.id.as_str(), &intent.metadata).await? else {
            found.unknown += 1;
            continue;
        };
        if intent.status == PaymentIntentStatus::Succeeded && !payment.status.is_settled() {
            let was_flagged = payment.needs_review;
            apply_success(
                shop,
                &payment,
                Fen::new(intent.amount_received),
                &intent.currency.to_string(),
            )
            .await?;
            let after = super::records::payment_of(&shop.db, payment.order_id).await?;
            if after.as_ref().is_some_and(|p| p.needs_review && !was_flagged) {
                found.flagged += 1;
            } else {
                found.repaired += 1;
            }
        }
    }
    found.refunds_settled = settling::retry_unsettled(shop, std::time::Duration::ZERO).await?;
    Ok(found)
}
