use sea_orm::entity::prelude::*;

use crate::infra::ids::{CounterRefundId, CounterSaleId, RefundId, StoreId, UserId};
use crate::infra::money::Fen;
use crate::stores::CounterPaymentMethod;

/// Money given back over a store's counter for one of its sales: the refund itself is the one
/// refund path's (`refund_id`); this row is the till's side, on the day it was given back. One
/// per store and idempotency key.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "counter_refunds")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: CounterRefundId,
    pub store_id: StoreId,
    pub counter_sale_id: CounterSaleId,
    pub refund_id: RefundId,
    pub clerk_id: UserId,
    /// The sale's method: cash comes out of the till, the terminal's methods go back there,
    /// the allowance to the member's grants.
    pub payment_method: CounterPaymentMethod,
    pub amount_fen: Fen,
    /// The day in China it was given back (its till's day).
    pub business_date: Date,
    pub idempotency_key: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
