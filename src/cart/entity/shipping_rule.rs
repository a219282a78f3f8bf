use sea_orm::entity::prelude::*;

use crate::infra::ids::ProducerId;
use crate::infra::money::Fen;

/// A producer's shipping rule (one per producer; see `cart::shipping` for how a fee follows).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "shipping_rules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub producer_id: ProducerId,
    pub first_weight_grams: i64,
    pub first_fee_fen: Fen,
    pub extra_per_kg_fen: Fen,
    pub free_over_fen: Option<Fen>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
