use sea_orm::entity::prelude::*;

use crate::infra::ids::{HouseholdShareId, PayoutId};
use crate::infra::money::Fen;

/// A household's part of a cooperative's payout, written with the payout: what the statement
/// says it paid never changes when the members do.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payout_household_shares")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: HouseholdShareId,
    pub payout_id: PayoutId,
    /// Its place in the statement (the member list's order when the payout was made).
    pub position: i32,
    pub name: String,
    pub registered_poor: bool,
    pub share_bps: i32,
    pub amount_fen: Fen,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
