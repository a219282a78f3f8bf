use sea_orm::entity::prelude::*;

use crate::infra::ids::MembershipId;

/// What a member's counter codes are made from: a public handle (random digits, never the
/// member's id) that finds the membership, and a secret that signs each minute.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "counter_credentials")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub membership_id: MembershipId,
    pub handle: String,
    /// 32 random bytes, hex.
    pub secret: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
