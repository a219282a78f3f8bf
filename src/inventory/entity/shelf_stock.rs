use sea_orm::entity::prelude::*;

use crate::infra::ids::{StoreId, VariantId};

/// Units of a variant on a relief supermarket's shelf, moved there from the online stock. A
/// CHECK holds `on_shelf >= 0`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "shelf_stock")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub store_id: StoreId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub variant_id: VariantId,
    pub on_shelf: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
