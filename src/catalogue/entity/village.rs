use sea_orm::entity::prelude::*;

use crate::infra::ids::VillageId;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "villages")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: VillageId,
    pub slug: String,
    pub name: String,
    pub town: String,
    pub district: String,
    /// 建档立卡贫困村: on the official register of poor villages.
    pub registered_poor: bool,
    /// The year the village left poverty (出列), if it was registered poor.
    pub exited_poverty_year: Option<i32>,
    pub story: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
