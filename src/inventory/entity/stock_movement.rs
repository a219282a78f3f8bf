use sea_orm::entity::prelude::*;

use crate::infra::ids::OrderId;
use crate::infra::ids::UserId;
use crate::infra::ids::{StockMovementId, VariantId};

/// One change to a variant's on-hand or reserved stock: the audit trail stock can be rebuilt
/// from.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stock_movements")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: StockMovementId,
    pub variant_id: VariantId,
    pub on_hand_delta: i64,
    pub reserved_delta: i64,
    pub reason: String,
    /// Who made the change; none for the system's own (an expired reservation, say).
    pub actor_user_id: Option<UserId>,
    pub order_id: Option<OrderId>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
