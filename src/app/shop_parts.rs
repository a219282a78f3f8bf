//! What the app puts in the shop: the settings its operations read, and each domain's part
//! (its settings, the payment providers' clients, what follows a delivery), kept by type so
//! that the shop, below the domains, names none of them.

use std::sync::Arc;

use super::config::{Config, StripeSettings};
use crate::livestream::quota::GiveBackQuota;
use crate::orders::{DeliveryFollower, SessionQuota};
use crate::payments::direct_pay::DirectPay;
use crate::payments::follower::RefundFollower;
use crate::payments::stripe::StripeGateway;
use crate::payouts::ledger::{CreditOnDelivery, PayoutSettings, ReverseOnRefund};
use crate::shop::{Parts, ShopSettings};

impl Config {
    /// Stripe, when configured, and WeChat Pay and Alipay paid directly.
    pub fn payment_clients(&self) -> anyhow::Result<(Option<StripeGateway>, DirectPay)> {
        let stripe = self.stripe.as_ref().map(StripeSettings::gateway).transpose()?;
        let direct = self.direct.direct_pay(&format!("http://{}", self.addr))?;
        Ok((stripe, direct))
    }

    /// The fee and hold the earnings ledger applies.
    pub fn payout_settings(&self) -> PayoutSettings {
        PayoutSettings {
            platform_fee_bps: self.platform_fee_bps,
            hold: self.payout_hold,
        }
    }

    /// What the shop's operations need to know.
    pub fn shop_settings(&self) -> ShopSettings {
        ShopSettings {
            reservation: self.reservation_ttl,
            auto_delivery: self.auto_delivery,
            order_limits: self.limits.orders,
        }
    }

    /// What each domain keeps in the shop: its settings, and the payment providers' clients.
    pub fn shop_parts(&self, stripe: Option<StripeGateway>, direct: DirectPay) -> Parts {
        Parts::default()
            .with(stripe)
            .with(direct)
            .with(self.payout_settings())
            .with::<Arc<dyn DeliveryFollower>>(Arc::new(CreditOnDelivery))
            .with::<Arc<dyn RefundFollower>>(Arc::new(ReverseOnRefund))
            .with::<Arc<dyn SessionQuota>>(Arc::new(GiveBackQuota))
            .with(self.livestream.clone())
            .with(self.claims)
            .with(self.stores)
    }
}
