//! Payments: Stripe PaymentIntents for card, Alipay and WeChat Pay (confirmed by signed
//! webhooks, applied exactly once through an inbox), bank transfers (对公转账) recorded by an
//! operator, refunds on every path (`refunds`), and reconciliation with Stripe.

pub mod bank_refunds;
pub mod entity;
pub mod graphql;
pub mod inbox;
pub mod providers;
pub mod reconcile;
pub mod records;
pub mod refunds;
pub mod service;
pub mod stripe;

use async_graphql::Enum;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum PaymentStatus {
    RequiresPayment,
    Processing,
    Succeeded,
    Failed,
    Refunded,
    PartiallyRefunded,
}

impl PaymentStatus {
    pub fn as_db(self) -> &'static str {
        match self {
            PaymentStatus::RequiresPayment => "REQUIRES_PAYMENT",
            PaymentStatus::Processing => "PROCESSING",
            PaymentStatus::Succeeded => "SUCCEEDED",
            PaymentStatus::Failed => "FAILED",
            PaymentStatus::Refunded => "REFUNDED",
            PaymentStatus::PartiallyRefunded => "PARTIALLY_REFUNDED",
        }
    }

    pub fn from_db(value: &str) -> Option<PaymentStatus> {
        [
            PaymentStatus::RequiresPayment,
            PaymentStatus::Processing,
            PaymentStatus::Succeeded,
            PaymentStatus::Failed,
            PaymentStatus::Refunded,
            PaymentStatus::PartiallyRefunded,
        ]
        .into_iter()
        .find(|status| status.as_db() == value)
    }

    /// Money has arrived (whatever was refunded since): no late event may undo this.
    pub fn is_settled(self) -> bool {
        matches!(
            self,
            PaymentStatus::Succeeded | PaymentStatus::Refunded | PaymentStatus::PartiallyRefunded
        )
    }
}

pub const PROVIDER_STRIPE: &str = "stripe";
pub const PROVIDER_BANK_TRANSFER: &str = "bank_transfer";
