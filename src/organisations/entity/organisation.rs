use sea_orm::entity::prelude::*;

use crate::infra::ids::OrganisationId;
use crate::infra::money::Fen;
use crate::organisations::OrganisationKind;

/// A labour union or a public budget unit buying for 消费帮扶.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organisations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: OrganisationId,
    pub name: String,
    /// A CHECK holds it to the two kinds.
    pub kind: OrganisationKind,
    /// The 发票 title and tax number its invoices carry.
    pub invoice_title: Option<String>,
    pub tax_number: Option<String>,
    /// The most allowance one member may be granted in a calendar year.
    pub allowance_cap_per_member_fen: Option<Fen>,
    /// What the fund holds now: the sum of the ledger's fund deltas (a CHECK keeps it >= 0).
    pub fund_fen: Fen,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
