//! Relief supermarkets (扶贫超市): shops in town that sell the same catalogue over the counter.
//! Operators open stores and seat their clerks (one store each); operators and growers move
//! units from the online stock to a store's shelf and back (both sides of the stock ledger, in
//! `inventory::shelf`); a clerk records counter sales from the shelf, paid in cash, by WeChat
//! Pay or Alipay at the counter's own terminal, or with a member's welfare allowance (taken with
//! the member's counter code). A counter sale is an order delivered at once, so its lines earn
//! for their producers and count in the impact report like any delivered line. Each day's till
//! is closed once (日结) with the cash counted; a closed day takes no more sales.

pub mod door;
pub mod entity;
pub mod graphql;
pub mod policy;
pub mod service;
pub mod worker;

use async_graphql::Enum;
use sea_orm::entity::prelude::{DeriveActiveEnum, EnumIter, StringLen};

use crate::orders::PaymentMethod;

/// How a store's shelf is watched.
#[derive(Clone, Copy, Debug)]
pub struct StoreSettings {
    /// A variant with this many units on a shelf or fewer is on the store's low-stock list
    /// (`HUAKAI_STORE_LOW_STOCK`, default 5).
    pub low_stock: u32,
    /// A paid pickup order nobody collected this long is cancelled and paid back
    /// (`HUAKAI_PICKUP_WINDOW`, default 3 days).
    pub pickup_window: std::time::Duration,
}

/// How a counter sale is paid.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
pub enum CounterPaymentMethod {
    /// Into the till: the day's cash expected.
    #[sea_orm(string_value = "CASH")]
    Cash,
    /// At the counter's own terminal; the sale records it.
    #[sea_orm(string_value = "WECHAT_PAY")]
    WechatPay,
    #[sea_orm(string_value = "ALIPAY")]
    Alipay,
    /// The member's welfare allowance, taken with the member's counter code.
    #[sea_orm(string_value = "WELFARE_ALLOWANCE")]
    WelfareAllowance,
}

impl CounterPaymentMethod {
    pub const ALL: [CounterPaymentMethod; 4] = [
        CounterPaymentMethod::Cash,
        CounterPaymentMethod::WechatPay,
        CounterPaymentMethod::Alipay,
        CounterPaymentMethod::WelfareAllowance,
    ];

    /// The method the sale's order records.
    pub fn order_method(self) -> PaymentMethod {
        match self {
            CounterPaymentMethod::Cash => PaymentMethod::Cash,
            CounterPaymentMethod::WechatPay => PaymentMethod::WechatPay,
            CounterPaymentMethod::Alipay => PaymentMethod::Alipay,
            CounterPaymentMethod::WelfareAllowance => PaymentMethod::WelfareAllowance,
        }
    }
}

impl crate::shop::Shop {
    pub fn store_settings(&self) -> &StoreSettings {
        self.part()
    }
}
