use sea_orm::entity::prelude::*;

use crate::infra::ids::{OrderId, OrderLineId};
use crate::infra::ids::{ProducerId, ProductId, VariantId};
use crate::infra::money::Fen;

/// A variant bought, at the price it had when the order was placed.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_lines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: OrderLineId,
    pub order_id: OrderId,
    pub variant_id: VariantId,
    pub product_id: ProductId,
    pub producer_id: ProducerId,
    pub quantity: i32,
    pub unit_price_fen: Fen,
    pub line_total_fen: Fen,
    /// The platform's fee on the line, the rate in force when it was sold; `None` for lines
    /// placed before the rate was kept (delivery fills it in with the rate then).
    pub platform_fee_bps: Option<i32>,
    /// Units named by after-sales claims; never more than `quantity` (a CHECK holds it).
    pub claimed_quantity: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
