use sea_orm::entity::prelude::*;

use crate::infra::ids::CatalogueEntryId;

/// An entry of the 贫困地区农产品目录: a product may only be sold while its entry is valid.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "catalogue_entries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: CatalogueEntryId,
    pub code: String,
    pub issuer: String,
    /// First and last day of validity, inclusive, as calendar dates in China (UTC+8).
    pub valid_from: Date,
    pub valid_to: Date,
}

impl Model {
    pub fn is_valid_on(&self, day: Date) -> bool {
        self.valid_from <= day && day <= self.valid_to
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
