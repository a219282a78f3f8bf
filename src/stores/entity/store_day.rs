use sea_orm::entity::prelude::*;

use crate::infra::ids::{StoreId, UserId};

/// A day of a store's till (日结): opened by its first sale, closed once with the cash counted.
/// Every sale takes this row by a conditional update that a closed day refuses, so a sale and
/// the closing never overlap.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "store_days")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub store_id: StoreId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub business_date: Date,
    pub sales_count: i32,
    pub cash_expected_fen: Option<i64>,
    pub cash_counted_fen: Option<i64>,
    /// Counted less expected: negative when cash is missing.
    pub difference_fen: Option<i64>,
    pub closed_by: Option<UserId>,
    pub closed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
