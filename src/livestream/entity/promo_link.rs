use sea_orm::entity::prelude::*;

use crate::infra::ids::ProductId;
use crate::infra::ids::UserId;
use crate::infra::ids::{LiveSessionId, PromoLinkId};

/// A host's link to a product, shown on a stream as its short code.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "promo_links")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: PromoLinkId,
    #[sea_orm(unique)]
    pub code: String,
    pub host_id: UserId,
    /// The product the link opens (for a session's link, its first item's product).
    pub product_id: ProductId,
    /// A session's link: its code buys at the session's prices while the session is live.
    pub session_id: Option<LiveSessionId>,
    /// Redirects answered (counted in batches: see `clicks`).
    pub clicks: i64,
    /// A retired link redirects no more and attributes nothing.
    pub retired_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
