use sea_orm::entity::prelude::*;

use crate::infra::ids::{StoreId, UserId};
use crate::infra::money::Fen;

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
    pub cash_expected_fen: Option<Fen>,
    pub cash_counted_fen: Option<Fen>,
    /// Counted less expected: negative when cash is missing.
    pub difference_fen: Option<Fen>,
    pub closed_by: Option<UserId>,
    pub closed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
