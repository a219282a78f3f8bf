use sea_orm::entity::prelude::*;

use crate::infra::ids::ClaimId;

/// A photo the buyer sent with a claim: its place among the claim's photos and its stored copies.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "claim_photos")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub claim_id: ClaimId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    pub width: i32,
    pub height: i32,
    pub thumbnail_key: String,
    pub medium_key: String,
    pub large_key: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
