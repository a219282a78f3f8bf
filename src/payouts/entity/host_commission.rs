use sea_orm::entity::prelude::*;

use crate::infra::money::Fen;
use crate::payouts::EarningKind;

use crate::infra::ids::RefundId;
use crate::infra::ids::UserId;
use crate::infra::ids::{HostCommissionId, PayoutId};
use crate::infra::ids::{OrderId, OrderLineId};

/// One entry of a host's append-only commission ledger, written in the same transaction as
/// the producer's earning for the same line and step: a delivered line (SALE), money given back
/// for it (REVERSAL, negative), or a refused refund's restoring SALE (naming the refund).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "host_commissions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: HostCommissionId,
    pub host_id: UserId,
    pub order_id: OrderId,
    pub order_line_id: OrderLineId,
    /// The refund a reversal answers; 0 for a delivered line.
    pub refund_id: RefundId,
    pub kind: EarningKind,
    pub line_total_fen: Fen,
    /// The host's commission (negative for a reversal): the earning's `commission_fen`.
    pub amount_fen: Fen,
    /// With the producer's earning: after the payout hold.
    pub available_at: DateTimeUtc,
    pub payout_id: Option<PayoutId>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
