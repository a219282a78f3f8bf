use sea_orm::entity::prelude::*;

use crate::infra::ids::CooperativeMemberId;
use crate::infra::ids::ProducerId;

/// A household of a cooperative, with its share of the cooperative's payouts (二次分配).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cooperative_members")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: CooperativeMemberId,
    pub producer_id: ProducerId,
    pub name: String,
    /// 建档立卡贫困户.
    pub registered_poor: bool,
    /// Its share in basis points; the shares of a cooperative add up to at most 10,000.
    pub share_bps: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
