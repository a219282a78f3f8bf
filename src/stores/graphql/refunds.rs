//! Refunds at the counter as the API shows them.

use async_graphql::{ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::infra::error::UserError;
use crate::infra::graphql::date::Date;
use crate::infra::graphql::global_id::{NodeType, encode};
use crate::infra::money::Money;
use crate::stores::CounterPaymentMethod;
use crate::stores::entity::counter_refund;

#[derive(InputObject)]
pub struct CounterRefundInput {
    pub store_id: ID,
    /// One of the store's counter sales (`CounterSale.id`).
    pub sale_id: ID,
    /// Yuan with at most two decimals; all that is left of the sale when left out.
    pub amount: Option<String>,
    /// Repeat it to retry safely: the same key at the same store is the same refund.
    pub idempotency_key: String,
}

/// Money given back over the counter for one of the store's sales.
pub struct CounterRefund(pub counter_refund::Model);

#[Object]
impl CounterRefund {
    async fn sale_id(&self) -> ID {
        encode(NodeType::CounterSale, self.0.counter_sale_id)
    }

    async fn amount(&self) -> Money {
        self.0.amount_fen.into()
    }

    /// The sale's method, which the money goes back by: cash out of the till, the terminal's
    /// methods at the terminal, the allowance to the member's grants.
    async fn payment_method(&self) -> CounterPaymentMethod {
        self.0.payment_method
    }

    /// The till's day it counts in.
    async fn business_date(&self) -> Date {
        Date(self.0.business_date)
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(SimpleObject)]
pub struct CounterRefundPayload {
    pub refund: Option<CounterRefund>,
    pub user_errors: Vec<UserError>,
}
