use sea_orm::entity::prelude::*;

use crate::infra::ids::{ProductId, VariantId};
use crate::infra::money::Fen;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "variants")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: VariantId,
    pub product_id: ProductId,
    pub sku: String,
    pub name: String,
    pub price_fen: Fen,
    pub weight_grams: i32,
    pub position: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
