use sea_orm::entity::prelude::*;

use crate::infra::ids::OrderLineId;
use crate::infra::ids::RefundId;
use crate::infra::money::Fen;

/// A refund's part of one order line (the refund shared over the lines in proportion to what
/// each still holds, largest remainder, to the fen).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refund_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub refund_id: RefundId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub order_line_id: OrderLineId,
    pub amount_fen: Fen,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::refund::Entity",
        from = "Column::RefundId",
        to = "super::refund::Column::Id"
    )]
    Refund,
}

impl Related<super::refund::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Refund.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
