use sea_orm::entity::prelude::*;

use crate::infra::ids::{ProducerId, ShippingProvinceId};
use crate::infra::money::Fen;

/// A province a producer's rule names: excluded (not delivered to), or with a surcharge.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "shipping_provinces")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: ShippingProvinceId,
    pub producer_id: ProducerId,
    pub province: String,
    pub excluded: bool,
    pub extra_fee_fen: Fen,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
