use sea_orm::entity::prelude::*;

use crate::infra::ids::UserId;
use crate::infra::ids::{OrganisationAdminId, OrganisationId};

/// A UNION_ADMIN and the one organisation it administers (a user administers one at most).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organisation_admins")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: OrganisationAdminId,
    pub organisation_id: OrganisationId,
    pub user_id: UserId,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
