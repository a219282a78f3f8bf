use sea_orm::entity::prelude::*;

use crate::claims::{ClaimDecision, ClaimReason, ClaimStatus};
use crate::infra::ids::{ClaimId, OrderId, ProducerId, RefundId, ShipmentId, UserId};
use crate::infra::money::Fen;

/// A buyer's claim on units of a delivered order from one producer, and what was decided.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "claims")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: ClaimId,
    pub order_id: OrderId,
    /// The grower who answers: every claimed line is this producer's.
    pub producer_id: ProducerId,
    /// Of a bulk order, the parcel its recipient reported.
    pub shipment_id: Option<ShipmentId>,
    pub opened_by: UserId,
    pub status: ClaimStatus,
    pub reason: ClaimReason,
    pub note: Option<String>,
    /// What the claimed units cost the buyer: the refund asked for.
    pub asked_fen: Fen,
    /// The last decision, the grower's or (finally) an operator's.
    pub decision: Option<ClaimDecision>,
    /// What was refunded.
    pub amount_fen: Option<Fen>,
    pub response_note: Option<String>,
    /// Unanswered by then, the claim is refunded as asked.
    pub respond_by: DateTimeUtc,
    pub opened_at: DateTimeUtc,
    pub responded_at: Option<DateTimeUtc>,
    pub escalated_at: Option<DateTimeUtc>,
    pub decided_at: Option<DateTimeUtc>,
    pub refund_id: Option<RefundId>,
    pub reship_shipment_id: Option<ShipmentId>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
