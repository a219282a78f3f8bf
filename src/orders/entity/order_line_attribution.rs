use sea_orm::entity::prelude::*;

use crate::infra::ids::PromoLinkId;
use crate::infra::ids::UserId;
use crate::infra::ids::{OrderId, OrderLineAttributionId, OrderLineId};

/// An order line credited to a livestream host through a promo link's code, with the
/// commission rate in force when the order was placed (later plan changes never touch it).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_line_attributions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: OrderLineAttributionId,
    pub order_line_id: OrderLineId,
    pub order_id: OrderId,
    pub host_id: UserId,
    pub promo_link_id: PromoLinkId,
    pub rate_bps: i32,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
