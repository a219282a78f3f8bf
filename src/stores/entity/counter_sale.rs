use sea_orm::entity::prelude::*;

use crate::infra::ids::{CounterSaleId, OrderId, StoreId, UserId};
use crate::infra::money::Fen;
use crate::stores::CounterPaymentMethod;

/// A sale over a store's counter: its order (delivered at once) holds the lines; this row holds
/// the till's side. One per store and idempotency key.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "counter_sales")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: CounterSaleId,
    pub store_id: StoreId,
    pub order_id: OrderId,
    pub clerk_id: UserId,
    pub payment_method: CounterPaymentMethod,
    pub total_fen: Fen,
    /// The day in China the sale belongs to (its till's day).
    pub business_date: Date,
    pub idempotency_key: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
