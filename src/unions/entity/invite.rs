use sea_orm::entity::prelude::*;

use crate::infra::ids::UserId;
use crate::infra::ids::{InviteId, OrganisationId};

/// An invite code; it admits one member, once.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organisation_invites")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: InviteId,
    pub organisation_id: OrganisationId,
    pub code: String,
    pub created_by: UserId,
    pub created_at: DateTimeUtc,
    pub used_by: Option<UserId>,
    pub used_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
