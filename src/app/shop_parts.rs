//! What the app puts in the shop: the settings its operations read, each domain's part (put in
//! by the domain's door when the settings were read), and the payment providers' clients, kept
//! by type so that the shop, below the domains, names none of them.

use std::any::{Any, type_name};

use super::config::{Config, StripeSettings};
use crate::payments::direct_pay::DirectPay;
use crate::payments::stripe::StripeGateway;
use crate::payouts::ledger::PayoutSettings;
use crate::shop::{Parts, ShopSettings};

impl Config {
    /// Stripe, when configured, and WeChat Pay and Alipay paid directly.
    pub fn payment_clients(&self) -> anyhow::Result<(Option<StripeGateway>, DirectPay)> {
        let stripe = self.stripe.as_ref().map(StripeSettings::gateway).transpose()?;
        let direct = self.direct.direct_pay(&format!("http://{}", self.addr))?;
        Ok((stripe, direct))
    }

    /// The part of type `T` a domain's door put in; like `Shop::part`, a part missing is a
    /// fault of the wiring, met by any test that builds the app.
    pub fn part<T: Any + Send + Sync>(&self) -> &T {
        self.parts
            .get()
            .unwrap_or_else(|| panic!("no door put in the {}", type_name::<T>()))
    }

    /// The fee and hold the earnings ledger applies.
    pub fn payout_settings(&self) -> PayoutSettings {
        *self.part()
    }

    /// What the shop's operations need to know.
    pub fn shop_settings(&self) -> ShopSettings {
        ShopSettings {
            reservation: self.reservation_ttl,
            auto_delivery: self.auto_delivery,
            order_limits: self.limits.orders,
        }
    }

    /// What each domain keeps in the shop: its part, and the payment providers' clients.
    pub fn shop_parts(&self, stripe: Option<StripeGateway>, direct: DirectPay) -> Parts {
        self.parts.clone().with(stripe).with(direct)
    }
}
