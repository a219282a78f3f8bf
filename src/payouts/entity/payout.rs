use sea_orm::entity::prelude::*;

use crate::infra::ids::ProducerId;
use crate::infra::ids::UserId;
use crate::infra::ids::{PayoutBatchId, PayoutId};
use crate::infra::money::Fen;
use crate::payouts::{PayoutMethod, PayoutStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payouts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: PayoutId,
    /// The producer paid, when the payee is a producer.
    pub producer_id: Option<ProducerId>,
    pub amount_fen: Fen,
    pub status: PayoutStatus,
    pub method: PayoutMethod,
    /// The bank batch it belongs to.
    pub batch_id: Option<PayoutBatchId>,
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
    /// The host paid, when the payee is a livestream host.
    pub host_id: Option<UserId>,
    pub payee_kind: PayeeKind,
}

/// Who a payout pays: a producer for its earnings, or a livestream host for its commissions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum PayeeKind {
    #[sea_orm(string_value = "PRODUCER")]
    Producer,
    #[sea_orm(string_value = "HOST")]
    Host,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
