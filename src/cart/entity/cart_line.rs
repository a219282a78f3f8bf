use sea_orm::entity::prelude::*;

use crate::infra::ids::{CartLineId, UserId, VariantId};

/// A variant in a user's cart: one row per user and variant, 1 to 999 units (a CHECK holds it).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cart_lines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: CartLineId,
    pub user_id: UserId,
    pub variant_id: VariantId,
    pub quantity: i32,
    pub added_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
