use sea_orm::entity::prelude::*;

use crate::infra::ids::{SavedAddressId, UserId};

/// An address in a user's address book; at most one of a user's is the default (a partial
/// unique index holds it).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "saved_addresses")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: SavedAddressId,
    pub user_id: UserId,
    pub name: String,
    pub phone: String,
    pub province: String,
    pub city: String,
    pub district: String,
    pub line1: String,
    pub postal_code: Option<String>,
    pub is_default: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
