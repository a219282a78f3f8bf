use sea_orm::entity::prelude::*;

use crate::infra::ids::OrderId;
use crate::infra::ids::RefundId;
use crate::infra::ids::UserId;
use crate::infra::ids::{AllowanceGrantId, LedgerEntryId, OrganisationId};
use crate::infra::money::Fen;

/// One movement of an organisation's money; never changed or deleted.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organisation_ledger")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: LedgerEntryId,
    pub organisation_id: OrganisationId,
    pub kind: LedgerEntryKind,
    pub fund_delta_fen: Fen,
    pub grant_delta_fen: Fen,
    pub grant_id: Option<AllowanceGrantId>,
    /// A deposit's bank reference.
    pub reference: Option<String>,
    pub created_by: Option<UserId>,
    pub created_at: DateTimeUtc,
    /// The order a SPEND paid for or a REFUND gave back.
    pub order_id: Option<OrderId>,
    /// The refund a REFUND belongs to.
    pub refund_id: Option<RefundId>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum LedgerEntryKind {
    /// A bank transfer into the fund.
    #[sea_orm(string_value = "DEPOSIT")]
    Deposit,
    /// From the fund to a grant.
    #[sea_orm(string_value = "GRANT")]
    Grant,
    /// From a grant back to the fund.
    #[sea_orm(string_value = "RETURN")]
    Return,
    /// From a grant to pay for an order.
    #[sea_orm(string_value = "SPEND")]
    Spend,
    /// Spent allowance refunded: to the grant it came from, or to the fund once that grant
    /// has expired or closed.
    #[sea_orm(string_value = "REFUND")]
    Refund,
    /// Spent allowance given back because its order was cancelled before the rest was paid
    /// (a split payment), to the grant or the fund like a REFUND.
    #[sea_orm(string_value = "RELEASE")]
    Release,
    /// From the fund to pay for a bulk order.
    #[sea_orm(string_value = "PURCHASE")]
    Purchase,
    /// A refund of a fund-paid bulk order, back to the fund.
    #[sea_orm(string_value = "FUND_REFUND")]
    FundRefund,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
