use sea_orm::entity::prelude::*;

use crate::infra::ids::ProducerId;
use crate::infra::ids::{OrderId, ShipmentId};
use crate::infra::money::Fen;
use crate::orders::carriers::Carrier;

/// One producer's part of an order, shipped with its own tracking number; of a bulk order, one
/// recipient's part from one producer, with the recipient's address and acceptance.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "shipments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: ShipmentId,
    pub order_id: OrderId,
    pub producer_id: ProducerId,
    pub tracking_number: Option<String>,
    /// The express company carrying it, when its shipper named one.
    pub carrier: Option<Carrier>,
    pub shipped_at: Option<DateTimeUtc>,
    /// What the producer's rule charged for this parcel when the order was placed.
    pub shipping_fee_fen: Fen,
    pub recipient_name: Option<String>,
    pub recipient_phone: Option<String>,
    pub recipient_province: Option<String>,
    pub recipient_city: Option<String>,
    pub recipient_district: Option<String>,
    pub recipient_line1: Option<String>,
    /// What the recipient (or an admin) answers with to accept the parcel or report a problem.
    pub acceptance_code: Option<String>,
    pub accepted_at: Option<DateTimeUtc>,
    /// The last problem reported, until the parcel is accepted.
    pub problem_note: Option<String>,
    pub problem_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::order::Entity",
        from = "Column::OrderId",
        to = "super::order::Column::Id"
    )]
    Order,
}

impl Related<super::order::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Order.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
