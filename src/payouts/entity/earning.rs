use sea_orm::entity::prelude::*;

use crate::infra::money::Fen;
use crate::payouts::EarningKind;

use crate::infra::ids::ProducerId;
use crate::infra::ids::RefundId;
use crate::infra::ids::{EarningId, PayoutId};
use crate::infra::ids::{OrderId, OrderLineId};

/// One entry of a producer's append-only earnings ledger: a delivered line (SALE) or money
/// given back for it (REVERSAL, negative). `line_total = platform_fee + commission + amount`,
/// always (a CHECK holds it).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "earnings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: EarningId,
    pub producer_id: ProducerId,
    pub order_id: OrderId,
    pub order_line_id: OrderLineId,
    /// The refund a reversal answers; 0 for a sale.
    pub refund_id: RefundId,
    pub kind: EarningKind,
    pub line_total_fen: Fen,
    pub platform_fee_fen: Fen,
    pub commission_fen: Fen,
    /// What the producer earns (negative for a reversal).
    pub amount_fen: Fen,
    /// Delivery plus `HUAKAI_PAYOUT_HOLD`: pending until then.
    pub available_at: DateTimeUtc,
    /// The payout that pays it; set once, by a conditional update.
    pub payout_id: Option<PayoutId>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
