use sea_orm::entity::prelude::*;

use crate::infra::ids::{PaymentId, RefundId};
use crate::infra::money::Fen;

/// Where a refund stands. PENDING until the money has certainly gone back: Stripe accepted it
/// (or says so when asked later), or an operator recorded the bank transfer back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum RefundStatus {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "SUCCEEDED")]
    Succeeded,
    /// Definitely refused: the amount may be refunded again, the earnings are restored.
    #[sea_orm(string_value = "FAILED")]
    Failed,
}

/// Money given back. The row is written (with its split over the order's lines and the
/// earnings it reverses) before Stripe is asked, and its id makes Stripe's idempotency key and
/// metadata, so a retry after a crash or an unclear answer refunds once.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refunds")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: RefundId,
    pub payment_id: PaymentId,
    pub amount_fen: Fen,
    /// The part of the amount that gave shipping back (the rest is shared over the lines).
    pub shipping_fen: Fen,
    pub status: RefundStatus,
    pub stripe_refund_id: Option<String>,
    pub reason: String,
    pub created_at: DateTimeUtc,
    /// The bank's reference for the transfer back, recorded by an operator.
    pub bank_reference: Option<String>,
    pub attempted_at: Option<DateTimeUtc>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub settled_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::payment::Entity",
        from = "Column::PaymentId",
        to = "super::payment::Column::Id"
    )]
    Payment,
}

impl Related<super::payment::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Payment.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
