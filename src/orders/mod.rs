//! Orders: placing them (stock reserved for all lines or none), paying, shipping per producer,
//! delivery, cancellation and expiry of unpaid reservations.

pub mod carriers;
pub mod door;
pub mod entity;
pub mod graphql;
pub mod policy;
pub mod service;

/// An order holds at most as many lines, and units of a variant, as a cart.
pub const MAX_QUANTITY: i32 = crate::cart::lines::MAX_QUANTITY;
pub const MAX_LINES: usize = crate::cart::lines::MAX_LINES as usize;

use std::sync::Arc;

use async_graphql::Enum;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;
use sea_orm::entity::prelude::{DeriveActiveEnum, EnumIter, StringLen};

use crate::infra::error::AppResult;
use crate::infra::ids::{OrderId, VariantId};
use crate::shop::Shop;

/// What a delivery does beyond orders, inside the delivering transaction: the earnings ledger
/// credits each line's producer (and host). The app puts the payouts domain's in the shop's
/// parts, as `Arc<dyn DeliveryFollower>`, so that orders, below payouts, never names it.
#[async_trait]
pub trait DeliveryFollower: Send + Sync {
    async fn delivered(
        &self,
        shop: &Shop,
        txn: &DatabaseTransaction,
        order_id: OrderId,
        at: DateTime<Utc>,
    ) -> AppResult<()>;
}

impl Shop {
    pub fn delivery_follower(&self) -> &dyn DeliveryFollower {
        self.part::<Arc<dyn DeliveryFollower>>().as_ref()
    }
}

/// What giving an order's units back does to a live session's quota: units the order bought
/// from a session go back to the session's items, inside the releasing transaction. The app
/// puts the livestream domain's in the shop's parts, as `Arc<dyn SessionQuota>`, so that
/// orders, below livestream, never names it.
#[async_trait]
pub trait SessionQuota: Send + Sync {
    /// Gives `order_id`'s session units of `variants` back to their items (once each), and
    /// answers the units each variant must set aside again from its stock.
    async fn give_back(
        &self,
        txn: &DatabaseTransaction,
        order_id: OrderId,
        variants: &[VariantId],
    ) -> AppResult<Vec<(VariantId, i64)>>;
}

impl Shop {
    pub fn session_quota(&self) -> &dyn SessionQuota {
        self.part::<Arc<dyn SessionQuota>>().as_ref()
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
pub enum OrderStatus {
    /// Placed; its stock is held until `reservedUntil`.
    #[sea_orm(string_value = "PENDING_PAYMENT")]
    PendingPayment,
    #[sea_orm(string_value = "PAID")]
    Paid,
    /// Some producers' shipments are on their way, not all.
    #[sea_orm(string_value = "PARTIALLY_SHIPPED")]
    PartiallyShipped,
    /// Every producer's shipment is on its way.
    #[sea_orm(string_value = "SHIPPED")]
    Shipped,
    #[sea_orm(string_value = "DELIVERED")]
    Delivered,
    #[sea_orm(string_value = "COMPLETED")]
    Completed,
    #[sea_orm(string_value = "CANCELLED")]
    Cancelled,
    #[sea_orm(string_value = "REFUNDED")]
    Refunded,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
pub enum PaymentMethod {
    #[sea_orm(string_value = "CARD")]
    Card,
    #[sea_orm(string_value = "ALIPAY")]
    Alipay,
    #[sea_orm(string_value = "WECHAT_PAY")]
    WechatPay,
    /// 对公转账: an operator records the transfer when it arrives.
    #[sea_orm(string_value = "BANK_TRANSFER")]
    BankTransfer,
    /// A member's welfare allowance (工会福利), from grants of its organisation's fund.
    #[sea_orm(string_value = "WELFARE_ALLOWANCE")]
    WelfareAllowance,
    /// An organisation's own fund (bulk orders).
    #[sea_orm(string_value = "ORGANISATION_FUND")]
    OrganisationFund,
    /// Cash over a relief supermarket's counter: counter sales only.
    #[sea_orm(string_value = "CASH")]
    Cash,
}

impl OrderStatus {
    /// Paid, with parts still to ship: what may ship, and what a full refund puts back on the
    /// shelf.
    pub fn awaits_shipment(self) -> bool {
        matches!(self, OrderStatus::Paid | OrderStatus::PartiallyShipped)
    }
}

impl PaymentMethod {
    /// Paid through Stripe (the others wait for an operator).
    pub fn uses_stripe(self) -> bool {
        matches!(
            self,
            PaymentMethod::Card | PaymentMethod::Alipay | PaymentMethod::WechatPay
        )
    }

    /// Stripe's name for the method (`payment_method_types`).
    pub fn stripe_type(self) -> &'static str {
        match self {
            PaymentMethod::Card => "card",
            PaymentMethod::Alipay => "alipay",
            PaymentMethod::WechatPay => "wechat_pay",
            PaymentMethod::BankTransfer
            | PaymentMethod::WelfareAllowance
            | PaymentMethod::OrganisationFund
            | PaymentMethod::Cash => "customer_balance",
        }
    }
}
