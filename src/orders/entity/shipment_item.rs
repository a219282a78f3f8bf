use sea_orm::entity::prelude::*;

use crate::infra::ids::VariantId;
use crate::infra::ids::{OrderId, ShipmentId, ShipmentItemId};

/// What one bulk-order shipment holds: a variant and how many, for its recipient.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "shipment_items")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: ShipmentItemId,
    pub shipment_id: ShipmentId,
    pub order_id: OrderId,
    pub variant_id: VariantId,
    pub quantity: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
