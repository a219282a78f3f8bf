use sea_orm::entity::prelude::*;

use crate::infra::ids::CommissionPlanId;
use crate::infra::ids::ProductId;
use crate::infra::ids::UserId;

/// A rate set for a product (for any host, or for one named host), from `effective_from` on.
/// Rows are never changed: the rate for an order is the newest row in effect when it was placed.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "commission_plans")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: CommissionPlanId,
    pub product_id: ProductId,
    /// The host a targeted rate is for; none for the open rate.
    pub host_id: Option<UserId>,
    pub rate_bps: i32,
    pub effective_from: DateTimeUtc,
    /// The grower or operator who set it (none for the demo's plans).
    pub set_by: Option<UserId>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
