use sea_orm::entity::prelude::*;

use crate::infra::ids::VariantId;

/// Stock of one variant. CHECK constraints hold `0 <= reserved <= on_hand`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stock_levels")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub variant_id: VariantId,
    pub on_hand: i64,
    /// Held by unpaid orders.
    pub reserved: i64,
    /// Counts every change of this row, in the statement that makes it: the stock mirror
    /// keeps a figure only over an older one.
    pub version: i64,
}

impl Model {
    pub fn available(&self) -> i64 {
        self.on_hand - self.reserved
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
