use sea_orm::entity::prelude::*;

/// One movement of an organisation's money; never changed or deleted.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organisation_ledger")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organisation_id: i64,
    /// DEPOSIT (bank transfer into the fund), GRANT (fund to a grant), RETURN (grant back to
    /// the fund).
    pub kind: String,
    pub fund_delta_fen: i64,
    pub grant_delta_fen: i64,
    pub grant_id: Option<i64>,
    /// A deposit's bank reference.
    pub reference: Option<String>,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
