//! Payments: Stripe PaymentIntents for card, Alipay and WeChat Pay (confirmed by signed
//! webhooks, applied exactly once through an inbox), bank transfers (对公转账) recorded by an
//! operator, refunds on every path (`refunds`) within what is left to refund of each kind of
//! money (`refundable`), and reconciliation with Stripe; WeChat Pay and Alipay paid directly
//! (clients in `wechatpay`, `alipay`, sharing `direct`; the providers in `direct_providers`,
//! their notifications in `direct_notifications`, lookups and closing in `direct_sweep`, the
//! trade bill in `direct_bill`).

pub mod alipay;
pub mod bank_refunds;
pub mod checkout;
pub mod direct;
pub mod direct_bill;
pub mod direct_notifications;
pub mod direct_pay;
pub mod direct_providers;
pub mod direct_sweep;
pub mod door;
pub mod entity;
pub mod follower;
pub mod graphql;
pub mod inbox;
pub mod notices;
pub mod provider;
pub mod providers;
pub mod reconcile;
pub mod records;
pub mod refundable;
pub mod refunds;
pub mod service;
pub mod settling;
pub mod stripe;
pub mod wechatpay;

use async_graphql::Enum;
use sea_orm::entity::prelude::{DeriveActiveEnum, EnumIter, StringLen};

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
pub enum PaymentStatus {
    #[sea_orm(string_value = "REQUIRES_PAYMENT")]
    RequiresPayment,
    #[sea_orm(string_value = "PROCESSING")]
    Processing,
    #[sea_orm(string_value = "SUCCEEDED")]
    Succeeded,
    #[sea_orm(string_value = "FAILED")]
    Failed,
    #[sea_orm(string_value = "REFUNDED")]
    Refunded,
    #[sea_orm(string_value = "PARTIALLY_REFUNDED")]
    PartiallyRefunded,
}

impl PaymentStatus {
    /// Money has arrived (whatever was refunded since): no late event may undo this.
    pub fn is_settled(self) -> bool {
        matches!(
            self,
            PaymentStatus::Succeeded | PaymentStatus::Refunded | PaymentStatus::PartiallyRefunded
        )
    }
}

/// Who carries a payment's money (the [`provider::PaymentProvider`] that moves it).
#[derive(Copy, Clone, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ProviderKind {
    #[sea_orm(string_value = "stripe")]
    Stripe,
    /// 对公转账, recorded by an operator.
    #[sea_orm(string_value = "bank_transfer")]
    BankTransfer,
    /// A member's welfare allowance (工会福利), spent when the order is placed.
    #[sea_orm(string_value = "allowance")]
    Allowance,
    /// An organisation's fund, paying its bulk order when it is placed.
    #[sea_orm(string_value = "fund")]
    OrganisationFund,
    /// WeChat Pay API v3, the merchant's own account.
    #[sea_orm(string_value = "wechatpay")]
    WechatPay,
    /// Alipay's open API, the merchant's own application.
    #[sea_orm(string_value = "alipay")]
    Alipay,
    /// Paid at a relief supermarket's counter: cash into the till, or the counter's own WeChat
    /// Pay or Alipay terminal. Given back there too, at once.
    #[sea_orm(string_value = "counter")]
    Counter,
}

impl ProviderKind {
    /// WeChat Pay or Alipay paid directly: the payment is named `hk_pay_{id}` there.
    pub fn is_direct(self) -> bool {
        matches!(self, ProviderKind::WechatPay | ProviderKind::Alipay)
    }
}
