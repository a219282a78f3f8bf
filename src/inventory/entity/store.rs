use sea_orm::entity::prelude::*;

use crate::infra::ids::StoreId;

/// A relief supermarket (扶贫超市) in town: a place stock sits (its shelf) and orders are
/// collected from. The `stores` domain runs it; the stock and the orders only need to find it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stores")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: StoreId,
    /// Unique in the shop.
    pub slug: String,
    pub name: String,
    pub address: String,
    pub opening_hours: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
