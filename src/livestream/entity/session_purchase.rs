use sea_orm::entity::prelude::*;

use crate::infra::ids::OrderId;
use crate::infra::ids::UserId;
use crate::infra::ids::{LiveSessionItemId, SessionPurchaseId};

/// Units of a session item an order took from the quota; released (and given back to the
/// quota while the session lasts) when the order is cancelled or expires.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "session_purchases")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: SessionPurchaseId,
    pub item_id: LiveSessionItemId,
    pub buyer_id: UserId,
    pub order_id: OrderId,
    pub quantity: i32,
    pub created_at: DateTimeUtc,
    pub released_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
