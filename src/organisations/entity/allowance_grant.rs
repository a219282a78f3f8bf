use sea_orm::entity::prelude::*;

use crate::infra::ids::{AllowanceGrantId, OrganisationId};
use crate::infra::ids::{MembershipId, UserId};
use crate::infra::money::Fen;

/// A welfare allowance (工会福利) granted to one member from the organisation's fund.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "allowance_grants")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: AllowanceGrantId,
    pub organisation_id: OrganisationId,
    pub membership_id: MembershipId,
    pub amount_fen: Fen,
    /// Unspent, not yet returned: the sum of the ledger's deltas for this grant.
    pub balance_fen: Fen,
    /// 中秋慰问, 春节慰问…
    pub occasion: String,
    pub expires_at: DateTimeUtc,
    pub granted_by: UserId,
    pub created_at: DateTimeUtc,
    /// When what was left went back to the fund (expiry, or the member leaving).
    pub closed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
