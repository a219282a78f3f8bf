use sea_orm::entity::prelude::*;

use crate::infra::ids::{OrderId, ShelfMovementId, StoreId, UserId, VariantId};

/// One change to a store's shelf stock: the shelf's side of the stock ledger.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "shelf_movements")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: ShelfMovementId,
    pub store_id: StoreId,
    pub variant_id: VariantId,
    pub delta: i64,
    pub reason: String,
    pub actor_user_id: Option<UserId>,
    /// The counter sale's order that took the units.
    pub order_id: Option<OrderId>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
