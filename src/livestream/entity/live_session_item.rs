use sea_orm::entity::prelude::*;

use crate::infra::ids::UserId;
use crate::infra::ids::VariantId;
use crate::infra::ids::{LiveSessionId, LiveSessionItemId};
use crate::infra::money::Fen;

/// A variant sold in a session: at `price_fen`, from `quota` units set aside at approval, at
/// most `per_buyer_limit` to one buyer.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "live_session_items")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: LiveSessionItemId,
    pub session_id: LiveSessionId,
    pub variant_id: VariantId,
    pub price_fen: Fen,
    pub quota: i32,
    pub per_buyer_limit: i32,
    /// Set aside and not taken by an order (0 before approval and after the end).
    pub remaining: i32,
    pub approved_at: Option<DateTimeUtc>,
    pub approved_by: Option<UserId>,
    /// When the unsold rest went back to the variant's stock, after the end.
    pub returned_at: Option<DateTimeUtc>,
    pub returned_units: i32,
}

impl Model {
    /// Units taken by orders (paid or still held).
    pub fn sold(&self) -> i32 {
        if self.approved_at.is_none() {
            return 0;
        }
        self.quota - self.remaining - self.returned_units
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
