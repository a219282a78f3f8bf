//! Orders: placing them (stock reserved for all lines or none), paying, shipping per producer,
//! delivery, cancellation and expiry of unpaid reservations.

pub mod entity;
pub mod graphql;
pub mod policy;
pub mod service;
pub mod worker;

use async_graphql::Enum;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum OrderStatus {
    /// Placed; its stock is held until `reservedUntil`.
    PendingPayment,
    Paid,
    /// Every producer's shipment is on its way.
    Shipped,
    Delivered,
    Completed,
    Cancelled,
    Refunded,
}

impl OrderStatus {
    pub fn as_db(self) -> &'static str {
        match self {
            OrderStatus::PendingPayment => "PENDING_PAYMENT",
            OrderStatus::Paid => "PAID",
            OrderStatus::Shipped => "SHIPPED",
            OrderStatus::Delivered => "DELIVERED",
            OrderStatus::Completed => "COMPLETED",
            OrderStatus::Cancelled => "CANCELLED",
            OrderStatus::Refunded => "REFUNDED",
        }
    }

    pub fn from_db(value: &str) -> Option<OrderStatus> {
        [
            OrderStatus::PendingPayment,
            OrderStatus::Paid,
            OrderStatus::Shipped,
            OrderStatus::Delivered,
            OrderStatus::Completed,
            OrderStatus::Cancelled,
            OrderStatus::Refunded,
        ]
        .into_iter()
        .find(|status| status.as_db() == value)
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum PaymentMethod {
    Card,
    Alipay,
    WechatPay,
    /// 对公转账: an operator records the transfer when it arrives.
    BankTransfer,
}

impl PaymentMethod {
    pub fn as_db(self) -> &'static str {
        match self {
            PaymentMethod::Card => "CARD",
            PaymentMethod::Alipay => "ALIPAY",
            PaymentMethod::WechatPay => "WECHAT_PAY",
            PaymentMethod::BankTransfer => "BANK_TRANSFER",
        }
    }

    pub fn from_db(value: &str) -> Option<PaymentMethod> {
        [
            PaymentMethod::Card,
            PaymentMethod::Alipay,
            PaymentMethod::WechatPay,
            PaymentMethod::BankTransfer,
        ]
        .into_iter()
        .find(|method| method.as_db() == value)
    }

    /// Paid through Stripe (the others wait for an operator).
    pub fn uses_stripe(self) -> bool {
        self != PaymentMethod::BankTransfer
    }

    /// Stripe's name for the method (`payment_method_types`).
    pub fn stripe_type(self) -> &'static str {
        match self {
            PaymentMethod::Card => "card",
            PaymentMethod::Alipay => "alipay",
            PaymentMethod::WechatPay => "wechat_pay",
            PaymentMethod::BankTransfer => "customer_balance",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_methods_round_trip() {
        for status in [
            "PENDING_PAYMENT",
            "PAID",
            "SHIPPED",
            "DELIVERED",
            "COMPLETED",
            "CANCELLED",
            "REFUNDED",
        ] {
            assert_eq!(OrderStatus::from_db(status).map(OrderStatus::as_db), Some(status));
        }
        for method in ["CARD", "ALIPAY", "WECHAT_PAY", "BANK_TRANSFER"] {
            assert_eq!(PaymentMethod::from_db(method).map(PaymentMethod::as_db), Some(method));
        }
    }
}
