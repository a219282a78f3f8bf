use sea_orm::entity::prelude::*;

use crate::infra::ids::{ClaimId, ClaimLineId, OrderLineId};

/// Units of one order line a claim is about.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "claim_lines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: ClaimLineId,
    pub claim_id: ClaimId,
    pub order_line_id: OrderLineId,
    pub quantity: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
