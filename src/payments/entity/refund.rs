use sea_orm::entity::prelude::*;

/// Money given back. The row is written before Stripe is asked, and its id makes Stripe's
/// idempotency key, so a retry after a crash refunds once.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refunds")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub payment_id: i64,
    pub amount_fen: i64,
    /// `PENDING`, `SUCCEEDED` or `FAILED`.
    pub status: String,
    pub stripe_refund_id: Option<String>,
    pub reason: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
