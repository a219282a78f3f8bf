use sea_orm::entity::prelude::*;

use crate::infra::ids::{OrganisationId, PledgeId};
use crate::infra::money::Fen;

/// What an organisation commits to buy in a calendar year (预留份额); one per year.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pledges")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: PledgeId,
    pub organisation_id: OrganisationId,
    pub year: i32,
    pub amount_fen: Fen,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
