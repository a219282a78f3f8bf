use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payouts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub producer_id: i64,
    pub amount_fen: i64,
    /// `PENDING`, `IN_TRANSIT`, `PAID` or `FAILED`.
    pub status: String,
    /// `stripe_transfer` or `bank`.
    pub method: String,
    /// The bank batch it belongs to.
    pub batch_id: Option<i64>,
    pub stripe_transfer_id: Option<String>,
    /// The bank's reference, recorded when an operator confirms the line paid.
    pub reference: Option<String>,
    pub failure_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub paid_at: Option<DateTimeUtc>,
    /// Stripe calls made for it; after the first, Stripe is asked whether the transfer exists
    /// before another is sent.
    pub attempts: i32,
    /// What the last unclear Stripe answer said (the payout stays in flight).
    pub last_error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
