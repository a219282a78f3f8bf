use sea_orm::entity::prelude::*;

use crate::catalogue::ProducerKind;
use crate::infra::ids::{ProducerId, VillageId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "producers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: ProducerId,
    pub slug: String,
    pub name: String,
    pub kind: ProducerKind,
    pub village_id: VillageId,
    /// Registered poor households linked to this producer (利益联结).
    pub linked_poor_households: i32,
    /// A Stripe connected account (`acct_…`): paid by Stripe transfer when set, else by bank.
    pub stripe_account_id: Option<String>,
    pub bank_account_name: Option<String>,
    pub bank_account_number: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
