use sea_orm::entity::prelude::*;

/// One change to a variant's on-hand or reserved stock: the audit trail stock can be rebuilt
/// from.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stock_movements")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub variant_id: i64,
    pub on_hand_delta: i64,
    pub reserved_delta: i64,
    pub reason: String,
    /// Who made the change; none for the system's own (an expired reservation, say).
    pub actor_user_id: Option<i64>,
    pub order_id: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
