use sea_orm::entity::prelude::*;

use crate::infra::ids::ProductId;

/// A picture of a product: its place among the product's pictures and its stored copies.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "product_images")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub product_id: ProductId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    pub width: i32,
    pub height: i32,
    pub thumbnail_key: String,
    pub medium_key: String,
    pub large_key: String,
    pub alt: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
