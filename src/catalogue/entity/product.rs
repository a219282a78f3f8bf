use sea_orm::entity::prelude::*;

use crate::infra::ids::{CatalogueEntryId, CategoryId, ProducerId, ProductId, VillageId};
use crate::infra::money::Fen;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "products")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: ProductId,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub category_id: CategoryId,
    pub village_id: VillageId,
    pub producer_id: ProducerId,
    pub catalogue_entry_id: Option<CatalogueEntryId>,
    /// Cheapest and dearest variant price in fen, kept in step with the variants.
    pub min_price_fen: Fen,
    pub max_price_fen: Fen,
    pub units_sold: i64,
    pub listed_at: DateTimeUtc,
    /// False: off the storefront (every list, `product(slug:)`, `node(id:)` for anyone who
    /// does not manage it) and not sold; its orders keep their lines.
    pub published: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
