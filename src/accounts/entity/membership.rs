use sea_orm::entity::prelude::*;

use crate::infra::ids::OrganisationId;
use crate::infra::ids::ProducerId;
use crate::infra::ids::{MembershipId, UserId};

/// What a membership ties a user to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum MembershipKind {
    /// A grower working for a producer.
    #[sea_orm(string_value = "PRODUCER")]
    Producer,
    /// A member of a union or budget unit.
    #[sea_orm(string_value = "ORGANISATION")]
    Organisation,
    #[sea_orm(string_value = "HOST")]
    Host,
}

/// A user's tie to a producer (and, as the domains come, to an organisation or a host), with
/// when it began and ended. A user has at most one current tie of each kind (a unique index).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "memberships")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: MembershipId,
    pub user_id: UserId,
    pub kind: MembershipKind,
    pub producer_id: Option<ProducerId>,
    /// The union or budget unit a member belongs to (kind ORGANISATION).
    pub organisation_id: Option<OrganisationId>,
    pub started_at: DateTimeUtc,
    /// Set when the tie ends; the row stays as history.
    pub ended_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
